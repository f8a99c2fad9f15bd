//! The Hallmark certificate authority as a service.
//!
//! * [`hierarchy`] creates the CA hierarchy (`hallmark init`).
//! * [`issue`] issues device certificates in Boulder-style numbered steps.
//! * [`orders`] creates production orders (quota, window, device-id rule)
//!   and their one-time station tokens.
//! * [`stations`] trades a token for a short-lived station certificate,
//!   renews it, and authenticates stations by their TLS client certificate.
//! * [`enroll`] issues under an order on a station's behalf, re-enrolls
//!   devices, and audit-logs every refusal with its reason.
//! * [`offline`] grants stations constrained sub-CAs for offline
//!   production and verifies and imports their logs.
//! * [`revocation`] revokes certificates and stations (audit-logged),
//!   signs CRLs and answers OCSP through each CA's delegated responder.
//! * [`mod@env`] holds the injected clock and random source.
//!
//! All I/O goes through [`hallmark_store::Store`] and
//! [`hallmark_keys::KeyStore`]; this crate knows nothing of SQL, PKCS#11 or
//! HTTP. CA keys are used only from here.

pub mod audit;
pub mod enroll;
pub mod env;
pub mod error;
pub mod hierarchy;
pub mod issue;
pub mod offline;
pub mod orders;
pub mod revocation;
pub mod serving;
pub mod stations;
mod steps;

pub use enroll::RequestContext;
pub use env::{Clock, Entropy, Env, OsEntropy, SystemClock};
pub use error::AuthorityError;
pub use hierarchy::{HierarchySpec, chain, create_hierarchy};
pub use issue::{Authority, DEFAULT_STATION_VALIDITY, IssueRequest, Issued, Policy};
pub use offline::{OfflineAnomaly, OfflineGrant, OfflineUpload, SyncReport};
pub use orders::{CreatedOrder, DeviceIdSpec, OrderSpec};
pub use revocation::{
    OcspReply, PublishedCrl, Reason, RevocationPlan, RevocationReport, RevocationService,
    RevocationSettings,
};
pub use serving::PublishedCas;
pub use stations::{StationIdentity, StationIssued};
