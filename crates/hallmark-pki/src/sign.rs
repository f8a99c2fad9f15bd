//! The one signing trait every key backend implements.
//!
//! Modelled on rustls' `SigningKey` and step-ca's `KeyManager` signer: a key
//! knows its algorithm and public key and can sign bytes. Callers never see
//! private key material, so the same code path serves encrypted software keys,
//! a SoftHSM2 token and a network HSM.

use std::fmt;

use crate::alg::KeyAlgorithm;

/// A private key that can sign, wherever it lives.
///
/// `sign` receives the whole message (for example a DER `TBSCertificate`);
/// the implementation hashes it as [`KeyAlgorithm::signature_algorithm`]
/// prescribes and returns the signature exactly as X.509 carries it in a
/// BIT STRING: a DER `ECDSA-Sig-Value` for ECDSA, the raw 64 bytes for Ed25519.
pub trait Signer: Send + Sync + fmt::Debug {
    /// The key's algorithm (and so the certificate signature algorithm).
    fn algorithm(&self) -> KeyAlgorithm;

    /// The DER `SubjectPublicKeyInfo` of the key.
    fn public_key_der(&self) -> &[u8];

    /// Signs `message`.
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignError>;

    /// `true` when [`sign`](Self::sign) runs in process memory without I/O
    /// (a software key: tens of microseconds), so an async caller may call
    /// it on its own task. The default, `false`, is for backends that may
    /// wait on a device or the network (PKCS#11): callers move them to a
    /// blocking thread.
    fn signs_in_memory(&self) -> bool {
        false
    }
}

/// A signing failure reported by a key backend (token removed, session lost, …).
///
/// Carries the backend's own error as its source; it never contains key bytes.
#[derive(Debug, thiserror::Error)]
#[error("the key backend failed to sign")]
pub struct SignError(#[source] pub Box<dyn std::error::Error + Send + Sync>);

impl SignError {
    /// Wraps a backend error.
    pub fn new(err: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self(Box::new(err))
    }
}
