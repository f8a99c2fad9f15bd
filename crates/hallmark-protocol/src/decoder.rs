//! A streaming frame decoder with resynchronisation.
//!
//! Bytes go in as they arrive ([`FrameDecoder::fill`]); frames and frame
//! errors come out ([`FrameDecoder::next_event`]). The decoder discards
//! bytes until [`MAGIC`]; when a candidate frame turns out bad (length above
//! [`MAX_PAYLOAD_LEN`] or CRC mismatch) it drops only the candidate's first
//! byte and rescans the rest, so a real frame hidden behind a false magic is
//! still found. The buffer is a fixed array of [`MAX_FRAME_LEN`] bytes: no
//! allocation.

use crate::crc::Crc32c;
use crate::error::ProtocolError;
use crate::frame::{
    CRC_LEN, Frame, FrameHeader, HEADER_LEN, MAGIC, MAX_FRAME_LEN, MAX_PAYLOAD_LEN,
};

/// Reassembles frames from a byte stream, resynchronising on [`MAGIC`]
/// after garbage or corruption; a fixed buffer of [`MAX_FRAME_LEN`] bytes.
///
/// Use [`FrameDecoder::feed`], or [`FrameDecoder::fill`] then
/// [`FrameDecoder::next_event`] until `None`; call [`FrameDecoder::idle`]
/// when the line goes quiet.
#[derive(Clone, Debug)]
pub struct FrameDecoder {
    buf: [u8; MAX_FRAME_LEN],
    /// Live bytes are `buf[start..end]`.
    start: usize,
    end: usize,
    /// Length of the frame last returned, dropped on the next call.
    pending: usize,
}

impl FrameDecoder {
    /// An empty decoder (about 4 KiB: keep it in a `static` or a `Box` on
    /// small stacks).
    pub const fn new() -> Self {
        Self {
            buf: [0; MAX_FRAME_LEN],
            start: 0,
            end: 0,
            pending: 0,
        }
    }

    /// Forgets every buffered byte (e.g. after an idle gap on the line).
    pub fn reset(&mut self) {
        self.start = 0;
        self.end = 0;
        self.pending = 0;
    }

    /// Tells the decoder the line has gone quiet: a candidate frame still
    /// waiting for bytes is given up (its first byte dropped) and the bytes
    /// behind it are rescanned, so a real frame swallowed by a false magic's
    /// length comes out of [`FrameDecoder::next_event`] at once instead of
    /// after `LEN` more bytes. Call it after an inter-byte gap (the
    /// specification suggests 100 ms on UART and USB-CDC links).
    pub fn idle(&mut self) {
        self.drop_pending();
        loop {
            self.sync();
            let live = &self.buf[self.start..self.end];
            let complete = match live
                .get(..HEADER_LEN)
                .and_then(|h| <&[u8; HEADER_LEN]>::try_from(h).ok())
            {
                None => false,
                Some(header) => {
                    let len = usize::from(FrameHeader::parse(header).len);
                    len > MAX_PAYLOAD_LEN || live.len() >= HEADER_LEN + len + CRC_LEN
                }
            };
            if complete || live.is_empty() {
                return;
            }
            self.start += 1;
        }
    }

    /// Overwrites with zeros every byte of the buffer that is not still
    /// waiting to be decoded: the frames already returned (call it after
    /// answering a request that carried a secret, such as IMPORT_KEY).
    pub fn wipe_consumed(&mut self) {
        self.drop_pending();
        self.buf[..self.start].fill(0);
        self.buf[self.end..].fill(0);
    }

    /// Bytes buffered and not yet part of a returned frame.
    pub fn buffered(&self) -> usize {
        self.end - self.start - self.pending
    }

    /// Takes as many of `input`'s bytes as fit; returns how many. Call
    /// [`FrameDecoder::next_event`] until it returns `None` before filling
    /// again, or bytes may not fit.
    pub fn fill(&mut self, input: &[u8]) -> usize {
        self.drop_pending();
        if self.start > 0 && self.buf.len() - self.end < input.len() {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        let n = input.len().min(self.buf.len() - self.end);
        self.buf[self.end..self.end + n].copy_from_slice(&input[..n]);
        self.end += n;
        n
    }

    /// The next frame or frame error in the buffered bytes, or `None` when
    /// more bytes are needed. Errors carry the unverified header
    /// ([`ProtocolError::FrameTooLarge`], [`ProtocolError::BadCrc`]); the
    /// bytes after the bad candidate's first byte are rescanned.
    pub fn next_event(&mut self) -> Option<Result<Frame<'_>, ProtocolError>> {
        self.drop_pending();
        self.sync();
        let live = &self.buf[self.start..self.end];
        let header_bytes: &[u8; HEADER_LEN] = live.get(..HEADER_LEN)?.try_into().ok()?;
        let header = FrameHeader::parse(header_bytes);
        let len = usize::from(header.len);
        if len > MAX_PAYLOAD_LEN {
            self.start += 1;
            return Some(Err(ProtocolError::FrameTooLarge(header)));
        }
        let total = HEADER_LEN + len + CRC_LEN;
        let candidate = live.get(..total)?;
        let (body, trailer) = candidate.split_at(HEADER_LEN + len);
        let mut crc = Crc32c::new();
        crc.update(body);
        if crc.finish().to_be_bytes() != trailer {
            self.start += 1;
            return Some(Err(ProtocolError::BadCrc(header)));
        }
        self.pending = total;
        let payload = &self.buf[self.start + HEADER_LEN..self.start + HEADER_LEN + len];
        Some(Ok(Frame {
            version: header.version,
            msg_type: header.msg_type,
            seq: header.seq,
            payload,
        }))
    }

    /// Feeds all of `input`, calling `on_event` for every frame and frame
    /// error it completes.
    pub fn feed(
        &mut self,
        mut input: &[u8],
        mut on_event: impl FnMut(Result<Frame<'_>, ProtocolError>),
    ) {
        loop {
            let n = self.fill(input);
            input = &input[n..];
            while let Some(event) = self.next_event() {
                on_event(event);
            }
            if input.is_empty() {
                return;
            }
        }
    }

    fn drop_pending(&mut self) {
        self.start += self.pending;
        self.pending = 0;
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
    }

    /// Drops bytes until the live data starts with the magic (or with its
    /// first byte as the last buffered byte).
    fn sync(&mut self) {
        let live = &self.buf[self.start..self.end];
        let found = live
            .windows(2)
            .position(|w| w == MAGIC)
            .or_else(|| (live.last() == Some(&MAGIC[0])).then(|| live.len() - 1));
        match found {
            Some(offset) => self.start += offset,
            None => {
                self.start = 0;
                self.end = 0;
            }
        }
    }
}

impl Default for FrameDecoder {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use std::vec::Vec;

    use super::*;

    fn frame(seq: u16, payload: &[u8]) -> Vec<u8> {
        let mut out = std::vec![0u8; MAX_FRAME_LEN];
        let n = Frame {
            version: 1,
            msg_type: 0x01,
            seq,
            payload,
        }
        .encode(&mut out)
        .unwrap();
        out.truncate(n);
        out
    }

    /// (seq, payload) of every frame, and the number of errors.
    fn run(decoder: &mut FrameDecoder, input: &[u8], chunk: usize) -> (Vec<(u16, Vec<u8>)>, usize) {
        let mut frames = Vec::new();
        let mut errors = 0;
        for piece in input.chunks(chunk.max(1)) {
            decoder.feed(piece, |event| match event {
                Ok(f) => frames.push((f.seq, f.payload.to_vec())),
                Err(_) => errors += 1,
            });
        }
        (frames, errors)
    }

    #[test]
    fn false_magic_before_a_frame_is_rescanned() {
        // A false magic whose LEN swallows the real frame: the real one is
        // still found after the CRC check fails.
        let mut input = std::vec![0x00, 0xA5, 0x4D, 1, 1, 0, 0, 0, 20];
        input.extend(frame(5, b"hello"));
        input.extend([0u8; 40]);
        let (frames, errors) = run(&mut FrameDecoder::new(), &input, 1);
        assert_eq!(frames, [(5, b"hello".to_vec())]);
        assert_eq!(errors, 1);
    }

    #[test]
    fn trailing_magic_byte_is_kept() {
        let f = frame(1, b"x");
        let mut d = FrameDecoder::new();
        let mut input = std::vec![0x11, 0xA5];
        input.extend(&f[1..]);
        let (frames, errors) = run(&mut d, &input, 1);
        assert_eq!((frames.len(), errors), (1, 0));
        assert_eq!(d.buffered(), 0);
    }

    #[test]
    fn back_to_back_max_frames_in_large_chunks() {
        let payload = [0x5Au8; MAX_PAYLOAD_LEN];
        let mut input = Vec::new();
        for seq in 0..3 {
            input.extend(frame(seq, &payload));
        }
        for chunk in [1, 7, 4108, 5000, 20000] {
            let (frames, errors) = run(&mut FrameDecoder::new(), &input, chunk);
            assert_eq!((frames.len(), errors), (3, 0), "chunk {chunk}");
        }
    }

    #[test]
    fn wipe_consumed_zeroes_returned_frames_and_keeps_the_rest() {
        let mut decoder = FrameDecoder::new();
        let first = frame(1, &[0x5A; 40]);
        let second = frame(2, b"next");
        let mut input = first.clone();
        input.extend_from_slice(&second[..6]);
        decoder.fill(&input);
        assert_eq!(decoder.next_event().unwrap().unwrap().seq, 1);
        assert!(decoder.next_event().is_none());
        decoder.wipe_consumed();
        assert!(!decoder.buf.contains(&0x5A), "the returned frame is wiped");
        decoder.fill(&second[6..]);
        let frame = decoder.next_event().unwrap().unwrap();
        assert_eq!((frame.seq, frame.payload), (2, &b"next"[..]));
    }

    #[test]
    fn reset_forgets_a_partial_frame() {
        let f = frame(3, b"abc");
        let mut d = FrameDecoder::new();
        assert!(run(&mut d, &f[..6], 1).0.is_empty());
        d.reset();
        assert_eq!(run(&mut d, &f, 1).0.len(), 1);
    }
}
