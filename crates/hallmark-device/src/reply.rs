//! [`Reply`]: a response the device made, owned.

use alloc::string::String;
use alloc::vec::Vec;

use hallmark_protocol::{ErrorCode, Frame, MessageType, ProtocolError, Response};

/// A response, encoded: its `TYPE` and payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    /// The response's type.
    pub message_type: MessageType,
    /// The response's payload (a version-1 encoding).
    pub payload: Vec<u8>,
}

impl Reply {
    /// Encodes `response`. Responses the device makes are within bounds;
    /// one that is not becomes ERROR INTERNAL.
    pub(crate) fn encode(response: &Response<'_>) -> Self {
        let mut payload = alloc::vec![0u8; response.encoded_len().unwrap_or(0)];
        match response.encode(&mut payload) {
            Ok(_) => Self {
                message_type: response.message_type(),
                payload,
            },
            Err(_) => Self::error(ErrorCode::Internal, "response out of bounds"),
        }
    }

    /// An ERROR reply; `message` is cut to 255 bytes at a character boundary.
    pub fn error(code: ErrorCode, message: &str) -> Self {
        let mut end = message.len().min(255);
        while !message.is_char_boundary(end) {
            end -= 1;
        }
        let mut payload = Vec::with_capacity(2 + end);
        payload.push(code.code());
        payload.push(end as u8); // end <= 255
        payload.extend_from_slice(&message.as_bytes()[..end]);
        Self {
            message_type: MessageType::Error,
            payload,
        }
    }

    /// The response, decoded.
    ///
    /// # Errors
    ///
    /// Never for replies a [`crate::Device`] made.
    pub fn response(&self) -> Result<Response<'_>, ProtocolError> {
        Response::decode(self.message_type.code(), &self.payload)
    }

    /// The error code, if this is an ERROR.
    pub fn error_code(&self) -> Option<ErrorCode> {
        match self.response() {
            Ok(Response::Error { code, .. }) => Some(code),
            _ => None,
        }
    }

    /// The error message, if this is an ERROR.
    pub fn error_message(&self) -> Option<String> {
        match self.response() {
            Ok(Response::Error { message, .. }) => Some(String::from(message)),
            _ => None,
        }
    }

    /// The whole response frame, with the request's `version` and `seq`.
    pub fn to_frame(&self, version: u8, seq: u16) -> Vec<u8> {
        let frame = Frame {
            version,
            msg_type: self.message_type.code(),
            seq,
            payload: &self.payload,
        };
        let mut out = alloc::vec![0u8; frame.encoded_len()];
        match frame.encode(&mut out) {
            Ok(n) => out.truncate(n),
            Err(_) => out.clear(), // unreachable: payloads stay below the maximum
        }
        out
    }
}
