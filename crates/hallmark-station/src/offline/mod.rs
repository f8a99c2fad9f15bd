//! Offline production on the station (`docs/offline.md`).
//!
//! `hallmark station offline-ca request` generates a sub-CA key in the
//! station's own key store (software or HSM), has the server certify it for
//! `count` devices of the station's order ([`request`]), and saves the
//! grant under `HOME/offline/<id>/`:
//!
//! ```text
//! grant.json   the sub-CA certificate, chain, device ids, profile, key URI
//! log.jsonl    one audit entry per certificate issued, fsynced before the
//!              certificate goes to the device
//! ```
//!
//! `station run --offline` issues with it ([`OfflineIssuer`]);
//! `hallmark station sync` uploads the log ([`sync`]).

mod grant;
mod issuer;
mod log;
mod sync;

pub use grant::{Grant, GrantDeviceIds, GrantProfile, latest_grant, request};
pub use issuer::OfflineIssuer;
pub use sync::{SyncOutcome, sync};

/// Where grants live in a station home.
pub const OFFLINE_DIR: &str = "offline";
