//! The X.509 the device does itself: build its PKCS#10 request, and check
//! the certificate chain INSTALL brings.

use alloc::vec::Vec;

use const_oid::ObjectIdentifier;
use der::asn1::{Any, BitString, PrintableStringRef, Utf8StringRef};
use der::{Decode, Encode};
use hallmark_protocol::{AttributeType, CsrRequest, KeyAlgorithm};
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use x509_cert::Certificate;
use x509_cert::attr::{AttributeTypeAndValue, Attributes};
use x509_cert::name::{Name, RdnSequence, RelativeDistinguishedName};
use x509_cert::request::{CertReq, CertReqInfo, Version};

use crate::error::DeviceError;

// OIDs written out: the `db` tables cost ~95 KB of flash when referenced.
const CN: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.3");
const ECDSA_WITH_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
const ECDSA_WITH_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");

fn attribute_oid(kind: AttributeType) -> ObjectIdentifier {
    match kind {
        AttributeType::Country => ObjectIdentifier::new_unwrap("2.5.4.6"),
        AttributeType::StateOrProvince => ObjectIdentifier::new_unwrap("2.5.4.8"),
        AttributeType::Locality => ObjectIdentifier::new_unwrap("2.5.4.7"),
        AttributeType::Organization => ObjectIdentifier::new_unwrap("2.5.4.10"),
        AttributeType::OrganizationalUnit => ObjectIdentifier::new_unwrap("2.5.4.11"),
        AttributeType::SerialNumber => ObjectIdentifier::new_unwrap("2.5.4.5"),
    }
}

fn der(what: &'static str) -> impl Fn(der::Error) -> DeviceError {
    move |_| DeviceError::Der(what)
}

fn rdn(oid: ObjectIdentifier, value: Any) -> Result<RelativeDistinguishedName, DeviceError> {
    let mut rdn = RelativeDistinguishedName::default();
    rdn.insert(AttributeTypeAndValue { oid, value })
        .map_err(der("subject attribute"))?;
    Ok(rdn)
}

/// The subject GET_CSR asks for: the extra attributes in order, then the CN.
fn subject(request: &CsrRequest<'_>) -> Result<Name, DeviceError> {
    let mut rdns = Vec::with_capacity(request.attributes.len() + 1);
    for attribute in request.attributes.iter() {
        let value = if attribute.kind.is_printable_string() {
            Any::encode_from(
                &PrintableStringRef::new(attribute.value).map_err(der("PrintableString"))?,
            )
        } else {
            Any::encode_from(&Utf8StringRef::new(attribute.value).map_err(der("UTF8String"))?)
        };
        rdns.push(rdn(
            attribute_oid(attribute.kind),
            value.map_err(der("subject attribute"))?,
        )?);
    }
    let cn = Any::encode_from(&Utf8StringRef::new(request.common_name).map_err(der("UTF8String"))?);
    rdns.push(rdn(CN, cn.map_err(der("commonName"))?)?);
    let encoded = RdnSequence::from(rdns).to_der().map_err(der("subject"))?;
    Name::from_der(&encoded).map_err(der("subject"))
}

/// The `CertificationRequestInfo` to sign, and the finished request once
/// the signature is there.
pub(crate) struct CsrBuilder {
    info: CertReqInfo,
    algorithm: KeyAlgorithm,
}

impl CsrBuilder {
    pub fn new(
        request: &CsrRequest<'_>,
        spki_der: &[u8],
        algorithm: KeyAlgorithm,
    ) -> Result<Self, DeviceError> {
        let public_key =
            SubjectPublicKeyInfoOwned::from_der(spki_der).map_err(der("device SPKI"))?;
        let info = CertReqInfo {
            version: Version::V1,
            subject: subject(request)?,
            public_key,
            attributes: Attributes::new(),
        };
        Ok(Self { info, algorithm })
    }

    /// The DER bytes the device key signs.
    pub fn to_be_signed(&self) -> Result<Vec<u8>, DeviceError> {
        self.info.to_der().map_err(der("CertificationRequestInfo"))
    }

    /// The DER `CertificationRequest` with `signature` (ECDSA DER).
    pub fn finish(self, signature: &[u8]) -> Result<Vec<u8>, DeviceError> {
        let oid = match self.algorithm {
            KeyAlgorithm::P256 => ECDSA_WITH_SHA256,
            KeyAlgorithm::P384 => ECDSA_WITH_SHA384,
        };
        let request = CertReq {
            info: self.info,
            algorithm: AlgorithmIdentifierOwned {
                oid,
                parameters: None,
            },
            signature: BitString::from_bytes(signature).map_err(der("signature"))?,
        };
        request.to_der().map_err(der("CertificationRequest"))
    }
}

/// Why INSTALL's chain was refused.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ChainProblem {
    /// Not DER X.509, or issuer/subject names that do not chain (BAD_REQUEST).
    Malformed(&'static str),
    /// Not this device's certificate (CERT_MISMATCH).
    Mismatch(&'static str),
}

/// Checks INSTALL's chain: every certificate parses, each is issued by the
/// next (by name), the leaf certifies `device_spki` and has exactly one
/// commonName, equal to `device_id`. Signatures are the station's to verify.
pub(crate) fn check_chain<'c>(
    chain: impl Iterator<Item = &'c [u8]>,
    device_spki: &[u8],
    device_id: &str,
) -> Result<(), ChainProblem> {
    let mut certificates = Vec::new();
    for bytes in chain {
        let certificate = Certificate::from_der(bytes)
            .map_err(|_| ChainProblem::Malformed("a certificate is not DER X.509"))?;
        certificates.push(certificate);
    }
    for pair in certificates.windows(2) {
        if pair[0].tbs_certificate().issuer() != pair[1].tbs_certificate().subject() {
            return Err(ChainProblem::Malformed(
                "the chain is not in issuing order, leaf first",
            ));
        }
    }
    let leaf = certificates
        .first()
        .ok_or(ChainProblem::Malformed("empty chain"))?
        .tbs_certificate();
    let leaf_spki = leaf
        .subject_public_key_info()
        .to_der()
        .map_err(|_| ChainProblem::Malformed("leaf SPKI"))?;
    if leaf_spki != device_spki {
        return Err(ChainProblem::Mismatch(
            "the leaf certificate is not for this device's key",
        ));
    }
    let mut names = leaf.subject().iter().filter(|atv| atv.oid == CN);
    let (Some(cn), None) = (names.next(), names.next()) else {
        return Err(ChainProblem::Mismatch(
            "the leaf must have exactly one commonName",
        ));
    };
    let cn = x509_cert::ext::pkix::name::DirectoryString::try_from(&cn.value)
        .map_err(|_| ChainProblem::Mismatch("the leaf commonName is not a string"))?;
    if cn.value() != device_id {
        return Err(ChainProblem::Mismatch(
            "the leaf commonName differs from the stamp's device id",
        ));
    }
    Ok(())
}
