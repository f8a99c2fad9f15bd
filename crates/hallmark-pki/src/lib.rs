//! Pure X.509 work for Hallmark: no I/O, no clocks, no global state.
//!
//! * [`csr`] parses a PKCS#10 request and verifies its signature over the
//!   bytes as received ([RFC 2986]), refusing weak keys and algorithms.
//! * [`profile`] is policy as data (validity, key usage, EKU, SAN templates,
//!   CDP/AIA); [`cert`] renders it into extensions ([RFC 5280 §4.2]).
//! * [`cert`] is a typestate pipeline: a [`cert::PreparedCertificate`] is
//!   built and checked, then consumed by [`cert::PreparedCertificate::sign`],
//!   so the same to-be-signed certificate cannot be signed twice.
//! * [`sign::Signer`] is the one trait key backends implement.
//!
//! Time is passed in as unix seconds and randomness as bytes: callers own the
//! clock and the random source.
//!
//! [RFC 2986]: https://www.rfc-editor.org/rfc/rfc2986
//! [RFC 5280 §4.2]: https://www.rfc-editor.org/rfc/rfc5280#section-4.2

pub mod alg;
pub mod cert;
pub mod csr;
pub mod csr_build;
pub mod error;
pub mod key;
pub mod name;
pub mod pem;
pub mod profile;
pub mod san;
pub mod serial;
pub mod sign;
pub mod view;

pub use alg::{KeyAlgorithm, SignatureAlgorithm};
pub use cert::{IssuedCertificate, IssuerKey, PreparedCertificate, Subject};
pub use csr::VerifiedCsr;
pub use csr_build::build_csr;
pub use error::PkiError;
pub use key::PublicKey;
pub use name::{Attribute, DistinguishedName};
pub use profile::{CertificateKind, LeafProfileText, Profile};
pub use san::{DeviceId, SanTemplate, SanValues};
pub use serial::Serial;
pub use sign::{SignError, Signer};
pub use view::CertificateView;
