//! [`Link`]: a [`Device`] on a byte stream.

use alloc::boxed::Box;
use alloc::vec::Vec;

use hallmark_protocol::{ErrorCode, FrameDecoder, MessageType, ProtocolError};

use crate::device::Device;
use crate::reply::Reply;
use crate::traits::{DeviceKey, Storage};

/// A device behind a byte stream (UART, USB-CDC, TCP): bytes in, bytes
/// out. Frames with a bad CRC or an oversize length are answered with
/// BAD_FRAME; garbage between frames is skipped. After an IMPORT_KEY frame
/// the decoder's buffer is wiped, so the private key does not linger there.
#[derive(Debug)]
pub struct Link<K, S> {
    device: Device<K, S>,
    decoder: Box<FrameDecoder>,
}

impl<K: DeviceKey, S: Storage> Link<K, S> {
    /// `device` listening on a fresh decoder.
    pub fn new(device: Device<K, S>) -> Self {
        Self {
            device,
            decoder: Box::new(FrameDecoder::new()),
        }
    }

    /// Takes received bytes; returns the bytes to send back (every response
    /// frame they completed, in order; often empty).
    pub fn receive(&mut self, input: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut secret = false;
        let device = &mut self.device;
        self.decoder.feed(input, |event| match event {
            Ok(frame) => {
                secret |= frame.msg_type == MessageType::ImportKey.code();
                out.extend(device.handle_frame(&frame));
            }
            Err(error) => out.extend(frame_error_response(&error).unwrap_or_default()),
        });
        if secret {
            self.decoder.wipe_consumed();
        }
        out
    }

    /// The line went quiet: gives up a partial frame (see
    /// [`FrameDecoder::idle`]); returns the responses this completes.
    pub fn idle(&mut self) -> Vec<u8> {
        self.decoder.idle();
        self.receive(&[])
    }

    /// Forgets buffered bytes (e.g. a new TCP connection).
    pub fn reset(&mut self) {
        self.decoder.reset();
    }

    /// The device.
    pub fn device(&self) -> &Device<K, S> {
        &self.device
    }

    /// The device, mutably (e.g. to sign in the field).
    pub fn device_mut(&mut self) -> &mut Device<K, S> {
        &mut self.device
    }

    /// The device back.
    pub fn into_device(self) -> Device<K, S> {
        self.device
    }
}

/// The BAD_FRAME response frame to a frame the decoder rejected (bad CRC,
/// too long), with the unverified header's `VERSION` and `SEQ`; `None` for
/// errors that are not about a received frame.
pub fn frame_error_response(error: &ProtocolError) -> Option<Vec<u8>> {
    let header = error.frame_header()?;
    let message = match error {
        ProtocolError::BadCrc(_) => "bad CRC",
        _ => "frame too long",
    };
    Some(Reply::error(ErrorCode::BadFrame, message).to_frame(header.version, header.seq))
}
