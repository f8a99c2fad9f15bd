//! A production line for the station tests: a CA home, `hallmark serve`, an
//! order, an enrolled station home, and simulated devices
//! (`hallmark device-sim` processes).

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use crate::common::Cli;
use crate::common::serve::{Server, create_order};

/// CA home, server, order and station.
pub struct Line {
    pub cli: Cli,
    pub server: Server,
    pub station: PathBuf,
    pub order: String,
}

impl Line {
    /// An order of `quantity` devices and an enrolled station; the
    /// per-station rate limit is raised so the tests measure Hallmark.
    pub fn new(quantity: u64) -> Self {
        let cli = Cli::new();
        cli.init_soft();
        let toml = cli.home().join("hallmark.toml");
        let text = std::fs::read_to_string(&toml).unwrap().replace(
            "station_rate_limit = { per_second = 20.0, burst = 40 }",
            "station_rate_limit = { per_second = 5000.0, burst = 5000 }",
        );
        std::fs::write(&toml, text).unwrap();
        let quantity = quantity.to_string();
        let (order, tokens) = create_order(&cli, &["--product", "sensor", "--quantity", &quantity]);
        let server = Server::start(&cli);
        let root = cli.chain_file("root");
        let station = cli.path("station");
        cli.ok(&[
            "--home",
            station.to_str().unwrap(),
            "station",
            "enroll",
            "--server",
            &format!("https://{}", server.addr),
            "--root",
            root.to_str().unwrap(),
            "--token",
            &tokens[0],
        ]);
        Line {
            cli,
            server,
            station,
            order,
        }
    }

    /// `hallmark --home STATION station run ARGS`.
    pub fn run(&self, args: &[&str]) -> Output {
        let mut all = vec!["--home", self.station.to_str().unwrap(), "station", "run"];
        all.extend_from_slice(args);
        self.cli.run(&all)
    }

    /// The same, as a child process with stdout piped.
    pub fn spawn(&self, args: &[&str]) -> Child {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_hallmark"));
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .current_dir(self.cli.dir.path())
            .args(["--home", self.station.to_str().unwrap(), "station", "run"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in &self.cli.envs {
            cmd.env(k, v);
        }
        cmd.spawn().unwrap()
    }

    /// A path in the test directory, as a string.
    pub fn file(&self, name: &str) -> String {
        self.cli.path(name).to_str().unwrap().to_string()
    }

    /// Certificates in the store.
    pub fn certificates(&self) -> u64 {
        self.cli.count("SELECT count(*) FROM certificates")
    }

    /// Audit events of `kind`.
    pub fn events(&self, kind: &str) -> u64 {
        self.cli.count(&format!(
            "SELECT count(*) FROM audit_log WHERE kind = '{kind}'"
        ))
    }
}

/// The JSON lines of a report.
pub fn report(path: &str) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// `hallmark device-sim` on a free port; killed on drop.
pub struct Sim {
    child: Child,
    pub url: String,
}

impl Sim {
    pub fn start(state: &Path, extra: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_hallmark"))
            .env_clear()
            .args(["device-sim", "--listen", "127.0.0.1:0", "--state"])
            .arg(state)
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line from device-sim: {line:?}"))
            .to_string();
        assert!(url.starts_with("tcp://127.0.0.1:"), "{url}");
        Sim { child, url }
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
