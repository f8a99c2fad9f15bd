//! OCSP responses ([RFC 6960 §4.2]) signed by a delegated responder.
//!
//! A response is a `successful` `OCSPResponse` holding a
//! `BasicOCSPResponse`: `ResponderID` by key hash (what the RFC 5019
//! lightweight profile recommends), the responder's certificate in `certs`
//! so clients can check the delegation (§4.2.2.2), and the request's nonce
//! echoed when there was one (RFC 8954). The responder's ID, certificate and
//! algorithm identifier are prepared once in [`Responder::new`]; building a
//! response is a few hundred bytes of encoding and one signature.
//!
//! [RFC 6960 §4.2]: https://www.rfc-editor.org/rfc/rfc6960#section-4.2

use std::sync::Arc;

use aws_lc_rs::digest;
use const_oid::db::{rfc5280, rfc6960};
use der::asn1::{AnyRef, BitStringRef, Null, OctetString, OctetStringRef};
use der::{Decode, Encode};
use hallmark_pki::Signer;
use hallmark_pki::cert::algorithm_identifier;
use spki::{AlgorithmIdentifierOwned, AlgorithmIdentifierRef};
use x509_cert::ext::Extension;

use super::asn1::{
    BasicOcspResponseDer, CertIdDer, CertStatusDer, OcspResponseDer, ResponseBytesDer,
    ResponseDataDer, ResponseStatusDer, RevokedInfoDer, SingleResponseDer, crl_reason,
    responder_id_by_key,
};
use super::request::{CertId, Nonce};
use crate::cert::CertInfo;
use crate::crl::serial_number;
use crate::error::RevocationError;
use crate::reason::Reason;
use crate::time::generalized_time;

/// A delegated OCSP responder: its certificate (issued by the CA it answers
/// for, with `id-kp-OCSPSigning`) and the signer holding its key.
#[derive(Clone, Debug)]
pub struct Responder {
    cert_der: Vec<u8>,
    signer: Arc<dyn Signer>,
    key_hash: [u8; 20],
    responder_id: [u8; 24],
    signature_algorithm: AlgorithmIdentifierOwned,
}

impl Responder {
    /// Binds the responder certificate (DER) to its key.
    ///
    /// # Errors
    ///
    /// [`RevocationError::Malformed`], [`RevocationError::KeyMismatch`] when
    /// `signer` does not hold the certificate's key,
    /// [`RevocationError::NotOcspSigner`] without `id-kp-OCSPSigning`, and
    /// [`RevocationError::KeyUsage`] when a keyUsage lacks `digitalSignature`.
    pub fn new(cert_der: Vec<u8>, signer: Arc<dyn Signer>) -> Result<Self, RevocationError> {
        const WHAT: &str = "OCSP responder";
        let info = CertInfo::parse(&cert_der, WHAT)?;
        info.check_signer(signer.public_key_der(), WHAT)?;
        let ocsp_signing = info
            .eku
            .as_ref()
            .is_some_and(|eku| eku.contains(&rfc5280::ID_KP_OCSP_SIGNING));
        if !ocsp_signing {
            return Err(RevocationError::NotOcspSigner);
        }
        if info
            .key_usage
            .as_ref()
            .is_some_and(|ku| !ku.digital_signature())
        {
            return Err(RevocationError::KeyUsage {
                cert: WHAT,
                usage: "digitalSignature",
            });
        }
        let mut key_hash = [0u8; 20];
        key_hash.copy_from_slice(
            digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, &info.key_bits).as_ref(),
        );
        Ok(Self {
            responder_id: responder_id_by_key(&key_hash),
            signature_algorithm: algorithm_identifier(signer.algorithm().signature_algorithm()),
            key_hash,
            cert_der,
            signer,
        })
    }

    /// The `ResponderID` `byKey` value: SHA-1 of the responder's public key bits.
    pub fn key_hash(&self) -> &[u8; 20] {
        &self.key_hash
    }

    /// The responder certificate, DER.
    pub fn certificate_der(&self) -> &[u8] {
        &self.cert_der
    }
}

/// A certificate's status (RFC 6960 §2.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CertStatus {
    /// Issued by the CA and not revoked.
    Good,
    /// Revoked at `at` (unix seconds); a reason other than `unspecified` is written.
    Revoked {
        /// When the revocation took effect, unix seconds.
        at: i64,
        /// Why.
        reason: Option<Reason>,
    },
    /// Not a certificate this responder knows of.
    Unknown,
}

/// The answer about one certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SingleResponse {
    /// The `CertID` as asked (echoed; SHA-1 ids stay SHA-1).
    pub cert_id: CertId,
    /// Its status.
    pub status: CertStatus,
    /// When the status was known correct, unix seconds.
    pub this_update: i64,
    /// When newer information will be available, unix seconds (after `this_update`).
    pub next_update: i64,
}

/// The unsuccessful `OCSPResponseStatus` values (RFC 6960 §4.2.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OcspResponseStatus {
    /// `malformedRequest` (1): the request does not parse or is not allowed.
    MalformedRequest,
    /// `internalError` (2): the responder is in an inconsistent state.
    InternalError,
    /// `tryLater` (3): the responder cannot answer now.
    TryLater,
    /// `sigRequired` (5): the request must be signed.
    SigRequired,
    /// `unauthorized` (6): the responder does not answer for this CA.
    Unauthorized,
}

impl OcspResponseStatus {
    /// The ENUMERATED value.
    pub fn code(self) -> u8 {
        match self {
            Self::MalformedRequest => 1,
            Self::InternalError => 2,
            Self::TryLater => 3,
            Self::SigRequired => 5,
            Self::Unauthorized => 6,
        }
    }
}

/// An `OCSPResponse` with an error status and no body (RFC 6960 §2.3):
/// `SEQUENCE { ENUMERATED status }`. Such responses are not signed.
pub fn error_response(status: OcspResponseStatus) -> Vec<u8> {
    vec![0x30, 0x03, 0x0a, 0x01, status.code()]
}

fn cert_id_der(id: &CertId) -> Result<CertIdDer<'_>, RevocationError> {
    Ok(CertIdDer {
        // NULL parameters, as OpenSSL, Go and Windows write them.
        hash_algorithm: AlgorithmIdentifierRef {
            oid: id.hash_algorithm.oid(),
            parameters: Some(AnyRef::NULL),
        },
        issuer_name_hash: OctetStringRef::new(&id.issuer_name_hash)?,
        issuer_key_hash: OctetStringRef::new(&id.issuer_key_hash)?,
        serial_number: serial_number(&id.serial)?,
    })
}

fn single_der(single: &SingleResponse) -> Result<SingleResponseDer<'_>, RevocationError> {
    if single.next_update <= single.this_update {
        return Err(RevocationError::UpdateOrder {
            this_update: single.this_update,
            next_update: single.next_update,
        });
    }
    let cert_status = match single.status {
        CertStatus::Good => CertStatusDer::Good(Null),
        CertStatus::Revoked { at, reason } => CertStatusDer::Revoked(RevokedInfoDer {
            revocation_time: generalized_time(at)?,
            revocation_reason: reason.filter(|r| r.is_written()).map(crl_reason),
        }),
        CertStatus::Unknown => CertStatusDer::Unknown(Null),
    };
    Ok(SingleResponseDer {
        cert_id: cert_id_der(&single.cert_id)?,
        cert_status,
        this_update: generalized_time(single.this_update)?,
        next_update: Some(generalized_time(single.next_update)?),
        single_extensions: None,
    })
}

/// Builds and signs a `successful` response answering `responses` (in
/// order), produced at `produced_at` (unix seconds), echoing `nonce`.
///
/// # Errors
///
/// [`RevocationError::NoResponses`], [`RevocationError::UpdateOrder`],
/// [`RevocationError::InvalidSerial`], [`RevocationError::TimeOutOfRange`],
/// and [`RevocationError::Sign`] when the key backend fails.
pub fn build_response(
    responder: &Responder,
    responses: &[SingleResponse],
    produced_at: i64,
    nonce: Option<&Nonce>,
) -> Result<Vec<u8>, RevocationError> {
    if responses.is_empty() {
        return Err(RevocationError::NoResponses);
    }
    let response_extensions = match nonce {
        Some(nonce) => Some(vec![Extension {
            extn_id: rfc6960::ID_PKIX_OCSP_NONCE,
            critical: false,
            extn_value: OctetString::new(nonce.extension_value())?,
        }]),
        None => None,
    };
    let tbs = ResponseDataDer {
        version: 0,
        responder_id: AnyRef::from_der(&responder.responder_id)?,
        produced_at: generalized_time(produced_at)?,
        responses: responses.iter().map(single_der).collect::<Result<_, _>>()?,
        response_extensions,
    };
    let tbs_der = tbs.to_der()?;
    let signature = responder.signer.sign(&tbs_der)?;
    let basic = BasicOcspResponseDer {
        tbs_response_data: AnyRef::from_der(&tbs_der)?,
        signature_algorithm: responder.signature_algorithm.clone(),
        signature: BitStringRef::from_bytes(&signature)?,
        certs: Some(vec![AnyRef::from_der(&responder.cert_der)?]),
    };
    let basic_der = basic.to_der()?;
    let response = OcspResponseDer {
        response_status: ResponseStatusDer::Successful,
        response_bytes: Some(ResponseBytesDer {
            response_type: rfc6960::ID_PKIX_OCSP_BASIC,
            response: OctetStringRef::new(&basic_der)?,
        }),
    };
    Ok(response.to_der()?)
}

/// The response about one certificate without a nonce: the same bytes
/// serve every client asking with the same `CertID` hash algorithm until
/// `next_update`, so callers may sign once and cache (RFC 5019 §2.2).
///
/// # Errors
///
/// As [`build_response`].
pub fn build_single_response(
    responder: &Responder,
    response: &SingleResponse,
    produced_at: i64,
) -> Result<Vec<u8>, RevocationError> {
    build_response(responder, std::slice::from_ref(response), produced_at, None)
}
