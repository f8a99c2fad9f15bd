//! The provisioning server's routes: EST, the JSON API, health and metrics,
//! and on the plain-HTTP listener CRLs and OCSP ([`revocation`]).
//!
//! Handlers are thin: they authenticate the caller, decode the body, call
//! the [`Authority`] and encode the answer. Policy lives in the authority;
//! the mapping of errors to HTTP status lives in [`status`].

mod api;
mod auth;
mod est;
mod http_date;
mod offline;
mod ops;
pub mod revocation;
pub mod status;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use hallmark_authority::{Authority, RevocationService};

use crate::listen::RemoteAddr;
use crate::metrics::Metrics;
use crate::ratelimit::RateLimiter;
use status::RefusalReason;

/// The CA certificates EST's `cacerts` hands out, pre-encoded.
#[derive(Debug, Default)]
pub struct CaCerts {
    /// Root, station CA and every issuing CA (certs-only PKCS#7, DER).
    pub all: Vec<u8>,
    /// Per factory: root and that issuing CA.
    pub by_factory: HashMap<String, Vec<u8>>,
}

/// What every handler shares.
#[derive(Debug)]
pub struct AppState {
    /// The CA.
    pub authority: Arc<Authority>,
    /// Prometheus metrics.
    pub metrics: Arc<Metrics>,
    /// Per-station request rate limit.
    pub limiter: RateLimiter,
    /// Pre-encoded `cacerts` answers.
    pub cacerts: CaCerts,
    /// Pre-encoded `csrattrs` answer.
    pub csrattrs: Vec<u8>,
}

/// The HTTPS application: EST, JSON API, health, metrics.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/healthz", get(ops::healthz))
        .route("/metrics", get(ops::metrics))
        .route("/.well-known/est/cacerts", get(est::cacerts))
        .route("/.well-known/est/{label}/cacerts", get(est::cacerts_for))
        .route("/.well-known/est/csrattrs", get(est::csrattrs))
        .route("/.well-known/est/simpleenroll", post(est::simpleenroll))
        .route("/.well-known/est/simplereenroll", post(est::simplereenroll))
        .route("/api/v1/enroll", post(api::enroll))
        .route("/api/v1/stations/enroll", post(api::enroll_station))
        .route("/api/v1/offline-ca", post(offline::request))
        .route("/api/v1/offline-ca/{id}", get(offline::status))
        .route("/api/v1/offline-ca/{id}/sync", post(offline::sync))
        .route("/api/v1/offline-ca/{id}/close", post(offline::close))
        .route("/api/v1/stations/renew", post(api::renew_station))
        .route("/api/v1/stations/self", get(api::station_self))
        .route("/api/v1/orders/{id}", get(api::order))
        .route("/api/v1/devices/{id}", get(api::device))
        .route("/api/v1/devices/{id}/installed", post(api::installed))
        .route(
            "/api/v1/devices/{id}/not-installed",
            post(api::not_installed),
        )
        .layer(middleware::from_fn_with_state(Arc::clone(&state), observe))
        .with_state(state)
}

/// The plain-HTTP application: CRLs and OCSP ([`revocation`]) and health.
pub fn plain_router(state: Arc<AppState>, revocation: Arc<RevocationService>) -> Router {
    Router::new()
        .route("/healthz", get(ops::healthz))
        .with_state(Arc::clone(&state))
        .merge(revocation::revocation_router(revocation))
        .layer(middleware::from_fn_with_state(state, observe))
}

/// Records latency per route and refusals per reason, and logs one
/// structured line per request (route, status, refusal reason, duration,
/// peer; never bodies).
async fn observe(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let peer = request
        .extensions()
        .get::<RemoteAddr>()
        .map_or_else(|| "-".to_string(), |RemoteAddr(addr)| addr.to_string());
    let method = request.method().clone();
    let started = Instant::now();
    let response = next.run(request).await;
    let elapsed = started.elapsed();
    state.metrics.observe(&route, elapsed);
    let reason = response
        .extensions()
        .get::<RefusalReason>()
        .map(|RefusalReason(reason)| *reason);
    if let Some(reason) = reason {
        state.metrics.refused(reason);
    }
    tracing::info!(
        %method,
        route,
        status = response.status().as_u16(),
        refusal = reason,
        ms = elapsed.as_secs_f64() * 1000.0,
        peer,
        "request"
    );
    response
}
