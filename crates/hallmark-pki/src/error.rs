//! The crate's one error type.

use const_oid::ObjectIdentifier;

use crate::sign::SignError;

/// Everything that can go wrong in pure X.509 work.
///
/// Variants carry the offending value so callers (the CLI, the EST server)
/// can phrase their own message or map the variant to a protocol status.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PkiError {
    /// The input is neither PEM nor DER of the expected structure.
    #[error("malformed {what}: {source}")]
    Malformed {
        /// What was being parsed ("certificate request", "certificate", …).
        what: &'static str,
        /// The ASN.1 decoder's complaint.
        #[source]
        source: der::Error,
    },
    /// PEM armour with an unexpected label.
    #[error("expected PEM label {expected:?}, found {found:?}")]
    WrongPemLabel {
        /// The label we wanted.
        expected: &'static str,
        /// The label found in the input.
        found: String,
    },
    /// The request's version is not v1 (0).
    #[error("unsupported certificate request version {0}")]
    UnsupportedCsrVersion(u8),
    /// A public key algorithm Hallmark does not certify.
    #[error("unsupported public key algorithm {0}")]
    UnsupportedKeyAlgorithm(ObjectIdentifier),
    /// An elliptic curve other than P-256 or P-384.
    #[error("unsupported elliptic curve {0}: only P-256 and P-384 are accepted")]
    UnsupportedCurve(ObjectIdentifier),
    /// RSA modulus outside 2048–4096 bits.
    #[error("RSA key of {bits} bits refused: RSA keys must be 2048 to 4096 bits")]
    RsaKeySize {
        /// The modulus length found.
        bits: usize,
    },
    /// The public key bytes do not form a valid key of the declared algorithm.
    #[error("the public key is not a valid {0} key")]
    InvalidPublicKey(&'static str),
    /// SHA-1, MD5 and other broken digests.
    #[error("weak signature algorithm {name} ({oid}) refused: use SHA-256 or stronger")]
    WeakSignatureAlgorithm {
        /// A readable name, e.g. "sha1WithRSAEncryption".
        name: &'static str,
        /// The identifier found.
        oid: ObjectIdentifier,
    },
    /// A signature algorithm Hallmark does not accept.
    #[error("unsupported signature algorithm {0}")]
    UnsupportedSignatureAlgorithm(ObjectIdentifier),
    /// Signature algorithm and key algorithm do not belong together.
    #[error("signature algorithm {signature} cannot be made by a {key} key")]
    AlgorithmMismatch {
        /// The signature algorithm declared.
        signature: ObjectIdentifier,
        /// The key's algorithm.
        key: &'static str,
    },
    /// The CSR's self-signature does not verify: the requester does not hold the key, or the request was altered.
    #[error("the certificate request's signature does not verify")]
    BadCsrSignature,
    /// A certificate's signature is not its issuer's (or it is not DER).
    #[error("the certificate's signature does not verify with its issuer's key")]
    BadCertificateSignature,
    /// A device identifier that is empty, too long or has characters outside `[A-Za-z0-9._-]`.
    #[error("invalid device id {0:?}: use 1–64 characters from A–Z, a–z, 0–9, '.', '_' and '-'")]
    InvalidDeviceId(String),
    /// A subject-alternative-name template that cannot be parsed or rendered.
    #[error("invalid subject alternative name template {template:?}: {reason}")]
    InvalidSanTemplate {
        /// The template as configured.
        template: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A profile or template that would yield a non-conforming certificate.
    #[error("certificate policy violation: {0}")]
    Policy(&'static str),
    /// The signer's public key is not the one in the issuer certificate.
    #[error("the issuer's key does not match its certificate")]
    IssuerKeyMismatch,
    /// Time outside what X.509 can encode.
    #[error("time out of range for X.509")]
    TimeOutOfRange,
    /// DER encoding failed (a bug or absurd input sizes).
    #[error("DER encoding failed: {0}")]
    Encode(#[source] der::Error),
    /// The key backend failed to sign.
    #[error(transparent)]
    Sign(#[from] SignError),
}

impl PkiError {
    pub(crate) fn malformed(what: &'static str) -> impl FnOnce(der::Error) -> Self {
        move |source| Self::Malformed { what, source }
    }
}

impl From<der::Error> for PkiError {
    fn from(err: der::Error) -> Self {
        Self::Encode(err)
    }
}
