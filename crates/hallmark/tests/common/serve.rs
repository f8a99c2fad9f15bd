//! A running `hallmark serve` and clients that nobody here wrote (curl,
//! openssl) or that are independent of Hallmark's own station crate
//! (reqwest with rcgen-made keys).

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use super::{Cli, text};

/// `hallmark serve` on a free loopback port; killed on drop.
pub struct Server {
    pub child: Child,
    pub addr: SocketAddr,
    /// The plain-HTTP listener, when started with one.
    pub http_addr: Option<SocketAddr>,
}

impl Server {
    pub fn start(cli: &Cli) -> Self {
        Self::start_with(cli, &[])
    }

    /// With extra `serve` arguments (`--http-listen 127.0.0.1:0` adds the
    /// plain-HTTP listener).
    pub fn start_with(cli: &Cli, extra: &[&str]) -> Self {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_hallmark"));
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HALLMARK_LOG", "warn")
            .env("HALLMARK_LOG_FORMAT", "json")
            .current_dir(cli.dir.path())
            .arg("--home")
            .arg(cli.home())
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for (k, v) in &cli.envs {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        let addr = line
            .trim()
            .strip_prefix("listening on https://")
            .unwrap_or_else(|| panic!("unexpected first line from serve: {line:?}"))
            .parse()
            .unwrap();
        let http_addr = extra.contains(&"--http-listen").then(|| {
            let mut line = String::new();
            stdout.read_line(&mut line).unwrap();
            line.trim()
                .strip_prefix("listening on http://")
                .and_then(|rest| rest.split_whitespace().next())
                .unwrap_or_else(|| panic!("unexpected second line from serve: {line:?}"))
                .parse()
                .unwrap()
        });
        Server {
            child,
            addr,
            http_addr,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("https://{}{path}", self.addr)
    }

    /// SIGTERM, then the exit status.
    pub fn stop(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        let killed = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(killed.success());
        self.child.wait().unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `hallmark order create ... --json`: (order id, station tokens).
pub fn create_order(cli: &Cli, args: &[&str]) -> (String, Vec<String>) {
    let mut all = vec!["order", "create", "--factory", "berlin", "--json"];
    all.extend_from_slice(args);
    let out: serde_json::Value = serde_json::from_str(&cli.ok(&all)).unwrap();
    let tokens = out["station_tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_string())
        .collect();
    (out["order_id"].as_str().unwrap().to_string(), tokens)
}

/// What curl got.
pub struct Reply {
    pub status: u16,
    pub content_type: String,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&self.body)))
    }
}

/// Runs curl; a transport failure fails the test.
pub fn curl(dir: &Path, args: &[&str]) -> Reply {
    let out = Command::new("curl")
        .current_dir(dir)
        .args([
            "-sS",
            "--max-time",
            "30",
            "-w",
            "\n%{content_type}\n%{http_code}",
        ])
        .args(args)
        .output()
        .expect("curl is missing: apt-get install curl");
    assert!(out.status.success(), "curl {args:?}: {}", text(&out));
    let mut parts = out.stdout.rsplitn(3, |b| *b == b'\n');
    let status = std::str::from_utf8(parts.next().unwrap())
        .unwrap()
        .parse()
        .unwrap();
    let content_type = String::from_utf8(parts.next().unwrap().to_vec()).unwrap();
    let body = parts.next().unwrap_or_default().to_vec();
    Reply {
        status,
        content_type,
        body,
    }
}

/// A throwaway P-256 device key and its CSR (PEM), made with rcgen; an
/// empty `common_name` gives an empty subject.
pub fn rcgen_csr(common_name: &str) -> (rcgen::KeyPair, String) {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let mut params = rcgen::CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    if !common_name.is_empty() {
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, common_name);
    }
    let csr = params.serialize_request(&key).unwrap().pem().unwrap();
    (key, csr)
}

/// A station enrolled through the JSON API: key, certificate chain (PEM).
pub struct Station {
    pub id: String,
    pub key_pem: String,
    pub chain_pem: String,
}

impl Station {
    /// Enrolls with `token` over the JSON API (curl-free, plain reqwest).
    pub async fn enroll(server: &Server, root_pem: &[u8], token: &str) -> Station {
        let (key, csr) = rcgen_csr("station");
        let client = client(root_pem, None);
        let response = client
            .post(server.url("/api/v1/stations/enroll"))
            .json(&serde_json::json!({ "token": token, "csr": csr }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let body: serde_json::Value = response.json().await.unwrap();
        let mut chain_pem = body["certificate"].as_str().unwrap().to_string();
        chain_pem.push_str(body["chain"][0].as_str().unwrap());
        Station {
            id: body["station_id"].as_str().unwrap().to_string(),
            key_pem: key.serialize_pem(),
            chain_pem,
        }
    }

    /// A client presenting this station's certificate.
    pub fn client(&self, root_pem: &[u8]) -> reqwest::Client {
        client(root_pem, Some(self))
    }

    /// Writes cert chain and key to files for curl: (cert, key).
    pub fn write(&self, dir: &Path) -> (PathBuf, PathBuf) {
        let cert = dir.join(format!("{}.pem", self.id));
        let key = dir.join(format!("{}.key", self.id));
        std::fs::write(&cert, &self.chain_pem).unwrap();
        std::fs::write(&key, &self.key_pem).unwrap();
        (cert, key)
    }
}

/// A reqwest client trusting only `root_pem`, optionally with a station identity.
pub fn client(root_pem: &[u8], station: Option<&Station>) -> reqwest::Client {
    let mut builder = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(root_pem).unwrap()]);
    if let Some(station) = station {
        let identity = format!("{}{}", station.key_pem, station.chain_pem);
        builder = builder.identity(reqwest::Identity::from_pem(identity.as_bytes()).unwrap());
    }
    builder.build().unwrap()
}

/// Output of a command that must succeed.
pub fn run_ok(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{cmd:?}: {}", text(&out));
    out
}
