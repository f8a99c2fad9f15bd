//! The ASN.1 of [RFC 6960 §4] on der 0.8, borrowing from the input where it can.
//!
//! The module is `DEFINITIONS EXPLICIT TAGS` except `CertStatus`, whose
//! alternatives are IMPLICIT (§4.2.1).
//!
//! [RFC 6960 §4]: https://www.rfc-editor.org/rfc/rfc6960#section-4

use const_oid::ObjectIdentifier;
use der::asn1::{AnyRef, BitStringRef, GeneralizedTime, Null, OctetStringRef, UintRef};
use der::{Choice, Sequence};
use spki::{AlgorithmIdentifierOwned, AlgorithmIdentifierRef};
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::CrlReason;

use crate::reason::Reason;

/// `CertID` (§4.1.1).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(crate) struct CertIdDer<'a> {
    pub hash_algorithm: AlgorithmIdentifierRef<'a>,
    pub issuer_name_hash: &'a OctetStringRef,
    pub issuer_key_hash: &'a OctetStringRef,
    pub serial_number: UintRef<'a>,
}

/// An `Extension` borrowing its value.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(crate) struct ExtensionRef<'a> {
    pub extn_id: ObjectIdentifier,
    #[asn1(default = "Default::default")]
    pub critical: bool,
    pub extn_value: &'a OctetStringRef,
}

/// `OCSPRequest` (§4.1.1). The optional signature is read and not checked:
/// Hallmark answers unsigned and signed requests alike.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(crate) struct OcspRequestDer<'a> {
    pub tbs_request: TbsRequestDer<'a>,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    pub optional_signature: Option<AnyRef<'a>>,
}

/// `TBSRequest` (§4.1.1).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(crate) struct TbsRequestDer<'a> {
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    pub version: Option<u8>,
    #[asn1(context_specific = "1", tag_mode = "EXPLICIT", optional = "true")]
    pub requestor_name: Option<AnyRef<'a>>,
    pub request_list: Vec<RequestDer<'a>>,
    #[asn1(context_specific = "2", tag_mode = "EXPLICIT", optional = "true")]
    pub request_extensions: Option<Vec<ExtensionRef<'a>>>,
}

/// `Request` (§4.1.1).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(crate) struct RequestDer<'a> {
    pub req_cert: CertIdDer<'a>,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    pub single_request_extensions: Option<Vec<ExtensionRef<'a>>>,
}

/// `OCSPResponse` (§4.2.1).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(crate) struct OcspResponseDer<'a> {
    pub response_status: ResponseStatusDer,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    pub response_bytes: Option<ResponseBytesDer<'a>>,
}

/// `OCSPResponseStatus` (§4.2.1).
#[derive(Clone, Copy, Debug, Eq, PartialEq, der::Enumerated)]
#[repr(u32)]
pub(crate) enum ResponseStatusDer {
    Successful = 0,
    MalformedRequest = 1,
    InternalError = 2,
    TryLater = 3,
    SigRequired = 5,
    Unauthorized = 6,
}

/// `ResponseBytes` (§4.2.1).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(crate) struct ResponseBytesDer<'a> {
    pub response_type: ObjectIdentifier,
    pub response: &'a OctetStringRef,
}

/// `BasicOCSPResponse` (§4.2.1), with the signed part as pre-encoded DER.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(crate) struct BasicOcspResponseDer<'a> {
    pub tbs_response_data: AnyRef<'a>,
    pub signature_algorithm: AlgorithmIdentifierOwned,
    pub signature: BitStringRef<'a>,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    pub certs: Option<Vec<AnyRef<'a>>>,
}

/// `ResponseData` (§4.2.1); `responderID` is pre-encoded (a CHOICE with
/// explicit tags, see [`responder_id_by_key`]).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(crate) struct ResponseDataDer<'a> {
    #[asn1(context_specific = "0", default = "Default::default")]
    pub version: u8,
    pub responder_id: AnyRef<'a>,
    pub produced_at: GeneralizedTime,
    pub responses: Vec<SingleResponseDer<'a>>,
    #[asn1(context_specific = "1", tag_mode = "EXPLICIT", optional = "true")]
    pub response_extensions: Option<Vec<Extension>>,
}

/// `SingleResponse` (§4.2.1).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(crate) struct SingleResponseDer<'a> {
    pub cert_id: CertIdDer<'a>,
    pub cert_status: CertStatusDer,
    pub this_update: GeneralizedTime,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    pub next_update: Option<GeneralizedTime>,
    #[asn1(context_specific = "1", tag_mode = "EXPLICIT", optional = "true")]
    pub single_extensions: Option<Vec<Extension>>,
}

/// `CertStatus` (§4.2.1): IMPLICIT tags.
#[derive(Clone, Debug, Eq, PartialEq, Choice)]
pub(crate) enum CertStatusDer {
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT")]
    Good(Null),
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", constructed = "true")]
    Revoked(RevokedInfoDer),
    #[asn1(context_specific = "2", tag_mode = "IMPLICIT")]
    Unknown(Null),
}

/// `RevokedInfo` (§4.2.1).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(crate) struct RevokedInfoDer {
    pub revocation_time: GeneralizedTime,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    pub revocation_reason: Option<CrlReason>,
}

/// `ResponderID ::= CHOICE { byName [1] Name, byKey [2] KeyHash }` with
/// `byKey`: `[2] { OCTET STRING (SHA-1 of the key) }`.
pub(crate) fn responder_id_by_key(key_hash: &[u8; 20]) -> [u8; 24] {
    let mut out = [0u8; 24];
    out[..4].copy_from_slice(&[0xa2, 0x16, 0x04, 0x14]);
    out[4..].copy_from_slice(key_hash);
    out
}

/// The x509-cert value of a reason.
pub(crate) fn crl_reason(reason: Reason) -> CrlReason {
    match reason {
        Reason::Unspecified => CrlReason::Unspecified,
        Reason::KeyCompromise => CrlReason::KeyCompromise,
        Reason::CaCompromise => CrlReason::CaCompromise,
        Reason::AffiliationChanged => CrlReason::AffiliationChanged,
        Reason::Superseded => CrlReason::Superseded,
        Reason::CessationOfOperation => CrlReason::CessationOfOperation,
        Reason::PrivilegeWithdrawn => CrlReason::PrivilegeWithdrawn,
        Reason::AaCompromise => CrlReason::AaCompromise,
    }
}
