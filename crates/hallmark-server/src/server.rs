//! `hallmark serve`: binds the listeners, certifies the server's own TLS
//! key, and runs the HTTPS application (and optionally the plain-HTTP one)
//! until shutdown.
//!
//! The server's TLS key is generated in memory at start and certified by the
//! station CA for the configured names: it never touches disk, and every
//! start gets a fresh one. Clients trust it through Hallmark's root.
//!
//! With a plain-HTTP listener the server also publishes CRLs and answers
//! OCSP ([`app::revocation`]), and keeps every issuing CA's CRL current:
//! every [`CRL_CHECK_INTERVAL`] it signs a new one where a revocation
//! happened (in any process) or the refresh time came.

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use hallmark_authority::{Authority, PublishedCas, RevocationService, RevocationSettings};
use hallmark_pki::SanTemplate;
use rustls::ServerConfig;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::TcpListener;

use crate::app::{self, AppState, CaCerts};
use crate::error::Error;
use crate::est_wire;
use crate::listen::{serve_plain, serve_tls};
use crate::metrics::Metrics;
use crate::ratelimit::RateLimiter;

/// How often the CRLs are brought up to date.
pub const CRL_CHECK_INTERVAL: std::time::Duration = std::time::Duration::from_secs(10);

/// How to serve.
#[derive(Clone, Debug)]
pub struct ServerOptions {
    /// HTTPS address.
    pub listen: SocketAddr,
    /// Plain-HTTP address for CRLs and OCSP, if any.
    pub http_listen: Option<SocketAddr>,
    /// Names in the server certificate (`DNS:…`, `IP:…`).
    pub alt_names: Vec<SanTemplate>,
    /// Lifetime of the server certificate, in seconds.
    pub certificate_validity: i64,
    /// Per-station rate limit: requests per second and burst; `None` for
    /// no limit.
    pub rate_limit: Option<(f64, u32)>,
}

/// A bound, ready server.
#[derive(Debug)]
pub struct Server {
    https: TcpListener,
    http: Option<TcpListener>,
    tls: Arc<ServerConfig>,
    state: Arc<AppState>,
    revocation: Arc<RevocationService>,
}

impl Server {
    /// Binds the listeners and certifies the server key.
    pub async fn bind(authority: Arc<Authority>, options: &ServerOptions) -> Result<Self, Error> {
        let cas = authority.published_cas().await?;
        let tls = tls_config(&authority, options, &cas).await?;
        let limiter = match options.rate_limit {
            Some((rate, burst)) => RateLimiter::new(rate, burst)?,
            None => RateLimiter::unlimited(),
        };
        let revocation = Arc::new(authority.revocation_service(RevocationSettings::default())?);
        let state = Arc::new(AppState {
            authority,
            metrics: Arc::new(Metrics::new()),
            limiter,
            cacerts: ca_certs(&cas)?,
            csrattrs: est_wire::csr_attributes(&[const_oid::db::rfc5912::ECDSA_WITH_SHA_256])?,
        });
        let https = bind(options.listen).await?;
        let http = match options.http_listen {
            Some(addr) => Some(bind(addr).await?),
            None => None,
        };
        Ok(Server {
            https,
            http,
            tls,
            state,
            revocation,
        })
    }

    /// Uses `settings` (CRL and OCSP lifetimes) instead of the defaults.
    pub fn with_revocation_settings(mut self, settings: RevocationSettings) -> Result<Self, Error> {
        self.revocation = Arc::new(self.state.authority.revocation_service(settings)?);
        Ok(self)
    }

    /// The HTTPS address (with the real port when bound to port 0).
    pub fn local_addr(&self) -> Result<SocketAddr, Error> {
        self.https.local_addr().map_err(Error::Io)
    }

    /// The plain-HTTP address, if any.
    pub fn http_addr(&self) -> Result<Option<SocketAddr>, Error> {
        self.http
            .as_ref()
            .map(|l| l.local_addr().map_err(Error::Io))
            .transpose()
    }

    /// Serves until `shutdown` completes, then drains in-flight requests.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send + 'static) {
        let (stop, _) = tokio::sync::broadcast::channel::<()>(1);
        let mut plain_stop = stop.subscribe();
        let mut refresh_stop = stop.subscribe();
        let plain = self.http.map(|listener| {
            let app = app::plain_router(Arc::clone(&self.state), Arc::clone(&self.revocation));
            tokio::spawn(refresh_crls(Arc::clone(&self.revocation), async move {
                let _ = refresh_stop.recv().await;
            }));
            tokio::spawn(serve_plain(listener, app, async move {
                let _ = plain_stop.recv().await;
            }))
        });
        let app = app::router(Arc::clone(&self.state));
        let stop_all = async move {
            shutdown.await;
            let _ = stop.send(());
        };
        serve_tls(self.https, self.tls, app, stop_all).await;
        if let Some(plain) = plain
            && let Err(err) = plain.await
        {
            tracing::error!(error = %err, "the plain-HTTP listener task failed");
        }
    }
}

/// Brings the CRLs up to date now and every [`CRL_CHECK_INTERVAL`] until `stop`.
async fn refresh_crls(service: Arc<RevocationService>, stop: impl Future<Output = ()>) {
    tokio::pin!(stop);
    loop {
        // Failures are logged per CA; the previous CRL is served meanwhile.
        let _ = service.refresh_crls().await;
        tokio::select! {
            () = &mut stop => break,
            () = tokio::time::sleep(CRL_CHECK_INTERVAL) => {}
        }
    }
}

async fn bind(addr: SocketAddr) -> Result<TcpListener, Error> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| Error::Bind { addr, source })
}

async fn tls_config(
    authority: &Authority,
    options: &ServerOptions,
    cas: &PublishedCas,
) -> Result<Arc<ServerConfig>, Error> {
    let key = crate::tls::generate_ephemeral_p256()?;
    let (certificate, chain) = authority
        .issue_server_certificate(
            key.spki.as_ref(),
            &options.alt_names,
            options.certificate_validity,
        )
        .await?;
    // Leaf and station CA; clients hold the root.
    let mut served = vec![CertificateDer::from(certificate.der)];
    served.extend(chain.into_iter().take(1).map(CertificateDer::from));
    let anchors = [CertificateDer::from(cas.root.clone())];
    crate::tls::server_config(served, PrivateKeyDer::Pkcs8(key.private_key), &anchors)
}

fn ca_certs(cas: &PublishedCas) -> Result<CaCerts, Error> {
    let mut all = vec![cas.root.clone(), cas.station_ca.clone()];
    all.extend(cas.issuing.iter().map(|(_, der)| der.clone()));
    let by_factory = cas
        .issuing
        .iter()
        .map(|(id, der)| {
            Ok((
                id.clone(),
                est_wire::certs_only(&[der.clone(), cas.root.clone()])?,
            ))
        })
        .collect::<Result<HashMap<_, _>, Error>>()?;
    Ok(CaCerts {
        all: est_wire::certs_only(&all)?,
        by_factory,
    })
}
