//! One conformance suite for every key store backend, plus backend-specific
//! checks.
//!
//! Each check in [`checks`] takes a [`Harness`] (which can open the store
//! under test afresh) and runs against both backends through
//! `conformance_tests!`: one `#[test]` per backend per check. The PKCS#11
//! backend runs on a fresh SoftHSM2 token per test (cargo-nextest runs each
//! test in its own process).
#![allow(clippy::unwrap_used, clippy::expect_used)]

// The rooms live in `tests/conformance/`. A crate root's `mod x;` looks for
// `tests/x.rs`, not `tests/conformance/x.rs`, and Cargo would take a
// `tests/conformance/main.rs` for a test target of its own: hence the paths.
#[macro_use]
#[path = "conformance/checks.rs"]
mod checks;
#[path = "conformance/harness.rs"]
mod harness;
#[path = "conformance/pkcs11_login.rs"]
mod pkcs11_login;
#[path = "conformance/pkcs11_only.rs"]
mod pkcs11_only;
#[path = "conformance/pkcs11_recovery.rs"]
mod pkcs11_recovery;
#[path = "conformance/soft_only.rs"]
mod soft_only;

use hallmark_pki::KeyAlgorithm;
use harness::{Harness, Pkcs11Harness, SoftHarness};

conformance_tests!(soft, SoftHarness::new());
conformance_tests!(pkcs11, Pkcs11Harness::new());
