//! [`SoftKey`]: ECDSA P-256/P-384 in software (RustCrypto `p256`/`p384`).
//!
//! The handle is the secret scalar itself (32 or 48 bytes, big-endian): the
//! device's storage then holds the private key, so keep it in flash the
//! debugger cannot read (readout protection, encrypted NVS). Signatures are
//! deterministic (RFC 6979): signing needs no randomness, generation does.
//! It can also import a key the station made ([`KeyImport`]).

use alloc::vec::Vec;

use hallmark_protocol::KeyAlgorithm;
use p256::pkcs8::EncodePublicKey;
use zeroize::Zeroizing;

use crate::error::DeviceError;
use crate::traits::{DeviceKey, GeneratedKey, KeyImport, KeyRef, Rng};

/// Draws before giving up on finding a scalar in `[1, n)` (each draw fails
/// with probability below 2^-32 for both curves).
const DRAWS: usize = 8;

/// A software key backend drawing key material from `R`.
#[derive(Debug)]
pub struct SoftKey<R> {
    rng: R,
}

impl<R: Rng> SoftKey<R> {
    /// A backend generating keys from `rng` (a hardware TRNG on a device).
    pub fn new(rng: R) -> Self {
        Self { rng }
    }

    fn scalar<const N: usize>(
        &mut self,
        valid: impl Fn(&[u8]) -> bool,
    ) -> Result<Zeroizing<Vec<u8>>, DeviceError> {
        let mut bytes = Zeroizing::new([0u8; N]);
        for _ in 0..DRAWS {
            self.rng.fill_bytes(&mut bytes[..])?;
            if valid(&bytes[..]) {
                return Ok(Zeroizing::new(bytes.to_vec()));
            }
        }
        Err(DeviceError::Rng("no valid scalar drawn"))
    }
}

fn der_error(_: impl core::fmt::Debug) -> DeviceError {
    DeviceError::Key("software key: encoding failed")
}

fn p256_key(handle: &[u8]) -> Result<p256::ecdsa::SigningKey, DeviceError> {
    p256::ecdsa::SigningKey::from_slice(handle).map_err(|_| DeviceError::Key("not a P-256 handle"))
}

fn p384_key(handle: &[u8]) -> Result<p384::ecdsa::SigningKey, DeviceError> {
    p384::ecdsa::SigningKey::from_slice(handle).map_err(|_| DeviceError::Key("not a P-384 handle"))
}

impl<R: Rng> DeviceKey for SoftKey<R> {
    fn generate(&mut self, algorithm: KeyAlgorithm) -> Result<GeneratedKey, DeviceError> {
        let handle = match algorithm {
            KeyAlgorithm::P256 => self.scalar::<32>(|b| p256_key(b).is_ok())?,
            KeyAlgorithm::P384 => self.scalar::<48>(|b| p384_key(b).is_ok())?,
        };
        let spki = self.public_key(KeyRef {
            algorithm,
            handle: &handle,
        })?;
        Ok(GeneratedKey { handle, spki })
    }

    fn public_key(&mut self, key: KeyRef<'_>) -> Result<Vec<u8>, DeviceError> {
        let document = match key.algorithm {
            KeyAlgorithm::P256 => p256_key(key.handle)?.verifying_key().to_public_key_der(),
            KeyAlgorithm::P384 => p384_key(key.handle)?.verifying_key().to_public_key_der(),
        };
        Ok(document.map_err(der_error)?.into_vec())
    }

    fn sign(&mut self, key: KeyRef<'_>, message: &[u8]) -> Result<Vec<u8>, DeviceError> {
        use p256::ecdsa::signature::Signer;
        let sign_error = |_| DeviceError::Key("software key: signing failed");
        Ok(match key.algorithm {
            KeyAlgorithm::P256 => {
                let signature: p256::ecdsa::DerSignature = p256_key(key.handle)?
                    .try_sign(message)
                    .map_err(sign_error)?;
                signature.as_bytes().to_vec()
            }
            KeyAlgorithm::P384 => {
                let signature: p384::ecdsa::DerSignature = p384_key(key.handle)?
                    .try_sign(message)
                    .map_err(sign_error)?;
                signature.as_bytes().to_vec()
            }
        })
    }

    fn importer(&mut self) -> Option<&mut dyn KeyImport> {
        Some(self)
    }
}

impl<R: Rng> KeyImport for SoftKey<R> {
    fn import(
        &mut self,
        algorithm: KeyAlgorithm,
        private_key: &[u8],
    ) -> Result<GeneratedKey, DeviceError> {
        let valid = match algorithm {
            KeyAlgorithm::P256 => private_key.len() == 32 && p256_key(private_key).is_ok(),
            KeyAlgorithm::P384 => private_key.len() == 48 && p384_key(private_key).is_ok(),
        };
        if !valid {
            return Err(DeviceError::InvalidKey(
                "not a private key of this algorithm (zero or not below the curve order)",
            ));
        }
        let handle = Zeroizing::new(private_key.to_vec());
        let spki = self.public_key(KeyRef {
            algorithm,
            handle: &handle,
        })?;
        Ok(GeneratedKey { handle, spki })
    }
}
