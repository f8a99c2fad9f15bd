//! Dev-only fixtures for Hallmark's tests: SoftHSM2 tokens, and drivers for
//! the independent verifiers (OpenSSL, pkilint) that judge what Hallmark makes,
//! and throwaway PostgreSQL databases.
//!
//! Fixtures panic on failure: in a test, the panic message is the report.

#![allow(clippy::expect_used, clippy::unwrap_used)]

pub mod postgres;
pub mod softhsm;
pub mod tools;
