//! The one place where errors become HTTP responses.
//!
//! Refusals (the client's doing) are 4xx with `{"error": reason, "message":
//! …}`, where `reason` is the stable code of docs/api.md. Failures of
//! Hallmark itself are 500/503 with a generic message: their detail goes to
//! the log, never to the client.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hallmark_authority::AuthorityError;
use serde_json::json;

use crate::ratelimit::RetryAfter;

/// Why a request was not served.
#[derive(Debug)]
pub enum ApiError {
    /// The authority refused or failed.
    Authority(AuthorityError),
    /// The endpoint needs a client certificate and none was presented.
    ClientCertificateRequired,
    /// The station is over its rate.
    RateLimited(RetryAfter),
    /// The body is not what the endpoint takes.
    BadRequest(String),
    /// Nothing visible to this client under that name.
    NotFound(String),
    /// The server itself failed (detail for the log only).
    Internal(String),
}

/// The refusal reason, attached to refused responses for metrics.
#[derive(Clone, Copy, Debug)]
pub struct RefusalReason(pub &'static str);

impl ApiError {
    /// The stable reason code, or `None` for internal failures.
    pub fn reason(&self) -> Option<&'static str> {
        match self {
            ApiError::Authority(err) => err.refusal_reason(),
            ApiError::ClientCertificateRequired => Some("client_certificate_required"),
            ApiError::RateLimited(_) => Some("rate_limited"),
            ApiError::BadRequest(_) => Some("bad_request"),
            ApiError::NotFound(_) => Some("not_found"),
            ApiError::Internal(_) => None,
        }
    }

    /// The client-facing message (for refusals only).
    pub fn message(&self) -> String {
        match self {
            ApiError::Authority(err) => err.to_string(),
            ApiError::ClientCertificateRequired => {
                "this endpoint needs a client certificate (station or device)".into()
            }
            ApiError::RateLimited(retry) => format!(
                "too many requests from this station; retry in {} s",
                retry.seconds()
            ),
            ApiError::BadRequest(message)
            | ApiError::NotFound(message)
            | ApiError::Internal(message) => message.clone(),
        }
    }
}

impl From<AuthorityError> for ApiError {
    fn from(err: AuthorityError) -> Self {
        ApiError::Authority(err)
    }
}

fn status_of(reason: &str) -> StatusCode {
    match reason {
        "bad_request"
        | "bad_csr"
        | "invalid_device_id"
        | "device_id_missing"
        | "invalid_order"
        | "invalid_offline_count" => StatusCode::BAD_REQUEST,
        "client_certificate_required" => StatusCode::UNAUTHORIZED,
        "device_id_taken" | "public_key_taken" => StatusCode::CONFLICT,
        "rate_limited" => StatusCode::TOO_MANY_REQUESTS,
        "unknown_order" | "not_found" | "unknown_ca" | "unknown_profile" | "unknown_offline_ca" => {
            StatusCode::NOT_FOUND
        }
        "offline_ca_closed" | "offline_unavailable" => StatusCode::CONFLICT,
        "offline_log_refused" => StatusCode::UNPROCESSABLE_ENTITY,
        _ => StatusCode::FORBIDDEN,
    }
}

fn internal(err: &ApiError) -> Response {
    let unavailable = matches!(
        err,
        ApiError::Authority(AuthorityError::Store(_) | AuthorityError::Keys(_))
    );
    tracing::error!(error = ?err, "request failed");
    let (status, message) = if unavailable {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "the CA's store or key backend is unavailable; retry later",
        )
    } else {
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal error; see the server log",
        )
    };
    let body = json!({ "error": "internal", "message": message });
    (status, Json(body)).into_response()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let Some(reason) = self.reason() else {
            return internal(&self);
        };
        let body = json!({ "error": reason, "message": self.message() });
        let mut response = (status_of(reason), Json(body)).into_response();
        if let ApiError::RateLimited(retry) = &self {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry.seconds()));
        }
        response.extensions_mut().insert(RefusalReason(reason));
        response
    }
}
