//! The crate's one error type.

use const_oid::ObjectIdentifier;
use hallmark_pki::SignError;

use crate::ocsp::OcspResponseStatus;

/// Everything that can go wrong building CRLs and OCSP responses or
/// parsing OCSP requests. Variants carry the offending value.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RevocationError {
    /// A reason name that is not one of RFC 5280's.
    #[error(
        "unknown revocation reason {0:?}: use unspecified, keyCompromise, cACompromise, \
         affiliationChanged, superseded, cessationOfOperation, privilegeWithdrawn or aACompromise"
    )]
    UnknownReason(String),
    /// A `CRLReason` value RFC 5280 does not define.
    #[error("unknown CRL reason code {0}")]
    UnknownReasonCode(u8),
    /// `certificateHold` or `removeFromCRL`.
    #[error("revocation reason {reason} refused: {why}")]
    RefusedReason {
        /// The RFC name of the reason.
        reason: &'static str,
        /// Why Hallmark refuses it.
        why: &'static str,
    },
    /// Input that is not DER of the expected structure.
    #[error("malformed {what}: {source}")]
    Malformed {
        /// What was being parsed ("OCSP request", "issuer certificate", …).
        what: &'static str,
        /// The ASN.1 decoder's complaint.
        #[source]
        source: der::Error,
    },
    /// The issuer or responder certificate has no subjectKeyIdentifier.
    #[error("the {0} certificate has no subjectKeyIdentifier")]
    MissingSubjectKeyIdentifier(&'static str),
    /// The certificate's keyUsage does not allow what it is asked to sign.
    #[error("the {cert} certificate's keyUsage lacks {usage}")]
    KeyUsage {
        /// Which certificate ("CRL issuer", "OCSP responder").
        cert: &'static str,
        /// The missing bit (`cRLSign`, `digitalSignature`).
        usage: &'static str,
    },
    /// The responder certificate lacks `id-kp-OCSPSigning` (RFC 6960 §4.2.2.2).
    #[error("the OCSP responder certificate lacks the id-kp-OCSPSigning extended key usage")]
    NotOcspSigner,
    /// The signer's public key is not the certificate's.
    #[error("the signer's key does not match the {0} certificate")]
    KeyMismatch(&'static str),
    /// A serial number that is zero, empty or longer than 20 octets (RFC 5280 §4.1.2.2).
    #[error("invalid certificate serial number {}", hex::encode(.0))]
    InvalidSerial(Vec<u8>),
    /// `nextUpdate` not after `thisUpdate`.
    #[error("nextUpdate ({next_update}) must be after thisUpdate ({this_update})")]
    UpdateOrder {
        /// thisUpdate, unix seconds.
        this_update: i64,
        /// nextUpdate, unix seconds.
        next_update: i64,
    },
    /// A time (unix seconds) X.509 cannot encode.
    #[error("time {0} is out of range for X.509")]
    TimeOutOfRange(i64),
    /// An OCSP request version other than v1.
    #[error("unsupported OCSP request version {0}")]
    UnsupportedVersion(u8),
    /// A CertID hash algorithm other than SHA-1 or SHA-256.
    #[error("unsupported CertID hash algorithm {0}")]
    UnsupportedHashAlgorithm(ObjectIdentifier),
    /// A CertID hash whose length does not fit its algorithm.
    #[error("CertID {field} has {len} octets, {alg} gives {expected}")]
    HashLength {
        /// `issuerNameHash` or `issuerKeyHash`.
        field: &'static str,
        /// The hash algorithm.
        alg: &'static str,
        /// The length found.
        len: usize,
        /// The length the algorithm produces.
        expected: usize,
    },
    /// An RFC 8954 nonce outside 1..=32 octets.
    #[error("OCSP nonce of {0} octets refused: RFC 8954 allows 1 to 32")]
    NonceLength(usize),
    /// A critical extension this responder does not understand.
    #[error("unsupported critical extension {0} in the OCSP request")]
    UnsupportedCriticalExtension(ObjectIdentifier),
    /// An OCSP request with an empty `requestList`.
    #[error("the OCSP request asks about no certificate")]
    EmptyRequest,
    /// `build_response` without any `SingleResponse`.
    #[error("an OCSP response needs at least one SingleResponse")]
    NoResponses,
    /// DER encoding failed (a bug or absurd input sizes).
    #[error("DER encoding failed: {0}")]
    Encode(#[source] der::Error),
    /// The key backend failed to sign.
    #[error(transparent)]
    Sign(#[from] SignError),
}

impl RevocationError {
    pub(crate) fn malformed(what: &'static str) -> impl FnOnce(der::Error) -> Self {
        move |source| Self::Malformed { what, source }
    }

    /// The `OCSPResponseStatus` an OCSP responder answers with when
    /// [`parse_request`](crate::ocsp::parse_request) or
    /// [`build_response`](crate::ocsp::build_response) fails this way:
    /// `malformedRequest` for a bad request, `internalError` otherwise.
    pub fn ocsp_status(&self) -> OcspResponseStatus {
        match self {
            Self::Malformed { .. }
            | Self::UnsupportedVersion(_)
            | Self::UnsupportedHashAlgorithm(_)
            | Self::HashLength { .. }
            | Self::NonceLength(_)
            | Self::UnsupportedCriticalExtension(_)
            | Self::InvalidSerial(_)
            | Self::EmptyRequest => OcspResponseStatus::MalformedRequest,
            _ => OcspResponseStatus::InternalError,
        }
    }
}

impl From<der::Error> for RevocationError {
    fn from(err: der::Error) -> Self {
        Self::Encode(err)
    }
}
