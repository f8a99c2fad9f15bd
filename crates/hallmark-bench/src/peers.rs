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
    openssl_ca_named(dir, "ca", "Bench Peer CA")
}

/// A P-256 CA `<name>.pem` / `<name>.key` in `dir`.
fn openssl_ca_named(dir: &Path, name: &str, cn: &str) -> Result<()> {
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
        .arg("-subj")
        .arg(format!("/CN={cn}"))
        .args(["-days", "3650", "-keyout"])
        .arg(dir.join(format!("{name}.key")))
        .arg("-out")
        .arg(dir.join(format!("{name}.pem"))))
}

/// A P-256 leaf `<name>.pem` / `<name>.key` in `dir`, issued by
/// `tls-ca` with the X.509v3 extension lines `ext`.
fn openssl_leaf(dir: &Path, name: &str, cn: &str, ext: &str) -> Result<()> {
    let (csr, ext_file) = (
        dir.join(format!("{name}.csr")),
        dir.join(format!("{name}.ext")),
    );
    std::fs::write(&ext_file, ext)?;
    run(Command::new("openssl")
        .args([
            "req",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
        ])
        .args(["-nodes", "-subj"])
        .arg(format!("/CN={cn}"))
        .arg("-keyout")
        .arg(dir.join(format!("{name}.key")))
        .arg("-out")
        .arg(&csr))?;
    run(Command::new("openssl")
        .args(["x509", "-req", "-in"])
        .arg(&csr)
        .arg("-CA")
        .arg(dir.join("tls-ca.pem"))
        .arg("-CAkey")
        .arg(dir.join("tls-ca.key"))
        .args(["-CAcreateserial", "-days", "30", "-extfile"])
        .arg(&ext_file)
        .arg("-out")
        .arg(dir.join(format!("{name}.pem"))))
}

/// TLS material for `cfssl serve`, so it faces the same HTTPS + client
/// certificate load as Hallmark's EST: a TLS CA, a server certificate for
/// 127.0.0.1 and a client certificate.
fn cfssl_tls(dir: &Path) -> Result<rustls::ClientConfig> {
    openssl_ca_named(dir, "tls-ca", "Bench TLS CA")?;
    openssl_leaf(
        dir,
        "tls-server",
        "127.0.0.1",
        "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n",
    )?;
    openssl_leaf(
        dir,
        "tls-client",
        "bench-client",
        "extendedKeyUsage=clientAuth\n",
    )?;
    let read = |f: &str| std::fs::read(dir.join(f));
    load::tls_config(
        Some(&read("tls-ca.pem")?),
        Some((&read("tls-client.pem")?, &read("tls-client.key")?)),
    )
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
) -> Result<(LoadResult, Option<f64>)> {
    let bin = which("cfssl").context("cfssl is not installed (Debian package golang-cfssl)")?;
    openssl_ca(dir)?;
    let config = dir.join("cfssl.json");
    std::fs::write(
        &config,
        r#"{"signing":{"default":{"expiry":"8760h","usages":["digital signature","client auth"]}}}"#,
    )?;
    let tls = cfssl_tls(dir)?;
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
        .arg(format!(
            "-tls-cert={}",
            dir.join("tls-server.pem").display()
        ))
        .arg(format!("-tls-key={}", dir.join("tls-server.key").display()))
        .arg(format!(
            "-mutual-tls-ca={}",
            dir.join("tls-ca.pem").display()
        ))
        .stdout(Stdio::null())
        .stderr(Stdio::from(std::fs::File::create(dir.join("cfssl.log"))?))
        .spawn()?;
    let pid = child.id();
    let _guard = Guard(child);
    let client = load::client(tls)?;
    let url = format!("https://127.0.0.1:{port}/api/v1/cfssl/sign");
    let start = Instant::now();
    while client
        .get(format!("https://127.0.0.1:{port}/"))
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
    let before = crate::server::cpu_seconds(pid).ok();
    let res = load::run(&client, &target, concurrency, duration).await?;
    let after = crate::server::cpu_seconds(pid).ok();
    let server_cpu_ms = crate::server::cpu_ms_per(before, after, res.ok);
    Ok((res, server_cpu_ms))
}

/// The path of `name` on `$PATH`.
pub fn which(name: &str) -> Option<std::path::PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(name))
            .find(|p| p.is_file())
    })
}
