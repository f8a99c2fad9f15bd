//! The device side of the Hallmark provisioning protocol
//! ([`docs/device-protocol.md`]): the state machine a device runs while a
//! factory station makes its key, gets it certified, installs the chain and
//! locks it.
//!
//! `#![no_std]` with `alloc`. Hardware plugs in through three traits:
//!
//! * [`DeviceKey`]: generate, public key, sign (ATECC608, OPTIGA, TPM, or
//!   [`SoftKey`] in software); [`KeyImport`], an extra power, installs a
//!   key the station made (IMPORT_KEY; [`SoftKey`] has it, a secure
//!   element usually does not, and the device then answers
//!   IMPORT_UNSUPPORTED);
//! * [`Storage`]: named records with atomic writes (NVS); [`MemStorage`]
//!   keeps them in memory, for tests and the simulator;
//! * [`Rng`]: random bytes for [`SoftKey`] (`SystemRng` with the `getrandom` feature).
//!
//! [`Device::handle`] answers one request; [`Link`] runs a device on a byte
//! stream. Each state change is one atomic write of the provisioning record
//! ([`persist`]) before the answer leaves, so a device that reboots resumes
//! where it was.
//!
//! Features: `soft-key` (default: [`SoftKey`], RustCrypto `p256`/`p384`,
//! no_std), `getrandom` (`SystemRng`, std hosts only). The bare-metal
//! build: `cargo build -p hallmark-device --target thumbv7em-none-eabihf`
//! (`scripts/check-device-target`).
//!
//! [`docs/device-protocol.md`]: https://example.invalid/hallmark/blob/main/docs/device-protocol.md

#![no_std]
#![deny(missing_docs)]

extern crate alloc;

mod device;
mod error;
mod import;
mod link;
pub mod mem;
mod ops;
pub mod persist;
mod reply;
#[cfg(feature = "soft-key")]
mod soft;
mod traits;
mod x509;

pub use device::{Device, DeviceIdentity};
pub use error::DeviceError;
pub use hallmark_protocol as protocol;
pub use link::{Link, frame_error_response};
pub use mem::MemStorage;
pub use persist::OwnedStamp;
pub use reply::Reply;
#[cfg(feature = "soft-key")]
pub use soft::SoftKey;
pub use traits::{DeviceKey, GeneratedKey, KeyImport, KeyRef, Rng, Storage};

/// The message VERIFY signs, for a station checking the signature:
/// `"hallmark-verify-v1" || nonce || SHA-256(leaf_der)`.
///
/// # Errors
///
/// [`DeviceError::Protocol`] if the nonce is not 16–64 bytes.
pub fn verify_message(nonce: &[u8], leaf_der: &[u8]) -> Result<alloc::vec::Vec<u8>, DeviceError> {
    use sha2::Digest;
    let leaf_hash: [u8; 32] = sha2::Sha256::digest(leaf_der).into();
    let mut buffer = [0u8; hallmark_protocol::VERIFY_MESSAGE_MAX];
    Ok(hallmark_protocol::verify_message(nonce, &leaf_hash, &mut buffer)?.to_vec())
}

/// [`Rng`] from the operating system (`getrandom`), for std hosts.
#[cfg(feature = "getrandom")]
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemRng;

#[cfg(feature = "getrandom")]
impl Rng for SystemRng {
    fn fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), DeviceError> {
        getrandom::fill(dest).map_err(|_| DeviceError::Rng("getrandom failed"))
    }
}

#[cfg(all(test, feature = "getrandom"))]
mod tests {
    use super::*;

    #[test]
    fn system_rng_fills() {
        let mut a = [0u8; 32];
        let mut b = [0u8; 32];
        SystemRng.fill_bytes(&mut a).unwrap();
        SystemRng.fill_bytes(&mut b).unwrap();
        assert_ne!(a, b);
    }
}
