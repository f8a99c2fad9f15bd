//! What hardware provides: a key backend, persistent storage, randomness.

use alloc::vec::Vec;

use hallmark_protocol::KeyAlgorithm;
use zeroize::Zeroizing;

use crate::error::DeviceError;

/// A key the backend made: what the device persists to find it again, and
/// its public half.
#[derive(Debug)]
pub struct GeneratedKey {
    /// Opaque to the device and persisted as is: a slot number for a secure
    /// element, a wrapped blob for a TPM, the secret scalar for
    /// [`crate::SoftKey`]. Zeroized when dropped.
    pub handle: Zeroizing<Vec<u8>>,
    /// The public key as a DER `SubjectPublicKeyInfo` (id-ecPublicKey with
    /// the named curve, uncompressed point).
    pub spki: Vec<u8>,
}

/// A persisted key: its algorithm and the backend's handle.
#[derive(Clone, Copy, Debug)]
pub struct KeyRef<'a> {
    /// The algorithm it was generated for.
    pub algorithm: KeyAlgorithm,
    /// The handle [`DeviceKey::generate`] returned.
    pub handle: &'a [u8],
}

/// A key backend: software ([`crate::SoftKey`]), ATECC608, OPTIGA, TPM.
/// The private key never leaves it; the device only keeps the handle.
pub trait DeviceKey {
    /// Makes a new key pair of `algorithm`.
    ///
    /// # Errors
    ///
    /// [`DeviceError::Key`] (or [`DeviceError::Rng`]) when the backend fails.
    fn generate(&mut self, algorithm: KeyAlgorithm) -> Result<GeneratedKey, DeviceError>;

    /// The public key of `key` as a DER `SubjectPublicKeyInfo`, byte for
    /// byte as [`DeviceKey::generate`] returned it.
    ///
    /// # Errors
    ///
    /// [`DeviceError::Key`] when the handle is unusable.
    fn public_key(&mut self, key: KeyRef<'_>) -> Result<Vec<u8>, DeviceError>;

    /// Signs `message` with `key`: ECDSA with SHA-256 for P-256, SHA-384 for
    /// P-384 (the backend hashes), as a DER `ECDSA-Sig-Value`.
    ///
    /// # Errors
    ///
    /// [`DeviceError::Key`] when the backend fails.
    fn sign(&mut self, key: KeyRef<'_>, message: &[u8]) -> Result<Vec<u8>, DeviceError>;

    /// Destroys `key` where the backend can (called, best effort, after a
    /// FACTORY_RESET or a failed GENERATE_KEY). The default does nothing:
    /// a software key dies with its persisted handle.
    ///
    /// # Errors
    ///
    /// [`DeviceError::Key`] when the backend fails (ignored by the device).
    fn destroy(&mut self, key: KeyRef<'_>) -> Result<(), DeviceError> {
        let _ = key;
        Ok(())
    }

    /// The backend's import power, if it has one ([`KeyImport`]). The
    /// default is `None`: the device answers IMPORT_KEY with
    /// IMPORT_UNSUPPORTED. A backend that implements [`KeyImport`] returns
    /// `Some(self)`.
    fn importer(&mut self) -> Option<&mut dyn KeyImport> {
        None
    }
}

/// Import power: install a key pair made elsewhere (by the factory
/// station, IMPORT_KEY). An extra trait, so that a secure element that can
/// only generate its keys (the usual, and safer, case) simply does not
/// implement it.
pub trait KeyImport {
    /// Installs the private scalar `private_key` (big-endian, 32 bytes for
    /// P-256, 48 for P-384; the device checked the length) and returns what
    /// the device persists, as [`DeviceKey::generate`] does. The device
    /// calls it only while it has no key. The backend must not keep a copy
    /// of `private_key` beyond the handle it returns.
    ///
    /// # Errors
    ///
    /// [`DeviceError::InvalidKey`] when the bytes are not a valid key for
    /// `algorithm` (zero, or not below the curve order);
    /// [`DeviceError::Key`] when the backend fails.
    fn import(
        &mut self,
        algorithm: KeyAlgorithm,
        private_key: &[u8],
    ) -> Result<GeneratedKey, DeviceError>;
}

/// Persistent named records (NVS, a flash key-value store, a file per name).
///
/// A `write` must be atomic: after a power loss the record holds either the
/// old or the new bytes (ESP-IDF NVS, Zephyr NVS and littlefs renames give
/// this). Names are at most 15 ASCII bytes (ESP-IDF's limit).
pub trait Storage {
    /// The record's bytes, or `None` if it does not exist.
    ///
    /// # Errors
    ///
    /// [`DeviceError::Storage`] when the medium fails.
    fn read(&mut self, name: &str) -> Result<Option<Vec<u8>>, DeviceError>;

    /// Replaces the record's bytes, atomically.
    ///
    /// # Errors
    ///
    /// [`DeviceError::Storage`] when the medium fails; the old bytes stay.
    fn write(&mut self, name: &str, data: &[u8]) -> Result<(), DeviceError>;

    /// Removes the record (no error if it does not exist).
    ///
    /// # Errors
    ///
    /// [`DeviceError::Storage`] when the medium fails; the record stays.
    fn erase(&mut self, name: &str) -> Result<(), DeviceError>;
}

/// A source of cryptographically secure random bytes (a hardware TRNG).
pub trait Rng {
    /// Fills `dest` with random bytes.
    ///
    /// # Errors
    ///
    /// [`DeviceError::Rng`] when the source fails (never return weak bytes).
    fn fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), DeviceError>;
}

impl<T: DeviceKey + ?Sized> DeviceKey for &mut T {
    fn generate(&mut self, algorithm: KeyAlgorithm) -> Result<GeneratedKey, DeviceError> {
        (**self).generate(algorithm)
    }
    fn public_key(&mut self, key: KeyRef<'_>) -> Result<Vec<u8>, DeviceError> {
        (**self).public_key(key)
    }
    fn sign(&mut self, key: KeyRef<'_>, message: &[u8]) -> Result<Vec<u8>, DeviceError> {
        (**self).sign(key, message)
    }
    fn destroy(&mut self, key: KeyRef<'_>) -> Result<(), DeviceError> {
        (**self).destroy(key)
    }
    fn importer(&mut self) -> Option<&mut dyn KeyImport> {
        (**self).importer()
    }
}

impl<T: Storage + ?Sized> Storage for &mut T {
    fn read(&mut self, name: &str) -> Result<Option<Vec<u8>>, DeviceError> {
        (**self).read(name)
    }
    fn write(&mut self, name: &str, data: &[u8]) -> Result<(), DeviceError> {
        (**self).write(name, data)
    }
    fn erase(&mut self, name: &str) -> Result<(), DeviceError> {
        (**self).erase(name)
    }
}

impl<T: Rng + ?Sized> Rng for &mut T {
    fn fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), DeviceError> {
        (**self).fill_bytes(dest)
    }
}
