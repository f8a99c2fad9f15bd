//! The Online Certificate Status Protocol, [RFC 6960].
//!
//! * [`parse_request`] reads an `OCSPRequest` (§4.1) into [`CertId`]s and an
//!   optional [`Nonce`] ([RFC 8954]: 1 to 32 octets).
//! * [`IssuerHashes`] recognises the issuing CA a `CertID` names (SHA-1 or
//!   SHA-256 hashes of its name and key, §4.1.1).
//! * [`build_response`] signs a `BasicOCSPResponse` (§4.2) with a delegated
//!   [`Responder`] (§4.2.2.2); [`build_single_response`] makes the
//!   nonce-less, cacheable answer for one certificate ([RFC 5019]).
//! * [`error_response`] is the unsigned answer for a request that cannot be
//!   served (§2.3); [`RevocationError::ocsp_status`](crate::RevocationError::ocsp_status)
//!   picks its status for a failed parse.
//!
//! The ASN.1 types are written here on der 0.8 (the `x509-ocsp` crate is
//! still on der 0.7).
//!
//! [RFC 6960]: https://www.rfc-editor.org/rfc/rfc6960
//! [RFC 8954]: https://www.rfc-editor.org/rfc/rfc8954
//! [RFC 5019]: https://www.rfc-editor.org/rfc/rfc5019

mod asn1;
mod issuer;
mod request;
mod response;

pub use issuer::IssuerHashes;
pub use request::{CertId, HashAlgorithm, Nonce, OcspRequest, parse_request};
pub use response::{
    CertStatus, OcspResponseStatus, Responder, SingleResponse, build_response,
    build_single_response, error_response,
};

#[cfg(test)]
mod tests;
