//! The enumerations and small values the messages carry.

use core::fmt;

use crate::error::ProtocolError;

macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident, $field:literal { $($(#[$vmeta:meta])* $variant:ident = $code:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
        }

        impl $name {
            /// Every value, in code order.
            pub const ALL: &'static [Self] = &[$(Self::$variant,)+];

            /// The byte that stands for this value on the wire.
            pub const fn code(self) -> u8 {
                match self {
                    $(Self::$variant => $code,)+
                }
            }

            /// The value a byte stands for, if any.
            pub const fn from_code(code: u8) -> Option<Self> {
                match code {
                    $($code => Some(Self::$variant),)+
                    _ => None,
                }
            }

            /// The value a byte stands for.
            ///
            /// # Errors
            ///
            /// [`ProtocolError::InvalidValue`] for an undefined byte.
            pub fn decode(code: u8) -> Result<Self, ProtocolError> {
                Self::from_code(code).ok_or(ProtocolError::InvalidValue { field: $field })
            }
        }
    };
}

wire_enum!(
    /// The `TYPE` byte of a frame. Requests are below `0x80`, responses at
    /// or above.
    MessageType, "type" {
        /// Station → device: version negotiation and device information.
        Hello = 0x01,
        /// Station → device: make the key pair (idempotent).
        GenerateKey = 0x02,
        /// Station → device: make a PKCS#10 request.
        GetCsr = 0x03,
        /// Station → device: write the certificate chain and the stamp.
        Install = 0x04,
        /// Station → device: sign a challenge bound to the installed certificate.
        Verify = 0x05,
        /// Station → device: end manufacturing mode.
        Lock = 0x06,
        /// Station → device: wipe key, certificate and stamp (before LOCK only).
        FactoryReset = 0x07,
        /// Station → device: install a key pair the station generated
        /// (devices with import power only, before a key exists).
        ImportKey = 0x08,
        /// Device → station: success without data.
        Ok = 0x80,
        /// Device → station: answer to HELLO.
        HelloOk = 0x81,
        /// Device → station: the public key (SPKI DER).
        PublicKey = 0x82,
        /// Device → station: the CSR (PKCS#10 DER).
        Csr = 0x83,
        /// Device → station: the VERIFY signature (ECDSA DER).
        Signature = 0x85,
        /// Device → station: the request failed.
        Error = 0xFF,
    }
);

impl MessageType {
    /// Whether the station sends this type (below `0x80`).
    pub const fn is_request(self) -> bool {
        self.code() < 0x80
    }
}

wire_enum!(
    /// The device key's algorithm: ECDSA on a NIST curve.
    KeyAlgorithm, "algorithm" {
        /// ECDSA P-256, signatures with SHA-256.
        P256 = 1,
        /// ECDSA P-384, signatures with SHA-384.
        P384 = 2,
    }
);

impl KeyAlgorithm {
    /// The private key's length on the wire (IMPORT_KEY): the big-endian
    /// scalar, 32 bytes for P-256, 48 for P-384.
    pub const fn private_key_len(self) -> usize {
        match self {
            Self::P256 => 32,
            Self::P384 => 48,
        }
    }
}

wire_enum!(
    /// The device's persisted provisioning state.
    DeviceState, "state" {
        /// No key.
        FactoryNew = 0,
        /// A key pair exists.
        KeyGenerated = 1,
        /// A CSR was handed out; INSTALL is expected.
        CsrIssued = 2,
        /// A certificate chain and stamp are installed.
        Installed = 3,
        /// The device answered VERIFY for the installed certificate.
        Verified = 4,
        /// Manufacturing mode is over, for good.
        Locked = 5,
    }
);

wire_enum!(
    /// Extra subject attributes GET_CSR may ask for (one RDN each).
    AttributeType, "attribute type" {
        /// `countryName` (2.5.4.6), PrintableString of exactly 2 characters.
        Country = 1,
        /// `stateOrProvinceName` (2.5.4.8), UTF8String.
        StateOrProvince = 2,
        /// `localityName` (2.5.4.7), UTF8String.
        Locality = 3,
        /// `organizationName` (2.5.4.10), UTF8String.
        Organization = 4,
        /// `organizationalUnitName` (2.5.4.11), UTF8String.
        OrganizationalUnit = 5,
        /// `serialNumber` (2.5.4.5), PrintableString.
        SerialNumber = 6,
    }
);

impl AttributeType {
    /// Whether the value is encoded as a PrintableString (else UTF8String).
    pub const fn is_printable_string(self) -> bool {
        matches!(self, Self::Country | Self::SerialNumber)
    }
}

/// Whether `text` uses only PrintableString characters
/// (`A–Z a–z 0–9 space ' ( ) + , - . / : = ?`).
pub fn is_printable(text: &str) -> bool {
    text.bytes().all(|b| {
        b.is_ascii_alphanumeric()
            || matches!(
                b,
                b' ' | b'\'' | b'(' | b')' | b'+' | b',' | b'-' | b'.' | b'/' | b':' | b'=' | b'?'
            )
    })
}

/// Error codes of the ERROR response. Codes this crate does not know decode
/// as [`ErrorCode::Other`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// No protocol version in common, or a frame in an unsupported version.
    UnsupportedVersion,
    /// A frame was corrupted (bad CRC) or too long.
    BadFrame,
    /// The `TYPE` is not a request this device knows.
    UnknownCommand,
    /// The command is not allowed in the current state.
    BadState,
    /// A manufacturing command after LOCK.
    Locked,
    /// GENERATE_KEY for another algorithm, or IMPORT_KEY, while a key exists.
    KeyExists,
    /// The command needs a key and there is none.
    NoKey,
    /// INSTALL: the certificate is not for this device's key or id.
    CertMismatch,
    /// The payload is malformed or out of bounds.
    BadRequest,
    /// Persistent storage failed; the state is unchanged.
    Storage,
    /// Anything else (key backend failure, corrupt record).
    Internal,
    /// IMPORT_KEY on a device whose key backend cannot import keys.
    ImportUnsupported,
    /// A code from a later version of the protocol.
    Other(u8),
}

impl ErrorCode {
    /// The byte that stands for this code on the wire.
    pub const fn code(self) -> u8 {
        match self {
            Self::UnsupportedVersion => 1,
            Self::BadFrame => 2,
            Self::UnknownCommand => 3,
            Self::BadState => 4,
            Self::Locked => 5,
            Self::KeyExists => 6,
            Self::NoKey => 7,
            Self::CertMismatch => 8,
            Self::BadRequest => 9,
            Self::Storage => 10,
            Self::Internal => 11,
            Self::ImportUnsupported => 12,
            Self::Other(code) => code,
        }
    }

    /// The code a byte stands for.
    pub const fn from_code(code: u8) -> Self {
        match code {
            1 => Self::UnsupportedVersion,
            2 => Self::BadFrame,
            3 => Self::UnknownCommand,
            4 => Self::BadState,
            5 => Self::Locked,
            6 => Self::KeyExists,
            7 => Self::NoKey,
            8 => Self::CertMismatch,
            9 => Self::BadRequest,
            10 => Self::Storage,
            11 => Self::Internal,
            12 => Self::ImportUnsupported,
            other => Self::Other(other),
        }
    }

    /// The specification's name, e.g. `"BAD_STATE"`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::UnsupportedVersion => "UNSUPPORTED_VERSION",
            Self::BadFrame => "BAD_FRAME",
            Self::UnknownCommand => "UNKNOWN_COMMAND",
            Self::BadState => "BAD_STATE",
            Self::Locked => "LOCKED",
            Self::KeyExists => "KEY_EXISTS",
            Self::NoKey => "NO_KEY",
            Self::CertMismatch => "CERT_MISMATCH",
            Self::BadRequest => "BAD_REQUEST",
            Self::Storage => "STORAGE",
            Self::Internal => "INTERNAL",
            Self::ImportUnsupported => "IMPORT_UNSUPPORTED",
            Self::Other(_) => "OTHER",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Other(code) => write!(f, "error code {code}"),
            known => f.write_str(known.name()),
        }
    }
}

/// A `major.minor.patch` version (firmware, bootloader).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct SemVer {
    /// Incompatible changes.
    pub major: u16,
    /// Compatible additions.
    pub minor: u16,
    /// Fixes.
    pub patch: u16,
}

impl SemVer {
    /// `major.minor.patch`.
    pub const fn new(major: u16, minor: u16, patch: u16) -> Self {
        Self {
            major,
            minor,
            patch,
        }
    }
}

impl fmt::Display for SemVer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}
