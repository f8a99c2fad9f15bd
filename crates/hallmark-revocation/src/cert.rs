//! What the revocation code needs from a CA or responder certificate.

use const_oid::ObjectIdentifier;
use der::{Decode, Encode};
use x509_cert::Certificate;
use x509_cert::ext::pkix::{ExtendedKeyUsage, KeyUsage, SubjectKeyIdentifier};

use crate::error::RevocationError;

/// The parts of a certificate CRL and OCSP signing copy or check.
#[derive(Debug)]
pub(crate) struct CertInfo {
    /// The subject `Name`, DER, byte-exact.
    pub subject_der: Vec<u8>,
    /// The `SubjectPublicKeyInfo`, DER.
    pub spki_der: Vec<u8>,
    /// The `subjectPublicKey` BIT STRING's value without its unused-bits
    /// octet: what OCSP key hashes are computed over (RFC 6960 §4.1.1).
    pub key_bits: Vec<u8>,
    /// The subjectKeyIdentifier, if any.
    pub ski: Option<Vec<u8>>,
    /// The keyUsage extension, if any.
    pub key_usage: Option<KeyUsage>,
    /// The extendedKeyUsage purposes, if the extension is present.
    pub eku: Option<Vec<ObjectIdentifier>>,
}

impl CertInfo {
    /// Parses `cert_der`; `what` names the certificate in errors.
    pub fn parse(cert_der: &[u8], what: &'static str) -> Result<Self, RevocationError> {
        let malformed = RevocationError::malformed(what);
        let cert = Certificate::from_der(cert_der).map_err(malformed)?;
        let tbs = cert.tbs_certificate();
        let ski = tbs
            .get_extension::<SubjectKeyIdentifier>()
            .map_err(RevocationError::malformed(what))?
            .map(|(_, ski)| ski.0.as_bytes().to_vec());
        let key_usage = tbs
            .get_extension::<KeyUsage>()
            .map_err(RevocationError::malformed(what))?
            .map(|(_, ku)| ku);
        let eku = tbs
            .get_extension::<ExtendedKeyUsage>()
            .map_err(RevocationError::malformed(what))?
            .map(|(_, eku)| eku.0);
        let spki = tbs.subject_public_key_info();
        Ok(Self {
            subject_der: tbs.subject().to_der()?,
            spki_der: spki.to_der()?,
            key_bits: spki.subject_public_key.raw_bytes().to_vec(),
            ski,
            key_usage,
            eku,
        })
    }

    /// Refuses a signer whose public key is not this certificate's.
    pub fn check_signer(
        &self,
        signer_spki: &[u8],
        what: &'static str,
    ) -> Result<(), RevocationError> {
        if self.spki_der == signer_spki {
            Ok(())
        } else {
            Err(RevocationError::KeyMismatch(what))
        }
    }
}
