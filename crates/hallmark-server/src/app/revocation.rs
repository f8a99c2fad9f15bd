//! The plain-HTTP revocation endpoints, over a
//! [`RevocationService`]:
//!
//! * `GET /crl/<ca>.crl`: the issuing CA's CRL, DER, `application/pkix-crl`
//!   ([RFC 5280 §4.2.1.13], the URL in device certificates' CDP), with
//!   `Cache-Control: max-age` up to the next scheduled CRL, `Last-Modified`
//!   (thisUpdate), `Expires` (nextUpdate) and an `ETag` (CA and CRL number;
//!   `If-None-Match` gets `304`).
//! * `POST /ocsp` (`application/ocsp-request`) and `GET /ocsp/<request>`
//!   with the url-encoded base64 of the DER request ([RFC 6960 Appendix A]):
//!   `application/ocsp-response`, always HTTP 200 (OCSP errors are in the
//!   body). GET answers that any client may share carry caching headers
//!   ([RFC 5019 §6]).
//!
//! [RFC 5280 §4.2.1.13]: https://www.rfc-editor.org/rfc/rfc5280#section-4.2.1.13
//! [RFC 6960 Appendix A]: https://www.rfc-editor.org/rfc/rfc6960#appendix-A
//! [RFC 5019 §6]: https://www.rfc-editor.org/rfc/rfc5019#section-6

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use hallmark_authority::revocation::OcspResponseStatus;
use hallmark_authority::{AuthorityError, OcspReply, RevocationService};

use super::http_date::{http_date, unix_now};

/// The content type of a DER CRL (RFC 2585 §4.2).
pub const CONTENT_TYPE_CRL: &str = "application/pkix-crl";
/// The content type of an OCSP request (RFC 6960 Appendix A.1).
pub const CONTENT_TYPE_OCSP_REQUEST: &str = "application/ocsp-request";
/// The content type of an OCSP response (RFC 6960 Appendix A.2).
pub const CONTENT_TYPE_OCSP_RESPONSE: &str = "application/ocsp-response";

/// Largest OCSP request body accepted (a request for one certificate is
/// about 100 bytes).
const MAX_OCSP_REQUEST: usize = 64 * 1024;

type Service = State<Arc<RevocationService>>;

/// `/crl/{file}` and the OCSP routes.
pub fn revocation_router(service: Arc<RevocationService>) -> Router {
    Router::new()
        .route("/crl/{file}", get(crl))
        .route("/ocsp", post(ocsp_post))
        .route("/ocsp/{*request}", get(ocsp_get))
        .layer(DefaultBodyLimit::max(MAX_OCSP_REQUEST))
        .with_state(service)
}

/// The standalone responder's routes: `/ocsp`, `/ocsp/{request}` and
/// `/healthz` (200 while the store answers).
pub fn ocsp_router(service: Arc<RevocationService>) -> Router {
    Router::new()
        .route("/ocsp", post(ocsp_post))
        .route("/ocsp/{*request}", get(ocsp_get))
        .route("/healthz", get(healthz))
        .layer(DefaultBodyLimit::max(MAX_OCSP_REQUEST))
        .with_state(service)
}

fn header_value(text: &str) -> HeaderValue {
    HeaderValue::from_str(text).unwrap_or_else(|_| HeaderValue::from_static("-"))
}

fn caching(max_age: i64, last_modified: i64, expires: i64) -> [(HeaderName, HeaderValue); 3] {
    [
        (
            header::CACHE_CONTROL,
            header_value(&format!(
                "public, max-age={}, no-transform, must-revalidate",
                max_age.max(0)
            )),
        ),
        (
            header::LAST_MODIFIED,
            header_value(&http_date(last_modified)),
        ),
        (header::EXPIRES, header_value(&http_date(expires))),
    ]
}

async fn crl(State(service): Service, Path(file): Path<String>, headers: HeaderMap) -> Response {
    let Some(ca) = file.strip_suffix(".crl") else {
        return (StatusCode::NOT_FOUND, "CRLs are at /crl/<ca>.crl\n").into_response();
    };
    let crl = match service.crl(ca).await {
        Ok(crl) => crl,
        Err(AuthorityError::UnknownCa(_) | AuthorityError::NotAnIssuingCa { .. }) => {
            return (StatusCode::NOT_FOUND, "no such issuing CA\n").into_response();
        }
        Err(err) => {
            tracing::error!(ca, error = %err, "cannot serve the CRL");
            return (StatusCode::SERVICE_UNAVAILABLE, "CRL unavailable\n").into_response();
        }
    };
    let etag = format!("\"{}-{}\"", crl.ca_id, crl.number);
    let max_age = crl.refresh_at.min(crl.next_update) - unix_now();
    let cache = caching(max_age, crl.this_update, crl.next_update);
    let etag_header = (header::ETAG, header_value(&etag));
    let matches = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    if matches {
        return (StatusCode::NOT_MODIFIED, cache, [etag_header]).into_response();
    }
    let content_type = (
        header::CONTENT_TYPE,
        HeaderValue::from_static(CONTENT_TYPE_CRL),
    );
    (cache, [etag_header, content_type], crl.der.clone()).into_response()
}

async fn ocsp_post(State(service): Service, body: Bytes) -> Response {
    ocsp_response(service.ocsp(&body).await, false)
}

async fn ocsp_get(State(service): Service, Path(encoded): Path<String>) -> Response {
    // Standard base64 as RFC 6960 asks; the URL-safe alphabet, missing
    // padding and stray whitespace are forgiven.
    let cleaned: String = encoded
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| match c {
            '-' => '+',
            '_' => '/',
            c => c,
        })
        .collect();
    let engine = base64::engine::general_purpose::STANDARD_NO_PAD;
    match engine.decode(cleaned.trim_end_matches('=')) {
        Ok(der) => ocsp_response(service.ocsp(&der).await, true),
        Err(_) => ocsp_response(
            OcspReply {
                der: error_der(OcspResponseStatus::MalformedRequest),
                error: Some(OcspResponseStatus::MalformedRequest),
                cacheable: None,
            },
            true,
        ),
    }
}

/// The unsigned `OCSPResponse` for an error status (RFC 6960 §4.2.1).
fn error_der(status: OcspResponseStatus) -> Arc<[u8]> {
    Arc::from(&[0x30, 0x03, 0x0a, 0x01, status.code()][..])
}

fn ocsp_response(reply: OcspReply, get: bool) -> Response {
    let content_type = (
        header::CONTENT_TYPE,
        HeaderValue::from_static(CONTENT_TYPE_OCSP_RESPONSE),
    );
    let body = Bytes::from_owner(reply.der);
    match reply.cacheable.filter(|_| get) {
        Some(fresh) => {
            let max_age = fresh.refresh_at - unix_now();
            let cache = caching(max_age, fresh.this_update, fresh.next_update);
            (cache, [content_type], body).into_response()
        }
        None => {
            let no_store = (header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            ([content_type, no_store], body).into_response()
        }
    }
}

async fn healthz(State(service): Service) -> Response {
    match service.health().await {
        Ok(()) => (StatusCode::OK, "ok\n").into_response(),
        Err(err) => {
            tracing::warn!(error = %err, "health check: the store does not answer");
            (StatusCode::SERVICE_UNAVAILABLE, "store unavailable\n").into_response()
        }
    }
}
