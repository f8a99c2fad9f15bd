//! EST (RFC 7030 with the RFC 8951 clarifications) under `/.well-known/est/`.
//!
//! * [`cacerts`] — RFC 7030 §4.1: the CA certificates, certs-only PKCS#7.
//! * [`csrattrs`] — RFC 7030 §4.5: the attributes a CSR should carry.
//! * [`simpleenroll`] — RFC 7030 §4.2.1: a station enrolls a device.
//! * [`simplereenroll`] — RFC 7030 §4.2.2: a device renews with its
//!   current certificate.
//!
//! Bodies are base64 DER with or without line breaks (RFC 8951 §3.2);
//! answers carry `Content-Transfer-Encoding: base64`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderName, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use hallmark_authority::{Issued, RequestContext};

use super::AppState;
use super::auth::Caller;
use super::status::ApiError;
use crate::est_wire::{self, CONTENT_TYPE_CACERTS, CONTENT_TYPE_CERTS_ONLY, CONTENT_TYPE_CSRATTRS};

const TRANSFER_ENCODING: HeaderName = HeaderName::from_static("content-transfer-encoding");

fn base64_response(content_type: &'static str, der: &[u8]) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (TRANSFER_ENCODING, HeaderValue::from_static("base64")),
        ],
        est_wire::encode_base64_body(der),
    )
        .into_response()
}

/// `GET /.well-known/est/cacerts`.
pub(crate) async fn cacerts(State(state): State<Arc<AppState>>) -> Response {
    base64_response(CONTENT_TYPE_CACERTS, &state.cacerts.all)
}

/// `GET /.well-known/est/<factory>/cacerts`.
pub(crate) async fn cacerts_for(
    State(state): State<Arc<AppState>>,
    Path(label): Path<String>,
) -> Result<Response, ApiError> {
    let certs = state
        .cacerts
        .by_factory
        .get(&label)
        .ok_or_else(|| ApiError::NotFound(format!("no factory {label:?}")))?;
    Ok(base64_response(CONTENT_TYPE_CACERTS, certs))
}

/// `GET /.well-known/est/csrattrs`.
pub(crate) async fn csrattrs(State(state): State<Arc<AppState>>) -> Response {
    base64_response(CONTENT_TYPE_CSRATTRS, &state.csrattrs)
}

/// `POST /.well-known/est/simpleenroll` (station certificate).
pub(crate) async fn simpleenroll(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    body: Bytes,
) -> Result<Response, ApiError> {
    let station = state.rate_limited_station(&caller).await?;
    let context = caller.station_context(&station);
    let csr = decode_csr(&state, &body, &context).await?;
    let issued = state
        .authority
        .enroll_device(&station, &csr, None, context.peer.clone())
        .await?;
    state.metrics.issued(&issued.ca_id, &station.order_id);
    certs_only_response(&issued)
}

/// `POST /.well-known/est/simplereenroll` (device certificate).
pub(crate) async fn simplereenroll(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    body: Bytes,
) -> Result<Response, ApiError> {
    let context = caller.context();
    let Some(current) = caller.leaf() else {
        return Err(state
            .refuse(ApiError::ClientCertificateRequired, &context)
            .await);
    };
    let csr = decode_csr(&state, &body, &context).await?;
    let issued = state
        .authority
        .reenroll_device(current, &csr, context.peer.clone())
        .await?;
    certs_only_response(&issued)
}

async fn decode_csr(
    state: &AppState,
    body: &[u8],
    context: &RequestContext,
) -> Result<Vec<u8>, ApiError> {
    match est_wire::decode_base64_body(body) {
        Ok(der) => Ok(der),
        Err(err) => {
            let err = ApiError::BadRequest(format!("the body is not a base64 PKCS#10 CSR: {err}"));
            Err(state.refuse(err, context).await)
        }
    }
}

fn certs_only_response(issued: &Issued) -> Result<Response, ApiError> {
    let p7 = est_wire::certs_only(std::slice::from_ref(&issued.certificate.der))
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(base64_response(CONTENT_TYPE_CERTS_ONLY, &p7))
}
