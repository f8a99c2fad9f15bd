//! OCSP requests ([RFC 6960 §4.1]) and their nonce ([RFC 8954]).
//!
//! [RFC 6960 §4.1]: https://www.rfc-editor.org/rfc/rfc6960#section-4.1
//! [RFC 8954]: https://www.rfc-editor.org/rfc/rfc8954

use aws_lc_rs::digest;
use const_oid::ObjectIdentifier;
use const_oid::db::{rfc5912, rfc6960};
use der::Decode;
use der::asn1::OctetStringRef;

use super::asn1::{CertIdDer, ExtensionRef, OcspRequestDer};
use crate::crl::serial_number;
use crate::error::RevocationError;

/// The digests a `CertID` may use: SHA-1 (what most clients send) and SHA-256.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HashAlgorithm {
    /// SHA-1 (`id-sha1`), RFC 6960's default. Used only to name the issuer,
    /// where collision resistance is not what protects the response.
    Sha1,
    /// SHA-256 (`id-sha256`).
    Sha256,
}

impl HashAlgorithm {
    /// The algorithm's object identifier.
    pub fn oid(self) -> ObjectIdentifier {
        match self {
            Self::Sha1 => rfc5912::ID_SHA_1,
            Self::Sha256 => rfc5912::ID_SHA_256,
        }
    }

    /// The algorithm with identifier `oid`, if supported.
    pub fn from_oid(oid: ObjectIdentifier) -> Option<Self> {
        [Self::Sha1, Self::Sha256]
            .into_iter()
            .find(|alg| alg.oid() == oid)
    }

    /// The digest length in octets.
    pub fn output_len(self) -> usize {
        match self {
            Self::Sha1 => 20,
            Self::Sha256 => 32,
        }
    }

    /// The algorithm's name (`SHA-1`, `SHA-256`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Sha1 => "SHA-1",
            Self::Sha256 => "SHA-256",
        }
    }

    pub(crate) fn digest(self, data: &[u8]) -> Vec<u8> {
        let alg = match self {
            Self::Sha1 => &digest::SHA1_FOR_LEGACY_USE_ONLY,
            Self::Sha256 => &digest::SHA256,
        };
        digest::digest(alg, data).as_ref().to_vec()
    }
}

/// `CertID` (RFC 6960 §4.1.1): which certificate a request asks about.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CertId {
    /// The digest of the two issuer hashes.
    pub hash_algorithm: HashAlgorithm,
    /// Hash of the issuer's subject name (DER).
    pub issuer_name_hash: Vec<u8>,
    /// Hash of the issuer's public key (the `subjectPublicKey` bits).
    pub issuer_key_hash: Vec<u8>,
    /// The serial number, big-endian magnitude without a sign octet (as
    /// `hallmark_pki::Serial::as_bytes` gives it).
    pub serial: Vec<u8>,
}

impl CertId {
    fn from_der(id: &CertIdDer<'_>) -> Result<Self, RevocationError> {
        let oid = id.hash_algorithm.oid;
        let params_ok = id.hash_algorithm.parameters.is_none_or(|p| p.is_null());
        let alg = HashAlgorithm::from_oid(oid)
            .filter(|_| params_ok)
            .ok_or(RevocationError::UnsupportedHashAlgorithm(oid))?;
        for (field, hash) in [
            ("issuerNameHash", id.issuer_name_hash),
            ("issuerKeyHash", id.issuer_key_hash),
        ] {
            let len = hash.as_bytes().len();
            if len != alg.output_len() {
                return Err(RevocationError::HashLength {
                    field,
                    alg: alg.name(),
                    len,
                    expected: alg.output_len(),
                });
            }
        }
        // Zero and over-long serials are not RFC 5280 serials: no CA here issued them.
        let serial = serial_number(id.serial_number.as_bytes())?;
        Ok(Self {
            hash_algorithm: alg,
            issuer_name_hash: id.issuer_name_hash.as_bytes().to_vec(),
            issuer_key_hash: id.issuer_key_hash.as_bytes().to_vec(),
            serial: serial.as_bytes().to_vec(),
        })
    }
}

/// An OCSP nonce (RFC 8954), kept exactly as the request carried it so the
/// response echoes the same extension value byte for byte.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Nonce {
    /// The extension's `extnValue` contents as received.
    extn_value: Vec<u8>,
    /// Where the nonce octets start inside `extn_value`.
    start: usize,
}

impl Nonce {
    /// A nonce of `value` octets in the RFC 8954 form (`extnValue` holds a
    /// DER `OCTET STRING`).
    ///
    /// # Errors
    ///
    /// [`RevocationError::NonceLength`] outside 1..=32 octets.
    pub fn new(value: &[u8]) -> Result<Self, RevocationError> {
        check_nonce_len(value.len())?;
        let octets = OctetStringRef::new(value)?;
        let extn_value = der::Encode::to_der(&octets)?;
        Ok(Self {
            start: extn_value.len() - value.len(),
            extn_value,
        })
    }

    /// Reads a request's nonce `extnValue`: the RFC 8954 `OCTET STRING`
    /// (what OpenSSL, Go and Windows send), or raw octets as some RFC 2560
    /// era clients send them.
    fn from_extension(extn_value: &[u8]) -> Result<Self, RevocationError> {
        let inner = <&OctetStringRef>::from_der(extn_value).map(|o| o.as_bytes().len());
        let len = inner.unwrap_or(extn_value.len());
        check_nonce_len(len)?;
        Ok(Self {
            start: extn_value.len() - len,
            extn_value: extn_value.to_vec(),
        })
    }

    /// The nonce octets.
    pub fn value(&self) -> &[u8] {
        &self.extn_value[self.start..]
    }

    /// The extension value the response carries.
    pub(crate) fn extension_value(&self) -> &[u8] {
        &self.extn_value
    }
}

fn check_nonce_len(len: usize) -> Result<(), RevocationError> {
    if (1..=32).contains(&len) {
        Ok(())
    } else {
        Err(RevocationError::NonceLength(len))
    }
}

/// What a parsed OCSP request asks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OcspRequest {
    /// The certificates asked about, in request order (at least one).
    pub cert_ids: Vec<CertId>,
    /// The request's nonce, to be echoed in the response.
    pub nonce: Option<Nonce>,
}

/// Request extensions understood (RFC 6960 §4.4): nonce, acceptable
/// response types and preferred signature algorithms. Only the nonce
/// changes the answer; the others are satisfied by a basic response
/// signed with the responder's one algorithm.
const KNOWN_EXTENSIONS: [ObjectIdentifier; 3] = [
    rfc6960::ID_PKIX_OCSP_NONCE,
    rfc6960::ID_PKIX_OCSP_RESPONSE,
    rfc6960::ID_PKIX_OCSP_PREF_SIG_ALGS,
];

fn check_critical(extensions: &[ExtensionRef<'_>]) -> Result<(), RevocationError> {
    match extensions
        .iter()
        .find(|e| e.critical && !KNOWN_EXTENSIONS.contains(&e.extn_id))
    {
        Some(ext) => Err(RevocationError::UnsupportedCriticalExtension(ext.extn_id)),
        None => Ok(()),
    }
}

/// Parses a DER `OCSPRequest` (RFC 6960 §4.1.1).
///
/// A request signature, if any, is not checked (§4.1.2 leaves that to the
/// responder's policy). Every error maps to `malformedRequest`
/// ([`RevocationError::ocsp_status`]).
///
/// # Errors
///
/// [`RevocationError::Malformed`] for bad DER (including negative serials),
/// [`RevocationError::InvalidSerial`] for zero or over-long serials,
/// [`RevocationError::UnsupportedVersion`], [`RevocationError::EmptyRequest`],
/// [`RevocationError::UnsupportedHashAlgorithm`],
/// [`RevocationError::HashLength`], [`RevocationError::NonceLength`] and
/// [`RevocationError::UnsupportedCriticalExtension`].
pub fn parse_request(der: &[u8]) -> Result<OcspRequest, RevocationError> {
    let request =
        OcspRequestDer::from_der(der).map_err(RevocationError::malformed("OCSP request"))?;
    let tbs = request.tbs_request;
    if let Some(version) = tbs.version.filter(|v| *v != 0) {
        return Err(RevocationError::UnsupportedVersion(version));
    }
    if tbs.request_list.is_empty() {
        return Err(RevocationError::EmptyRequest);
    }
    let extensions = tbs.request_extensions.unwrap_or_default();
    check_critical(&extensions)?;
    let cert_ids = tbs
        .request_list
        .iter()
        .map(|req| {
            check_critical(req.single_request_extensions.as_deref().unwrap_or_default())?;
            CertId::from_der(&req.req_cert)
        })
        .collect::<Result<Vec<_>, _>>()?;
    let nonce = extensions
        .iter()
        .find(|e| e.extn_id == rfc6960::ID_PKIX_OCSP_NONCE)
        .map(|e| Nonce::from_extension(e.extn_value.as_bytes()))
        .transpose()?;
    Ok(OcspRequest { cert_ids, nonce })
}
