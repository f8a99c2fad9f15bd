//! End-to-end runs against the `hallmark serve` subprocess: EST
//! `simpleenroll` with station mTLS, and OCSP on the plain-HTTP listener.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, Result, bail};

use crate::load::{self, CsrPool, LoadResult, Target};
use crate::server::{Node, Server};

/// One EST level: clients, what the load measured, server CPU ms per
/// certificate (all nodes together), when /proc could be read.
pub type Level = (usize, LoadResult, Option<f64>);

/// EST runs at each concurrency against the server and any extra `nodes`
/// (the workers are spread evenly over all of them; one station identity,
/// as behind a load balancer). Bodies are base64 CSRs from `pool`, each
/// sent once.
pub async fn est(
    server: &mut Server,
    nodes: &[&Node],
    pool: &mut CsrPool,
    levels: &[usize],
    duration: Duration,
) -> Result<Vec<Level>> {
    let (chain, key) = server.enroll_station().await?;
    let tls = load::tls_config(Some(&server.root_pem), Some((&chain, &key)))?;
    let client = load::client(tls)?;
    let urls: Vec<String> = std::iter::once(server.https.as_str())
        .chain(nodes.iter().map(|n| n.https.as_str()))
        .map(|h| format!("{h}/.well-known/est/simpleenroll"))
        .collect();
    let cpu = |server: &Server| -> Option<f64> {
        let mut total = server.cpu_seconds().ok()?;
        for n in nodes {
            total += n.cpu_seconds().ok()?;
        }
        Some(total)
    };
    let mut out = Vec::new();
    for &c in levels {
        // Encoded before the timed window; what the run sends is consumed.
        let bodies: Vec<Vec<u8>> = pool
            .fresh(duration)?
            .iter()
            .map(|c| crate::b64(c).into_bytes())
            .collect();
        let target = Target {
            urls: urls.clone(),
            content_type: "application/pkcs10",
            bodies: Arc::new(bodies),
            replay: false,
        };
        let cpu_before = cpu(server);
        let res = load::run(&client, &target, c, duration).await?;
        pool.consume(res.used);
        // Server CPU time per issued certificate, ms (utime + stime).
        let cpu_ms = crate::server::cpu_ms_per(cpu_before, cpu(server), res.ok);
        out.push((c, res, cpu_ms));
    }
    Ok(out)
}

/// OCSP responses per second: one request (no nonce) for a certificate
/// issued offline, replayed by `concurrency` clients.
pub async fn ocsp(
    server: &Server,
    dir: &Path,
    csr: &[u8],
    concurrency: usize,
    duration: Duration,
) -> Result<LoadResult> {
    let h = server.home.to_str().context("non-UTF-8 path")?;
    let csr_path = dir.join("ocsp-device.csr");
    std::fs::write(&csr_path, csr)?;
    let cert = dir.join("ocsp-device.pem");
    server.cli(&[
        "--home",
        h,
        "issue",
        "--ca",
        "f1",
        "--csr",
        path(&csr_path)?,
        "--device-id",
        "ocsp-bench-1",
        "--out",
        path(&cert)?,
    ])?;
    let chain = server.cli(&["--home", h, "ca", "chain", "--ca", "f1"])?;
    let end = "-----END CERTIFICATE-----";
    let issuer = chain.split_inclusive(end).next().context("empty chain")?;
    let issuer_path = dir.join("f1.pem");
    std::fs::write(&issuer_path, issuer)?;
    let req = dir.join("ocsp.req");
    let out = Command::new("openssl")
        .args([
            "ocsp",
            "-no_nonce",
            "-issuer",
            path(&issuer_path)?,
            "-cert",
            path(&cert)?,
            "-reqout",
            path(&req)?,
        ])
        .output()?;
    if !out.status.success() {
        bail!(
            "openssl ocsp -reqout: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let body = std::fs::read(&req)?;
    let client = load::client(load::tls_config(None, None)?)?;
    let target = Target {
        urls: vec![format!("{}/ocsp", server.http)],
        content_type: "application/ocsp-request",
        bodies: Arc::new(vec![body]),
        replay: true,
    };
    load::run(&client, &target, concurrency, duration).await
}

fn path(p: &Path) -> Result<&str> {
    p.to_str().context("non-UTF-8 path")
}
