//! Shared fixtures: an OpenSSL test CA with a server certificate, software
//! station keys, and `openssl s_server` as the independent TLS peer.

#![allow(dead_code)] // each test binary uses its own subset

use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hallmark_keys::{KeyStore, SoftKeyStore};
use hallmark_pki::{Attribute, DistinguishedName, KeyAlgorithm, Signer};
use hallmark_station::{StationEnrollment, StationHome};
use hallmark_testkit::tools::{self, KeySpec, path_str};
use tempfile::TempDir;
use zeroize::Zeroizing;

pub const PASSPHRASE: &str = "correct horse battery staple";

/// A CA made by OpenSSL, with a server certificate for 127.0.0.1.
pub struct Pki {
    pub dir: TempDir,
    pub ca_pem: PathBuf,
    pub ca_key: PathBuf,
    pub ca_der: Vec<u8>,
    pub server_pem: PathBuf,
    pub server_key: PathBuf,
}

impl Pki {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let ca_key = tools::make_key(d, "ca", KeySpec::Ec("prime256v1"));
        let ca_pem = d.join("ca.pem");
        tools::openssl_ok(&[
            "req",
            "-x509",
            "-new",
            "-key",
            path_str(&ca_key),
            "-subj",
            "/O=Test/CN=Test Root",
            "-days",
            "30",
            "-out",
            path_str(&ca_pem),
        ]);
        let ca_der_path = d.join("ca.der");
        tools::openssl_ok(&[
            "x509",
            "-in",
            path_str(&ca_pem),
            "-outform",
            "DER",
            "-out",
            path_str(&ca_der_path),
        ]);
        let ca_der = std::fs::read(&ca_der_path).unwrap();
        let server_key = tools::make_key(d, "server", KeySpec::Ec("prime256v1"));
        let (server_csr, _) = tools::make_csr(&server_key, "127.0.0.1", Some("sha256"));
        let mut pki = Self {
            dir,
            ca_pem,
            ca_key,
            ca_der,
            server_pem: PathBuf::new(),
            server_key,
        };
        let ext = "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n\
                   keyUsage=critical,digitalSignature\n";
        pki.server_pem = pki.sign(&server_csr, "server", ext, 30);
        pki
    }

    /// Certifies a PEM CSR as a TLS client for `days`; returns the PEM certificate.
    pub fn sign_client_csr(&self, csr_pem: &str, name: &str, days: u32) -> String {
        let csr = self.dir.path().join(format!("{name}.csr"));
        std::fs::write(&csr, csr_pem).unwrap();
        let ext = "extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature\n";
        std::fs::read_to_string(self.sign(&csr, name, ext, days)).unwrap()
    }

    fn sign(&self, csr: &Path, name: &str, ext: &str, days: u32) -> PathBuf {
        let d = self.dir.path();
        let ext_path = d.join(format!("{name}.ext"));
        std::fs::write(&ext_path, ext).unwrap();
        let out = d.join(format!("{name}.pem"));
        let days = days.to_string();
        tools::openssl_ok(&[
            "x509",
            "-req",
            "-in",
            path_str(csr),
            "-CA",
            path_str(&self.ca_pem),
            "-CAkey",
            path_str(&self.ca_key),
            "-CAcreateserial",
            "-days",
            &days,
            "-sha256",
            "-extfile",
            path_str(&ext_path),
            "-out",
            path_str(&out),
        ]);
        out
    }
}

/// A new encrypted software key in `dir`, opened as a signer.
pub fn soft_signer(dir: &Path, alg: KeyAlgorithm) -> Arc<dyn Signer> {
    let store = SoftKeyStore::open(dir.to_owned(), Zeroizing::new(PASSPHRASE.into())).unwrap();
    let uri = store.generate("station", alg).unwrap();
    store.signer(&uri).unwrap()
}

/// A PEM CSR for `signer`, made by `hallmark_pki::build_csr`.
pub fn csr_pem(signer: &dyn Signer) -> String {
    let subject = DistinguishedName::new()
        .with(Attribute::Organization, "station")
        .with(Attribute::CommonName, "test-station");
    let der = hallmark_pki::build_csr(&subject, signer).unwrap();
    hallmark_pki::pem::encode("CERTIFICATE REQUEST", &der)
}

/// A DER certificate from PEM.
pub fn der_of(pem: &str) -> Vec<u8> {
    hallmark_pki::pem::decode(pem.as_bytes(), &["CERTIFICATE"]).unwrap()
}

/// A port nothing listens on (bound, then released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `openssl s_server` on 127.0.0.1 requiring a client certificate from the
/// test CA; killed when dropped.
pub struct SServer {
    child: Child,
    pub port: u16,
}

impl SServer {
    /// Starts it with `extra` arguments (`-www`, `-HTTP`, `-tls1_2`, …) in `cwd`.
    pub fn start(pki: &Pki, extra: &[&str], cwd: &Path) -> Self {
        let port = free_port();
        let accept = format!("127.0.0.1:{port}");
        let child = Command::new("openssl")
            .args([
                "s_server",
                "-accept",
                &accept,
                "-Verify",
                "1",
                "-verify_return_error",
            ])
            .args(["-CAfile", path_str(&pki.ca_pem)])
            .args([
                "-cert",
                path_str(&pki.server_pem),
                "-key",
                path_str(&pki.server_key),
            ])
            .args(extra)
            .current_dir(cwd)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("openssl s_server (apt-get install openssl)");
        let mut server = Self { child, port };
        server.wait_listening();
        server
    }

    fn wait_listening(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                self.child.try_wait().unwrap().is_none(),
                "openssl s_server exited"
            );
            assert!(Instant::now() < deadline, "openssl s_server did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn url(&self) -> String {
        format!("https://127.0.0.1:{}", self.port)
    }
}

impl Drop for SServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `GET /` from `s_server -www` over TLS with `config`; `Err` is the TLS or
/// I/O failure.
pub fn https_get(port: u16, config: rustls::ClientConfig) -> Result<String, std::io::Error> {
    let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
    let conn = rustls::ClientConnection::new(Arc::new(config), name).unwrap();
    let tcp = TcpStream::connect(("127.0.0.1", port))?;
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    tls.write_all(b"GET / HTTP/1.0\r\n\r\n")?;
    let mut page = Vec::new();
    match tls.read_to_end(&mut page) {
        // s_server may close without close_notify after the page.
        Err(err) if err.kind() == std::io::ErrorKind::UnexpectedEof && !page.is_empty() => {}
        other => {
            other?;
        }
    }
    Ok(String::from_utf8_lossy(&page).into_owned())
}

/// The test CA's certificate, PEM.
pub fn root_pem(pki: &Pki) -> Vec<u8> {
    std::fs::read(&pki.ca_pem).unwrap()
}

/// Certifies the home's key with the test CA, as the server would.
pub fn enrollment(pki: &Pki, home: &StationHome, days: u32) -> StationEnrollment {
    let certificate = pki.sign_client_csr(&home.csr_pem().unwrap(), "station", days);
    StationEnrollment {
        station_id: "st-9c1d0e77".into(),
        order_id: "ord-3f9a2c1b".into(),
        certificate,
        chain: vec![String::from_utf8(root_pem(pki)).unwrap()],
        serial: "01".into(),
        not_after: 0,
    }
}
