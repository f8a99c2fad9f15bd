//! Revocation for Hallmark: CRLs and OCSP, encoded and signed through any
//! [`hallmark_pki::Signer`] (software key or PKCS#11 token). No I/O, no
//! clock: times are unix seconds passed in by the caller.
//!
//! * [`reason`]: the `CRLReason` of [RFC 5280 §5.3.1], parsed from text.
//!   Holds (`certificateHold`, `removeFromCRL`) are refused.
//! * [`crl`]: [`build_crl`] writes a v2 CRL ([RFC 5280 §5]) for an issuing
//!   CA, in time linear in the number of entries.
//! * [`ocsp`]: [RFC 6960] requests and responses, nonces per [RFC 8954].
//!
//! [RFC 5280 §5]: https://www.rfc-editor.org/rfc/rfc5280#section-5
//! [RFC 5280 §5.3.1]: https://www.rfc-editor.org/rfc/rfc5280#section-5.3.1
//! [RFC 6960]: https://www.rfc-editor.org/rfc/rfc6960
//! [RFC 8954]: https://www.rfc-editor.org/rfc/rfc8954

mod cert;
pub mod crl;
pub mod error;
pub mod ocsp;
pub mod reason;
mod time;

pub use crl::{CrlIssuer, RevokedEntry, build_crl};
pub use error::RevocationError;
pub use ocsp::{
    CertId, CertStatus, HashAlgorithm, IssuerHashes, Nonce, OcspRequest, OcspResponseStatus,
    Responder, SingleResponse, build_response, build_single_response, error_response,
    parse_request,
};
pub use reason::Reason;
