//! Frames: `MAGIC(2) | VERSION(1) | TYPE(1) | SEQ(2) | LEN(2) | PAYLOAD(LEN) | CRC(4)`.
//!
//! Integers are big-endian; the CRC is CRC-32C over the header and the
//! payload ([`crate::crc`]). See [`crate::FrameDecoder`] for reading frames
//! from a byte stream.

use crate::crc::Crc32c;
use crate::error::ProtocolError;

/// The two bytes every frame starts with.
pub const MAGIC: [u8; 2] = [0xA5, 0x4D];
/// Bytes before the payload.
pub const HEADER_LEN: usize = 8;
/// Bytes after the payload (the CRC).
pub const CRC_LEN: usize = 4;
/// The largest payload a frame may carry.
pub const MAX_PAYLOAD_LEN: usize = 4096;
/// The largest frame: header, maximum payload and CRC (4108 bytes).
pub const MAX_FRAME_LEN: usize = HEADER_LEN + MAX_PAYLOAD_LEN + CRC_LEN;

/// The fields of a frame header (after the magic).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FrameHeader {
    /// The protocol version the payload is encoded in.
    pub version: u8,
    /// The message type ([`crate::MessageType`] code).
    pub msg_type: u8,
    /// Sequence number; a response carries its request's.
    pub seq: u16,
    /// Payload length.
    pub len: u16,
}

impl FrameHeader {
    /// Reads the header from the first [`HEADER_LEN`] bytes (magic not checked).
    pub(crate) fn parse(bytes: &[u8; HEADER_LEN]) -> Self {
        Self {
            version: bytes[2],
            msg_type: bytes[3],
            seq: u16::from_be_bytes([bytes[4], bytes[5]]),
            len: u16::from_be_bytes([bytes[6], bytes[7]]),
        }
    }
}

/// One frame, borrowing its payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Frame<'a> {
    /// The protocol version the payload is encoded in.
    pub version: u8,
    /// The message type ([`crate::MessageType`] code).
    pub msg_type: u8,
    /// Sequence number; a response carries its request's.
    pub seq: u16,
    /// The payload (at most [`MAX_PAYLOAD_LEN`] bytes).
    pub payload: &'a [u8],
}

impl<'a> Frame<'a> {
    /// The frame's length on the wire.
    pub fn encoded_len(&self) -> usize {
        HEADER_LEN + self.payload.len() + CRC_LEN
    }

    /// Writes the frame to the start of `out`; returns its length.
    ///
    /// # Errors
    ///
    /// [`ProtocolError::PayloadTooLarge`] past [`MAX_PAYLOAD_LEN`],
    /// [`ProtocolError::BufferTooSmall`] if `out` is too short.
    pub fn encode(&self, out: &mut [u8]) -> Result<usize, ProtocolError> {
        let len = self.payload.len();
        if len > MAX_PAYLOAD_LEN {
            return Err(ProtocolError::PayloadTooLarge { len });
        }
        let total = self.encoded_len();
        let Some(body) = out.get_mut(HEADER_LEN..HEADER_LEN + len) else {
            return Err(ProtocolError::BufferTooSmall { needed: total });
        };
        body.copy_from_slice(self.payload);
        seal(out, self.version, self.msg_type, self.seq, len)
    }

    /// Reads one complete frame from the start of `input` (no resync: use
    /// [`crate::FrameDecoder`] for streams); returns it and the bytes it took.
    ///
    /// # Errors
    ///
    /// [`ProtocolError::Truncated`] if `input` is shorter than the frame,
    /// [`ProtocolError::InvalidValue`] if it does not start with [`MAGIC`],
    /// [`ProtocolError::FrameTooLarge`], [`ProtocolError::BadCrc`].
    pub fn decode(input: &'a [u8]) -> Result<(Self, usize), ProtocolError> {
        let truncated = ProtocolError::Truncated { field: "frame" };
        let header_bytes: &[u8; HEADER_LEN] = input
            .get(..HEADER_LEN)
            .and_then(|h| h.try_into().ok())
            .ok_or(truncated)?;
        if header_bytes[..2] != MAGIC {
            return Err(ProtocolError::InvalidValue { field: "magic" });
        }
        let header = FrameHeader::parse(header_bytes);
        let len = usize::from(header.len);
        if len > MAX_PAYLOAD_LEN {
            return Err(ProtocolError::FrameTooLarge(header));
        }
        let total = HEADER_LEN + len + CRC_LEN;
        let frame = input.get(..total).ok_or(truncated)?;
        let (body, trailer) = frame.split_at(HEADER_LEN + len);
        let mut crc = Crc32c::new();
        crc.update(body);
        if crc.finish().to_be_bytes() != trailer {
            return Err(ProtocolError::BadCrc(header));
        }
        let frame = Frame {
            version: header.version,
            msg_type: header.msg_type,
            seq: header.seq,
            payload: &body[HEADER_LEN..],
        };
        Ok((frame, total))
    }
}

/// Writes the header before, and the CRC after, a payload of `len` bytes
/// already at `out[HEADER_LEN..]`; returns the frame's length.
pub(crate) fn seal(
    out: &mut [u8],
    version: u8,
    msg_type: u8,
    seq: u16,
    len: usize,
) -> Result<usize, ProtocolError> {
    let wire_len = u16::try_from(len)
        .ok()
        .filter(|_| len <= MAX_PAYLOAD_LEN)
        .ok_or(ProtocolError::PayloadTooLarge { len })?;
    let total = HEADER_LEN + len + CRC_LEN;
    let Some(out) = out.get_mut(..total) else {
        return Err(ProtocolError::BufferTooSmall { needed: total });
    };
    let [s0, s1] = seq.to_be_bytes();
    let [l0, l1] = wire_len.to_be_bytes();
    out[..HEADER_LEN].copy_from_slice(&[MAGIC[0], MAGIC[1], version, msg_type, s0, s1, l0, l1]);
    let mut crc = Crc32c::new();
    crc.update(&out[..HEADER_LEN + len]);
    out[HEADER_LEN + len..].copy_from_slice(&crc.finish().to_be_bytes());
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout() {
        let frame = Frame {
            version: 1,
            msg_type: 0x02,
            seq: 0x0102,
            payload: &[0x01],
        };
        let mut buf = [0u8; 16];
        let n = frame.encode(&mut buf).unwrap();
        assert_eq!(n, 13);
        assert_eq!(
            &buf[..9],
            &[0xA5, 0x4D, 1, 0x02, 0x01, 0x02, 0x00, 0x01, 0x01]
        );
        let crc = crate::crc::crc32c(&buf[..9]).to_be_bytes();
        assert_eq!(&buf[9..13], &crc);
        assert_eq!(Frame::decode(&buf[..n]).unwrap(), (frame, n));
    }

    #[test]
    fn encode_limits() {
        let big = [0u8; MAX_PAYLOAD_LEN + 1];
        let frame = Frame {
            version: 1,
            msg_type: 1,
            seq: 0,
            payload: &big,
        };
        let mut out = [0u8; MAX_FRAME_LEN + 1];
        assert_eq!(
            frame.encode(&mut out),
            Err(ProtocolError::PayloadTooLarge {
                len: MAX_PAYLOAD_LEN + 1
            })
        );
        let frame = Frame {
            version: 1,
            msg_type: 1,
            seq: 0,
            payload: &big[..MAX_PAYLOAD_LEN],
        };
        assert_eq!(frame.encode(&mut out), Ok(MAX_FRAME_LEN));
        assert_eq!(
            frame.encode(&mut out[..100]),
            Err(ProtocolError::BufferTooSmall {
                needed: MAX_FRAME_LEN
            })
        );
    }

    #[test]
    fn decode_rejects() {
        let frame = Frame {
            version: 1,
            msg_type: 7,
            seq: 9,
            payload: b"",
        };
        let mut buf = [0u8; 12];
        frame.encode(&mut buf).unwrap();
        assert!(matches!(
            Frame::decode(&buf[..11]),
            Err(ProtocolError::Truncated { .. })
        ));
        let mut bad = buf;
        bad[11] ^= 1;
        assert!(matches!(Frame::decode(&bad), Err(ProtocolError::BadCrc(h)) if h.seq == 9));
        let mut big = buf;
        big[6] = 0x10;
        big[7] = 0x01;
        assert!(
            matches!(Frame::decode(&big), Err(ProtocolError::FrameTooLarge(h)) if h.len == 4097)
        );
    }
}
