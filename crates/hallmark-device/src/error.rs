//! The crate's one error type, shared with the traits hardware implements.

use core::fmt;

use hallmark_protocol::{ErrorCode, ProtocolError};

/// What can go wrong inside the device. Trait implementations (key
/// backends, storage, randomness) return it too, with a static description:
/// no allocation, no secrets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceError {
    /// Persistent storage failed (answered as STORAGE).
    Storage(&'static str),
    /// The key backend failed (answered as INTERNAL).
    Key(&'static str),
    /// Key bytes the station sent (IMPORT_KEY) are not a valid key for
    /// their algorithm (answered as BAD_REQUEST).
    InvalidKey(&'static str),
    /// The random source failed (answered as INTERNAL).
    Rng(&'static str),
    /// A persisted record does not parse or contradicts itself.
    Corrupt(&'static str),
    /// Building or parsing DER failed.
    Der(&'static str),
    /// An encoding error: a value out of the protocol's bounds (e.g. a
    /// [`crate::DeviceIdentity`] field too long).
    Protocol(ProtocolError),
}

impl DeviceError {
    /// The ERROR code a station sees for this failure.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Storage(_) => ErrorCode::Storage,
            Self::InvalidKey(_) => ErrorCode::BadRequest,
            _ => ErrorCode::Internal,
        }
    }
}

impl fmt::Display for DeviceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Storage(what) => write!(f, "storage: {what}"),
            Self::Key(what) => write!(f, "key backend: {what}"),
            Self::InvalidKey(what) => write!(f, "invalid key: {what}"),
            Self::Rng(what) => write!(f, "random source: {what}"),
            Self::Corrupt(what) => write!(f, "corrupt record: {what}"),
            Self::Der(what) => write!(f, "DER: {what}"),
            Self::Protocol(e) => write!(f, "protocol: {e}"),
        }
    }
}

impl core::error::Error for DeviceError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            Self::Protocol(e) => Some(e),
            _ => None,
        }
    }
}

impl From<ProtocolError> for DeviceError {
    fn from(e: ProtocolError) -> Self {
        Self::Protocol(e)
    }
}
