//! The backend conformance suite: every [`Store`](hallmark_store::Store)
//! backend must pass these checks. Each check takes a fresh, migrated
//! store; a backend's test file calls each one from its own `#[tokio::test]`.
//! Concurrency checks take an `Arc<dyn Store>` (they spawn tasks) and should
//! run on a multi-thread runtime.

pub mod at_once;
pub mod audit;
pub mod audit_tree;
pub mod concurrency;
pub mod fixtures;
pub mod issuance;
pub mod keys;
pub mod offline;
pub mod order_fixtures;
pub mod orders;
pub mod quota;
pub mod renewals;
pub mod revocation;
pub mod revocation_reads;
pub mod stations;
