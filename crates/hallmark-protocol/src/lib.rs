//! The Hallmark device provisioning protocol: what a factory station and a
//! device say to each other over a byte stream (UART, USB-CDC, TCP).
//!
//! The specification is [`docs/device-protocol.md`]; this crate is its
//! reference encoding, for the station and for firmware alike:
//!
//! * `#![no_std]`, no `alloc`, no dependencies, no `unsafe`, no panics on
//!   any input.
//! * [`Frame`]: `MAGIC(2) | VERSION | TYPE | SEQ(2) | LEN(2) | PAYLOAD |
//!   CRC-32C(4)`, at most [`MAX_PAYLOAD_LEN`] bytes of payload ([`frame`],
//!   [`crc`]).
//! * [`FrameDecoder`]: a streaming decoder in a fixed 4 KiB buffer that
//!   resynchronises on the magic after garbage or corruption.
//! * [`Request`] / [`Response`]: every message, encoded into and decoded
//!   from payload bytes; decoders borrow from the payload.
//! * [`verify_message`]: the domain-separated message VERIFY signs.
//!
//! A station sends one request at a time:
//!
//! ```
//! use hallmark_protocol::{FrameDecoder, KeyAlgorithm, MAX_FRAME_LEN, Request, Response, PROTOCOL_VERSION};
//!
//! let mut out = [0u8; MAX_FRAME_LEN];
//! let request = Request::GenerateKey { algorithm: KeyAlgorithm::P256 };
//! let n = request.encode_frame(PROTOCOL_VERSION, 42, &mut out).unwrap();
//! // ... write out[..n] to the link; the device decodes it:
//! let mut decoder = FrameDecoder::new();
//! decoder.feed(&out[..n], |event| {
//!     let frame = event.unwrap();
//!     assert_eq!(frame.seq, 42);
//!     assert_eq!(Request::from_frame(&frame).unwrap(), request);
//! });
//! # let _ = Response::Ok;
//! ```
//!
//! [`docs/device-protocol.md`]: https://example.invalid/hallmark/blob/main/docs/device-protocol.md

#![no_std]
#![deny(missing_docs)]

pub mod codec;
pub mod crc;
mod decoder;
mod error;
pub mod frame;
mod lists;
mod request;
mod response;
mod types;
mod verify;

pub use decoder::FrameDecoder;
pub use error::ProtocolError;
pub use frame::{CRC_LEN, Frame, FrameHeader, HEADER_LEN, MAGIC, MAX_FRAME_LEN, MAX_PAYLOAD_LEN};
pub use lists::{
    ATTRIBUTE_VALUE_LEN, CERTIFICATE_LEN, CertChain, MAX_CHAIN_LEN, MAX_SUBJECT_ATTRIBUTES,
    SubjectAttribute, SubjectAttributes,
};
pub use request::{
    COMMON_NAME_LEN, CsrRequest, DEVICE_ID_LEN, ENDPOINT_LEN, HELLO_VERSIONS, Install, NONCE_LEN,
    POP_CODE_LEN, PRIVATE_KEY_LEN, PrivateKey, Request, Stamp,
};
pub use response::{
    CHIP_ID_LEN, CSR_LEN, DeviceInfo, ERROR_MESSAGE_LEN, HARDWARE_REVISION_LEN, MODEL_LEN,
    Response, SIGNATURE_LEN, SPKI_LEN,
};
pub use types::{
    AttributeType, DeviceState, ErrorCode, KeyAlgorithm, MessageType, SemVer, is_printable,
};
pub use verify::{
    SUPPORTED_VERSIONS, VERIFY_DOMAIN, VERIFY_MESSAGE_MAX, choose_version, verify_message,
};

/// The protocol version this crate speaks (the highest of
/// [`SUPPORTED_VERSIONS`]).
pub const PROTOCOL_VERSION: u8 = 1;
