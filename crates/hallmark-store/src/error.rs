//! The crate's one error type.

use std::error::Error as StdError;
use std::fmt;
use std::sync::Arc;

use crate::model::IssuanceStatus;
use crate::orders::OrderUnavailable;

/// A backend's own error, shared so that one failed commit can be reported
/// to every caller whose work was in that commit.
pub type BackendError = Arc<dyn StdError + Send + Sync + 'static>;

/// Everything a [`Store`](crate::Store) can refuse or fail with.
///
/// Refusals (`Duplicate`, `DeviceIdTaken`, `PublicKeyTaken`, `SerialTaken`,
/// `NotFound`, `NotPending`) changed nothing: the whole call, including its
/// audit event, was rolled back.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A record with this unique key already exists.
    #[error("{what} {key:?} already exists")]
    Duplicate {
        /// What kind of record, e.g. `"authority key"`.
        what: &'static str,
        /// Its key.
        key: String,
    },

    /// The device id already has a pending or issued certificate.
    #[error("device id {device_id:?} already has a pending or issued certificate")]
    DeviceIdTaken {
        /// The device id asked for.
        device_id: String,
    },

    /// The public key is already certified (or being certified) for a
    /// device.
    #[error("this public key is already certified for device {device_id:?}")]
    PublicKeyTaken {
        /// The device that holds the key.
        device_id: String,
    },

    /// The serial was already used by this CA (in any status: serials are
    /// never reused).
    #[error("serial {} was already used by CA {ca_id:?}", Hex(serial))]
    SerialTaken {
        /// The CA.
        ca_id: String,
        /// The serial.
        serial: Vec<u8>,
    },

    /// A record the call refers to does not exist.
    #[error("no {what} {key:?}")]
    NotFound {
        /// What kind of record, e.g. `"authority key"`, `"issuance"`.
        what: &'static str,
        /// Its key (issuances: `"<ca_id>/<serial hex>"`).
        key: String,
    },

    /// The issuance is not pending, so it cannot be completed or failed.
    #[error("issuance {} of CA {ca_id:?} is {status}, not pending", Hex(serial))]
    NotPending {
        /// The CA.
        ca_id: String,
        /// The serial.
        serial: Vec<u8>,
        /// Its current status.
        status: IssuanceStatus,
    },

    /// Input (or a stored value) that does not make sense.
    #[error("invalid {what}: {reason}")]
    Invalid {
        /// What was wrong, e.g. `"serial"`, `"key role"`.
        what: &'static str,
        /// Why.
        reason: String,
    },

    /// The order does not take requests now (closed, not started,
    /// expired).
    #[error("order {order_id:?} is {}", match reason {
        OrderUnavailable::Closed => "closed",
        OrderUnavailable::NotStarted => "not open yet (its window has not started)",
        OrderUnavailable::Expired => "expired (its window has ended)",
    })]
    OrderUnavailable {
        /// The order.
        order_id: String,
        /// Why.
        reason: OrderUnavailable,
    },

    /// Every unit of the order's quota is issued or reserved.
    #[error("order {order_id:?} has no quota left (all {quantity} used)")]
    QuotaExhausted {
        /// The order.
        order_id: String,
        /// Its quantity.
        quantity: u64,
    },

    /// No station enrollment token has this hash.
    #[error("unknown station enrollment token")]
    TokenUnknown,

    /// The station enrollment token was used before.
    #[error("this station enrollment token was already used")]
    TokenUsed {
        /// The token's order.
        order_id: String,
    },

    /// The station was revoked.
    #[error("station {station_id:?} is revoked")]
    StationRevoked {
        /// The station.
        station_id: String,
    },

    /// The caller does not hold the audit sequencer lease (another process
    /// or node took it over).
    #[error("not the audit sequencer: the lease is held by {holder:?}")]
    NotSequencer {
        /// Who holds it.
        holder: String,
    },

    /// An offline log upload does not continue the log as stored: a
    /// batch is missing, was sent twice, or the log was rewritten.
    #[error("offline CA {ca_id:?} log is at {stored} entries, the upload starts after {given}")]
    OfflineLogOutOfSync {
        /// The station sub-CA.
        ca_id: String,
        /// Entries imported so far.
        stored: u64,
        /// Entries the upload claims were imported before it.
        given: u64,
    },

    /// An offline upload holds more certificates than the sub-CA was
    /// allowed to issue.
    #[error(
        "offline CA {ca_id:?} may issue {count} certificates; the upload would make it {claimed}"
    )]
    OfflineCountExceeded {
        /// The station sub-CA.
        ca_id: String,
        /// Its allocation.
        count: u64,
        /// Certificates imported plus uploaded.
        claimed: u64,
    },

    /// The offline CA was closed: it takes no more uploads.
    #[error("offline CA {ca_id:?} is closed")]
    OfflineClosed {
        /// The station sub-CA.
        ca_id: String,
    },

    /// The database schema is newer than this build understands.
    #[error("database schema version {found} is newer than this build supports ({supported})")]
    SchemaTooNew {
        /// Highest version recorded in the database.
        found: i64,
        /// Highest version this build knows.
        supported: i64,
    },

    /// The database itself failed (I/O, corruption, a failed commit, …).
    /// Nothing from the call was committed.
    #[error("storage backend failed: {operation}")]
    Backend {
        /// What was being done, e.g. `"commit"`, `"open database"`.
        operation: &'static str,
        /// The backend's error (for SQLite a `rusqlite::Error`).
        #[source]
        source: BackendError,
    },

    /// The store was closed (its writer is gone).
    #[error("the store is closed")]
    Closed,
}

impl StoreError {
    /// Wraps a backend error.
    pub fn backend<E>(operation: &'static str, source: E) -> Self
    where
        E: StdError + Send + Sync + 'static,
    {
        StoreError::Backend {
            operation,
            source: Arc::new(source),
        }
    }

    /// A backend failure described by a message only.
    pub fn backend_message(operation: &'static str, message: impl Into<String>) -> Self {
        StoreError::backend(operation, Message(message.into()))
    }

    /// True for refusals caused by the request (as opposed to failures of
    /// the store): safe to report to the client and audit-log.
    pub fn is_refusal(&self) -> bool {
        matches!(
            self,
            StoreError::Duplicate { .. }
                | StoreError::DeviceIdTaken { .. }
                | StoreError::PublicKeyTaken { .. }
                | StoreError::SerialTaken { .. }
                | StoreError::NotFound { .. }
                | StoreError::NotPending { .. }
                | StoreError::Invalid { .. }
                | StoreError::OrderUnavailable { .. }
                | StoreError::QuotaExhausted { .. }
                | StoreError::TokenUnknown
                | StoreError::TokenUsed { .. }
                | StoreError::StationRevoked { .. }
                | StoreError::OfflineLogOutOfSync { .. }
                | StoreError::OfflineCountExceeded { .. }
                | StoreError::OfflineClosed { .. }
        )
    }
}

/// A plain-message error used as a [`StoreError::Backend`] source.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Message(String);

/// Lower-case hex, for messages and keys.
pub(crate) struct Hex<'a>(pub &'a [u8]);

impl fmt::Display for Hex<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}
