//! The Hallmark certificate authority as a service.
//!
//! * [`hierarchy`] creates the CA hierarchy (`hallmark init`).
//! * [`issue`] issues device certificates in Boulder-style numbered steps.
//! * [`mod@env`] holds the injected clock and random source.
//!
//! All I/O goes through [`hallmark_store::Store`] and
//! [`hallmark_keys::KeyStore`]; this crate knows nothing of SQL, PKCS#11 or
//! HTTP. CA keys are used only from here.

pub mod env;
pub mod error;
pub mod hierarchy;
pub mod issue;
mod steps;

pub use env::{Clock, Entropy, Env, OsEntropy, SystemClock};
pub use error::AuthorityError;
pub use hierarchy::{HierarchySpec, chain, create_hierarchy};
pub use issue::{Authority, IssueRequest, Issued, Policy};
