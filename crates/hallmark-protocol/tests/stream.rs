#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The streaming decoder against corruption, truncation, garbage, oversize
//! frames, split delivery and random input.

use hallmark_protocol::*;

fn frame(seq: u16, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; MAX_FRAME_LEN];
    let n = Frame {
        version: 1,
        msg_type: MessageType::Verify.code(),
        seq,
        payload,
    }
    .encode(&mut out)
    .unwrap();
    out.truncate(n);
    out
}

#[derive(Debug, PartialEq)]
enum Event {
    Frame(u16, Vec<u8>),
    BadCrc(u16),
    TooLarge(u16),
}

fn decode_all(decoder: &mut FrameDecoder, input: &[u8], chunk: usize) -> Vec<Event> {
    let mut events = Vec::new();
    let pieces: Vec<&[u8]> = if input.is_empty() {
        vec![&[]]
    } else {
        input.chunks(chunk).collect()
    };
    for piece in pieces {
        decoder.feed(piece, |event| {
            events.push(match event {
                Ok(f) => Event::Frame(f.seq, f.payload.to_vec()),
                Err(ProtocolError::BadCrc(h)) => Event::BadCrc(h.seq),
                Err(ProtocolError::FrameTooLarge(h)) => Event::TooLarge(h.seq),
                Err(other) => panic!("unexpected {other}"),
            })
        });
    }
    events
}

#[test]
fn byte_by_byte_equals_all_at_once() {
    let mut input = frame(1, b"first");
    input.extend(frame(2, &[0x5A; 3000]));
    input.extend(frame(3, b""));
    let expected = vec![
        Event::Frame(1, b"first".to_vec()),
        Event::Frame(2, vec![0x5A; 3000]),
        Event::Frame(3, vec![]),
    ];
    for chunk in [1, 2, 3, 13, 1000, input.len()] {
        assert_eq!(
            decode_all(&mut FrameDecoder::new(), &input, chunk),
            expected,
            "chunk {chunk}"
        );
    }
}

#[test]
fn corrupted_crc_is_rejected_and_the_next_frame_decodes() {
    for position in 0..frame(7, b"payload").len() {
        if position < 2 {
            continue; // corrupting the magic makes it garbage, tested below
        }
        let mut input = frame(7, b"payload");
        input[position] ^= 0x01;
        input.extend(frame(8, b"next"));
        // A flipped LEN may swallow the next frame: a quiet line ends the wait.
        let mut decoder = FrameDecoder::new();
        let mut events = decode_all(&mut decoder, &input, 1);
        decoder.idle();
        events.extend(decode_all(&mut decoder, &[], 1));
        assert_eq!(
            events.last(),
            Some(&Event::Frame(8, b"next".to_vec())),
            "flip at {position}"
        );
        assert!(
            !events.iter().any(|e| matches!(e, Event::Frame(7, _))),
            "flip at {position}"
        );
        // A longer LEN leaves a candidate that `idle` abandons silently.
        assert!(
            events.len() >= 2 || position == 6 || position == 7,
            "the corruption is reported (flip at {position})"
        );
    }
}

#[test]
fn truncated_frame_waits_then_resyncs() {
    let whole = frame(1, b"0123456789");
    let mut decoder = FrameDecoder::new();
    for cut in 0..whole.len() {
        decoder.reset();
        assert!(
            decode_all(&mut decoder, &whole[..cut], 1).is_empty(),
            "cut {cut}"
        );
        assert_eq!(decoder.buffered(), cut.saturating_sub(0), "cut {cut}");
    }
    // A truncated frame followed by a whole one: the truncated one's LEN
    // swallows the second's bytes, the CRC fails, and the rescan finds it.
    let mut input = whole[..12].to_vec();
    input.extend(frame(2, b"ok"));
    input.extend(vec![0u8; 32]);
    let events = decode_all(&mut FrameDecoder::new(), &input, 1);
    assert_eq!(
        events,
        vec![Event::BadCrc(1), Event::Frame(2, b"ok".to_vec())]
    );
}

#[test]
fn garbage_before_a_frame_is_skipped() {
    let mut input: Vec<u8> = b"boot: ROM v1.2\r\nI (32) wifi: init\r\n\xA5\xA5\x4D\x4D".to_vec();
    input.extend([0xA5, 0x4D, 1, 1, 0x12]); // a false magic cut short by the real frame
    input.extend(frame(9, b"hi"));
    for chunk in [1, 5, input.len()] {
        let mut decoder = FrameDecoder::new();
        let mut events = decode_all(&mut decoder, &input, chunk);
        assert!(
            events.is_empty(),
            "the false magic's LEN swallows the frame"
        );
        decoder.idle();
        events.extend(decode_all(&mut decoder, &[], 1));
        let frames: Vec<_> = events
            .iter()
            .filter(|e| matches!(e, Event::Frame(..)))
            .collect();
        assert_eq!(
            frames,
            vec![&Event::Frame(9, b"hi".to_vec())],
            "chunk {chunk}"
        );
    }
}

#[test]
fn zeros_flush_a_stuck_decoder_too() {
    let mut input = vec![0xA5, 0x4D, 1, 1, 0, 0, 0x0F, 0xFF];
    input.extend(frame(3, b"swallowed"));
    input.extend(vec![0u8; MAX_FRAME_LEN]);
    let events = decode_all(&mut FrameDecoder::new(), &input, 100);
    assert_eq!(
        events,
        vec![Event::BadCrc(0), Event::Frame(3, b"swallowed".to_vec())]
    );
}

#[test]
fn idle_keeps_complete_and_empty_buffers() {
    let mut decoder = FrameDecoder::new();
    decoder.idle();
    assert_eq!(decoder.buffered(), 0);
    let f = frame(1, b"x");
    assert_eq!(decoder.fill(&f), f.len());
    decoder.idle();
    assert_eq!(
        decode_all(&mut decoder, &[], 1),
        vec![Event::Frame(1, b"x".to_vec())]
    );
}

#[test]
fn oversize_length_is_rejected_without_buffering() {
    let mut header = vec![0xA5, 0x4D, 1, 5, 0x00, 0x33, 0x10, 0x01]; // LEN 4097
    header.extend(frame(4, b"after"));
    let events = decode_all(&mut FrameDecoder::new(), &header, 1);
    assert_eq!(
        events,
        vec![Event::TooLarge(0x33), Event::Frame(4, b"after".to_vec())]
    );
    let max = frame(5, &[1u8; MAX_PAYLOAD_LEN]);
    assert_eq!(
        decode_all(&mut FrameDecoder::new(), &max, 1),
        vec![Event::Frame(5, vec![1u8; MAX_PAYLOAD_LEN])]
    );
}

/// xorshift64*: deterministic, no dependency.
struct Prng(u64);

impl Prng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[test]
fn random_input_never_panics_and_real_frames_survive() {
    let mut rng = Prng(0x9E37_79B9_7F4A_7C15);
    let mut decoder = FrameDecoder::new();
    for round in 0..3000 {
        let mut input = Vec::new();
        // Mix garbage rich in magic bytes, real frames and damaged frames.
        for _ in 0..rng.below(6) {
            match rng.below(4) {
                0 => input
                    .extend((0..rng.below(300)).map(|_| [0xA5, 0x4D, 0x00, 0xFF][rng.below(4)])),
                1 => input.extend((0..rng.below(300)).map(|_| rng.next() as u8)),
                2 => {
                    let payload: Vec<u8> = (0..rng.below(200)).map(|_| rng.next() as u8).collect();
                    input.extend(frame(round as u16, &payload));
                }
                _ => {
                    let mut f = frame(0xFFFF, b"damaged");
                    let at = rng.below(f.len());
                    f[at] = f[at].wrapping_add(1 + rng.below(255) as u8);
                    f.truncate(rng.below(f.len() + 1));
                    input.extend(f);
                }
            }
        }
        let chunk = 1 + rng.below(64);
        for piece in input.chunks(chunk) {
            decoder.feed(piece, |event| {
                if let Ok(frame) = event {
                    // Whatever decodes as a frame decodes as a message or an error, never a panic.
                    let _ = Request::from_frame(&frame);
                    let _ = Response::from_frame(&frame);
                }
            });
        }
        // After a flush of zeros, a real frame is always found.
        let mut tail = vec![0u8; MAX_FRAME_LEN];
        tail.extend(frame(1, b"sync"));
        let events = decode_all(&mut decoder, &tail, chunk);
        assert_eq!(
            events.last(),
            Some(&Event::Frame(1, b"sync".to_vec())),
            "round {round}"
        );
    }
}

#[test]
fn random_payloads_never_panic_the_message_decoders() {
    let mut rng = Prng(42);
    let types: Vec<u8> = MessageType::ALL
        .iter()
        .map(|t| t.code())
        .chain([0, 0x7F, 0x84])
        .collect();
    for _ in 0..100_000 {
        let len = rng.below(80);
        let payload: Vec<u8> = (0..len)
            .map(|_| {
                if rng.below(3) == 0 {
                    rng.below(4) as u8
                } else {
                    rng.next() as u8
                }
            })
            .collect();
        let ty = types[rng.below(types.len())];
        if let Ok(Request::Install(install)) = Request::decode(ty, &payload) {
            assert!(install.chain.iter().count() == install.chain.len());
        }
        if let Ok(Request::GetCsr(csr)) = Request::decode(ty, &payload) {
            assert!(csr.attributes.iter().count() == csr.attributes.len());
        }
        let _ = Response::decode(ty, &payload);
    }
}
