//! A throwaway Hallmark installation: `hallmark init`, a raised station rate
//! limit, an order, a `hallmark serve` subprocess and an enrolled station.
//!
//! The passphrase is set only in the children's environment.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};

/// The passphrase of the throwaway home (never a real secret).
const PASSPHRASE: &str = "hallmark-bench-throwaway";

/// A running server and what the benches need to talk to it.
#[derive(Debug)]
pub struct Server {
    /// The `hallmark` binary.
    pub bin: PathBuf,
    /// The Hallmark home.
    pub home: PathBuf,
    /// `https://127.0.0.1:PORT`.
    pub https: String,
    /// `http://127.0.0.1:PORT` (CRL and OCSP).
    pub http: String,
    /// The root certificate, PEM.
    pub root_pem: Vec<u8>,
    /// Unused station tokens of the order.
    pub tokens: Vec<String>,
    child: Child,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `hallmark ARGS` with the passphrase in its environment; returns stdout.
pub fn hallmark(bin: &Path, args: &[&str]) -> Result<String> {
    let out = Command::new(bin)
        .args(args)
        .env("HALLMARK_PASSPHRASE", PASSPHRASE)
        .env_remove("HALLMARK_HOME")
        .output()
        .with_context(|| format!("running {} {args:?}", bin.display()))?;
    if !out.status.success() {
        bail!(
            "hallmark {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8(out.stdout)?)
}

/// A free loopback port (bound then released).
pub fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

impl Server {
    /// Makes the home under `dir` and starts the server.
    pub async fn start(bin: &Path, dir: &Path) -> Result<Self> {
        let home = dir.join("ca");
        let h = home.to_str().context("non-UTF-8 temp path")?;
        hallmark(
            bin,
            &["--home", h, "init", "--org", "Bench", "--factory", "f1"],
        )?;
        let toml_path = home.join("hallmark.toml");
        let toml = std::fs::read_to_string(&toml_path)?;
        let line = "station_rate_limit = { per_second = 20.0, burst = 40 }";
        anyhow::ensure!(
            toml.contains(line),
            "station_rate_limit line not found in hallmark.toml"
        );
        std::fs::write(
            &toml_path,
            toml.replace(
                line,
                "station_rate_limit = { per_second = 1000000.0, burst = 1000000 }",
            ),
        )?;
        let order = hallmark(
            bin,
            &[
                "--home",
                h,
                "order",
                "create",
                "--factory",
                "f1",
                "--product",
                "bench",
                "--quantity",
                "10000000",
                "--stations",
                "3",
                "--json",
            ],
        )?;
        let order: serde_json::Value = serde_json::from_str(&order)?;
        let tokens = order["station_tokens"]
            .as_array()
            .context("station_tokens")?
            .iter()
            .filter_map(|t| t.as_str().map(str::to_owned))
            .collect();
        let root_pem = hallmark(bin, &["--home", h, "ca", "chain", "--ca", "root"])?.into_bytes();
        let (port, http_port) = (free_port()?, free_port()?);
        let (listen, http_listen) = (
            format!("127.0.0.1:{port}"),
            format!("127.0.0.1:{http_port}"),
        );
        let child = Command::new(bin)
            .args([
                "--home",
                h,
                "serve",
                "--listen",
                &listen,
                "--http-listen",
                &http_listen,
            ])
            .env("HALLMARK_PASSPHRASE", PASSPHRASE)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::from(std::fs::File::create(dir.join("serve.log"))?))
            .spawn()?;
        let server = Self {
            bin: bin.to_owned(),
            home,
            https: format!("https://{listen}"),
            http: format!("http://{http_listen}"),
            root_pem,
            tokens,
            child,
        };
        server.wait_ready().await?;
        Ok(server)
    }

    async fn wait_ready(&self) -> Result<()> {
        let client = crate::load::client(crate::load::tls_config(Some(&self.root_pem), None)?)?;
        let start = Instant::now();
        loop {
            if let Ok(r) = client.get(format!("{}/healthz", self.https)).send().await
                && r.status().is_success()
            {
                return Ok(());
            }
            if start.elapsed() > Duration::from_secs(30) {
                bail!("server not ready after 30 s (see serve.log)");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Enrolls a station through the JSON API; returns (cert chain PEM, key PEM).
    pub async fn enroll_station(&mut self) -> Result<(Vec<u8>, Vec<u8>)> {
        let token = self.tokens.pop().context("no station token left")?;
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
        let csr = rcgen::CertificateParams::new(Vec::<String>::new())?.serialize_request(&key)?;
        let client = crate::load::client(crate::load::tls_config(Some(&self.root_pem), None)?)?;
        let resp = client
            .post(format!("{}/api/v1/stations/enroll", self.https))
            .json(&serde_json::json!({"token": token, "csr": csr.pem()?}))
            .send()
            .await?;
        let status = resp.status();
        let body: serde_json::Value = resp.json().await?;
        anyhow::ensure!(status.is_success(), "station enroll: {status} {body}");
        let mut chain = body["certificate"]
            .as_str()
            .context("certificate")?
            .to_owned();
        for c in body["chain"].as_array().context("chain")? {
            chain.push_str(c.as_str().context("chain entry")?);
        }
        Ok((chain.into_bytes(), key.serialize_pem().into_bytes()))
    }

    /// CPU seconds the server has used (utime + stime from /proc, 100 Hz ticks).
    pub fn cpu_seconds(&self) -> Result<f64> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid()))?;
        // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
        let rest = stat.rsplit_once(')').context("malformed /proc stat")?.1;
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let ticks =
            |i: usize| -> Result<f64> { Ok(fields.get(i).context("stat field")?.parse::<f64>()?) };
        Ok((ticks(11)? + ticks(12)?) / 100.0)
    }

    /// Peak resident set of the server (VmHWM), MiB.
    pub fn peak_rss_mb(&self) -> Result<f64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))?;
        let line = status
            .lines()
            .find(|l| l.starts_with("VmHWM:"))
            .context("no VmHWM")?;
        let kb: f64 = line
            .split_whitespace()
            .nth(1)
            .context("VmHWM value")?
            .parse()?;
        Ok(kb / 1024.0)
    }
}

/// The passphrase for child processes the benches start themselves.
pub fn passphrase() -> &'static str {
    PASSPHRASE
}
