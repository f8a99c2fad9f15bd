//! Unit-test helpers: the `openssl` command line as an independent
//! implementation to produce test certificates and to check our encodings.

use std::path::Path;
use std::process::{Command, Output};

/// Runs `openssl` with a whitespace-separated command line in `dir`,
/// panicking (with an install hint when it is missing) unless it succeeds.
pub fn openssl(dir: &Path, command: &str) -> Output {
    openssl_with_stdin(dir, command, None)
}

/// Like [`openssl`], feeding `stdin` (written to a file first).
pub fn openssl_with_stdin(dir: &Path, command: &str, stdin: Option<&[u8]>) -> Output {
    let mut process = Command::new("openssl");
    process.args(command.split_whitespace()).current_dir(dir);
    if let Some(bytes) = stdin {
        let path = dir.join("stdin.bin");
        std::fs::write(&path, bytes).unwrap();
        process.stdin(std::fs::File::open(path).unwrap());
    }
    let output = process.output().unwrap_or_else(|e| {
        panic!("cannot run `openssl` ({e}); install it, e.g. `apt-get install openssl`")
    });
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "openssl {command} failed: {stderr}"
    );
    output
}

/// A self-signed ECDSA P-256 certificate (DER) with subject `CN=<cn>`, and
/// its PKCS#8 private key (DER).
pub fn self_signed(dir: &Path, cn: &str) -> (Vec<u8>, Vec<u8>) {
    openssl(
        dir,
        &format!(
            "req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout {cn}.pem \
             -subj /CN={cn} -days 1 -outform DER -out {cn}.der"
        ),
    );
    openssl(
        dir,
        &format!("pkcs8 -topk8 -nocrypt -in {cn}.pem -outform DER -out {cn}.p8"),
    );
    let read = |file: String| std::fs::read(dir.join(file)).unwrap();
    (read(format!("{cn}.der")), read(format!("{cn}.p8")))
}
