//! The JSON bodies of the provisioning API (`docs/api.md`, `/api/v1/`).
//!
//! Answers are not `deny_unknown_fields`: a newer server may add fields.
//! Times are unix seconds; certificates are PEM strings; `chain` is issuer
//! first, root last.

use serde::{Deserialize, Serialize};

/// `POST /api/v1/stations/enroll` and `POST /api/v1/stations/renew`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StationEnrollment {
    /// The station id (`st-…`), the certificate's CN.
    pub station_id: String,
    /// The order the station serves.
    pub order_id: String,
    /// The station certificate, PEM.
    pub certificate: String,
    /// The station CA's chain, PEM each: station CA first, root last.
    pub chain: Vec<String>,
    /// The certificate's serial, hex.
    pub serial: String,
    /// End of validity.
    pub not_after: i64,
}

/// `GET /api/v1/stations/self`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StationSelf {
    /// The station id.
    pub station_id: String,
    /// Its order.
    pub order_id: String,
    /// End of validity of the certificate presented.
    pub not_after: i64,
    /// When the station enrolled.
    pub enrolled_at: i64,
}

/// `POST /api/v1/enroll`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceEnrollment {
    /// The device id (assigned by the order, or the one asked for).
    pub device_id: String,
    /// The certificate's serial, hex.
    pub serial: String,
    /// The device certificate, PEM.
    pub certificate: String,
    /// The issuing CA's chain, PEM each: issuing CA first, root last.
    pub chain: Vec<String>,
    /// End of validity.
    pub not_after: i64,
    /// `true` when the server returned the certificate it had already
    /// issued for this key (a retry after the device lost it).
    #[serde(default)]
    pub resumed: bool,
    /// Where the key was generated, as the server recorded it (`device` or
    /// `station`; absent from older servers).
    #[serde(default)]
    pub key_origin: Option<String>,
}

/// How an order chooses device ids.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceIdRule {
    /// `template` (the order assigns ids) or `pattern` (the station names them).
    pub kind: String,
    /// The template or pattern.
    pub value: String,
}

/// `GET /api/v1/orders/<id>`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    /// The order id (`ord-…`).
    pub id: String,
    /// The factory (its issuing CA's id).
    pub factory: String,
    /// The product.
    pub product: String,
    /// The quota.
    pub quantity: u64,
    /// Requests before this time are refused.
    pub starts_at: i64,
    /// Requests at or after this time are refused.
    pub expires_at: i64,
    /// How device ids are chosen.
    pub device_ids: DeviceIdRule,
    /// `open` or `closed`.
    pub status: String,
    /// Certificates issued.
    pub issued: u64,
    /// Issuances under way.
    pub pending: u64,
    /// Requests refused.
    pub refused: u64,
    /// Quota left.
    pub left: u64,
    /// Stations enrolled.
    pub stations: u64,
}

/// `GET /api/v1/devices/<device_id>`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Device {
    /// The device id.
    pub device_id: String,
    /// `pending`, `issued` or `superseded`.
    pub status: String,
    /// The certificate's serial, hex.
    #[serde(default)]
    pub serial: Option<String>,
    /// The order it was issued under.
    pub order_id: String,
    /// The station that asked for it.
    #[serde(default)]
    pub station_id: Option<String>,
    /// Start of validity (absent while pending).
    #[serde(default)]
    pub not_before: Option<i64>,
    /// End of validity (absent while pending).
    #[serde(default)]
    pub not_after: Option<i64>,
    /// The certificate, PEM (absent while pending).
    #[serde(default)]
    pub certificate: Option<String>,
}

/// Hallmark's JSON refusal body: `{"error": "…", "message": "…"}`.
#[derive(Debug, Deserialize)]
pub(crate) struct Refusal {
    pub error: String,
    #[serde(default)]
    pub message: String,
}

/// `POST /api/v1/stations/enroll` body. Not `Debug`: it holds the token.
#[derive(Serialize)]
pub(crate) struct EnrollStationRequest<'a> {
    pub token: &'a str,
    pub csr: &'a str,
}

/// `POST /api/v1/stations/renew` body.
#[derive(Debug, Serialize)]
pub(crate) struct RenewRequest<'a> {
    pub csr: &'a str,
}

/// `POST /api/v1/enroll` body.
#[derive(Debug, Serialize)]
pub(crate) struct EnrollDeviceRequest<'a> {
    pub csr: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_id: Option<&'a str>,
    /// `station` when the station generated the key; absent (the server's
    /// default, `device`) otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_origin: Option<&'a str>,
}

/// `POST /api/v1/devices/<id>/installed` and `…/not-installed` body.
#[derive(Debug, Serialize)]
pub(crate) struct InstallationReport<'a> {
    pub serial: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'a str>,
}

/// `GET /api/v1/offline-ca/<id>` (and the answers of sync and close).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfflineCaStatus {
    /// The sub-CA id.
    pub id: String,
    /// Certificates it may issue.
    pub count: u64,
    /// Certificates imported so far.
    pub imported: u64,
    /// Entries of its log the server has.
    pub log_size: u64,
    /// When it was closed.
    #[serde(default)]
    pub closed_at: Option<i64>,
}

/// `POST /api/v1/offline-ca/<id>/sync`.
#[derive(Clone, Debug, Serialize)]
pub struct OfflineSyncBody {
    /// Entries the server had before this upload.
    pub log_size_before: u64,
    /// The entries after them.
    pub entries: Vec<hallmark_audit::Entry>,
    /// The checkpoint over the log up to the last entry, signed by the sub-CA.
    pub checkpoint: hallmark_audit::SignedCheckpoint,
}
