#![allow(clippy::unwrap_used, clippy::expect_used)]
//! `serve_tls` and `serve_plain` against independent clients: curl (with
//! client certificates made by the openssl CLI) and reqwest.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::routing::get;
use axum::{Extension, Router};
use hallmark_server::{PeerCertificates, RemoteAddr, serve_plain, serve_tls, server_config};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::net::TcpListener;
use tokio::sync::{Notify, oneshot};
use tokio::task::JoinHandle;

/// Runs a command line tool, panicking with an install hint if it is missing.
fn run(program: &str, dir: &Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run `{program}` ({e}); install it: apt-get install {program}")
        })
}

/// Runs `openssl` with a whitespace-separated command line.
fn openssl(dir: &Path, command: &str) {
    let args: Vec<&str> = command.split_whitespace().collect();
    let out = run("openssl", dir, &args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "openssl {command}: {stderr}");
}

/// A P-256 key (`<name>.key`, PEM) and a certificate (`<name>.pem`) issued by
/// `ca` (self-signed when `None`) with the given extensions.
fn issue(dir: &Path, name: &str, ca: Option<&str>, extensions: &str) {
    std::fs::write(dir.join(format!("{name}.ext")), extensions).unwrap();
    openssl(
        dir,
        &format!(
            "req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
             -keyout {name}.key -subj /CN={name} -out {name}.csr"
        ),
    );
    let signer = match ca {
        Some(ca) => format!("-CA {ca}.pem -CAkey {ca}.key -CAcreateserial"),
        None => format!("-key {name}.key"),
    };
    openssl(
        dir,
        &format!("x509 -req -in {name}.csr -days 1 -extfile {name}.ext {signer} -out {name}.pem"),
    );
}

const CA_EXT: &str = "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n";
const SERVER_EXT: &str = "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\n";
const CLIENT_EXT: &str = "extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature\n";

/// The test PKI: a CA with a server and a client, and a foreign CA with its
/// own client.
struct Pki {
    dir: tempfile::TempDir,
}

impl Pki {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        issue(d, "ca", None, CA_EXT);
        issue(d, "server", Some("ca"), SERVER_EXT);
        issue(d, "client", Some("ca"), CLIENT_EXT);
        issue(d, "other-ca", None, CA_EXT);
        issue(d, "intruder", Some("other-ca"), CLIENT_EXT);
        Self { dir }
    }

    fn path(&self, file: &str) -> PathBuf {
        self.dir.path().join(file)
    }

    fn cert_der(&self, name: &str) -> CertificateDer<'static> {
        let command = format!("x509 -in {name}.pem -outform DER -out {name}.der");
        openssl(self.dir.path(), &command);
        CertificateDer::from(std::fs::read(self.path(&format!("{name}.der"))).unwrap())
    }

    fn key_der(&self, name: &str) -> PrivateKeyDer<'static> {
        let command = format!("pkcs8 -topk8 -nocrypt -in {name}.key -outform DER -out {name}.p8");
        openssl(self.dir.path(), &command);
        let der = std::fs::read(self.path(&format!("{name}.p8"))).unwrap();
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(der))
    }
}

/// Says whether a client certificate came with the request, and from where.
async fn peer(
    Extension(peer): Extension<PeerCertificates>,
    Extension(remote): Extension<RemoteAddr>,
) -> String {
    let ip = remote.0.ip();
    match peer.end_entity() {
        Some(cert) => format!("cert {} from {ip}", cert.len()),
        None => format!("none from {ip}"),
    }
}

/// A slow handler that tells the test when it has started.
fn app(started: Arc<Notify>) -> Router {
    let slow = move || {
        let started = Arc::clone(&started);
        async move {
            started.notify_one();
            tokio::time::sleep(Duration::from_millis(500)).await;
            "slow done"
        }
    };
    Router::new()
        .route("/peer", get(peer))
        .route("/slow", get(slow))
}

struct Server {
    addr: SocketAddr,
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
    started: Arc<Notify>,
}

async fn start_tls(pki: &Pki) -> Server {
    let config = server_config(
        vec![pki.cert_der("server")],
        pki.key_der("server"),
        &[pki.cert_der("ca")],
    )
    .unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel();
    let started = Arc::new(Notify::new());
    let shutdown = async move { stopped.await.unwrap_or(()) };
    let task = tokio::spawn(serve_tls(
        listener,
        config,
        app(Arc::clone(&started)),
        shutdown,
    ));
    Server {
        addr,
        stop,
        task,
        started,
    }
}

/// Runs curl against `path` with `extra` arguments; returns its exit code
/// and output.
async fn curl(pki: &Pki, server: &Server, path: &str, extra: &[&str]) -> (Option<i32>, String) {
    let url = format!("https://127.0.0.1:{}{path}", server.addr.port());
    let out = tokio::process::Command::new("curl")
        .args(["-sS", "--fail", "--max-time", "10", "--cacert"])
        .arg(pki.path("ca.pem"))
        .args(extra)
        .arg(&url)
        .current_dir(pki.dir.path())
        .output()
        .await
        .expect("cannot run `curl`; install it: apt-get install curl");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    (out.status.code(), format!("{stdout}{stderr}"))
}

async fn stop(server: Server) -> Duration {
    let begun = Instant::now();
    server.stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(15), server.task)
        .await
        .unwrap()
        .unwrap();
    begun.elapsed()
}

#[tokio::test(flavor = "multi_thread")]
async fn client_certificates_are_optional_but_verified() {
    let pki = Pki::new();
    let server = start_tls(&pki).await;
    let client_len = pki.cert_der("client").len();

    let with_cert = ["--cert", "client.pem", "--key", "client.key"];
    let (code, body) = curl(&pki, &server, "/peer", &with_cert).await;
    assert_eq!(code, Some(0), "{body}");
    assert_eq!(body, format!("cert {client_len} from 127.0.0.1"));

    let (code, body) = curl(&pki, &server, "/peer", &[]).await;
    assert_eq!(code, Some(0), "{body}");
    assert_eq!(body, "none from 127.0.0.1");

    let foreign = ["--cert", "intruder.pem", "--key", "intruder.key"];
    let (code, body) = curl(&pki, &server, "/peer", &foreign).await;
    // The server refuses the handshake: with TLS 1.3 curl learns it from the
    // alert or the closed connection, so the exit code varies (35, 55, 56);
    // it is never 0, nor 22 (an HTTP error status), and no handler ran.
    assert!(
        !matches!(code, Some(0 | 22)) && !body.contains("from 127.0.0.1"),
        "foreign certificate: exit {code:?}: {body}"
    );

    assert!(stop(server).await < Duration::from_secs(5));
}

#[tokio::test(flavor = "multi_thread")]
async fn http2_and_http11_are_both_served() {
    let pki = Pki::new();
    let server = start_tls(&pki).await;
    for (flag, version) in [("--http2", "2"), ("--http1.1", "1.1")] {
        let (code, body) = curl(&pki, &server, "/peer", &[flag, "-w", " %{http_version}"]).await;
        assert_eq!(code, Some(0), "{body}");
        assert_eq!(body, format!("none from 127.0.0.1 {version}"));
    }
    stop(server).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn shutdown_lets_in_flight_requests_finish_and_drops_pending_handshakes() {
    let pki = Pki::new();
    let server = start_tls(&pki).await;
    // A client that connects and never starts the handshake.
    let _silent = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let started = Arc::clone(&server.started);
    let slow = {
        let dir = pki.dir.path().to_path_buf();
        let (addr, ca) = (server.addr, pki.path("ca.pem"));
        tokio::spawn(async move {
            let url = format!("https://127.0.0.1:{}/slow", addr.port());
            let out = tokio::process::Command::new("curl")
                .args(["-sS", "--fail", "--max-time", "10", "--cacert"])
                .arg(ca)
                .arg(url)
                .current_dir(dir)
                .output()
                .await
                .unwrap();
            (
                out.status.success(),
                String::from_utf8_lossy(&out.stdout).into_owned(),
            )
        })
    };
    tokio::time::timeout(Duration::from_secs(10), started.notified())
        .await
        .unwrap();
    let elapsed = stop(server).await;
    assert_eq!(slow.await.unwrap(), (true, "slow done".to_owned()));
    assert!(
        elapsed < Duration::from_secs(5),
        "shutdown took {elapsed:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn plain_http_requests_carry_no_certificate() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let shutdown = async move { stopped.await.unwrap_or(()) };
    let task = tokio::spawn(serve_plain(
        listener,
        app(Arc::new(Notify::new())),
        shutdown,
    ));

    let body = reqwest::get(format!("http://{addr}/peer"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(body, "none from 127.0.0.1");

    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .unwrap()
        .unwrap();
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "still listening"
    );
}
