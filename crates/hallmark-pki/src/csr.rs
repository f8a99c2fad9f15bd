//! PKCS#10 certificate requests ([RFC 2986]): parse, then verify the
//! signature over the `CertificationRequestInfo` bytes exactly as received.
//!
//! Parsing yields a [`VerifiedCsr`] or an error; there is no "parsed but not
//! yet verified" value to forget a check on.
//!
//! [RFC 2986]: https://www.rfc-editor.org/rfc/rfc2986

use der::asn1::{AnyRef, BitStringRef};
use der::{Decode, Encode, Sequence};
use spki::AlgorithmIdentifierRef;
use x509_cert::name::Name;
use x509_cert::request::{CertReq, Version};

use crate::alg::SignatureAlgorithm;
use crate::error::PkiError;
use crate::key::{PublicKey, weak_signature_algorithm};
use crate::pem;

/// The outer `CertificationRequest` with the info kept as raw DER, so the
/// signature is checked over the very bytes the device signed.
#[derive(Sequence)]
struct RawCertReq<'a> {
    info: AnyRef<'a>,
    algorithm: AlgorithmIdentifierRef<'a>,
    signature: BitStringRef<'a>,
}

/// A certificate request whose structure, key and self-signature have been checked.
#[derive(Clone, Debug)]
pub struct VerifiedCsr {
    der: Vec<u8>,
    subject: Name,
    public_key: PublicKey,
    signature_algorithm: SignatureAlgorithm,
}

impl VerifiedCsr {
    /// Parses a CSR given as PEM (`CERTIFICATE REQUEST` or `NEW CERTIFICATE
    /// REQUEST`) or DER, and verifies it.
    pub fn from_pem_or_der(input: &[u8]) -> Result<Self, PkiError> {
        if pem::looks_like_pem(input) {
            let der = pem::decode(input, &["CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST"])?;
            Self::from_der(&der)
        } else {
            Self::from_der(input)
        }
    }

    /// Parses and verifies a DER CSR.
    pub fn from_der(der: &[u8]) -> Result<Self, PkiError> {
        let raw = RawCertReq::from_der(der).map_err(PkiError::malformed("certificate request"))?;
        let parsed = CertReq::from_der(der).map_err(PkiError::malformed("certificate request"))?;
        if parsed.info.version != Version::V1 {
            return Err(PkiError::UnsupportedCsrVersion(parsed.info.version as u8));
        }

        let sig_oid = raw.algorithm.oid;
        if let Some(name) = weak_signature_algorithm(sig_oid) {
            return Err(PkiError::WeakSignatureAlgorithm { name, oid: sig_oid });
        }
        let signature_algorithm = SignatureAlgorithm::from_oid(sig_oid)
            .ok_or(PkiError::UnsupportedSignatureAlgorithm(sig_oid))?;

        let spki_der = parsed.info.public_key.to_der()?;
        let public_key = PublicKey::from_spki_der(&spki_der)?;

        let signature = raw.signature.as_bytes().ok_or(PkiError::BadCsrSignature)?;
        let info_der = raw.info.to_der()?;
        public_key.verify(signature_algorithm, &info_der, signature)?;

        Ok(Self {
            der: der.to_vec(),
            subject: parsed.info.subject,
            public_key,
            signature_algorithm,
        })
    }

    /// The request as received, DER.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The subject the requester asked for (policy decides what is used).
    pub fn subject(&self) -> &Name {
        &self.subject
    }

    /// The requested public key.
    pub fn public_key(&self) -> &PublicKey {
        &self.public_key
    }

    /// The algorithm the request was signed with.
    pub fn signature_algorithm(&self) -> SignatureAlgorithm {
        self.signature_algorithm
    }

    /// The subject's common name, if the request has one.
    pub fn common_name(&self) -> Option<String> {
        self.subject.common_name().ok().flatten().map(String::from)
    }
}
