//! Key and signature algorithms Hallmark accepts, with their object identifiers.

use const_oid::ObjectIdentifier;
use const_oid::db::{rfc5912, rfc8410};
use std::fmt;

/// `id-ecPublicKey` (RFC 5480).
pub const ID_EC_PUBLIC_KEY: ObjectIdentifier = rfc5912::ID_EC_PUBLIC_KEY;
/// `secp256r1` / P-256.
pub const SECP256R1: ObjectIdentifier = rfc5912::SECP_256_R_1;
/// `secp384r1` / P-384.
pub const SECP384R1: ObjectIdentifier = rfc5912::SECP_384_R_1;
/// `id-Ed25519` (RFC 8410).
pub const ID_ED25519: ObjectIdentifier = rfc8410::ID_ED_25519;
/// `rsaEncryption` (RFC 8017).
pub const RSA_ENCRYPTION: ObjectIdentifier = rfc5912::RSA_ENCRYPTION;

/// The kind of a public/private key pair.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyAlgorithm {
    /// ECDSA on NIST P-256.
    EcdsaP256,
    /// ECDSA on NIST P-384.
    EcdsaP384,
    /// Ed25519 (RFC 8032).
    Ed25519,
    /// RSA with a modulus of the given size in bits.
    Rsa {
        /// Modulus length in bits.
        bits: u16,
    },
}

impl KeyAlgorithm {
    /// The signature algorithm a key of this kind uses when it signs certificates.
    pub fn signature_algorithm(self) -> SignatureAlgorithm {
        match self {
            Self::EcdsaP256 => SignatureAlgorithm::EcdsaSha256,
            Self::EcdsaP384 => SignatureAlgorithm::EcdsaSha384,
            Self::Ed25519 => SignatureAlgorithm::Ed25519,
            Self::Rsa { .. } => SignatureAlgorithm::RsaPkcs1Sha256,
        }
    }

    /// The short name used in configuration and tables (`p256`, `p384`, `ed25519`, `rsa2048`).
    pub fn name(self) -> String {
        match self {
            Self::EcdsaP256 => "p256".into(),
            Self::EcdsaP384 => "p384".into(),
            Self::Ed25519 => "ed25519".into(),
            Self::Rsa { bits } => format!("rsa{bits}"),
        }
    }

    /// Parses a name produced by [`KeyAlgorithm::name`].
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "p256" | "P-256" | "ecdsa-p256" => Some(Self::EcdsaP256),
            "p384" | "P-384" | "ecdsa-p384" => Some(Self::EcdsaP384),
            "ed25519" | "Ed25519" => Some(Self::Ed25519),
            other => other
                .strip_prefix("rsa")
                .and_then(|b| b.parse().ok())
                .map(|bits| Self::Rsa { bits }),
        }
    }
}

impl fmt::Display for KeyAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::EcdsaP256 => f.write_str("ECDSA P-256"),
            Self::EcdsaP384 => f.write_str("ECDSA P-384"),
            Self::Ed25519 => f.write_str("Ed25519"),
            Self::Rsa { bits } => write!(f, "RSA {bits}"),
        }
    }
}

/// A signature algorithm as named in an `AlgorithmIdentifier`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SignatureAlgorithm {
    /// `ecdsa-with-SHA256` (RFC 5758).
    EcdsaSha256,
    /// `ecdsa-with-SHA384`.
    EcdsaSha384,
    /// `ecdsa-with-SHA512`.
    EcdsaSha512,
    /// `id-Ed25519` (RFC 8410).
    Ed25519,
    /// `sha256WithRSAEncryption` (RFC 8017).
    RsaPkcs1Sha256,
    /// `sha384WithRSAEncryption`.
    RsaPkcs1Sha384,
    /// `sha512WithRSAEncryption`.
    RsaPkcs1Sha512,
}

impl SignatureAlgorithm {
    /// The algorithm's object identifier.
    pub fn oid(self) -> ObjectIdentifier {
        match self {
            Self::EcdsaSha256 => rfc5912::ECDSA_WITH_SHA_256,
            Self::EcdsaSha384 => rfc5912::ECDSA_WITH_SHA_384,
            Self::EcdsaSha512 => rfc5912::ECDSA_WITH_SHA_512,
            Self::Ed25519 => ID_ED25519,
            Self::RsaPkcs1Sha256 => rfc5912::SHA_256_WITH_RSA_ENCRYPTION,
            Self::RsaPkcs1Sha384 => rfc5912::SHA_384_WITH_RSA_ENCRYPTION,
            Self::RsaPkcs1Sha512 => rfc5912::SHA_512_WITH_RSA_ENCRYPTION,
        }
    }

    /// Looks an object identifier up among the accepted algorithms.
    pub fn from_oid(oid: ObjectIdentifier) -> Option<Self> {
        [
            Self::EcdsaSha256,
            Self::EcdsaSha384,
            Self::EcdsaSha512,
            Self::Ed25519,
            Self::RsaPkcs1Sha256,
            Self::RsaPkcs1Sha384,
            Self::RsaPkcs1Sha512,
        ]
        .into_iter()
        .find(|alg| alg.oid() == oid)
    }

    /// RSA signature identifiers carry an explicit NULL parameter; ECDSA and
    /// EdDSA identifiers carry none (RFC 5758 §3.2, RFC 8410 §3).
    pub fn has_null_parameters(self) -> bool {
        matches!(
            self,
            Self::RsaPkcs1Sha256 | Self::RsaPkcs1Sha384 | Self::RsaPkcs1Sha512
        )
    }
}
