//! A read-only view of a certificate someone presented (a TLS client
//! certificate, a certificate to renew): the few fields policy decisions
//! need, parsed once.

use der::{Decode, Encode};
use x509_cert::Certificate;

use crate::alg::SignatureAlgorithm;
use crate::cert::unix_seconds;
use crate::error::PkiError;
use crate::key::PublicKey;

/// The fields of a DER certificate that Hallmark's policy looks at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertificateView {
    /// Serial number, as encoded (big-endian, minimal).
    pub serial: Vec<u8>,
    /// Issuer name, DER.
    pub issuer_der: Vec<u8>,
    /// Subject name, DER.
    pub subject_der: Vec<u8>,
    /// Subject common name, if any.
    pub common_name: Option<String>,
    /// DER `SubjectPublicKeyInfo`.
    pub spki_der: Vec<u8>,
    /// `notBefore`, unix seconds.
    pub not_before: i64,
    /// `notAfter`, unix seconds.
    pub not_after: i64,
}

impl CertificateView {
    /// Parses a DER certificate.
    pub fn parse(der: &[u8]) -> Result<Self, PkiError> {
        let cert = Certificate::from_der(der).map_err(PkiError::malformed("certificate"))?;
        let tbs = cert.tbs_certificate();
        Ok(Self {
            serial: tbs.serial_number().as_bytes().to_vec(),
            issuer_der: tbs.issuer().to_der()?,
            subject_der: tbs.subject().to_der()?,
            common_name: tbs.subject().common_name().ok().flatten().map(String::from),
            spki_der: tbs.subject_public_key_info().to_der()?,
            not_before: unix_seconds(&tbs.validity().not_before),
            not_after: unix_seconds(&tbs.validity().not_after),
        })
    }

    /// Checks that `der` is a DER certificate whose signature `issuer`
    /// made. The encoding must be canonical DER (re-encoding gives the same
    /// bytes), so the bytes verified are the bytes received.
    pub fn verify_signed_by(der: &[u8], issuer: &PublicKey) -> Result<(), PkiError> {
        let cert = Certificate::from_der(der).map_err(PkiError::malformed("certificate"))?;
        if cert.to_der()? != der {
            return Err(PkiError::BadCertificateSignature);
        }
        let oid = cert.signature_algorithm().oid;
        let algorithm = SignatureAlgorithm::from_oid(oid)
            .ok_or(PkiError::UnsupportedSignatureAlgorithm(oid))?;
        let signature = cert
            .signature()
            .as_bytes()
            .ok_or(PkiError::BadCertificateSignature)?;
        let tbs = cert.tbs_certificate().to_der()?;
        issuer
            .verify(algorithm, &tbs, signature)
            .map_err(|_| PkiError::BadCertificateSignature)
    }
}
