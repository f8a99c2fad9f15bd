//! Shared by the revocation tests: a home whose certificates point at a
//! running server's plain-HTTP listener, devices issued with OpenSSL keys,
//! and the `openssl ocsp` client.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use hallmark_testkit::tools::{self, KeySpec, path_str};

use crate::common::serve::Server;
use crate::common::{Cli, text};

/// A home with factories berlin and shenzhen, `hallmark serve
/// --http-listen`, and `urls` rewritten to the real plain-HTTP address
/// (before anything is issued, so CDP and AIA point at it).
pub struct Setup {
    pub cli: Cli,
    /// `None` for [`Setup::offline`].
    pub server: Option<Server>,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// The root certificate (PEM).
    pub root: PathBuf,
    /// berlin's issuing CA certificate alone (PEM).
    pub ica: PathBuf,
    /// `ca chain --ca berlin`: issuing CA, then root.
    pub chain: PathBuf,
}

impl Setup {
    pub fn new() -> Self {
        let cli = Cli::new();
        cli.init_soft();
        let server = Server::start_with(&cli, &["--http-listen", "127.0.0.1:0"]);
        let base = format!("http://{}", server.http_addr.unwrap());
        rewrite_urls(&cli, &base);
        Self::with(cli, Some(server), base)
    }

    /// Without a server (URLs left at their defaults).
    pub fn offline() -> Self {
        let cli = Cli::new();
        cli.init_soft();
        Self::with(cli, None, "http://127.0.0.1:8080".into())
    }

    fn with(cli: Cli, server: Option<Server>, base: String) -> Self {
        let chain = cli.chain_file("berlin");
        let root = cli.chain_file("root");
        let ica = cli.path("berlin-ica.pem");
        tools::openssl_ok(&["x509", "-in", path_str(&chain), "-out", path_str(&ica)]);
        Setup {
            cli,
            server,
            base,
            root,
            ica,
            chain,
        }
    }

    /// Issues a device certificate from berlin (`hallmark issue`, OpenSSL
    /// key): (key, certificate) paths.
    pub fn device(&self, device_id: &str) -> (PathBuf, PathBuf) {
        issue(&self.cli, "berlin", device_id)
    }

    /// `openssl ocsp -issuer ica -cert leaf -url <AIA of leaf>` trusting
    /// the root only (the issuing CA untrusted): (exit ok, output).
    pub fn ocsp(&self, leaf: &Path, extra: &[&str]) -> (bool, String) {
        let url = tools::openssl_ok(&["x509", "-in", path_str(leaf), "-noout", "-ocsp_uri"]);
        self.ocsp_at(leaf, url.trim(), extra)
    }

    /// [`ocsp`](Self::ocsp) asking the responder at `url`.
    pub fn ocsp_at(&self, leaf: &Path, url: &str, extra: &[&str]) -> (bool, String) {
        let mut cmd = tools::openssl();
        cmd.args([
            "ocsp",
            "-issuer",
            path_str(&self.ica),
            "-cert",
            path_str(leaf),
        ])
        .args(["-url", url])
        .args(["-CAfile", path_str(&self.root)])
        .args(["-verify_other", path_str(&self.chain)])
        .args(extra);
        let out = cmd
            .output()
            .expect("openssl runs (apt-get install openssl)");
        (out.status.success(), text(&out))
    }

    /// [`ocsp`](Self::ocsp) that must verify; returns the output.
    pub fn ocsp_verified(&self, leaf: &Path, extra: &[&str]) -> String {
        let (ok, out) = self.ocsp(leaf, extra);
        Self::verified(ok, out, leaf)
    }

    /// [`ocsp_at`](Self::ocsp_at) that must verify; returns the output.
    pub fn ocsp_verified_at(&self, leaf: &Path, url: &str, extra: &[&str]) -> String {
        let (ok, out) = self.ocsp_at(leaf, url, extra);
        Self::verified(ok, out, leaf)
    }

    /// Verifies a saved response with nothing but the root trusted and the
    /// issuing CA as an untrusted intermediate (no `-issuer`, which would
    /// let OpenSSL trust the issuer as responder); returns the text.
    pub fn strict_verify(&self, response: &Path) -> String {
        let (ok, out) = run(tools::openssl().args([
            "ocsp",
            "-respin",
            path_str(response),
            "-resp_text",
            "-CAfile",
            path_str(&self.root),
            "-verify_other",
            path_str(&self.chain),
        ]));
        assert!(ok && out.contains("Response verify OK"), "{out}");
        out
    }

    fn verified(ok: bool, out: String, leaf: &Path) -> String {
        assert!(
            ok && out.contains("Response verify OK") && !out.contains("WARNING"),
            "openssl ocsp {}:\n{out}",
            leaf.display()
        );
        out
    }
}

/// Points `urls.crl_base` and `urls.ocsp` of the home's configuration at `base`.
pub fn rewrite_urls(cli: &Cli, base: &str) {
    let path = cli.home().join("hallmark.toml");
    let config = std::fs::read_to_string(&path).unwrap();
    let rewritten = config.replace("http://127.0.0.1:8080", base);
    assert_ne!(config, rewritten, "the default URLs moved: {config}");
    std::fs::write(&path, rewritten).unwrap();
}

/// `hallmark issue` from `ca` for a fresh OpenSSL P-256 key: (key, certificate).
pub fn issue(cli: &Cli, ca: &str, device_id: &str) -> (PathBuf, PathBuf) {
    let (key, csr) = cli.csr(device_id, KeySpec::Ec("prime256v1"), Some("sha256"), false);
    let cert = cli.path(&format!("{device_id}.pem"));
    let out = cli.issue(ca, &csr, device_id, &cert);
    assert!(out.status.success(), "issue {device_id}: {}", text(&out));
    (key, cert)
}

/// A throwaway CA made with OpenSSL (not Hallmark's), in `dir`: signs a
/// certificate for `cn` (client, or server for `IP:127.0.0.1` with
/// `server`). Returns (CA certificate, leaf key, leaf certificate).
pub fn foreign(dir: &Path, cn: &str, server: bool) -> (PathBuf, PathBuf, PathBuf) {
    let (ca, ca_key) = (dir.join("foreign-ca.pem"), dir.join("foreign-ca.key"));
    if !ca.exists() {
        tools::make_key(dir, "foreign-ca", KeySpec::Ec("prime256v1"));
        tools::openssl_ok(&[
            "req",
            "-x509",
            "-new",
            "-key",
            path_str(&ca_key),
            "-subj",
            "/CN=Foreign Test CA",
            "-days",
            "2",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
            "-out",
            path_str(&ca),
        ]);
    }
    let key = tools::make_key(dir, cn, KeySpec::Ec("prime256v1"));
    let (csr, _) = tools::make_csr(&key, cn, Some("sha256"));
    let ext = dir.join(format!("{cn}.ext"));
    let usage = if server {
        "extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1\n"
    } else {
        "extendedKeyUsage=clientAuth\n"
    };
    std::fs::write(
        &ext,
        format!("basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n{usage}"),
    )
    .unwrap();
    let cert = dir.join(format!("{cn}.pem"));
    tools::openssl_ok(&[
        "x509",
        "-req",
        "-in",
        path_str(&csr),
        "-CA",
        path_str(&ca),
        "-CAkey",
        path_str(&ca_key),
        "-set_serial",
        "0x5eed",
        "-days",
        "2",
        "-extfile",
        path_str(&ext),
        "-out",
        path_str(&cert),
    ]);
    (ca, key, cert)
}

/// Runs `hallmark revoke ARGS` and returns its stdout.
pub fn revoke(cli: &Cli, args: &[&str]) -> String {
    let mut all = vec!["revoke"];
    all.extend_from_slice(args);
    cli.ok(&all)
}

/// The DER of a CRL fetched from the server; asserts the content type.
pub fn fetch_crl(setup: &Setup, ca: &str) -> Vec<u8> {
    let reply = crate::common::serve::curl(
        setup.cli.dir.path(),
        &[&format!("{}/crl/{ca}.crl", setup.base)],
    );
    assert_eq!(reply.status, 200);
    assert_eq!(reply.content_type, "application/pkix-crl");
    reply.body
}

/// Writes `der` as a PEM CRL with OpenSSL (`crl -inform DER`); returns the path.
pub fn crl_pem(dir: &Path, name: &str, der: &[u8]) -> PathBuf {
    let der_path = dir.join(format!("{name}.crl"));
    std::fs::write(&der_path, der).unwrap();
    let pem = dir.join(format!("{name}.crl.pem"));
    tools::openssl_ok(&[
        "crl",
        "-inform",
        "DER",
        "-in",
        path_str(&der_path),
        "-out",
        path_str(&pem),
    ]);
    pem
}

/// Runs a command; (success, output).
pub fn run(cmd: &mut Command) -> (bool, String) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    (out.status.success(), text(&out))
}
