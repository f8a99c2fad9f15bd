//! Station → device messages.

use core::ops::RangeInclusive;

use crate::codec::{Reader, Writer, count};
use crate::error::ProtocolError;
use crate::frame::{Frame, MAX_PAYLOAD_LEN};
use crate::lists::{CertChain, SubjectAttributes};
use crate::types::{KeyAlgorithm, MessageType};

/// Bounds of HELLO's `versions` count.
pub const HELLO_VERSIONS: RangeInclusive<usize> = 1..=16;
/// Bounds of a device id's byte length (GET_CSR allows 0: assigned later).
pub const DEVICE_ID_LEN: RangeInclusive<usize> = 1..=64;
/// Bounds of GET_CSR's `common_name` byte length.
pub const COMMON_NAME_LEN: RangeInclusive<usize> = 1..=64;
/// Bounds of the stamp's `endpoint` byte length.
pub const ENDPOINT_LEN: RangeInclusive<usize> = 1..=512;
/// Bounds of the stamp's `pop_code` byte length (0 = absent).
pub const POP_CODE_LEN: RangeInclusive<usize> = 0..=64;
/// Bounds of VERIFY's `nonce` length.
pub const NONCE_LEN: RangeInclusive<usize> = 16..=64;
/// Bounds of IMPORT_KEY's `private_key` length (and it must be exactly the
/// algorithm's: see [`KeyAlgorithm::private_key_len`]).
pub const PRIVATE_KEY_LEN: RangeInclusive<usize> = 32..=48;

/// GET_CSR's fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CsrRequest<'a> {
    /// The device id the station will ask the CA for, or `""` when the CA
    /// assigns it. When set, INSTALL must carry the same id.
    pub device_id: &'a str,
    /// The subject's commonName (the last RDN).
    pub common_name: &'a str,
    /// Extra RDNs, before the commonName, in this order.
    pub attributes: SubjectAttributes<'a>,
}

/// The device configuration INSTALL writes beside the certificate chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stamp<'a> {
    /// The device id; must equal the leaf certificate's commonName.
    pub device_id: &'a str,
    /// Where the device connects in the field (URL, 1–512 bytes).
    pub endpoint: &'a str,
    /// An optional proof-of-possession / claim code for cloud onboarding.
    pub pop_code: Option<&'a str>,
}

impl<'a> Stamp<'a> {
    /// Writes the stamp's fields (also used by device-side persistence).
    ///
    /// # Errors
    ///
    /// A field out of its bounds; [`ProtocolError::BufferTooSmall`].
    pub fn write(&self, w: &mut Writer<'_>) -> Result<(), ProtocolError> {
        w.bytes8("device_id", self.device_id.as_bytes(), DEVICE_ID_LEN)?;
        w.bytes16("endpoint", self.endpoint.as_bytes(), ENDPOINT_LEN)?;
        let pop = self.pop_code.unwrap_or("");
        if self.pop_code.is_some() && pop.is_empty() {
            return Err(ProtocolError::OutOfBounds { field: "pop_code" });
        }
        w.bytes8("pop_code", pop.as_bytes(), POP_CODE_LEN)
    }

    /// Reads the stamp's fields (also used by device-side persistence).
    ///
    /// # Errors
    ///
    /// A field missing or out of its bounds.
    pub fn decode(r: &mut Reader<'a>) -> Result<Self, ProtocolError> {
        let device_id = r.str8("device_id", DEVICE_ID_LEN)?;
        let endpoint = r.str16("endpoint", ENDPOINT_LEN)?;
        let pop = r.str8("pop_code", POP_CODE_LEN)?;
        Ok(Self {
            device_id,
            endpoint,
            pop_code: (!pop.is_empty()).then_some(pop),
        })
    }
}

/// INSTALL's fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Install<'a> {
    /// The certificate chain, leaf first.
    pub chain: CertChain<'a>,
    /// The device configuration.
    pub stamp: Stamp<'a>,
}

/// IMPORT_KEY's private key: the big-endian scalar, borrowed from the
/// payload. Its `Debug` output shows the length only, never the bytes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PrivateKey<'a>(&'a [u8]);

impl<'a> PrivateKey<'a> {
    /// Wraps the scalar's bytes (checked against the algorithm when encoded
    /// or decoded).
    pub const fn new(bytes: &'a [u8]) -> Self {
        Self(bytes)
    }

    /// The scalar's bytes.
    pub const fn as_bytes(&self) -> &'a [u8] {
        self.0
    }
}

impl core::fmt::Debug for PrivateKey<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "PrivateKey([{} bytes redacted])", self.0.len())
    }
}

/// Checks the private key's length against `algorithm`'s.
fn check_key_len(algorithm: KeyAlgorithm, key: &[u8]) -> Result<(), ProtocolError> {
    let expected = algorithm.private_key_len();
    if key.len() == expected {
        Ok(())
    } else {
        Err(ProtocolError::KeyLength {
            expected,
            found: key.len(),
        })
    }
}

/// A request, borrowing its payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Request<'a> {
    /// HELLO: the protocol versions the station supports (1–16, any order).
    Hello {
        /// Supported versions.
        versions: &'a [u8],
    },
    /// GENERATE_KEY.
    GenerateKey {
        /// The key's algorithm.
        algorithm: KeyAlgorithm,
    },
    /// GET_CSR.
    GetCsr(CsrRequest<'a>),
    /// INSTALL.
    Install(Install<'a>),
    /// VERIFY: the station's fresh random nonce (16–64 bytes).
    Verify {
        /// The challenge.
        nonce: &'a [u8],
    },
    /// LOCK.
    Lock,
    /// FACTORY_RESET.
    FactoryReset,
    /// IMPORT_KEY: a key pair the station generated, for a device with
    /// import power and no key yet.
    ImportKey {
        /// The key's algorithm.
        algorithm: KeyAlgorithm,
        /// The private scalar (32 bytes for P-256, 48 for P-384).
        private_key: PrivateKey<'a>,
    },
}

impl<'a> Request<'a> {
    /// The frame `TYPE` of this request.
    pub fn message_type(&self) -> MessageType {
        match self {
            Self::Hello { .. } => MessageType::Hello,
            Self::GenerateKey { .. } => MessageType::GenerateKey,
            Self::GetCsr(_) => MessageType::GetCsr,
            Self::Install(_) => MessageType::Install,
            Self::Verify { .. } => MessageType::Verify,
            Self::Lock => MessageType::Lock,
            Self::FactoryReset => MessageType::FactoryReset,
            Self::ImportKey { .. } => MessageType::ImportKey,
        }
    }

    fn write(&self, w: &mut Writer<'_>) -> Result<(), ProtocolError> {
        match self {
            Self::Hello { versions } => {
                w.u8(count(versions.len(), "versions", HELLO_VERSIONS)?)?;
                if versions.contains(&0) {
                    return Err(ProtocolError::InvalidValue { field: "versions" });
                }
                w.put(versions)
            }
            Self::GenerateKey { algorithm } => w.u8(algorithm.code()),
            Self::GetCsr(csr) => {
                w.bytes8(
                    "device_id",
                    csr.device_id.as_bytes(),
                    0..=*DEVICE_ID_LEN.end(),
                )?;
                w.bytes8("common_name", csr.common_name.as_bytes(), COMMON_NAME_LEN)?;
                csr.attributes.encode(w)
            }
            Self::Install(install) => {
                install.chain.encode(w)?;
                install.stamp.write(w)
            }
            Self::Verify { nonce } => w.bytes8("nonce", nonce, NONCE_LEN),
            Self::Lock | Self::FactoryReset => Ok(()),
            Self::ImportKey {
                algorithm,
                private_key,
            } => {
                check_key_len(*algorithm, private_key.as_bytes())?;
                w.u8(algorithm.code())?;
                w.bytes8("private_key", private_key.as_bytes(), PRIVATE_KEY_LEN)
            }
        }
    }

    /// The payload's length (checks every field's bounds).
    ///
    /// # Errors
    ///
    /// A field out of its bounds, or a payload above [`MAX_PAYLOAD_LEN`].
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
    /// As [`Request::encoded_len`], and [`ProtocolError::BufferTooSmall`].
    pub fn encode(&self, out: &mut [u8]) -> Result<usize, ProtocolError> {
        let len = self.encoded_len()?;
        let mut w = Writer::new(out);
        self.write(&mut w)?;
        Ok(len)
    }

    /// Writes a whole frame (header, payload, CRC) to `out`; returns its length.
    ///
    /// # Errors
    ///
    /// As [`Request::encode`].
    pub fn encode_frame(
        &self,
        version: u8,
        seq: u16,
        out: &mut [u8],
    ) -> Result<usize, ProtocolError> {
        crate::response::encode_framed(self.message_type(), version, seq, out, |payload| {
            self.encode(payload)
        })
    }

    /// Reads a request of type `msg_type` from a version-1 payload.
    ///
    /// # Errors
    ///
    /// [`ProtocolError::UnknownMessageType`] for a `TYPE` that is not a
    /// request; any field error; [`ProtocolError::TrailingBytes`].
    pub fn decode(msg_type: u8, payload: &'a [u8]) -> Result<Self, ProtocolError> {
        let ty = MessageType::from_code(msg_type).filter(|t| t.is_request());
        let ty = ty.ok_or(ProtocolError::UnknownMessageType(msg_type))?;
        let mut r = Reader::new(payload);
        let request = match ty {
            MessageType::Hello => {
                let n = usize::from(r.u8("versions")?);
                if !HELLO_VERSIONS.contains(&n) {
                    return Err(ProtocolError::OutOfBounds { field: "versions" });
                }
                let versions = r.take(n, "versions")?;
                if versions.contains(&0) {
                    return Err(ProtocolError::InvalidValue { field: "versions" });
                }
                Self::Hello { versions }
            }
            MessageType::GenerateKey => Self::GenerateKey {
                algorithm: KeyAlgorithm::decode(r.u8("algorithm")?)?,
            },
            MessageType::GetCsr => Self::GetCsr(CsrRequest {
                device_id: r.str8("device_id", 0..=*DEVICE_ID_LEN.end())?,
                common_name: r.str8("common_name", COMMON_NAME_LEN)?,
                attributes: SubjectAttributes::decode(&mut r)?,
            }),
            MessageType::Install => Self::Install(Install {
                chain: CertChain::decode(&mut r)?,
                stamp: Stamp::decode(&mut r)?,
            }),
            MessageType::Verify => Self::Verify {
                nonce: r.bytes8("nonce", NONCE_LEN)?,
            },
            MessageType::Lock => Self::Lock,
            MessageType::FactoryReset => Self::FactoryReset,
            MessageType::ImportKey => {
                let algorithm = KeyAlgorithm::decode(r.u8("algorithm")?)?;
                let key = r.bytes8("private_key", PRIVATE_KEY_LEN)?;
                check_key_len(algorithm, key)?;
                Self::ImportKey {
                    algorithm,
                    private_key: PrivateKey::new(key),
                }
            }
            other => return Err(ProtocolError::UnknownMessageType(other.code())),
        };
        r.finish()?;
        Ok(request)
    }

    /// Reads the request a frame carries.
    ///
    /// # Errors
    ///
    /// As [`Request::decode`].
    pub fn from_frame(frame: &Frame<'a>) -> Result<Self, ProtocolError> {
        Self::decode(frame.msg_type, frame.payload)
    }
}
