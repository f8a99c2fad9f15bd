//! The crate's one error type.

use hallmark_keys::KeyError;
use hallmark_pki::PkiError;
use hallmark_store::StoreError;

/// Why the authority refused or failed a request.
///
/// Refusals caused by the request (bad CSR, taken device id, …) are distinct
/// variants so the CLI and the server can map each to its own message and
/// status in one place.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthorityError {
    /// The certificate request or device id is unacceptable.
    #[error(transparent)]
    BadRequest(PkiError),
    /// No such CA.
    #[error("unknown CA {0:?} (see `hallmark ca list`)")]
    UnknownCa(String),
    /// The CA exists but does not issue device certificates.
    #[error("CA {id:?} is a {role} key, not an issuing CA")]
    NotAnIssuingCa {
        /// The CA asked for.
        id: String,
        /// Its role.
        role: String,
    },
    /// No such certificate profile.
    #[error("unknown certificate profile {0:?}")]
    UnknownProfile(String),
    /// The device already has a (pending or issued) certificate.
    #[error("device id {0:?} already has a certificate")]
    DeviceIdTaken(String),
    /// The public key is already certified for another device.
    #[error("this public key is already certified for device {0:?}")]
    PublicKeyTaken(String),
    /// The device id is not allowed by the order (pattern mismatch, or an
    /// id proposed where the order assigns them).
    #[error("device id {device_id:?} is not allowed by order {order_id:?}: {why}")]
    DeviceIdNotAllowed {
        /// The id proposed.
        device_id: String,
        /// The order.
        order_id: String,
        /// What rule it broke.
        why: String,
    },
    /// The order takes ids from the station but none was given (no
    /// `device_id`, no CN in the CSR).
    #[error("order {0:?} needs a device id: send one or put it in the CSR's common name")]
    DeviceIdMissing(String),
    /// No such order.
    #[error("unknown order {0:?} (see `hallmark order list`)")]
    UnknownOrder(String),
    /// The order does not take requests now.
    #[error(transparent)]
    OrderUnavailable(StoreError),
    /// The order's quota is used up.
    #[error(transparent)]
    QuotaExhausted(StoreError),
    /// The station enrollment token is unknown or was used.
    #[error(transparent)]
    Token(StoreError),
    /// The client certificate is not a current station certificate.
    #[error("the client certificate is not a known station certificate")]
    UnknownStation,
    /// The station was revoked.
    #[error("station {0:?} is revoked")]
    StationRevoked(String),
    /// The client certificate is not a current device certificate of this CA.
    #[error("the client certificate is not a current device certificate: {0}")]
    UnknownDeviceCertificate(&'static str),
    /// An order specification that cannot be created.
    #[error("invalid order: {0}")]
    InvalidOrder(String),
    /// The audit log failed verification, or a proof or export is invalid.
    #[error("audit log: {0}")]
    AuditLog(#[source] hallmark_audit::Error),
    /// A hierarchy specification that cannot be built.
    #[error("invalid CA hierarchy: {0}")]
    InvalidHierarchy(String),
    /// Certificate construction or signing failed.
    #[error(transparent)]
    Pki(PkiError),
    /// The key backend failed.
    #[error(transparent)]
    Keys(#[from] KeyError),
    /// The store failed.
    #[error(transparent)]
    Store(StoreError),
    /// The issuance task panicked or was cancelled at shutdown.
    #[error("the issuance task did not finish")]
    Task(#[source] tokio::task::JoinError),
    /// The store settled a one-transaction issuance differently from what
    /// its sign step produced (a store bug; nothing was handed out).
    #[error("the store settled an issuance differently from its sign step")]
    SignStepMismatch,
    /// The key has no certificate (the audit key).
    #[error("{id:?} is the {role} key and has no certificate")]
    NoCertificate {
        /// The key asked for.
        id: String,
        /// Its role.
        role: String,
    },
    /// A stored CA record is unusable (no certificate, bad key URI).
    #[error("stored CA {id:?} is corrupt: {reason}")]
    CorruptCa {
        /// The CA.
        id: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// No station has this id.
    #[error("unknown station {0:?} (see `hallmark order show <order>`)")]
    UnknownStationId(String),
    /// A revocation selection that matches no issued certificate.
    #[error("nothing to revoke: no issued certificate matches {0}")]
    NothingToRevoke(String),
    /// CRL or OCSP lifetimes that cannot work.
    #[error("invalid revocation settings: {0}")]
    InvalidRevocationSettings(String),
    /// The order's factory has no offline CA (a home made before offline
    /// production existed).
    #[error(
        "factory {factory:?} has no offline CA: offline production needs a CA hierarchy \
         created by `hallmark init` with offline support"
    )]
    OfflineUnavailable {
        /// The factory.
        factory: String,
    },
    /// An offline sub-CA count of 0.
    #[error("an offline sub-CA needs a count of at least 1, not {0}")]
    InvalidOfflineCount(u64),
    /// No such offline sub-CA for this station.
    #[error("unknown offline sub-CA {0:?} for this station")]
    UnknownOfflineCa(String),
    /// The sub-CA was closed.
    #[error("offline sub-CA {0:?} is closed")]
    OfflineClosed(String),
    /// An offline log upload was refused; nothing was imported.
    #[error("offline log of sub-CA {ca_id:?} refused: {anomaly}")]
    OfflineRefused {
        /// The sub-CA.
        ca_id: String,
        /// What was wrong.
        anomaly: crate::offline::OfflineAnomaly,
    },
    /// Building or signing a CRL or an OCSP response failed.
    #[error(transparent)]
    Revocation(#[from] hallmark_revocation::RevocationError),
}

impl From<StoreError> for AuthorityError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::DeviceIdTaken { device_id } => Self::DeviceIdTaken(device_id),
            StoreError::PublicKeyTaken { device_id } => Self::PublicKeyTaken(device_id),
            e @ StoreError::OrderUnavailable { .. } => Self::OrderUnavailable(e),
            e @ StoreError::QuotaExhausted { .. } => Self::QuotaExhausted(e),
            e @ (StoreError::TokenUnknown | StoreError::TokenUsed { .. }) => Self::Token(e),
            StoreError::StationRevoked { station_id } => Self::StationRevoked(station_id),
            StoreError::OfflineClosed { ca_id } => Self::OfflineClosed(ca_id),
            other => Self::Store(other),
        }
    }
}

impl From<PkiError> for AuthorityError {
    fn from(err: PkiError) -> Self {
        Self::Pki(err)
    }
}

impl AuthorityError {
    /// The stable, machine-readable reason of a refusal (the `"error"` of a
    /// JSON error body and the `reason` of refusal audit records and
    /// metrics), or `None` for failures of Hallmark itself (store, keys,
    /// internal errors), which are not the client's doing.
    pub fn refusal_reason(&self) -> Option<&'static str> {
        use hallmark_store::OrderUnavailable as Why;
        Some(match self {
            Self::BadRequest(PkiError::InvalidDeviceId(_)) => "invalid_device_id",
            Self::BadRequest(_) | Self::Pki(PkiError::Policy(_)) => "bad_csr",
            Self::UnknownCa(_) | Self::NotAnIssuingCa { .. } => "unknown_ca",
            Self::UnknownProfile(_) => "unknown_profile",
            Self::DeviceIdTaken(_) => "device_id_taken",
            Self::PublicKeyTaken(_) => "public_key_taken",
            Self::DeviceIdNotAllowed { .. } => "device_id_not_allowed",
            Self::DeviceIdMissing(_) => "device_id_missing",
            Self::UnknownOrder(_) => "unknown_order",
            Self::OrderUnavailable(StoreError::OrderUnavailable { reason, .. }) => match reason {
                Why::Closed => "order_closed",
                Why::NotStarted => "order_not_started",
                Why::Expired => "order_expired",
            },
            Self::QuotaExhausted(_) => "quota_exhausted",
            Self::Token(StoreError::TokenUsed { .. }) => "token_used",
            Self::Token(_) => "token_unknown",
            Self::UnknownStation => "unknown_station",
            Self::StationRevoked(_) => "station_revoked",
            Self::UnknownDeviceCertificate(_) => "unknown_device_certificate",
            Self::InvalidOrder(_) => "invalid_order",
            Self::OfflineUnavailable { .. } => "offline_unavailable",
            Self::InvalidOfflineCount(_) => "invalid_offline_count",
            Self::UnknownOfflineCa(_) => "unknown_offline_ca",
            Self::OfflineClosed(_) => "offline_ca_closed",
            Self::OfflineRefused { .. } => "offline_log_refused",
            _ => return None,
        })
    }
}
