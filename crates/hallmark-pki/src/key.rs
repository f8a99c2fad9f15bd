//! Public keys: classify a `SubjectPublicKeyInfo` and verify signatures made by it.

use aws_lc_rs::signature::{self as sig, UnparsedPublicKey, VerificationAlgorithm};
use const_oid::ObjectIdentifier;
use const_oid::db::rfc5912;
use der::asn1::{ObjectIdentifier as Oid, UintRef};
use der::{Decode, Sequence};
use sha2::{Digest, Sha256};
use spki::SubjectPublicKeyInfoRef;

use crate::alg::{self, KeyAlgorithm, SignatureAlgorithm};
use crate::error::PkiError;

/// Smallest and largest RSA modulus Hallmark certifies.
pub const RSA_BITS: std::ops::RangeInclusive<usize> = 2048..=4096;

/// A parsed, supported public key: its algorithm and its DER `SubjectPublicKeyInfo`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicKey {
    algorithm: KeyAlgorithm,
    spki_der: Vec<u8>,
    key_bytes: Vec<u8>,
}

/// `RSAPublicKey` (RFC 8017 §A.1.1), only to read the modulus length.
#[derive(Sequence)]
struct RsaPublicKey<'a> {
    modulus: UintRef<'a>,
    public_exponent: UintRef<'a>,
}

impl PublicKey {
    /// Parses a DER `SubjectPublicKeyInfo` and checks it is a key Hallmark accepts:
    /// ECDSA P-256/P-384, Ed25519, RSA 2048–4096.
    pub fn from_spki_der(spki_der: &[u8]) -> Result<Self, PkiError> {
        let spki = SubjectPublicKeyInfoRef::from_der(spki_der)
            .map_err(PkiError::malformed("subject public key info"))?;
        let key_bytes = spki
            .subject_public_key
            .as_bytes()
            .ok_or(PkiError::InvalidPublicKey("bit-aligned"))?;
        let oid = spki.algorithm.oid;
        let algorithm = if oid == alg::ID_EC_PUBLIC_KEY {
            let curve: Oid = spki
                .algorithm
                .parameters
                .ok_or(PkiError::InvalidPublicKey("named-curve EC"))?
                .decode_as()
                .map_err(|_| PkiError::InvalidPublicKey("named-curve EC"))?;
            ec_algorithm(curve, key_bytes)?
        } else if oid == alg::ID_ED25519 {
            if spki.algorithm.parameters.is_some() || key_bytes.len() != 32 {
                return Err(PkiError::InvalidPublicKey("Ed25519"));
            }
            KeyAlgorithm::Ed25519
        } else if oid == alg::RSA_ENCRYPTION {
            rsa_algorithm(key_bytes)?
        } else {
            return Err(PkiError::UnsupportedKeyAlgorithm(oid));
        };
        Ok(Self {
            algorithm,
            spki_der: spki_der.to_vec(),
            key_bytes: key_bytes.to_vec(),
        })
    }

    /// The key's algorithm.
    pub fn algorithm(&self) -> KeyAlgorithm {
        self.algorithm
    }

    /// The DER `SubjectPublicKeyInfo`, exactly as received.
    pub fn spki_der(&self) -> &[u8] {
        &self.spki_der
    }

    /// SHA-256 of the DER `SubjectPublicKeyInfo`: the key's identity in the
    /// registry (one key, one device).
    pub fn sha256(&self) -> [u8; 32] {
        Sha256::digest(&self.spki_der).into()
    }

    /// Key identifier per RFC 7093 §2 method 1: the leftmost 160 bits of the
    /// SHA-256 hash of the subjectPublicKey BIT STRING value.
    pub fn key_identifier(&self) -> Vec<u8> {
        Sha256::digest(&self.key_bytes)[..20].to_vec()
    }

    /// Verifies `signature` over `message` made with `algorithm` by this key.
    pub fn verify(
        &self,
        algorithm: SignatureAlgorithm,
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), PkiError> {
        let verifier = verification_algorithm(algorithm, self.algorithm)?;
        UnparsedPublicKey::new(verifier, &self.key_bytes)
            .verify(message, signature)
            .map_err(|_| PkiError::BadCsrSignature)
    }
}

fn ec_algorithm(curve: ObjectIdentifier, point: &[u8]) -> Result<KeyAlgorithm, PkiError> {
    let (algorithm, len) = match curve {
        c if c == alg::SECP256R1 => (KeyAlgorithm::EcdsaP256, 65),
        c if c == alg::SECP384R1 => (KeyAlgorithm::EcdsaP384, 97),
        other => return Err(PkiError::UnsupportedCurve(other)),
    };
    // Uncompressed points only (RFC 5480 §2.2 makes it the one MUST).
    if point.len() != len || point[0] != 0x04 {
        return Err(PkiError::InvalidPublicKey("uncompressed EC point"));
    }
    Ok(algorithm)
}

fn rsa_algorithm(key_bytes: &[u8]) -> Result<KeyAlgorithm, PkiError> {
    let key = RsaPublicKey::from_der(key_bytes).map_err(|_| PkiError::InvalidPublicKey("RSA"))?;
    let modulus = key.modulus.as_bytes();
    let bits = modulus.len() * 8 - modulus.first().map_or(8, |b| b.leading_zeros() as usize);
    if !RSA_BITS.contains(&bits) {
        return Err(PkiError::RsaKeySize { bits });
    }
    let bits = u16::try_from(bits).map_err(|_| PkiError::RsaKeySize { bits })?;
    Ok(KeyAlgorithm::Rsa { bits })
}

/// Maps (signature algorithm, key algorithm) to aws-lc-rs' verifier.
fn verification_algorithm(
    signature: SignatureAlgorithm,
    key: KeyAlgorithm,
) -> Result<&'static dyn VerificationAlgorithm, PkiError> {
    use KeyAlgorithm as K;
    use SignatureAlgorithm as S;
    Ok(match (signature, key) {
        (S::EcdsaSha256, K::EcdsaP256) => &sig::ECDSA_P256_SHA256_ASN1,
        (S::EcdsaSha384, K::EcdsaP256) => &sig::ECDSA_P256_SHA384_ASN1,
        (S::EcdsaSha512, K::EcdsaP256) => &sig::ECDSA_P256_SHA512_ASN1,
        (S::EcdsaSha256, K::EcdsaP384) => &sig::ECDSA_P384_SHA256_ASN1,
        (S::EcdsaSha384, K::EcdsaP384) => &sig::ECDSA_P384_SHA384_ASN1,
        (S::EcdsaSha512, K::EcdsaP384) => &sig::ECDSA_P384_SHA512_ASN1,
        (S::Ed25519, K::Ed25519) => &sig::ED25519,
        (S::RsaPkcs1Sha256, K::Rsa { .. }) => &sig::RSA_PKCS1_2048_8192_SHA256,
        (S::RsaPkcs1Sha384, K::Rsa { .. }) => &sig::RSA_PKCS1_2048_8192_SHA384,
        (S::RsaPkcs1Sha512, K::Rsa { .. }) => &sig::RSA_PKCS1_2048_8192_SHA512,
        (signature, key) => {
            return Err(PkiError::AlgorithmMismatch {
                signature: signature.oid(),
                key: key_family(key),
            });
        }
    })
}

fn key_family(key: KeyAlgorithm) -> &'static str {
    match key {
        KeyAlgorithm::EcdsaP256 | KeyAlgorithm::EcdsaP384 => "ECDSA",
        KeyAlgorithm::Ed25519 => "Ed25519",
        KeyAlgorithm::Rsa { .. } => "RSA",
    }
}

/// Digests and signature schemes refused because they are broken.
pub(crate) fn weak_signature_algorithm(oid: ObjectIdentifier) -> Option<&'static str> {
    const ECDSA_WITH_SHA1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.1");
    const DSA_WITH_SHA1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10040.4.3");
    const MD2_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.2");
    [
        (rfc5912::SHA_1_WITH_RSA_ENCRYPTION, "sha1WithRSAEncryption"),
        (rfc5912::MD_5_WITH_RSA_ENCRYPTION, "md5WithRSAEncryption"),
        (MD2_WITH_RSA, "md2WithRSAEncryption"),
        (ECDSA_WITH_SHA1, "ecdsa-with-SHA1"),
        (DSA_WITH_SHA1, "dsa-with-sha1"),
    ]
    .into_iter()
    .find(|(weak, _)| *weak == oid)
    .map(|(_, name)| name)
}
