//! Certificate serial numbers: 16 random bytes, positive (RFC 5280 §4.1.2.2).

use std::fmt;

use crate::error::PkiError;

/// A 128-bit positive serial number.
///
/// The top bit is cleared (DER INTEGERs are signed) and the next one set so
/// the encoding is always exactly 16 bytes: 126 bits of entropy, well above
/// the 64 bits the CA/Browser Forum asks for.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Serial([u8; 16]);

impl Serial {
    /// A serial from 16 random bytes (the caller injects the randomness).
    pub fn from_random(mut bytes: [u8; 16]) -> Self {
        bytes[0] = (bytes[0] & 0x7f) | 0x40;
        Self(bytes)
    }

    /// A serial Hallmark issued earlier (16 bytes, as stored).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, PkiError> {
        let bytes: [u8; 16] = bytes
            .try_into()
            .map_err(|_| PkiError::Policy("a Hallmark serial is 16 bytes"))?;
        Ok(Self(bytes))
    }

    /// The big-endian bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Lower-case hex, as OpenSSL and the CLI show it.
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }
}

impl fmt::Debug for Serial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Serial({})", self.to_hex())
    }
}

impl fmt::Display for Serial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

#[cfg(test)]
mod tests {
    use super::Serial;

    #[test]
    fn always_positive_and_sixteen_bytes() {
        for first in [0x00, 0x7f, 0x80, 0xff] {
            let s = Serial::from_random([first; 16]);
            assert_eq!(s.as_bytes().len(), 16);
            assert_eq!(s.as_bytes()[0] & 0xc0, 0x40, "first byte {first:#x}");
        }
        assert_eq!(Serial::from_random([0xff; 16]).to_hex().len(), 32);
    }
}
