//! Drivers for the independent verifiers: OpenSSL and pkilint.
//!
//! A missing tool is a failure with the command that installs it, never a
//! skipped test. `scripts/test` installs everything these need.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The workspace root (two levels above this crate).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

fn run(cmd: &mut Command, install_hint: &str) -> Output {
    match cmd.output() {
        Ok(out) => out,
        Err(err) => panic!("cannot run {cmd:?}: {err}. Install it: {install_hint}"),
    }
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A `Command` for `openssl`.
pub fn openssl() -> Command {
    Command::new("openssl")
}

/// Runs openssl with `args`; panics (with its output) when it fails.
pub fn openssl_ok(args: &[&str]) -> String {
    let out = run(openssl().args(args), "apt-get install openssl");
    assert!(
        out.status.success(),
        "openssl {args:?} failed:\n{}",
        text(&out)
    );
    text(&out)
}

/// The pkilint executable `name` from the verification venv.
///
/// Looks in `$HALLMARK_VERIFY_VENV/bin`, then `<workspace>/.venv-verify/bin`.
pub fn pkilint(name: &str) -> Command {
    let venv = std::env::var_os("HALLMARK_VERIFY_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join(".venv-verify"));
    let exe = venv.join("bin").join(name);
    assert!(
        exe.exists(),
        "pkilint is missing ({}). Install it: python3 -m venv .venv-verify && \
         .venv-verify/bin/pip install pkilint (scripts/test does this)",
        exe.display()
    );
    Command::new(exe)
}

/// OpenSSL's text dump of a PEM certificate (`x509 -noout -text`), plus
/// whatever `extra` print options (`-serial`, `-dates`, …) ask for.
pub fn certificate_text(pem: &Path, extra: &[&str]) -> String {
    let mut args = vec!["x509", "-in", path_str(pem), "-noout", "-text"];
    args.extend_from_slice(extra);
    openssl_ok(&args)
}

/// Writes `der` as a PEM certificate file in `dir` and returns its path.
pub fn write_cert_pem(dir: &Path, name: &str, der: &[u8]) -> PathBuf {
    let path = dir.join(name);
    let der_path = dir.join(format!("{name}.der"));
    std::fs::write(&der_path, der).expect("write DER");
    openssl_ok(&[
        "x509",
        "-inform",
        "DER",
        "-in",
        path_str(&der_path),
        "-out",
        path_str(&path),
    ]);
    path
}

/// A path as `&str` (test paths are always UTF-8).
pub fn path_str(path: &Path) -> &str {
    path.to_str().expect("UTF-8 path")
}

/// Lints a PEM certificate with `lint_pkix_cert lint -s ERROR`; `Err` holds the findings.
pub fn lint_certificate(pem_path: &Path) -> Result<(), String> {
    let out = run(
        pkilint("lint_pkix_cert").args(["lint", "-s", "ERROR", path_str(pem_path)]),
        "pip install pkilint",
    );
    if out.status.success() {
        Ok(())
    } else {
        Err(text(&out))
    }
}

/// Checks issuer→subject linkage with `lint_pkix_signer_signee_cert_chain`.
pub fn lint_chain_link(issuer_pem: &Path, subject_pem: &Path) -> Result<(), String> {
    let out = run(
        pkilint("lint_pkix_signer_signee_cert_chain").args([
            "lint",
            "-s",
            "ERROR",
            path_str(issuer_pem),
            path_str(subject_pem),
        ]),
        "pip install pkilint",
    );
    if out.status.success() {
        Ok(())
    } else {
        Err(text(&out))
    }
}

/// `openssl verify -x509_strict` of `leaf` against `root`, with `untrusted`
/// intermediates and an optional `-purpose`. `Err` holds OpenSSL's output.
pub fn openssl_verify(
    root: &Path,
    untrusted: &[&Path],
    leaf: &Path,
    purpose: Option<&str>,
) -> Result<(), String> {
    let mut cmd = openssl();
    cmd.args(["verify", "-x509_strict", "-CAfile", path_str(root)]);
    if let Some(purpose) = purpose {
        cmd.args(["-purpose", purpose]);
    }
    for u in untrusted {
        cmd.args(["-untrusted", path_str(u)]);
    }
    cmd.arg(path_str(leaf));
    let out = run(&mut cmd, "apt-get install openssl");
    let printed = text(&out);
    if out.status.success() && printed.contains(": OK") {
        Ok(())
    } else {
        Err(printed)
    }
}

/// The kinds of device key the tests make with OpenSSL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeySpec {
    /// ECDSA on a named curve (OpenSSL's name: prime256v1, secp384r1, secp521r1, secp256k1…).
    Ec(&'static str),
    /// Ed25519.
    Ed25519,
    /// RSA with the given modulus size.
    Rsa(u32),
}

/// Makes a key with OpenSSL in `dir` and returns the PEM path.
pub fn make_key(dir: &Path, name: &str, spec: KeySpec) -> PathBuf {
    let path = dir.join(format!("{name}.key"));
    let p = path_str(&path);
    match spec {
        KeySpec::Ec(curve) => {
            let curve = format!("ec_paramgen_curve:{curve}");
            openssl_ok(&["genpkey", "-algorithm", "EC", "-pkeyopt", &curve, "-out", p]);
        }
        KeySpec::Ed25519 => {
            openssl_ok(&["genpkey", "-algorithm", "ED25519", "-out", p]);
        }
        KeySpec::Rsa(bits) => {
            let bits = format!("rsa_keygen_bits:{bits}");
            openssl_ok(&["genpkey", "-algorithm", "RSA", "-pkeyopt", &bits, "-out", p]);
        }
    }
    path
}

/// Makes a CSR for `key` with subject `/CN=cn`; `digest` is e.g. `sha256`
/// (ignored for Ed25519). Returns (PEM path, DER bytes).
pub fn make_csr(key: &Path, cn: &str, digest: Option<&str>) -> (PathBuf, Vec<u8>) {
    let pem = key.with_extension("csr.pem");
    let der = key.with_extension("csr.der");
    let subject = format!("/CN={cn}");
    let mut args = vec!["req", "-new", "-key", path_str(key), "-subj", &subject];
    let digest_flag;
    if let Some(d) = digest {
        digest_flag = format!("-{d}");
        args.push(&digest_flag);
    }
    let mut pem_args = args.clone();
    pem_args.extend(["-out", path_str(&pem)]);
    openssl_ok(&pem_args);
    openssl_ok(&[
        "req",
        "-in",
        path_str(&pem),
        "-outform",
        "DER",
        "-out",
        path_str(&der),
    ]);
    let bytes = std::fs::read(&der).expect("read CSR");
    (pem, bytes)
}

/// Lints a CRL (DER or PEM) with `lint_crl lint -t CRL -p PKIX -s ERROR`;
/// `Err` holds the findings.
pub fn lint_crl(path: &Path) -> Result<(), String> {
    let out = run(
        pkilint("lint_crl").args([
            "lint",
            "-t",
            "CRL",
            "-p",
            "PKIX",
            "-s",
            "ERROR",
            path_str(path),
        ]),
        "pip install pkilint",
    );
    if out.status.success() {
        Ok(())
    } else {
        Err(text(&out))
    }
}

/// Lints a DER OCSP response with `lint_ocsp_response lint
/// --document-format DER -s ERROR`; `Err` holds the findings.
pub fn lint_ocsp_response(path: &Path) -> Result<(), String> {
    let out = run(
        pkilint("lint_ocsp_response").args([
            "lint",
            "--document-format",
            "DER",
            "-s",
            "ERROR",
            path_str(path),
        ]),
        "pip install pkilint",
    );
    if out.status.success() {
        Ok(())
    } else {
        Err(text(&out))
    }
}
