//! Offline production: a station's constrained sub-CA, the quota it holds,
//! and the log of what it issued while offline (`docs/offline.md`).
//!
//! A sub-CA is allocated `count` units of its order's quota up front (so
//! the order can never be over-issued, whatever the station does), and for
//! template orders a block of `count` consecutive sequence numbers. Its
//! station later uploads the log of what it issued; every upload continues
//! the log exactly where the last one ended (its Merkle tree is carried as
//! `log_size` and `log_frontier`), so a missing, repeated or rewritten
//! batch is refused.

use serde::{Deserialize, Serialize};

use crate::model::{AuthorityKey, KeyOrigin, UnixSeconds};

/// What [`Store::allocate_offline_ca`](crate::Store::allocate_offline_ca) stores.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewOfflineCa {
    /// The sub-CA's authority key record (role
    /// [`StationSubCa`](crate::KeyRole::StationSubCa), certificate set).
    pub key: AuthorityKey,
    /// The order it issues under.
    pub order_id: String,
    /// The station that holds its key.
    pub station_id: String,
    /// How many device certificates it may issue (quota units taken now).
    pub count: u64,
}

/// A station sub-CA and its allocation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfflineCaRecord {
    /// The sub-CA's authority key id.
    pub id: String,
    /// Its order.
    pub order_id: String,
    /// Its station.
    pub station_id: String,
    /// Certificates it may issue.
    pub count: u64,
    /// Template orders: the first of the `count` consecutive sequence
    /// numbers reserved for it (device ids are the template rendered with
    /// each). `None` when the station names device ids (pattern orders).
    pub first_seq: Option<u64>,
    /// Certificates imported so far.
    pub imported: u64,
    /// Entries of its offline log imported so far.
    pub log_size: u64,
    /// The frontier of the imported log's Merkle tree (see
    /// `hallmark_audit::CompactTree::from_frontier`).
    pub log_frontier: Vec<[u8; 32]>,
    /// When it was closed (unused quota returned to the order).
    pub closed_at: Option<UnixSeconds>,
    /// When it was allocated.
    pub created_at: UnixSeconds,
}

impl OfflineCaRecord {
    /// Certificates it may still issue.
    pub fn left(&self) -> u64 {
        self.count.saturating_sub(self.imported)
    }
}

/// A certificate issued offline, as imported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfflineCertificate {
    /// Serial (1–20 bytes).
    pub serial: Vec<u8>,
    /// The device id in the certificate.
    pub device_id: String,
    /// SHA-256 of the device's DER `SubjectPublicKeyInfo`.
    pub public_key_sha256: [u8; 32],
    /// Where the device key was generated.
    pub key_origin: KeyOrigin,
    /// The certificate (DER).
    pub certificate_der: Vec<u8>,
    /// Start of validity.
    pub not_before: UnixSeconds,
    /// End of validity.
    pub not_after: UnixSeconds,
    /// When the station issued it (its log entry's time).
    pub issued_at: UnixSeconds,
}

/// One upload of an offline log, already verified by the authority.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfflineImport {
    /// The station sub-CA.
    pub ca_id: String,
    /// Log entries imported before this upload (must equal the stored
    /// [`OfflineCaRecord::log_size`]).
    pub log_size_before: u64,
    /// Log entries after it.
    pub log_size: u64,
    /// The log tree's frontier after it.
    pub log_frontier: Vec<[u8; 32]>,
    /// The certificates the upload's entries record.
    pub certificates: Vec<OfflineCertificate>,
    /// The profile name recorded with each certificate.
    pub profile: String,
}
