//! The payload field encodings: big-endian integers and length-prefixed
//! byte strings, each length checked against the field's bounds.
//!
//! | notation | encoding |
//! | --- | --- |
//! | `u8`, `u16` | 1 byte; 2 bytes big-endian |
//! | `bool` | 1 byte, `0x00` or `0x01` |
//! | `bytes8`, `str8` | `u8` length N, then N bytes (UTF-8 for `str8`) |
//! | `bytes16`, `str16` | `u16` length N, then N bytes (UTF-8 for `str16`) |

use core::ops::RangeInclusive;

use crate::error::ProtocolError;

/// Reads fields from a payload, front to back.
#[derive(Debug)]
pub struct Reader<'a> {
    input: &'a [u8],
}

impl<'a> Reader<'a> {
    /// A reader over `input`.
    pub fn new(input: &'a [u8]) -> Self {
        Self { input }
    }

    /// The next `n` bytes.
    pub fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], ProtocolError> {
        if self.input.len() < n {
            return Err(ProtocolError::Truncated { field });
        }
        let (head, rest) = self.input.split_at(n);
        self.input = rest;
        Ok(head)
    }

    /// The bytes not read yet.
    pub fn remaining(&self) -> &'a [u8] {
        self.input
    }

    /// A `u8`.
    pub fn u8(&mut self, field: &'static str) -> Result<u8, ProtocolError> {
        Ok(self.take(1, field)?[0])
    }

    /// A big-endian `u16`.
    pub fn u16(&mut self, field: &'static str) -> Result<u16, ProtocolError> {
        let b = self.take(2, field)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    /// A `bool` (`0x00` or `0x01`).
    pub fn bool(&mut self, field: &'static str) -> Result<bool, ProtocolError> {
        match self.u8(field)? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(ProtocolError::InvalidValue { field }),
        }
    }

    /// A `bytes8` whose length lies in `bounds`.
    pub fn bytes8(
        &mut self,
        field: &'static str,
        bounds: RangeInclusive<usize>,
    ) -> Result<&'a [u8], ProtocolError> {
        let len = usize::from(self.u8(field)?);
        self.bounded(len, field, bounds)
    }

    /// A `bytes16` whose length lies in `bounds`.
    pub fn bytes16(
        &mut self,
        field: &'static str,
        bounds: RangeInclusive<usize>,
    ) -> Result<&'a [u8], ProtocolError> {
        let len = usize::from(self.u16(field)?);
        self.bounded(len, field, bounds)
    }

    /// A `str8` whose byte length lies in `bounds`.
    pub fn str8(
        &mut self,
        field: &'static str,
        bounds: RangeInclusive<usize>,
    ) -> Result<&'a str, ProtocolError> {
        let bytes = self.bytes8(field, bounds)?;
        core::str::from_utf8(bytes).map_err(|_| ProtocolError::InvalidUtf8 { field })
    }

    /// A `str16` whose byte length lies in `bounds`.
    pub fn str16(
        &mut self,
        field: &'static str,
        bounds: RangeInclusive<usize>,
    ) -> Result<&'a str, ProtocolError> {
        let bytes = self.bytes16(field, bounds)?;
        core::str::from_utf8(bytes).map_err(|_| ProtocolError::InvalidUtf8 { field })
    }

    /// Fails unless every byte was read.
    pub fn finish(self) -> Result<(), ProtocolError> {
        if self.input.is_empty() {
            Ok(())
        } else {
            Err(ProtocolError::TrailingBytes)
        }
    }

    fn bounded(
        &mut self,
        len: usize,
        field: &'static str,
        bounds: RangeInclusive<usize>,
    ) -> Result<&'a [u8], ProtocolError> {
        if !bounds.contains(&len) {
            return Err(ProtocolError::OutOfBounds { field });
        }
        self.take(len, field)
    }
}

/// Writes fields into a buffer, or only counts them ([`Writer::counting`]).
#[derive(Debug)]
pub struct Writer<'a> {
    out: &'a mut [u8],
    len: usize,
    counting: bool,
}

impl<'a> Writer<'a> {
    /// A writer filling `out` from its start.
    pub fn new(out: &'a mut [u8]) -> Self {
        Self {
            out,
            len: 0,
            counting: false,
        }
    }

    /// A writer that checks bounds and counts bytes but stores nothing.
    pub fn counting() -> Writer<'static> {
        Writer {
            out: &mut [],
            len: 0,
            counting: true,
        }
    }

    /// Bytes written (or counted) so far.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing was written yet.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Raw bytes.
    pub fn put(&mut self, bytes: &[u8]) -> Result<(), ProtocolError> {
        let end = self.len + bytes.len();
        if !self.counting {
            let Some(slot) = self.out.get_mut(self.len..end) else {
                return Err(ProtocolError::BufferTooSmall { needed: end });
            };
            slot.copy_from_slice(bytes);
        }
        self.len = end;
        Ok(())
    }

    /// A `u8`.
    pub fn u8(&mut self, value: u8) -> Result<(), ProtocolError> {
        self.put(&[value])
    }

    /// A big-endian `u16`.
    pub fn u16(&mut self, value: u16) -> Result<(), ProtocolError> {
        self.put(&value.to_be_bytes())
    }

    /// A `bool`.
    pub fn bool(&mut self, value: bool) -> Result<(), ProtocolError> {
        self.u8(u8::from(value))
    }

    /// A `bytes8` (also `str8`) after checking its length against `bounds`.
    pub fn bytes8(
        &mut self,
        field: &'static str,
        value: &[u8],
        bounds: RangeInclusive<usize>,
    ) -> Result<(), ProtocolError> {
        let len = check(value.len(), field, bounds)?;
        let len = u8::try_from(len).map_err(|_| ProtocolError::OutOfBounds { field })?;
        self.u8(len)?;
        self.put(value)
    }

    /// A `bytes16` (also `str16`) after checking its length against `bounds`.
    pub fn bytes16(
        &mut self,
        field: &'static str,
        value: &[u8],
        bounds: RangeInclusive<usize>,
    ) -> Result<(), ProtocolError> {
        let len = check(value.len(), field, bounds)?;
        let len = u16::try_from(len).map_err(|_| ProtocolError::OutOfBounds { field })?;
        self.u16(len)?;
        self.put(value)
    }
}

fn check(
    len: usize,
    field: &'static str,
    bounds: RangeInclusive<usize>,
) -> Result<usize, ProtocolError> {
    if bounds.contains(&len) {
        Ok(len)
    } else {
        Err(ProtocolError::OutOfBounds { field })
    }
}

/// A count-prefixed list's count, checked against `bounds`.
pub(crate) fn count(
    len: usize,
    field: &'static str,
    bounds: RangeInclusive<usize>,
) -> Result<u8, ProtocolError> {
    u8::try_from(check(len, field, bounds)?).map_err(|_| ProtocolError::OutOfBounds { field })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writer_and_reader_agree() {
        let mut buf = [0u8; 32];
        let mut w = Writer::new(&mut buf);
        w.u8(7).unwrap();
        w.u16(0x1234).unwrap();
        w.bool(true).unwrap();
        w.bytes8("a", b"xy", 0..=4).unwrap();
        w.bytes16("b", "é".as_bytes(), 1..=4).unwrap();
        let n = w.len();
        let mut r = Reader::new(&buf[..n]);
        assert_eq!(r.u8("u8").unwrap(), 7);
        assert_eq!(r.u16("u16").unwrap(), 0x1234);
        assert!(r.bool("bool").unwrap());
        assert_eq!(r.bytes8("a", 0..=4).unwrap(), b"xy");
        assert_eq!(r.str16("b", 1..=4).unwrap(), "é");
        r.finish().unwrap();
    }

    #[test]
    fn bounds_and_truncation() {
        let mut w = Writer::counting();
        assert_eq!(
            w.bytes8("f", b"toolong", 0..=3),
            Err(ProtocolError::OutOfBounds { field: "f" })
        );
        assert_eq!(
            Reader::new(&[5, 1, 2]).bytes8("f", 0..=8),
            Err(ProtocolError::Truncated { field: "f" })
        );
        assert_eq!(
            Reader::new(&[2]).bool("b"),
            Err(ProtocolError::InvalidValue { field: "b" })
        );
        assert_eq!(
            Reader::new(&[2, 0xC3, 0x28]).str8("s", 0..=8),
            Err(ProtocolError::InvalidUtf8 { field: "s" })
        );
        let mut small = [0u8; 2];
        assert_eq!(
            Writer::new(&mut small).put(b"abc"),
            Err(ProtocolError::BufferTooSmall { needed: 3 })
        );
    }
}
