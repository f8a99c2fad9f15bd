//! Offline production (`docs/offline.md`): a station gets a constrained
//! sub-CA of its own, issues device certificates with it while the server
//! is out of reach, and later uploads its log for import.
//!
//! The constraints, each enforced by the server and not by trusting the
//! station: the sub-CA is certified by the factory's offline CA with
//! `pathLenConstraint` 0 and a validity inside the order's window; its
//! `count` is taken from the order's quota when it is granted (so the order
//! cannot be over-issued, whatever the station does); for template orders
//! it gets a block of device ids; every uploaded record is checked
//! ([`Authority::sync_offline`](crate::Authority::sync_offline)) before
//! anything is imported.

mod anomaly;
mod grant;
mod sync;

pub use anomaly::OfflineAnomaly;
pub use grant::{OfflineDeviceIds, OfflineGrant};
pub use sync::{OFFLINE_ENTRY_KIND, OfflineEntryData, OfflineUpload, SyncReport, log_origin};

/// The id of factory `factory`'s offline CA (certified by the root with
/// `pathLenConstraint` 1; it certifies station sub-CAs only).
pub fn offline_ca_id(factory: &str) -> String {
    format!("offline-{factory}")
}
