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

/// Extra environment for every `hallmark` child (e.g. `SOFTHSM2_CONF`,
/// `HALLMARK_PKCS11_PIN`). `Debug` shows the names only: values may be secrets.
#[derive(Clone, Default)]
pub struct Env(pub Vec<(String, String)>);

impl std::fmt::Debug for Env {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|(k, _)| k))
            .finish()
    }
}

/// Where the CA keys of the throwaway home live.
#[derive(Debug, Clone, Default)]
pub enum Keys {
    /// Encrypted software key files (the default of `hallmark init`).
    #[default]
    Soft,
    /// A PKCS#11 token (the PIN goes in [`Options::env`] as `HALLMARK_PKCS11_PIN`).
    Pkcs11 {
        /// The module, e.g. `/usr/lib/softhsm/libsofthsm2.so`.
        module: PathBuf,
        /// The token label.
        token: String,
    },
}

/// How to set up the throwaway home.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// CA key backend.
    pub keys: Keys,
    /// `--store` URL (PostgreSQL); `None` is the embedded SQLite file.
    pub store: Option<String>,
    /// Environment for every `hallmark` child, besides the passphrase.
    pub env: Env,
}

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
    env: Env,
    dir: PathBuf,
    child: Child,
}

/// Another `hallmark serve` process on the same home (and so the same
/// database and keys), with listen ports of its own; killed on drop.
#[derive(Debug)]
pub struct Node {
    /// `https://127.0.0.1:PORT`.
    pub https: String,
    child: Child,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Node {
    /// CPU seconds this node has used.
    pub fn cpu_seconds(&self) -> Result<f64> {
        cpu_seconds(self.child.id())
    }
}

/// Runs `hallmark ARGS` with the passphrase in its environment; returns stdout.
pub fn hallmark(bin: &Path, args: &[&str]) -> Result<String> {
    hallmark_env(bin, args, &Env::default())
}

/// [`hallmark`] with extra environment.
pub fn hallmark_env(bin: &Path, args: &[&str], env: &Env) -> Result<String> {
    let out = Command::new(bin)
        .args(args)
        .env("HALLMARK_PASSPHRASE", PASSPHRASE)
        .env_remove("HALLMARK_HOME")
        .envs(env.0.iter().map(|(k, v)| (k, v)))
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

/// `hallmark --home HOME serve` on fresh loopback ports, stderr to `log`:
/// (child, HTTPS listen address, plain-HTTP listen address).
fn spawn_serve(bin: &Path, home: &Path, env: &Env, log: &Path) -> Result<(Child, String, String)> {
    let (port, http_port) = (free_port()?, free_port()?);
    let (listen, http_listen) = (
        format!("127.0.0.1:{port}"),
        format!("127.0.0.1:{http_port}"),
    );
    let child = Command::new(bin)
        .arg("--home")
        .arg(home)
        .args(["serve", "--listen", &listen, "--http-listen", &http_listen])
        .env("HALLMARK_PASSPHRASE", PASSPHRASE)
        .env("RUST_LOG", "warn")
        .env_remove("HALLMARK_HOME")
        .envs(env.0.iter().map(|(k, v)| (k, v)))
        .stdout(Stdio::null())
        .stderr(Stdio::from(std::fs::File::create(log)?))
        .spawn()?;
    Ok((child, listen, http_listen))
}

/// Waits until `GET https/healthz` answers 2xx (30 s at most).
async fn wait_ready(https: &str, root_pem: &[u8], log: &Path) -> Result<()> {
    let client = crate::load::client(crate::load::tls_config(Some(root_pem), None)?)?;
    let start = Instant::now();
    loop {
        if let Ok(r) = client.get(format!("{https}/healthz")).send().await
            && r.status().is_success()
        {
            return Ok(());
        }
        if start.elapsed() > Duration::from_secs(30) {
            let tail = std::fs::read_to_string(log).unwrap_or_default();
            let tail: String = tail.lines().rev().take(5).collect::<Vec<_>>().join(" | ");
            bail!("server not ready after 30 s ({}: {tail})", log.display());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

impl Server {
    /// Makes the home under `dir` (`hallmark init` with `opts`, station
    /// rate limit raised, an order) and starts the server.
    pub async fn start(bin: &Path, dir: &Path, opts: &Options) -> Result<Self> {
        let home = dir.join("ca");
        let h = home.to_str().context("non-UTF-8 temp path")?;
        let mut init = vec!["--home", h, "init", "--org", "Bench", "--factory", "f1"];
        if let Keys::Pkcs11 { module, token } = &opts.keys {
            let module = module.to_str().context("non-UTF-8 module path")?;
            init.extend(["--keys", "pkcs11", "--pkcs11-module", module]);
            init.extend(["--pkcs11-token", token.as_str()]);
        }
        if let Some(url) = &opts.store {
            init.extend(["--store", url.as_str()]);
        }
        let env = opts.env.clone();
        hallmark_env(bin, &init, &env)?;
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
        let order = hallmark_env(
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
            &env,
        )?;
        let order: serde_json::Value = serde_json::from_str(&order)?;
        let tokens = order["station_tokens"]
            .as_array()
            .context("station_tokens")?
            .iter()
            .filter_map(|t| t.as_str().map(str::to_owned))
            .collect();
        let root_pem =
            hallmark_env(bin, &["--home", h, "ca", "chain", "--ca", "root"], &env)?.into_bytes();
        let log = dir.join("serve.log");
        let (child, listen, http_listen) = spawn_serve(bin, &home, &env, &log)?;
        let server = Self {
            bin: bin.to_owned(),
            home,
            https: format!("https://{listen}"),
            http: format!("http://{http_listen}"),
            root_pem,
            tokens,
            env,
            dir: dir.to_owned(),
            child,
        };
        wait_ready(&server.https, &server.root_pem, &log).await?;
        Ok(server)
    }

    /// Starts another node on the same home (`serve-NAME.log`).
    pub async fn start_node(&self, name: &str) -> Result<Node> {
        let log = self.dir.join(format!("serve-{name}.log"));
        let (child, listen, _) = spawn_serve(&self.bin, &self.home, &self.env, &log)?;
        let node = Node {
            https: format!("https://{listen}"),
            child,
        };
        wait_ready(&node.https, &self.root_pem, &log).await?;
        Ok(node)
    }

    /// Runs `hallmark ARGS` with this home's environment; returns stdout.
    pub fn cli(&self, args: &[&str]) -> Result<String> {
        hallmark_env(&self.bin, args, &self.env)
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

    /// CPU seconds the server has used.
    pub fn cpu_seconds(&self) -> Result<f64> {
        cpu_seconds(self.pid())
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

/// CPU seconds process `pid` has used (utime + stime from /proc, 100 Hz ticks).
pub fn cpu_seconds(pid: u32) -> Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = stat.rsplit_once(')').context("malformed /proc stat")?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks =
        |i: usize| -> Result<f64> { Ok(fields.get(i).context("stat field")?.parse::<f64>()?) };
    Ok((ticks(11)? + ticks(12)?) / 100.0)
}

/// CPU milliseconds per request between two [`cpu_seconds`] readings;
/// `None` if a reading failed or nothing succeeded.
pub fn cpu_ms_per(before: Option<f64>, after: Option<f64>, requests: usize) -> Option<f64> {
    match (before, after) {
        (Some(a), Some(b)) if requests > 0 => Some((b - a) * 1e3 / requests as f64),
        _ => None,
    }
}

/// The passphrase for child processes the benches start themselves.
pub fn passphrase() -> &'static str {
    PASSPHRASE
}
