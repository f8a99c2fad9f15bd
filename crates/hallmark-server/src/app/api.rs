//! The JSON API under `/api/v1/` (see docs/api.md).

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use hallmark_authority::{Issued, RequestContext, StationIdentity, StationIssued};
use hallmark_pki::pem;
use hallmark_store::{IssuanceStatus, KeyOrigin};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::AppState;
use super::auth::Caller;
use super::status::ApiError;

/// `POST /api/v1/enroll` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct EnrollBody {
    csr: String,
    #[serde(default)]
    device_id: Option<String>,
    /// Where the key was generated: `device` (the default) or `station`.
    #[serde(default)]
    key_origin: Option<String>,
}

/// The enroll body's `key_origin`: `device` (also when absent) or
/// `station`. `pregenerated` keys are not enrolled through this route.
fn key_origin(value: Option<&str>) -> Result<KeyOrigin, ApiError> {
    match value {
        None | Some("device") => Ok(KeyOrigin::Device),
        Some("station") => Ok(KeyOrigin::Station),
        Some(other) => Err(ApiError::BadRequest(format!(
            "key_origin {other:?} is not known: \"device\" (the default) or \"station\""
        ))),
    }
}

/// `POST /api/v1/stations/enroll` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StationEnrollBody {
    token: String,
    csr: String,
}

/// `POST /api/v1/stations/renew` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RenewBody {
    csr: String,
}

#[derive(Debug, Serialize)]
struct DeviceEnrollment {
    device_id: String,
    serial: String,
    certificate: String,
    chain: Vec<String>,
    not_after: i64,
    /// A retry got the certificate issued earlier for the same key.
    resumed: bool,
    /// Where the key was generated, as recorded with the certificate.
    key_origin: &'static str,
}

/// `POST /api/v1/devices/<id>/installed` and `…/not-installed` bodies.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct InstallationBody {
    serial: String,
    #[serde(default)]
    reason: Option<String>,
}

#[derive(Debug, Serialize)]
struct StationEnrollment {
    station_id: String,
    order_id: String,
    serial: String,
    certificate: String,
    chain: Vec<String>,
    not_after: i64,
}

pub(crate) fn pem_chain(chain: &[Vec<u8>]) -> Vec<String> {
    chain
        .iter()
        .map(|c| pem::encode("CERTIFICATE", c))
        .collect()
}

impl From<&Issued> for DeviceEnrollment {
    fn from(issued: &Issued) -> Self {
        DeviceEnrollment {
            device_id: issued.device_id.clone(),
            serial: issued.certificate.serial.to_hex(),
            certificate: pem::encode("CERTIFICATE", &issued.certificate.der),
            chain: pem_chain(&issued.chain),
            not_after: issued.certificate.not_after,
            resumed: issued.resumed,
            key_origin: issued.key_origin.as_str(),
        }
    }
}

impl From<StationIssued> for StationEnrollment {
    fn from(issued: StationIssued) -> Self {
        StationEnrollment {
            station_id: issued.station_id,
            order_id: issued.order_id,
            serial: issued.certificate.serial.to_hex(),
            certificate: pem::encode("CERTIFICATE", &issued.certificate.der),
            chain: pem_chain(&issued.chain),
            not_after: issued.certificate.not_after,
        }
    }
}

/// A JSON body, or an audit-logged `bad_request`.
pub(crate) async fn body<T>(
    state: &AppState,
    body: Result<Json<T>, JsonRejection>,
    context: &RequestContext,
) -> Result<T, ApiError> {
    match body {
        Ok(Json(value)) => Ok(value),
        Err(rejection) => {
            let err = ApiError::BadRequest(format!("invalid JSON body: {}", rejection.body_text()));
            Err(state.refuse(err, context).await)
        }
    }
}

/// `POST /api/v1/enroll`: a station enrolls a device.
pub(crate) async fn enroll(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    request: Result<Json<EnrollBody>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let station = state.rate_limited_station(&caller).await?;
    let context = caller.station_context(&station);
    let request = body(&state, request, &context).await?;
    let origin = match key_origin(request.key_origin.as_deref()) {
        Ok(origin) => origin,
        Err(err) => return Err(state.refuse(err, &context).await),
    };
    let issued = state
        .authority
        .enroll_device_with_origin(
            &station,
            request.csr.as_bytes(),
            request.device_id,
            origin,
            context.peer.clone(),
        )
        .await?;
    if !issued.resumed {
        state.metrics.issued(&issued.ca_id, &station.order_id);
    }
    Ok(Json(json!(DeviceEnrollment::from(&issued))))
}

/// `POST /api/v1/devices/<id>/installed`: the station installed and
/// verified the certificate on the device.
pub(crate) async fn installed(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
    request: Result<Json<InstallationBody>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    report(state, caller, id, request, false).await
}

/// `POST /api/v1/devices/<id>/not-installed`: issued, but not installed.
pub(crate) async fn not_installed(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
    request: Result<Json<InstallationBody>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    report(state, caller, id, request, true).await
}

async fn report(
    state: Arc<AppState>,
    caller: Caller,
    device_id: String,
    request: Result<Json<InstallationBody>, JsonRejection>,
    failed: bool,
) -> Result<Json<Value>, ApiError> {
    let station = state.station(&caller).await?;
    let context = caller.station_context(&station);
    let request = body(&state, request, &context).await?;
    let failure = failed.then(|| request.reason.unwrap_or_else(|| "not given".into()));
    let outcome = state
        .authority
        .report_installation(&station, &device_id, &request.serial, failure.as_deref())
        .await;
    state.audited(outcome, &context).await?;
    Ok(Json(json!({})))
}

/// `POST /api/v1/stations/enroll`: a station trades its token for a certificate.
pub(crate) async fn enroll_station(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    request: Result<Json<StationEnrollBody>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let context = caller.context();
    let request = body(&state, request, &context).await?;
    let outcome = state
        .authority
        .enroll_station(&request.token, request.csr.as_bytes())
        .await;
    let issued = state.audited(outcome, &context).await?;
    Ok(Json(json!(StationEnrollment::from(issued))))
}

/// `POST /api/v1/stations/renew`: a station renews its certificate.
pub(crate) async fn renew_station(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    request: Result<Json<RenewBody>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let station = state.rate_limited_station(&caller).await?;
    let context = caller.station_context(&station);
    let request = body(&state, request, &context).await?;
    let outcome = state
        .authority
        .renew_station(&station, request.csr.as_bytes())
        .await;
    let issued = state.audited(outcome, &context).await?;
    Ok(Json(json!(StationEnrollment::from(issued))))
}

/// `GET /api/v1/stations/self`.
pub(crate) async fn station_self(
    State(state): State<Arc<AppState>>,
    caller: Caller,
) -> Result<Json<Value>, ApiError> {
    let StationIdentity {
        station_id,
        order_id,
        not_after,
        enrolled_at,
    } = state.station(&caller).await?;
    Ok(Json(json!({
        "station_id": station_id,
        "order_id": order_id,
        "not_after": not_after,
        "enrolled_at": enrolled_at,
    })))
}

/// `GET /api/v1/orders/<id>`: the station's own order.
pub(crate) async fn order(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let station = state.station(&caller).await?;
    if station.order_id != id {
        let err = ApiError::NotFound(format!("order {id:?} is not this station's order"));
        return Err(state.refuse(err, &caller.station_context(&station)).await);
    }
    let order = state.authority.order(&id).await?;
    Ok(Json(order.to_json()))
}

/// `GET /api/v1/devices/<id>`: a device of the station's order.
pub(crate) async fn device(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let station = state.station(&caller).await?;
    let record = state.authority.device(&id).await?;
    let Some(record) = record.filter(|r| r.intent.order_id.as_ref() == Some(&station.order_id))
    else {
        let err = ApiError::NotFound(format!("no device {id:?} in this station's order"));
        return Err(state.refuse(err, &caller.station_context(&station)).await);
    };
    let certificate = record
        .certificate_der
        .as_deref()
        .filter(|_| record.status == IssuanceStatus::Issued)
        .map(|der| pem::encode("CERTIFICATE", der));
    Ok(Json(json!({
        "device_id": record.intent.device_id,
        "status": record.status,
        "serial": hex::encode(&record.intent.serial),
        "order_id": record.intent.order_id,
        "station_id": record.intent.station_id,
        "not_before": record.not_before,
        "not_after": record.not_after,
        "certificate": certificate,
    })))
}
