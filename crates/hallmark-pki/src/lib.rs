//! Pure X.509 work for Hallmark: no I/O, no clocks, no global state.
//!
//! * [`csr`] parses a PKCS#10 request and verifies its signature over the
//!   bytes as received ([RFC 2986]), refusing weak keys and algorithms.
//! * [`profile`] turns policy (validity, key usage, EKU, SAN template,
//!   CDP/AIA) into certificate extensions ([RFC 5280 §4.2]).
//! * [`cert`] is the typestate pipeline: a [`cert::PreparedCertificate`] is
//!   built and checked, then consumed by [`cert::PreparedCertificate::sign`],
//!   so the same to-be-signed certificate cannot be signed twice.
//! * [`sign::Signer`] is the one trait key backends implement.
//!
//! [RFC 2986]: https://www.rfc-editor.org/rfc/rfc2986
//! [RFC 5280 §4.2]: https://www.rfc-editor.org/rfc/rfc5280#section-4.2

pub mod alg;
pub mod sign;

pub use alg::{KeyAlgorithm, SignatureAlgorithm};
pub use sign::{SignError, Signer};
