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
}

impl From<StoreError> for AuthorityError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::DeviceIdTaken { device_id } => Self::DeviceIdTaken(device_id),
            StoreError::PublicKeyTaken { device_id } => Self::PublicKeyTaken(device_id),
            other => Self::Store(other),
        }
    }
}

impl From<PkiError> for AuthorityError {
    fn from(err: PkiError) -> Self {
        Self::Pki(err)
    }
}
