//! What a user might pick instead: the `openssl x509 -req` CLI (one process
//! per certificate) and `cfssl serve` behind the same load generator.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};

use crate::load::{self, LoadResult, Target};

fn run(cmd: &mut Command) -> Result<()> {
    let out = cmd.output().with_context(|| format!("running {cmd:?}"))?;
    if !out.status.success() {
        bail!("{cmd:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(())
}

/// A P-256 CA made with openssl in `dir`: (`ca.pem`, `ca.key`).
pub fn openssl_ca(dir: &Path) -> Result<()> {
    run(Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
        ])
        .args(["-subj", "/CN=Bench Peer CA", "-days", "3650", "-keyout"])
        .arg(dir.join("ca.key"))
        .arg("-out")
        .arg(dir.join("ca.pem")))
}

/// `openssl x509 -req` certificates per second, one process each, sequential.
pub fn openssl_cli(dir: &Path, csrs: &[Vec<u8>], duration: Duration) -> Result<f64> {
    openssl_ca(dir)?;
    let csr_path = dir.join("csr.der");
    let start = Instant::now();
    let mut n = 0usize;
    while start.elapsed() < duration {
        std::fs::write(&csr_path, &csrs[n % csrs.len()])?;
        run(Command::new("openssl")
            .args(["x509", "-req", "-inform", "DER", "-in"])
            .arg(&csr_path)
            .arg("-CA")
            .arg(dir.join("ca.pem"))
            .arg("-CAkey")
            .arg(dir.join("ca.key"))
            .args(["-CAcreateserial", "-days", "365", "-out"])
            .arg(dir.join("cert.pem"))
            .stderr(Stdio::null()))?;
        n += 1;
    }
    Ok(n as f64 / start.elapsed().as_secs_f64())
}

/// Kills the child on drop.
struct Guard(Child);
impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `cfssl serve` with an openssl-made ECDSA P-256 CA, `concurrency` clients.
pub async fn cfssl(
    dir: &Path,
    csrs: &[Vec<u8>],
    concurrency: usize,
    duration: Duration,
) -> Result<LoadResult> {
    let bin = which("cfssl").context("cfssl is not installed (Debian package golang-cfssl)")?;
    openssl_ca(dir)?;
    let config = dir.join("cfssl.json");
    std::fs::write(
        &config,
        r#"{"signing":{"default":{"expiry":"8760h","usages":["digital signature","client auth"]}}}"#,
    )?;
    let port = crate::server::free_port()?;
    let child = Command::new(bin)
        .args([
            "serve",
            "-address",
            "127.0.0.1",
            "-port",
            &port.to_string(),
            "-loglevel",
            "5",
        ])
        .arg(format!("-ca={}", dir.join("ca.pem").display()))
        .arg(format!("-ca-key={}", dir.join("ca.key").display()))
        .arg(format!("-config={}", config.display()))
        .stdout(Stdio::null())
        .stderr(Stdio::from(std::fs::File::create(dir.join("cfssl.log"))?))
        .spawn()?;
    let _guard = Guard(child);
    let client = load::client(load::tls_config(None, None)?)?;
    let url = format!("http://127.0.0.1:{port}/api/v1/cfssl/sign");
    let start = Instant::now();
    while client
        .get(format!("http://127.0.0.1:{port}/"))
        .send()
        .await
        .is_err()
    {
        if start.elapsed() > Duration::from_secs(15) {
            bail!("cfssl serve did not start (see cfssl.log)");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let bodies = csrs
        .iter()
        .map(|der| {
            let pem = format!(
                "-----BEGIN CERTIFICATE REQUEST-----\n{}\n-----END CERTIFICATE REQUEST-----\n",
                crate::b64(der)
            );
            serde_json::to_vec(&serde_json::json!({ "certificate_request": pem }))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let target = Target {
        urls: vec![url],
        content_type: "application/json",
        bodies: Arc::new(bodies),
        replay: false,
    };
    load::run(&client, &target, concurrency, duration).await
}

/// The path of `name` on `$PATH`.
pub fn which(name: &str) -> Option<std::path::PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(name))
            .find(|p| p.is_file())
    })
}
