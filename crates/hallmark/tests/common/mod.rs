//! Running the `hallmark` binary the way a user does.

#![allow(dead_code)]

pub mod serve;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use hallmark_testkit::tools::{self, KeySpec};

pub const PASSPHRASE: &str = "correct horse battery staple";

/// A temporary working directory with a Hallmark home inside.
pub struct Cli {
    pub dir: tempfile::TempDir,
    pub envs: Vec<(String, String)>,
}

impl Cli {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
            envs: vec![("HALLMARK_PASSPHRASE".into(), PASSPHRASE.into())],
        }
    }

    pub fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Runs `hallmark --home <home> ARGS`.
    pub fn run(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_hallmark"));
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .current_dir(self.dir.path())
            .arg("--home")
            .arg(self.home())
            .args(args);
        for (k, v) in &self.envs {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    }

    /// Runs and asserts success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "hallmark {args:?} failed:\n{}",
            text(&out)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Runs and asserts failure; returns stderr.
    pub fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            !out.status.success(),
            "hallmark {args:?} succeeded:\n{}",
            text(&out)
        );
        String::from_utf8(out.stderr).unwrap()
    }

    pub fn init_soft(&self) {
        self.ok(&[
            "init",
            "--org",
            "Acme Devices",
            "--factory",
            "berlin",
            "--factory",
            "shenzhen",
        ]);
    }

    /// Writes `ca chain --ca ID` to a file and returns its path.
    pub fn chain_file(&self, ca: &str) -> PathBuf {
        let path = self.path(&format!("chain-{ca}.pem"));
        std::fs::write(&path, self.ok(&["ca", "chain", "--ca", ca])).unwrap();
        path
    }

    /// A CSR made by OpenSSL: returns (key path, CSR path).
    pub fn csr(
        &self,
        name: &str,
        spec: KeySpec,
        digest: Option<&str>,
        der: bool,
    ) -> (PathBuf, PathBuf) {
        let key = tools::make_key(self.dir.path(), name, spec);
        let (pem, _) = tools::make_csr(&key, name, digest);
        let path = if der {
            key.with_extension("csr.der")
        } else {
            pem
        };
        (key, path)
    }

    /// Issue with the default profile; returns the output of the command.
    pub fn issue(&self, ca: &str, csr: &Path, device: &str, out: &Path) -> Output {
        self.issue_with_profile(ca, csr, device, "device", out)
    }

    /// Issue with `profile`; returns the output of the command.
    pub fn issue_with_profile(
        &self,
        ca: &str,
        csr: &Path,
        device: &str,
        profile: &str,
        out: &Path,
    ) -> Output {
        self.run(&[
            "issue",
            "--ca",
            ca,
            "--csr",
            csr.to_str().unwrap(),
            "--device-id",
            device,
            "--profile",
            profile,
            "--out",
            out.to_str().unwrap(),
        ])
    }

    /// Runs `sql` with sqlite3 (the independent reader); returns its output.
    pub fn sql(&self, sql: &str) -> String {
        let db = self.home().join("hallmark.db");
        let out = Command::new("sqlite3")
            .arg(&db)
            .arg(sql)
            .output()
            .expect("sqlite3 missing: apt-get install sqlite3");
        assert!(out.status.success(), "{}", text(&out));
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    }

    /// A number from `sql`.
    pub fn count(&self, sql: &str) -> u64 {
        self.sql(sql).parse().unwrap()
    }

    /// Counts (issued certificates, audit events) with sqlite3, the independent reader.
    pub fn counts(&self) -> (u64, u64) {
        (
            self.count("SELECT count(*) FROM certificates"),
            self.count("SELECT count(*) FROM audit_log"),
        )
    }
}

pub fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Verifies `leaf` against the chain printed by `ca chain` with OpenSSL and pkilint.
pub fn verify_device_cert(cli: &Cli, ca: &str, leaf: &Path) {
    let chain = cli.chain_file(ca);
    let root = cli.chain_file("root");
    tools::openssl_verify(&root, &[&chain], leaf, Some("sslclient"))
        .unwrap_or_else(|e| panic!("openssl verify {}: {e}", leaf.display()));
    tools::lint_certificate(leaf).unwrap_or_else(|e| panic!("pkilint {}: {e}", leaf.display()));
}

/// Splits a PEM bundle into one file per certificate; returns the paths in order.
pub fn split_pem(dir: &Path, bundle: &str, prefix: &str) -> Vec<PathBuf> {
    bundle
        .split_inclusive("-----END CERTIFICATE-----\n")
        .filter(|b| b.contains("BEGIN CERTIFICATE"))
        .enumerate()
        .map(|(i, block)| {
            let path = dir.join(format!("{prefix}-{i}.pem"));
            std::fs::write(&path, block).unwrap();
            path
        })
        .collect()
}

/// The device key types Hallmark accepts, as (name, OpenSSL key, digest, CSR in DER?).
pub const ACCEPTED_KEYS: [(&str, KeySpec, Option<&str>, bool); 6] = [
    ("p256-pem", KeySpec::Ec("prime256v1"), Some("sha256"), false),
    ("p256-der", KeySpec::Ec("prime256v1"), Some("sha256"), true),
    ("p384", KeySpec::Ec("secp384r1"), Some("sha384"), false),
    ("ed25519", KeySpec::Ed25519, None, true),
    ("rsa2048", KeySpec::Rsa(2048), Some("sha256"), false),
    ("rsa4096", KeySpec::Rsa(4096), Some("sha256"), true),
];

/// Every CA certificate of the home verifies against the root and is lint-clean,
/// and links to its issuer (AKI = issuer SKI, names, signature).
pub fn check_ca_certificates(cli: &Cli, ids: &[&str]) {
    let root = cli.path("root.pem");
    std::fs::write(&root, cli.ok(&["ca", "chain", "--ca", "root"])).unwrap();
    tools::lint_certificate(&root).unwrap_or_else(|e| panic!("root: {e}"));
    for ca in ids {
        let chain = cli.ok(&["ca", "chain", "--ca", ca]);
        let parts = split_pem(cli.dir.path(), &chain, ca);
        assert_eq!(
            std::fs::read(parts.last().unwrap()).unwrap(),
            std::fs::read(&root).unwrap(),
            "{ca}: root last"
        );
        let untrusted: Vec<&Path> = parts[1..parts.len() - 1]
            .iter()
            .map(|p| p.as_path())
            .collect();
        tools::openssl_verify(&root, &untrusted, &parts[0], None)
            .unwrap_or_else(|e| panic!("{ca}: {e}"));
        tools::lint_certificate(&parts[0]).unwrap_or_else(|e| panic!("{ca}: {e}"));
        tools::lint_chain_link(&parts[1], &parts[0]).unwrap_or_else(|e| panic!("{ca}: {e}"));
    }
}

/// Issues one device certificate per accepted key type from OpenSSL-made CSRs
/// and has OpenSSL and pkilint judge each one.
pub fn issue_every_key_type(cli: &Cli, cas: &[&str]) {
    for (i, (name, spec, digest, der)) in ACCEPTED_KEYS.into_iter().enumerate() {
        let ca = cas[i % cas.len()];
        let (_, csr) = cli.csr(name, spec, digest, der);
        let out = cli.path(&format!("{name}.pem"));
        let device = format!("ACME-{i:04}");
        let run = cli.issue(ca, &csr, &device, &out);
        assert!(run.status.success(), "{name}: {}", text(&run));
        verify_device_cert(cli, ca, &out);
        let cert = tools::certificate_text(&out, &["-serial", "-subject"]);
        assert!(
            cert.contains(&format!("CN = {device}")) || cert.contains(&format!("CN={device}")),
            "{cert}"
        );
        assert!(cert.contains("TLS Web Client Authentication"), "{cert}");
        assert!(
            cert.contains(&format!("URI:http://127.0.0.1:8080/crl/{ca}.crl")),
            "{cert}"
        );
        assert!(
            cert.contains("OCSP - URI:http://127.0.0.1:8080/ocsp"),
            "{cert}"
        );
        assert!(
            cert.contains(&format!("URI:https://devices.example.com/{ca}/{device}")),
            "{cert}"
        );
        let serial = cert
            .lines()
            .find_map(|l| l.strip_prefix("serial="))
            .unwrap();
        assert_eq!(serial.len(), 32, "16-byte serial: {serial}");
    }
    assert_eq!(cli.counts().0, ACCEPTED_KEYS.len() as u64);
}
