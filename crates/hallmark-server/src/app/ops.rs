//! Health and metrics.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hallmark_store::OrderStatus;

use super::AppState;
use crate::metrics::OPENMETRICS_CONTENT_TYPE;

/// `GET /healthz`: 200 while the store answers.
pub(crate) async fn healthz(State(state): State<Arc<AppState>>) -> Response {
    match state.authority.orders().await {
        Ok(_) => (StatusCode::OK, "ok\n").into_response(),
        Err(err) => {
            tracing::warn!(error = %err, "health check: the store does not answer");
            (StatusCode::SERVICE_UNAVAILABLE, "store unavailable\n").into_response()
        }
    }
}

/// `GET /metrics`: OpenMetrics text; quota gauges are refreshed per scrape.
pub(crate) async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    match state.authority.orders().await {
        Ok(orders) => {
            for order in orders.iter().filter(|o| o.status == OrderStatus::Open) {
                let left = i64::try_from(order.left()).unwrap_or(i64::MAX);
                state.metrics.set_quota_left(&order.order.id, left);
            }
        }
        Err(err) => tracing::warn!(error = %err, "metrics: cannot read orders"),
    }
    match state.metrics.encode() {
        Ok(text) => (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static(OPENMETRICS_CONTENT_TYPE),
            )],
            text,
        )
            .into_response(),
        Err(err) => {
            tracing::error!(error = %err, "metrics: encoding failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}
