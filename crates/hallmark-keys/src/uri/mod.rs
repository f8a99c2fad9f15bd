//! Key URIs: `soft:<label>` and RFC 7512 `pkcs11:` URIs.
//!
//! A [`KeyUri`] names a key without saying how to unlock it: passphrases and
//! PINs are configured on the key store and never travel in a URI. A
//! `pkcs11:` URI carrying `pin-value` or `pin-source` is refused.

mod pkcs11;
#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;

use std::fmt;
use std::str::FromStr;

pub use pkcs11::{Pkcs11ObjectType, Pkcs11Uri};

/// Why a key URI or label was refused.
///
/// The messages never repeat attribute *values* of the URI, so a mistyped
/// URI that holds a secret does not leak it into logs.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UriError {
    /// Neither `soft:` nor `pkcs11:`.
    #[error("unknown key URI scheme: expected `soft:<label>` or `pkcs11:token=…;object=…`")]
    UnknownScheme,
    /// A label outside `[A-Za-z0-9._-]{1,64}`.
    #[error("invalid key label {label:?}: use 1 to 64 characters from A-Z a-z 0-9 . _ -")]
    InvalidLabel {
        /// The refused label.
        label: String,
    },
    /// A PIN in the URI (`pin-value`, `pin-source`).
    #[error(
        "PKCS#11 URI attribute `{attribute}` refused: PINs never travel in key URIs, configure the PIN on the key store"
    )]
    PinInUri {
        /// The attribute name.
        attribute: &'static str,
    },
    /// A path attribute RFC 7512 does not define (unknown attributes match
    /// nothing, RFC 7512 §2.3).
    #[error("unknown PKCS#11 URI path attribute `{name}`")]
    UnknownAttribute {
        /// The attribute name as written.
        name: String,
    },
    /// A path attribute given twice.
    #[error("PKCS#11 URI attribute `{attribute}` appears more than once")]
    DuplicateAttribute {
        /// The attribute name.
        attribute: &'static str,
    },
    /// A path component without `=`.
    #[error("PKCS#11 URI path component without `=`")]
    MissingEquals,
    /// A `%` not followed by two hex digits.
    #[error("bad percent-encoding in PKCS#11 URI attribute `{attribute}`")]
    BadPercentEncoding {
        /// The attribute name.
        attribute: &'static str,
    },
    /// A character that must be percent-encoded (RFC 7512 §2.3). The
    /// character itself is not reported: it is part of the value.
    #[error("PKCS#11 URI attribute `{attribute}` holds a character that must be percent-encoded")]
    InvalidCharacter {
        /// The attribute name (`query` for the query component).
        attribute: &'static str,
    },
    /// A textual attribute whose decoded value is not UTF-8.
    #[error("PKCS#11 URI attribute `{attribute}` is not UTF-8 after percent-decoding")]
    NotUtf8 {
        /// The attribute name.
        attribute: &'static str,
    },
    /// A value outside the attribute's grammar (`type`, `slot-id`, `library-version`).
    #[error("invalid value for PKCS#11 URI attribute `{attribute}`")]
    InvalidValue {
        /// The attribute name.
        attribute: &'static str,
    },
    /// A `#fragment` (not part of RFC 7512).
    #[error("PKCS#11 URIs have no fragment")]
    Fragment,
}

/// A key label: 1 to 64 characters from `[A-Za-z0-9._-]`.
///
/// The same rule serves file names (`<label>.key.pem`) and PKCS#11
/// `CKA_LABEL`s of keys Hallmark generates.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyLabel(String);

impl KeyLabel {
    /// Maximum length in characters.
    pub const MAX_LEN: usize = 64;

    /// Validates `label`.
    pub fn new(label: &str) -> Result<Self, UriError> {
        let ok = !label.is_empty()
            && label.len() <= Self::MAX_LEN
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        if ok {
            Ok(Self(label.to_owned()))
        } else {
            Err(UriError::InvalidLabel {
                label: label.to_owned(),
            })
        }
    }

    /// The label text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for KeyLabel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for KeyLabel {
    type Err = UriError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl AsRef<str> for KeyLabel {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// Where a key lives.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum KeyUri {
    /// `soft:<label>`: the file `<label>.key.pem` in a software key store.
    Soft(KeyLabel),
    /// `pkcs11:…` (RFC 7512): an object on a PKCS#11 token (boxed: it is
    /// large, and URIs travel inside errors).
    Pkcs11(Box<Pkcs11Uri>),
}

impl KeyUri {
    /// `soft:<label>`.
    pub fn soft(label: KeyLabel) -> Self {
        Self::Soft(label)
    }

    /// `pkcs11:token=<token>;object=<label>;type=private`.
    pub fn pkcs11_private_key(token: &str, label: &str) -> Self {
        Self::Pkcs11(Box::new(Pkcs11Uri {
            token: Some(token.to_owned()),
            object: Some(label.to_owned()),
            object_type: Some(Pkcs11ObjectType::PrivateKey),
            ..Pkcs11Uri::default()
        }))
    }

    /// The key's label: the soft label or the PKCS#11 `object` attribute.
    pub fn label(&self) -> Option<&str> {
        match self {
            Self::Soft(label) => Some(label.as_str()),
            Self::Pkcs11(uri) => uri.object.as_deref(),
        }
    }

    /// The URI scheme (`soft` or `pkcs11`).
    pub fn scheme(&self) -> &'static str {
        match self {
            Self::Soft(_) => "soft",
            Self::Pkcs11(_) => "pkcs11",
        }
    }
}

impl fmt::Display for KeyUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Soft(label) => write!(f, "soft:{label}"),
            Self::Pkcs11(uri) => uri.fmt(f),
        }
    }
}

impl FromStr for KeyUri {
    type Err = UriError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (scheme, rest) = s.split_once(':').ok_or(UriError::UnknownScheme)?;
        // URI schemes are case-insensitive (RFC 3986 §3.1).
        if scheme.eq_ignore_ascii_case("soft") {
            Ok(Self::Soft(KeyLabel::new(rest)?))
        } else if scheme.eq_ignore_ascii_case("pkcs11") {
            Ok(Self::Pkcs11(Box::new(Pkcs11Uri::parse_after_scheme(rest)?)))
        } else {
            Err(UriError::UnknownScheme)
        }
    }
}
