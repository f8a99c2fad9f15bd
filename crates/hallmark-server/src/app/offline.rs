//! `/api/v1/offline-ca`: station sub-CAs for offline production
//! (docs/offline.md). The station authenticates with its certificate; the
//! authority decides, audit-logs and imports.

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use hallmark_audit::{Entry, SignedCheckpoint};
use hallmark_authority::offline::{OfflineDeviceIds, OfflineGrant, OfflineUpload};
use hallmark_pki::pem;
use hallmark_store::OfflineCaRecord;
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::api::{body, pem_chain};
use super::auth::Caller;
use super::status::ApiError;

/// `POST /api/v1/offline-ca` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RequestBody {
    csr: String,
    count: u64,
}

/// `POST /api/v1/offline-ca/<id>/sync` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SyncBody {
    log_size_before: u64,
    entries: Vec<Entry>,
    checkpoint: SignedCheckpoint,
}

fn grant_json(grant: &OfflineGrant) -> Value {
    let device_ids = match &grant.device_ids {
        OfflineDeviceIds::Assigned(ids) => json!({ "assigned": ids }),
        OfflineDeviceIds::Pattern(pattern) => json!({ "pattern": pattern }),
    };
    let profile = &grant.profile;
    json!({
        "id": grant.record.id,
        "order_id": grant.record.order_id,
        "count": grant.record.count,
        "certificate": pem::encode("CERTIFICATE", &grant.certificate_der),
        "chain": pem_chain(&grant.chain),
        "not_after": grant.not_after,
        "organization": grant.organization,
        "factory": grant.factory,
        "device_ids": device_ids,
        "profile": {
            "validity_seconds": profile.validity_seconds,
            "key_usage": profile.key_usage,
            "extended_key_usage": profile.extended_key_usage,
            "subject_alt_names": profile.subject_alt_names,
        },
    })
}

/// `POST /api/v1/offline-ca`: a sub-CA for the station's key, holding
/// `count` units of its order's quota.
pub(crate) async fn request(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    request: Result<Json<RequestBody>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let station = state.rate_limited_station(&caller).await?;
    let context = caller.station_context(&station);
    let request = body(&state, request, &context).await?;
    let outcome = state
        .authority
        .request_offline_ca(&station, request.csr.as_bytes(), request.count)
        .await;
    let grant = state.audited(outcome, &context).await?;
    Ok(Json(grant_json(&grant)))
}

/// `POST /api/v1/offline-ca/<id>/sync`: one upload of the sub-CA's log.
/// Refusals are audit-logged by the authority (`offline.sync_refused`).
pub(crate) async fn sync(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
    request: Result<Json<SyncBody>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let station = state.rate_limited_station(&caller).await?;
    let context = caller.station_context(&station);
    let request = body(&state, request, &context).await?;
    let upload = OfflineUpload {
        log_size_before: request.log_size_before,
        entries: request.entries,
        checkpoint: request.checkpoint,
    };
    let report = state.authority.sync_offline(&station, &id, upload).await?;
    let mut answer = status_json(&report.record);
    answer["uploaded_imported"] = json!(report.imported);
    Ok(Json(answer))
}

fn status_json(record: &OfflineCaRecord) -> Value {
    json!({
        "id": record.id,
        "order_id": record.order_id,
        "count": record.count,
        "imported": record.imported,
        "left": record.left(),
        "log_size": record.log_size,
        "closed_at": record.closed_at,
    })
}

/// `GET /api/v1/offline-ca/<id>`: the server's view of the station's sub-CA.
pub(crate) async fn status(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let station = state.rate_limited_station(&caller).await?;
    let record = state.authority.offline_ca(&station, &id).await?;
    Ok(Json(status_json(&record)))
}

/// `POST /api/v1/offline-ca/<id>/close`: no more uploads; unused quota
/// goes back to the order.
pub(crate) async fn close(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let station = state.rate_limited_station(&caller).await?;
    let context = caller.station_context(&station);
    let outcome = state.authority.close_offline_ca(&station, &id).await;
    let record = state.audited(outcome, &context).await?;
    Ok(Json(status_json(&record)))
}
