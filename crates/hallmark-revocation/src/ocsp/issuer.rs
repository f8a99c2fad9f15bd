//! Recognising which CA a `CertID` names ([RFC 6960 §4.1.1]).
//!
//! [RFC 6960 §4.1.1]: https://www.rfc-editor.org/rfc/rfc6960#section-4.1.1

use super::request::{CertId, HashAlgorithm};
use crate::cert::CertInfo;
use crate::crl::serial_number;
use crate::error::RevocationError;

/// An issuing CA's name and key hashes under SHA-1 and SHA-256, computed
/// once so matching a `CertID` is two comparisons.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IssuerHashes {
    sha1: (Vec<u8>, Vec<u8>),
    sha256: (Vec<u8>, Vec<u8>),
}

impl IssuerHashes {
    /// Hashes the CA certificate's subject name (DER) and public key (the
    /// `subjectPublicKey` BIT STRING's value).
    ///
    /// # Errors
    ///
    /// [`RevocationError::Malformed`] when the certificate does not parse.
    pub fn for_issuer(ca_cert_der: &[u8]) -> Result<Self, RevocationError> {
        let info = CertInfo::parse(ca_cert_der, "issuer certificate")?;
        let hashes =
            |alg: HashAlgorithm| (alg.digest(&info.subject_der), alg.digest(&info.key_bits));
        Ok(Self {
            sha1: hashes(HashAlgorithm::Sha1),
            sha256: hashes(HashAlgorithm::Sha256),
        })
    }

    fn pair(&self, alg: HashAlgorithm) -> &(Vec<u8>, Vec<u8>) {
        match alg {
            HashAlgorithm::Sha1 => &self.sha1,
            HashAlgorithm::Sha256 => &self.sha256,
        }
    }

    /// `issuerNameHash` under `alg`.
    pub fn name_hash(&self, alg: HashAlgorithm) -> &[u8] {
        &self.pair(alg).0
    }

    /// `issuerKeyHash` under `alg`.
    pub fn key_hash(&self, alg: HashAlgorithm) -> &[u8] {
        &self.pair(alg).1
    }

    /// True when `id` names this issuer (both hashes match).
    pub fn matches(&self, id: &CertId) -> bool {
        let (name, key) = self.pair(id.hash_algorithm);
        id.issuer_name_hash == *name && id.issuer_key_hash == *key
    }

    /// The `CertID` a client hashing with `alg` sends for `serial` (big-endian
    /// magnitude): the key under which a caller caches pre-signed responses.
    ///
    /// # Errors
    ///
    /// [`RevocationError::InvalidSerial`] for an empty, zero or over-long serial.
    pub fn cert_id(&self, alg: HashAlgorithm, serial: &[u8]) -> Result<CertId, RevocationError> {
        let serial = serial_number(serial)?.as_bytes().to_vec();
        let (name, key) = self.pair(alg);
        Ok(CertId {
            hash_algorithm: alg,
            issuer_name_hash: name.clone(),
            issuer_key_hash: key.clone(),
            serial,
        })
    }
}
