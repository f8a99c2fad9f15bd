//! What can be wrong with an uploaded offline log. Each anomaly refuses the
//! whole upload (nothing is imported) and is audit-logged as
//! `offline.sync_refused`.

/// Why an offline log upload was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OfflineAnomaly {
    /// The checkpoint is not signed by the sub-CA's key.
    #[error("the log checkpoint is not signed by the sub-CA's key")]
    CheckpointSignature,
    /// The checkpoint names another log.
    #[error("the log checkpoint is for log {found:?}, not {expected:?}")]
    CheckpointOrigin {
        /// `hallmark-offline/<sub-CA id>`.
        expected: String,
        /// What it names.
        found: String,
    },
    /// The upload does not start where the imported log ends.
    #[error("the upload starts after entry {given}, but {stored} entries were imported")]
    OutOfSync {
        /// Entries imported before.
        stored: u64,
        /// Entries the upload claims came before it.
        given: u64,
    },
    /// Entries are not numbered consecutively.
    #[error("log entry {found} where entry {expected} was expected (missing or reordered entries)")]
    SequenceGap {
        /// The seq that should come next.
        expected: u64,
        /// The seq found.
        found: i64,
    },
    /// The entries do not hash to the signed checkpoint.
    #[error(
        "the entries do not hash to the signed checkpoint of size {checkpoint_size} \
         (altered, missing or reordered entries)"
    )]
    TreeMismatch {
        /// Log size the checkpoint signs.
        checkpoint_size: u64,
        /// Log size after the uploaded entries.
        log_size: u64,
    },
    /// An entry of a kind the station does not write.
    #[error("log entry {seq} is of unexpected kind {kind:?}")]
    UnexpectedKind {
        /// The entry.
        seq: i64,
        /// Its kind.
        kind: String,
    },
    /// An entry whose data cannot be read.
    #[error("log entry {seq} is unreadable: {why}")]
    BadEntry {
        /// The entry.
        seq: i64,
        /// What is wrong.
        why: &'static str,
    },
    /// The certificate is not the sub-CA's, or not DER.
    #[error("log entry {seq}: {source}")]
    BadCertificate {
        /// The entry.
        seq: i64,
        /// What the certificate check said.
        source: hallmark_pki::PkiError,
    },
    /// The entry and its certificate disagree, or the certificate breaks
    /// the sub-CA's constraints.
    #[error("log entry {seq}: the certificate's {field} does not match")]
    CertificateMismatch {
        /// The entry.
        seq: i64,
        /// Which field (`serial`, `device id`, `public key`, `issuer`, `validity`).
        field: &'static str,
    },
    /// A device id the order did not give this sub-CA.
    #[error("log entry {seq}: device id {device_id:?} is not allowed for this sub-CA")]
    DeviceIdNotAllowed {
        /// The entry.
        seq: i64,
        /// The id.
        device_id: String,
    },
    /// The device id already has a certificate.
    #[error("device id {0:?} already has a certificate")]
    DeviceIdTaken(String),
    /// The public key is already certified.
    #[error("a public key is already certified for device {0:?}")]
    PublicKeyTaken(String),
    /// The serial was used before.
    #[error("serial {0} was used before")]
    SerialTaken(String),
    /// More certificates than the sub-CA was allocated.
    #[error("{claimed} certificates would exceed the sub-CA's count of {count}")]
    CountExceeded {
        /// Allocated.
        count: u64,
        /// Imported plus uploaded.
        claimed: u64,
    },
}

impl OfflineAnomaly {
    /// A stable code for audit records and metrics.
    pub fn code(&self) -> &'static str {
        match self {
            Self::CheckpointSignature => "checkpoint_signature",
            Self::CheckpointOrigin { .. } => "checkpoint_origin",
            Self::OutOfSync { .. } => "out_of_sync",
            Self::SequenceGap { .. } => "sequence_gap",
            Self::TreeMismatch { .. } => "tree_mismatch",
            Self::UnexpectedKind { .. } => "unexpected_kind",
            Self::BadEntry { .. } => "bad_entry",
            Self::BadCertificate { .. } => "bad_certificate",
            Self::CertificateMismatch { .. } => "certificate_mismatch",
            Self::DeviceIdNotAllowed { .. } => "device_id_not_allowed",
            Self::DeviceIdTaken(_) => "device_id_taken",
            Self::PublicKeyTaken(_) => "public_key_taken",
            Self::SerialTaken(_) => "serial_taken",
            Self::CountExceeded { .. } => "count_exceeded",
        }
    }
}
