//! Accept loops: HTTPS (rustls) and plain HTTP, HTTP/1.1 and HTTP/2, with
//! graceful shutdown.
//!
//! Each accepted connection runs in its own task. On TLS connections the
//! handshake must finish within [`TLS_HANDSHAKE_TIMEOUT`]; the client's
//! verified certificate chain (if it sent one, see [`crate::tls`]) is then
//! attached to every request as [`PeerCertificates`], with the client's
//! address as [`RemoteAddr`]. Handlers read them with
//! `axum::Extension<PeerCertificates>` and `axum::Extension<RemoteAddr>`.
//! EST ([RFC 7030 §3.3.2]) authorises by that certificate; the
//! `tls-unique` channel binding of RFC 7030 §3.5 is not offered (TLS 1.3
//! has none).
//!
//! When the `shutdown` future completes the listener is closed, idle
//! connections are closed, in-flight requests finish (HTTP/2 clients get a
//! `GOAWAY`), and what is still running after [`DRAIN_TIMEOUT`] is aborted.
//!
//! [RFC 7030 §3.3.2]: https://www.rfc-editor.org/rfc/rfc7030#section-3.3.2

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use hyper_util::service::TowerToHyperService;
use rustls::ServerConfig;
use rustls_pki_types::CertificateDer;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;
use tower::ServiceExt as _;

/// Longest time a client may take to complete the TLS handshake.
pub const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest time in-flight requests get to finish after shutdown.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest time a client may take to send an HTTP/1.1 request head.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// Interval of HTTP/2 keep-alive pings.
pub const HTTP2_KEEP_ALIVE_INTERVAL: Duration = Duration::from_secs(30);
/// Pause after an accept error that is not about one connection (such as
/// running out of file descriptors), so the loop does not spin.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(100);

/// The client certificate chain rustls verified during the handshake,
/// end-entity first; `None` when the client sent none (or on plain HTTP).
#[derive(Clone, Debug, Default)]
pub struct PeerCertificates(pub Option<Arc<Vec<CertificateDer<'static>>>>);

impl PeerCertificates {
    /// The client's own certificate, if it presented one.
    pub fn end_entity(&self) -> Option<&CertificateDer<'static>> {
        self.chain().first()
    }

    /// The whole chain as the client sent it (empty when none).
    pub fn chain(&self) -> &[CertificateDer<'static>] {
        self.0.as_deref().map_or(&[], Vec::as_slice)
    }
}

/// The address the connection came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RemoteAddr(pub SocketAddr);

/// How accepted streams become HTTP connections.
#[derive(Clone)]
enum Transport {
    Plain,
    Tls(TlsAcceptor),
}

/// What every connection task of one listener shares.
struct Shared {
    transport: Transport,
    app: Router,
    builder: Builder<TokioExecutor>,
    /// Becomes `true` at shutdown: pending TLS handshakes give up.
    stopping: watch::Receiver<bool>,
}

/// Serves `app` over HTTPS on `listener` until `shutdown` completes, then
/// drains (see the module docs). Returns when every connection has ended.
pub async fn serve_tls(
    listener: TcpListener,
    config: Arc<ServerConfig>,
    app: Router,
    shutdown: impl Future<Output = ()>,
) {
    serve(
        listener,
        Transport::Tls(TlsAcceptor::from(config)),
        app,
        shutdown,
    )
    .await;
}

/// Serves `app` over plain HTTP on `listener` until `shutdown` completes,
/// then drains. Requests carry an empty [`PeerCertificates`].
pub async fn serve_plain(listener: TcpListener, app: Router, shutdown: impl Future<Output = ()>) {
    serve(listener, Transport::Plain, app, shutdown).await;
}

async fn serve(
    listener: TcpListener,
    transport: Transport,
    app: Router,
    shutdown: impl Future<Output = ()>,
) {
    let local = listener.local_addr().ok();
    tracing::info!(
        ?local,
        tls = matches!(transport, Transport::Tls(_)),
        "serving"
    );
    let (stop, stopping) = watch::channel(false);
    let shared = Arc::new(Shared {
        transport,
        app,
        builder: connection_builder(),
        stopping,
    });
    let graceful = GracefulShutdown::new();
    let mut connections = JoinSet::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            biased;
            () = &mut shutdown => break,
            Some(ended) = connections.join_next(), if !connections.is_empty() => {
                log_panic(ended);
                continue;
            }
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, remote)) => {
                let shared = Arc::clone(&shared);
                connections.spawn(connection(shared, stream, remote, graceful.watcher()));
            }
            Err(error) => accept_failed(&error).await,
        }
    }
    drop(listener);
    stop.send_replace(true);
    drain(graceful, connections, local).await;
}

/// Logs a connection task that panicked (a handler bug): the loop goes on.
fn log_panic(ended: Result<(), tokio::task::JoinError>) {
    if let Err(error) = ended {
        tracing::warn!(%error, "connection task failed");
    }
}

/// Logs an accept error; pauses unless it concerned a single connection.
async fn accept_failed(error: &io::Error) {
    use io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        error.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    ) {
        tracing::debug!(%error, "accept failed");
    } else {
        tracing::warn!(%error, "accept failed; pausing");
        tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
    }
}

/// Signals shutdown to every connection and waits for them, at most
/// [`DRAIN_TIMEOUT`]; aborts the rest.
async fn drain(
    graceful: GracefulShutdown,
    mut connections: JoinSet<()>,
    local: Option<SocketAddr>,
) {
    tracing::info!(?local, connections = connections.len(), "shutting down");
    if tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            ?local,
            "connections still open after the drain timeout; aborting them"
        );
    }
    connections.shutdown().await;
    tracing::info!(?local, "stopped");
}

/// HTTP/1.1 with keep-alive and HTTP/2 (chosen by the connection preface).
fn connection_builder() -> Builder<TokioExecutor> {
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .keep_alive(true)
        .header_read_timeout(HEADER_READ_TIMEOUT);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(HTTP2_KEEP_ALIVE_INTERVAL);
    builder
}

/// One accepted TCP connection: transport handshake, then HTTP.
async fn connection(shared: Arc<Shared>, stream: TcpStream, remote: SocketAddr, watcher: Watcher) {
    if let Err(error) = stream.set_nodelay(true) {
        tracing::debug!(%remote, %error, "cannot set TCP_NODELAY");
    }
    match &shared.transport {
        Transport::Plain => {
            http(stream, remote, PeerCertificates(None), &shared, watcher).await;
        }
        Transport::Tls(acceptor) => {
            let mut stopping = shared.stopping.clone();
            let tls = tokio::select! {
                tls = handshake(acceptor, stream, remote) => tls,
                _ = stopping.wait_for(|stop| *stop) => None,
            };
            let Some(tls) = tls else { return };
            let chain = tls
                .get_ref()
                .1
                .peer_certificates()
                .map(|c| Arc::new(c.to_vec()));
            http(tls, remote, PeerCertificates(chain), &shared, watcher).await;
        }
    }
}

/// The TLS handshake, bounded by [`TLS_HANDSHAKE_TIMEOUT`]; failures are
/// logged (scanners and misconfigured clients are routine: debug level).
async fn handshake(
    acceptor: &TlsAcceptor,
    stream: TcpStream,
    remote: SocketAddr,
) -> Option<TlsStream<TcpStream>> {
    match tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
        Ok(Ok(tls)) => Some(tls),
        Ok(Err(error)) => {
            tracing::debug!(%remote, %error, "TLS handshake failed");
            None
        }
        Err(_) => {
            tracing::debug!(%remote, "TLS handshake timed out");
            None
        }
    }
}

/// Serves HTTP on an established stream, tagging each request with the
/// peer's certificates and address.
async fn http<I>(
    io: I,
    remote: SocketAddr,
    peer: PeerCertificates,
    shared: &Shared,
    watcher: Watcher,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service =
        shared
            .app
            .clone()
            .map_request(move |mut request: Request<hyper::body::Incoming>| {
                request.extensions_mut().insert(peer.clone());
                request.extensions_mut().insert(RemoteAddr(remote));
                request
            });
    let served = shared
        .builder
        .serve_connection(TokioIo::new(io), TowerToHyperService::new(service));
    if let Err(error) = watcher.watch(served).await {
        tracing::debug!(%remote, %error, "connection ended with an error");
    }
}

#[cfg(test)]
#[path = "listen_tests.rs"]
mod tests;
