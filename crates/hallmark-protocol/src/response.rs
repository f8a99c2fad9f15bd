//! Device → station messages.

use core::ops::RangeInclusive;

use crate::codec::{Reader, Writer};
use crate::error::ProtocolError;
use crate::frame::{CRC_LEN, Frame, HEADER_LEN, MAX_PAYLOAD_LEN};
use crate::types::{DeviceState, ErrorCode, KeyAlgorithm, MessageType, SemVer};

/// Bounds of HELLO_OK's `model` byte length.
pub const MODEL_LEN: RangeInclusive<usize> = 1..=64;
/// Bounds of HELLO_OK's `hardware_revision` byte length.
pub const HARDWARE_REVISION_LEN: RangeInclusive<usize> = 1..=32;
/// Bounds of HELLO_OK's `chip_id` length.
pub const CHIP_ID_LEN: RangeInclusive<usize> = 1..=32;
/// Bounds of PUBLIC_KEY's SPKI length.
pub const SPKI_LEN: RangeInclusive<usize> = 1..=512;
/// Bounds of CSR's DER length.
pub const CSR_LEN: RangeInclusive<usize> = 1..=MAX_PAYLOAD_LEN - 2;
/// Bounds of SIGNATURE's DER length.
pub const SIGNATURE_LEN: RangeInclusive<usize> = 1..=255;
/// Bounds of ERROR's `message` byte length.
pub const ERROR_MESSAGE_LEN: RangeInclusive<usize> = 0..=255;

/// HELLO_OK: what the device is and where it stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeviceInfo<'a> {
    /// The protocol version the device chose (always the first byte).
    pub version: u8,
    /// The persisted provisioning state.
    pub state: DeviceState,
    /// The key's algorithm, if a key exists.
    pub key_algorithm: Option<KeyAlgorithm>,
    /// Product model (1–64 bytes).
    pub model: &'a str,
    /// Hardware revision (1–32 bytes).
    pub hardware_revision: &'a str,
    /// Running firmware version.
    pub firmware_version: SemVer,
    /// Bootloader version.
    pub bootloader_version: SemVer,
    /// The chip's unique id (1–32 bytes).
    pub chip_id: &'a [u8],
    /// Whether a secure element holds the key.
    pub secure_element: bool,
}

/// A response, borrowing its payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Response<'a> {
    /// OK: success without data (INSTALL, LOCK, FACTORY_RESET).
    Ok,
    /// HELLO_OK.
    HelloOk(DeviceInfo<'a>),
    /// PUBLIC_KEY: the device key's SubjectPublicKeyInfo (DER).
    PublicKey {
        /// SPKI DER.
        spki: &'a [u8],
    },
    /// CSR: a PKCS#10 CertificationRequest (DER) signed by the device key.
    Csr {
        /// CSR DER.
        der: &'a [u8],
    },
    /// SIGNATURE: an ECDSA-Sig-Value (DER) over the VERIFY message.
    Signature {
        /// Signature DER.
        der: &'a [u8],
    },
    /// ERROR.
    Error {
        /// What went wrong.
        code: ErrorCode,
        /// For people (0–255 bytes of UTF-8); not to be parsed.
        message: &'a str,
    },
}

impl<'a> Response<'a> {
    /// The frame `TYPE` of this response.
    pub fn message_type(&self) -> MessageType {
        match self {
            Self::Ok => MessageType::Ok,
            Self::HelloOk(_) => MessageType::HelloOk,
            Self::PublicKey { .. } => MessageType::PublicKey,
            Self::Csr { .. } => MessageType::Csr,
            Self::Signature { .. } => MessageType::Signature,
            Self::Error { .. } => MessageType::Error,
        }
    }

    fn write(&self, w: &mut Writer<'_>) -> Result<(), ProtocolError> {
        match self {
            Self::Ok => Ok(()),
            Self::HelloOk(info) => {
                w.u8(info.version)?;
                w.u8(info.state.code())?;
                w.u8(info.key_algorithm.map_or(0, KeyAlgorithm::code))?;
                w.bytes8("model", info.model.as_bytes(), MODEL_LEN)?;
                w.bytes8(
                    "hardware_revision",
                    info.hardware_revision.as_bytes(),
                    HARDWARE_REVISION_LEN,
                )?;
                for v in [info.firmware_version, info.bootloader_version] {
                    w.u16(v.major)?;
                    w.u16(v.minor)?;
                    w.u16(v.patch)?;
                }
                w.bytes8("chip_id", info.chip_id, CHIP_ID_LEN)?;
                w.bool(info.secure_element)
            }
            Self::PublicKey { spki } => w.bytes16("spki", spki, SPKI_LEN),
            Self::Csr { der } => w.bytes16("csr", der, CSR_LEN),
            Self::Signature { der } => w.bytes8("signature", der, SIGNATURE_LEN),
            Self::Error { code, message } => {
                w.u8(code.code())?;
                w.bytes8("message", message.as_bytes(), ERROR_MESSAGE_LEN)
            }
        }
    }

    /// The payload's length (checks every field's bounds).
    ///
    /// # Errors
    ///
    /// A field out of its bounds.
    pub fn encoded_len(&self) -> Result<usize, ProtocolError> {
        let mut w = Writer::counting();
        self.write(&mut w)?;
        match w.len() {
            len if len > MAX_PAYLOAD_LEN => Err(ProtocolError::PayloadTooLarge { len }),
            len => Ok(len),
        }
    }

    /// Writes the payload to the start of `out`; returns its length.
    ///
    /// # Errors
    ///
    /// As [`Response::encoded_len`], and [`ProtocolError::BufferTooSmall`].
    pub fn encode(&self, out: &mut [u8]) -> Result<usize, ProtocolError> {
        let len = self.encoded_len()?;
        self.write(&mut Writer::new(out))?;
        Ok(len)
    }

    /// Writes a whole frame (header, payload, CRC) to `out`; returns its length.
    ///
    /// # Errors
    ///
    /// As [`Response::encode`].
    pub fn encode_frame(
        &self,
        version: u8,
        seq: u16,
        out: &mut [u8],
    ) -> Result<usize, ProtocolError> {
        encode_framed(self.message_type(), version, seq, out, |payload| {
            self.encode(payload)
        })
    }

    /// Reads a response of type `msg_type` from a version-1 payload.
    ///
    /// # Errors
    ///
    /// [`ProtocolError::UnknownMessageType`] for a `TYPE` that is not a
    /// response; any field error; [`ProtocolError::TrailingBytes`].
    pub fn decode(msg_type: u8, payload: &'a [u8]) -> Result<Self, ProtocolError> {
        let ty = MessageType::from_code(msg_type).filter(|t| !t.is_request());
        let ty = ty.ok_or(ProtocolError::UnknownMessageType(msg_type))?;
        let mut r = Reader::new(payload);
        let response = match ty {
            MessageType::HelloOk => Self::HelloOk(read_info(&mut r)?),
            MessageType::PublicKey => Self::PublicKey {
                spki: r.bytes16("spki", SPKI_LEN)?,
            },
            MessageType::Csr => Self::Csr {
                der: r.bytes16("csr", CSR_LEN)?,
            },
            MessageType::Signature => Self::Signature {
                der: r.bytes8("signature", SIGNATURE_LEN)?,
            },
            MessageType::Error => Self::Error {
                code: ErrorCode::from_code(r.u8("code")?),
                message: r.str8("message", ERROR_MESSAGE_LEN)?,
            },
            MessageType::Ok => Self::Ok,
            other => return Err(ProtocolError::UnknownMessageType(other.code())),
        };
        r.finish()?;
        Ok(response)
    }

    /// Reads the response a frame carries.
    ///
    /// # Errors
    ///
    /// As [`Response::decode`].
    pub fn from_frame(frame: &Frame<'a>) -> Result<Self, ProtocolError> {
        Self::decode(frame.msg_type, frame.payload)
    }
}

fn read_info<'a>(r: &mut Reader<'a>) -> Result<DeviceInfo<'a>, ProtocolError> {
    let version = r.u8("version")?;
    let state = DeviceState::decode(r.u8("state")?)?;
    let key_algorithm = match r.u8("key_algorithm")? {
        0 => None,
        code => Some(KeyAlgorithm::decode(code)?),
    };
    let model = r.str8("model", MODEL_LEN)?;
    let hardware_revision = r.str8("hardware_revision", HARDWARE_REVISION_LEN)?;
    let mut semver = |field| -> Result<SemVer, ProtocolError> {
        Ok(SemVer::new(r.u16(field)?, r.u16(field)?, r.u16(field)?))
    };
    let firmware_version = semver("firmware_version")?;
    let bootloader_version = semver("bootloader_version")?;
    Ok(DeviceInfo {
        version,
        state,
        key_algorithm,
        model,
        hardware_revision,
        firmware_version,
        bootloader_version,
        chip_id: r.bytes8("chip_id", CHIP_ID_LEN)?,
        secure_element: r.bool("secure_element")?,
    })
}

/// Writes header, payload (via `payload`) and CRC into `out`.
pub(crate) fn encode_framed(
    ty: MessageType,
    version: u8,
    seq: u16,
    out: &mut [u8],
    payload: impl FnOnce(&mut [u8]) -> Result<usize, ProtocolError>,
) -> Result<usize, ProtocolError> {
    let body = out
        .get_mut(HEADER_LEN..)
        .ok_or(ProtocolError::BufferTooSmall { needed: HEADER_LEN })?;
    let len = payload(body).map_err(|e| match e {
        ProtocolError::BufferTooSmall { needed } => ProtocolError::BufferTooSmall {
            needed: needed + HEADER_LEN + CRC_LEN,
        },
        other => other,
    })?;
    crate::frame::seal(out, version, ty.code(), seq, len)
}
