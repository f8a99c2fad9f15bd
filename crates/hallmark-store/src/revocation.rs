//! Revocation records: which issued certificates are revoked, when and why,
//! and the per-CA CRL numbers ([RFC 5280 §5.2.3]).
//!
//! The store keeps reasons as their RFC 5280 `CRLReason` code (`u8`); it
//! does not interpret them beyond refusing codes RFC 5280 does not define
//! and the holds Hallmark never makes (`certificateHold` 6,
//! `removeFromCRL` 8).
//!
//! [RFC 5280 §5.2.3]: https://www.rfc-editor.org/rfc/rfc5280#section-5.2.3

use serde::{Deserialize, Serialize};

use crate::StoreError;
use crate::model::{AuditSeq, IssuanceStatus, UnixSeconds};

/// The `CRLReason` codes a revocation may carry (RFC 5280 §5.3.1, without
/// the hold codes 6 and 8).
pub const REVOCATION_REASON_CODES: [u8; 8] = [0, 1, 2, 3, 4, 5, 9, 10];

/// Which issued certificates a bulk revocation is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CertificateSelection {
    /// Every certificate of a device (the current one and those it superseded).
    Device(String),
    /// A serial, under whichever CA issued it.
    Serial(Vec<u8>),
    /// Certificates requested through a station, optionally only those
    /// issued in `[since, until)` (unix seconds).
    Station {
        /// The station.
        station_id: String,
        /// Issued at or after this time.
        since: Option<UnixSeconds>,
        /// Issued before this time.
        until: Option<UnixSeconds>,
    },
    /// Every certificate issued under a production order.
    Order(String),
}

/// An issued (or superseded) certificate a selection matched, with its
/// revocation if it is already revoked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevocationCandidate {
    /// The issuing CA.
    pub ca_id: String,
    /// The serial.
    pub serial: Vec<u8>,
    /// The device certified.
    pub device_id: String,
    /// `Issued` or `Superseded`.
    pub status: IssuanceStatus,
    /// The order it was issued under, if any.
    pub order_id: Option<String>,
    /// The station that requested it, if any.
    pub station_id: Option<String>,
    /// When it was issued.
    pub issued_at: Option<UnixSeconds>,
    /// End of its validity.
    pub not_after: Option<UnixSeconds>,
    /// Its revocation, when already revoked.
    pub revocation: Option<Revocation>,
}

/// One certificate to revoke: `(ca_id, serial)`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CertificateId {
    /// The issuing CA.
    pub ca_id: String,
    /// The serial.
    pub serial: Vec<u8>,
}

/// What one [`Store::revoke`](crate::Store::revoke) call revokes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevocationTargets {
    /// Certificates to revoke (issued or superseded ones only).
    pub certificates: Vec<CertificateId>,
    /// A station whose credential stops at once (`stations.revoked_at`).
    pub station: Option<String>,
}

/// What a [`Store::revoke`](crate::Store::revoke) call changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevocationOutcome {
    /// Certificates newly revoked, in the order given.
    pub revoked: Vec<CertificateId>,
    /// Targets that were already revoked (left as they were).
    pub already_revoked: u64,
    /// True when the station was newly revoked.
    pub station_revoked: bool,
    /// The audit event appended, `None` when nothing changed (and nothing
    /// was written).
    pub audit_seq: Option<AuditSeq>,
}

/// A certificate's revocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Revocation {
    /// When it was revoked (the revoking audit event's time).
    pub revoked_at: UnixSeconds,
    /// The RFC 5280 `CRLReason` code.
    pub reason: u8,
}

/// One entry of a CA's revocation list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevokedCertificate {
    /// The serial.
    pub serial: Vec<u8>,
    /// When and why.
    pub revocation: Revocation,
}

/// What the store knows of a serial of a CA (for OCSP).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SerialStatus {
    /// The issuance record's status (`Pending` and `Failed` certificates
    /// never left the CA).
    pub status: IssuanceStatus,
    /// Its revocation, if revoked.
    pub revocation: Option<Revocation>,
}

/// Refuses reason codes that are not RFC 5280's, or that are holds.
pub(crate) fn check_reason(reason: u8) -> Result<(), StoreError> {
    if REVOCATION_REASON_CODES.contains(&reason) {
        Ok(())
    } else {
        Err(StoreError::Invalid {
            what: "revocation reason",
            reason: format!("CRLReason code {reason} is not one Hallmark writes"),
        })
    }
}
