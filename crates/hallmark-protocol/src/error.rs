//! The crate's one error type.

use core::fmt;

use crate::frame::FrameHeader;

/// Everything that can go wrong encoding or decoding frames and messages.
///
/// `field` names are the field names of `docs/device-protocol.md`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProtocolError {
    /// The payload ended inside `field`.
    Truncated {
        /// The field being read.
        field: &'static str,
    },
    /// Bytes were left after the message's last field.
    TrailingBytes,
    /// A length or count outside the bounds the specification gives `field`.
    OutOfBounds {
        /// The offending field.
        field: &'static str,
    },
    /// A text field that is not UTF-8.
    InvalidUtf8 {
        /// The offending field.
        field: &'static str,
    },
    /// A value the specification does not define (a bool other than 0/1,
    /// an unknown algorithm, state or attribute type).
    InvalidValue {
        /// The offending field.
        field: &'static str,
    },
    /// IMPORT_KEY's `private_key` is not the algorithm's scalar length.
    KeyLength {
        /// The length the algorithm's key has (32 for P-256, 48 for P-384).
        expected: usize,
        /// The length received.
        found: usize,
    },
    /// A `TYPE` byte that is not a message of the expected direction.
    UnknownMessageType(u8),
    /// The output buffer is shorter than the encoding (`needed` bytes).
    BufferTooSmall {
        /// Bytes the encoding needs.
        needed: usize,
    },
    /// A payload longer than [`crate::MAX_PAYLOAD_LEN`].
    PayloadTooLarge {
        /// The payload's length.
        len: usize,
    },
    /// A frame whose header announces more than [`crate::MAX_PAYLOAD_LEN`]
    /// bytes of payload. The header itself is not covered by a verified CRC.
    FrameTooLarge(FrameHeader),
    /// A complete frame whose CRC does not match. The header is unverified.
    BadCrc(FrameHeader),
}

impl ProtocolError {
    /// The (unverified) header of a rejected frame, for
    /// [`ProtocolError::FrameTooLarge`] and [`ProtocolError::BadCrc`].
    pub fn frame_header(&self) -> Option<FrameHeader> {
        match self {
            Self::FrameTooLarge(header) | Self::BadCrc(header) => Some(*header),
            _ => None,
        }
    }
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated { field } => write!(f, "payload ends inside {field}"),
            Self::TrailingBytes => f.write_str("bytes after the last field"),
            Self::OutOfBounds { field } => write!(f, "{field} is out of bounds"),
            Self::InvalidUtf8 { field } => write!(f, "{field} is not UTF-8"),
            Self::InvalidValue { field } => write!(f, "{field} has an undefined value"),
            Self::KeyLength { expected, found } => write!(
                f,
                "private_key is {found} bytes; this algorithm's private key is {expected}"
            ),
            Self::UnknownMessageType(ty) => write!(f, "unknown message type 0x{ty:02X}"),
            Self::BufferTooSmall { needed } => {
                write!(f, "output buffer too small ({needed} bytes needed)")
            }
            Self::PayloadTooLarge { len } => {
                write!(f, "payload of {len} bytes exceeds the maximum")
            }
            Self::FrameTooLarge(h) => {
                write!(f, "frame seq {} announces {} payload bytes", h.seq, h.len)
            }
            Self::BadCrc(h) => write!(f, "frame seq {} has a bad CRC", h.seq),
        }
    }
}

impl core::error::Error for ProtocolError {}
