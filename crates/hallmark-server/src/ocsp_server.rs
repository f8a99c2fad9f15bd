//! `hallmark ocsp serve`: a standalone OCSP responder ([RFC 6960]) on plain
//! HTTP. It only reads the store (the binary opens it read-only) and needs
//! only the OCSP responder keys, opened at start.
//!
//! [RFC 6960]: https://www.rfc-editor.org/rfc/rfc6960

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use hallmark_authority::RevocationService;
use tokio::net::TcpListener;

use crate::app::revocation::ocsp_router;
use crate::error::Error;
use crate::listen::serve_plain;

/// A bound standalone OCSP responder.
#[derive(Debug)]
pub struct OcspServer {
    listener: TcpListener,
    service: Arc<RevocationService>,
}

impl OcspServer {
    /// Opens every responder key (a wrong secret fails here, not per
    /// request) and binds `addr`. Returns the server and the issuing CAs it
    /// answers for.
    pub async fn bind(
        addr: SocketAddr,
        service: Arc<RevocationService>,
    ) -> Result<(Self, Vec<String>), Error> {
        let cas = service.preload_responders().await?;
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| Error::Bind { addr, source })?;
        Ok((Self { listener, service }, cas))
    }

    /// The bound address (with the real port when bound to port 0).
    pub fn local_addr(&self) -> Result<SocketAddr, Error> {
        self.listener.local_addr().map_err(Error::Io)
    }

    /// Serves `/ocsp` and `/healthz` until `shutdown` completes.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        serve_plain(self.listener, ocsp_router(self.service), shutdown).await;
    }
}
