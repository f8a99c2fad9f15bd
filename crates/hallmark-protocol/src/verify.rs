//! The message VERIFY's signature covers, and version negotiation.

use crate::error::ProtocolError;
use crate::request::NONCE_LEN;

/// The domain-separation prefix of the VERIFY message.
pub const VERIFY_DOMAIN: &[u8; 18] = b"hallmark-verify-v1";
/// The longest VERIFY message: domain, 64-byte nonce, SHA-256.
pub const VERIFY_MESSAGE_MAX: usize = VERIFY_DOMAIN.len() + *NONCE_LEN.end() + 32;

/// Builds `VERIFY_DOMAIN || nonce || leaf_sha256` in `out`, the message the
/// device signs for VERIFY (hashed with the key's hash: SHA-256 for P-256,
/// SHA-384 for P-384). `leaf_sha256` is SHA-256 of the installed leaf
/// certificate's DER.
///
/// # Errors
///
/// [`ProtocolError::OutOfBounds`] if the nonce is not 16–64 bytes.
pub fn verify_message<'o>(
    nonce: &[u8],
    leaf_sha256: &[u8; 32],
    out: &'o mut [u8; VERIFY_MESSAGE_MAX],
) -> Result<&'o [u8], ProtocolError> {
    if !NONCE_LEN.contains(&nonce.len()) {
        return Err(ProtocolError::OutOfBounds { field: "nonce" });
    }
    let d = VERIFY_DOMAIN.len();
    let n = nonce.len();
    out[..d].copy_from_slice(VERIFY_DOMAIN);
    out[d..d + n].copy_from_slice(nonce);
    out[d + n..d + n + 32].copy_from_slice(leaf_sha256);
    Ok(&out[..d + n + 32])
}

/// The protocol versions this crate implements.
pub const SUPPORTED_VERSIONS: &[u8] = &[1];

/// The highest version both sides support (`None`: UNSUPPORTED_VERSION).
pub fn choose_version(station: &[u8], device: &[u8]) -> Option<u8> {
    station.iter().copied().filter(|v| device.contains(v)).max()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_layout() {
        let mut out = [0u8; VERIFY_MESSAGE_MAX];
        let message = verify_message(&[7u8; 16], &[9u8; 32], &mut out).unwrap();
        assert_eq!(message.len(), 18 + 16 + 32);
        assert!(message.starts_with(b"hallmark-verify-v1\x07"));
        assert!(message.ends_with(&[9u8; 32]));
        assert!(verify_message(&[0u8; 15], &[0u8; 32], &mut out).is_err());
        assert!(verify_message(&[0u8; 65], &[0u8; 32], &mut out).is_err());
        assert_eq!(
            verify_message(&[0u8; 64], &[0u8; 32], &mut out)
                .unwrap()
                .len(),
            VERIFY_MESSAGE_MAX
        );
    }

    #[test]
    fn negotiation() {
        assert_eq!(choose_version(&[1, 2, 3], &[1, 2]), Some(2));
        assert_eq!(choose_version(&[3], &[1, 2]), None);
        assert_eq!(choose_version(&[1], SUPPORTED_VERSIONS), Some(1));
    }
}
