//! RFC 7512 `pkcs11:` URIs: the path attributes, percent-decoding on
//! parse, percent-encoding on display, and the refusal of PINs in the query.

use std::fmt::{self, Write as _};

use super::UriError;

/// The `type` path attribute of a PKCS#11 URI (`CKA_CLASS`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Pkcs11ObjectType {
    /// `public`
    PublicKey,
    /// `private`
    PrivateKey,
    /// `cert`
    Certificate,
    /// `secret-key`
    SecretKey,
    /// `data`
    Data,
}

impl Pkcs11ObjectType {
    /// The URI spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PublicKey => "public",
            Self::PrivateKey => "private",
            Self::Certificate => "cert",
            Self::SecretKey => "secret-key",
            Self::Data => "data",
        }
    }

    fn parse(value: &str) -> Option<Self> {
        Some(match value {
            "public" => Self::PublicKey,
            "private" => Self::PrivateKey,
            "cert" => Self::Certificate,
            "secret-key" => Self::SecretKey,
            "data" => Self::Data,
            _ => return None,
        })
    }
}

/// A parsed RFC 7512 PKCS#11 URI (path attributes only).
///
/// Query attributes: `pin-value` and `pin-source` are refused
/// ([`UriError::PinInUri`]); `module-name`, `module-path` and unknown ones
/// are ignored (the key store's configuration names the module).
///
/// [`Display`](fmt::Display) writes the attributes in a fixed order,
/// percent-encoding every byte outside RFC 3986 `unreserved`; `id` is always
/// fully percent-encoded.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Pkcs11Uri {
    /// `library-manufacturer` (`CK_INFO.manufacturerID`).
    pub library_manufacturer: Option<String>,
    /// `library-description` (`CK_INFO.libraryDescription`).
    pub library_description: Option<String>,
    /// `library-version` (`M` or `M.N`).
    pub library_version: Option<String>,
    /// `slot-manufacturer`.
    pub slot_manufacturer: Option<String>,
    /// `slot-description`.
    pub slot_description: Option<String>,
    /// `slot-id` (decimal `CK_SLOT_ID`).
    pub slot_id: Option<u64>,
    /// `manufacturer` (`CK_TOKEN_INFO.manufacturerID`).
    pub manufacturer: Option<String>,
    /// `model` (`CK_TOKEN_INFO.model`).
    pub model: Option<String>,
    /// `serial` (`CK_TOKEN_INFO.serialNumber`).
    pub serial: Option<String>,
    /// `token` (`CK_TOKEN_INFO.label`).
    pub token: Option<String>,
    /// `id` (`CKA_ID`, raw bytes).
    pub id: Option<Vec<u8>>,
    /// `object` (`CKA_LABEL`).
    pub object: Option<String>,
    /// `type` (`CKA_CLASS`).
    pub object_type: Option<Pkcs11ObjectType>,
}

/// Characters RFC 7512 allows unencoded in a path attribute value besides
/// `unreserved` (`pk11-res-avail` plus `&`).
const PATH_LITERALS: &[u8] = b":[]@!$'()*+,=&";
/// The same for query attribute values (`pk11-qchar`: `pk11-res-avail`
/// plus `/ ? |`; not `;` nor `&`).
const QUERY_LITERALS: &[u8] = b":[]@!$'()*+,=/?|";

impl Pkcs11Uri {
    /// Parses everything after `pkcs11:`.
    pub(super) fn parse_after_scheme(rest: &str) -> Result<Self, UriError> {
        if rest.contains('#') {
            return Err(UriError::Fragment);
        }
        let (path, query) = match rest.split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (rest, None),
        };
        if let Some(query) = query {
            check_query(query)?;
        }

        let mut uri = Self::default();
        if path.is_empty() {
            return Ok(uri);
        }
        for component in path.split(';') {
            let (name, value) = component.split_once('=').ok_or(UriError::MissingEquals)?;
            let attribute = PATH_ATTRIBUTES
                .iter()
                .copied()
                .find(|a| *a == name)
                .ok_or_else(|| UriError::UnknownAttribute {
                    name: name.to_owned(),
                })?;
            let bytes = percent_decode(attribute, value, PATH_LITERALS)?;
            let text =
                || String::from_utf8(bytes.clone()).map_err(|_| UriError::NotUtf8 { attribute });
            let duplicate = || UriError::DuplicateAttribute { attribute };
            match attribute {
                "library-manufacturer" => set(&mut uri.library_manufacturer, text()?, duplicate)?,
                "library-description" => set(&mut uri.library_description, text()?, duplicate)?,
                "library-version" => {
                    let v = text()?;
                    if !valid_version(&v) {
                        return Err(UriError::InvalidValue { attribute });
                    }
                    set(&mut uri.library_version, v, duplicate)?;
                }
                "slot-manufacturer" => set(&mut uri.slot_manufacturer, text()?, duplicate)?,
                "slot-description" => set(&mut uri.slot_description, text()?, duplicate)?,
                "slot-id" => {
                    let v = text()?;
                    let id = if v.bytes().all(|b| b.is_ascii_digit()) {
                        v.parse().ok()
                    } else {
                        None
                    };
                    let id = id.ok_or(UriError::InvalidValue { attribute })?;
                    set(&mut uri.slot_id, id, duplicate)?;
                }
                "manufacturer" => set(&mut uri.manufacturer, text()?, duplicate)?,
                "model" => set(&mut uri.model, text()?, duplicate)?,
                "serial" => set(&mut uri.serial, text()?, duplicate)?,
                "token" => set(&mut uri.token, text()?, duplicate)?,
                "id" => set(&mut uri.id, bytes, duplicate)?,
                "object" => set(&mut uri.object, text()?, duplicate)?,
                "type" => {
                    let t = Pkcs11ObjectType::parse(&text()?)
                        .ok_or(UriError::InvalidValue { attribute })?;
                    set(&mut uri.object_type, t, duplicate)?;
                }
                _ => {
                    return Err(UriError::UnknownAttribute {
                        name: name.to_owned(),
                    });
                }
            }
        }
        Ok(uri)
    }
}

const PATH_ATTRIBUTES: &[&str] = &[
    "library-manufacturer",
    "library-description",
    "library-version",
    "slot-manufacturer",
    "slot-description",
    "slot-id",
    "manufacturer",
    "model",
    "serial",
    "token",
    "id",
    "object",
    "type",
];

fn set<T>(
    slot: &mut Option<T>,
    value: T,
    duplicate: impl FnOnce() -> UriError,
) -> Result<(), UriError> {
    if slot.is_some() {
        return Err(duplicate());
    }
    *slot = Some(value);
    Ok(())
}

/// `pin-value` / `pin-source` are refused; everything else in the query is
/// ignored after a syntax check.
fn check_query(query: &str) -> Result<(), UriError> {
    for component in query.split('&') {
        let name = component.split_once('=').map_or(component, |(n, _)| n);
        match name {
            "pin-value" => {
                return Err(UriError::PinInUri {
                    attribute: "pin-value",
                });
            }
            "pin-source" => {
                return Err(UriError::PinInUri {
                    attribute: "pin-source",
                });
            }
            _ => {}
        }
    }
    for component in query.split('&') {
        let (name, value) = component.split_once('=').unwrap_or((component, ""));
        // Query attribute names are letters, digits, `-` and `_` (RFC 7512
        // §2.3, vendor names included).
        if !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'))
        {
            return Err(UriError::InvalidCharacter { attribute: "query" });
        }
        percent_decode("query", value, QUERY_LITERALS)?;
    }
    Ok(())
}

fn valid_version(v: &str) -> bool {
    let mut parts = v.split('.');
    let major_ok = parts
        .next()
        .is_some_and(|m| !m.is_empty() && m.bytes().all(|b| b.is_ascii_digit()));
    let minor_ok = match parts.next() {
        None => true,
        Some(n) => !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()),
    };
    major_ok && minor_ok && parts.next().is_none()
}

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// The value of an ASCII hex digit (no sign, no whitespace).
fn hex_digit(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Decodes `value`: `%` and exactly two hex digits, or an unreserved or
/// `literals` character. Errors name the attribute, never the value.
fn percent_decode(
    attribute: &'static str,
    value: &str,
    literals: &[u8],
) -> Result<Vec<u8>, UriError> {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let high = bytes.get(i + 1).copied().and_then(hex_digit);
            let low = bytes.get(i + 2).copied().and_then(hex_digit);
            let (Some(high), Some(low)) = (high, low) else {
                return Err(UriError::BadPercentEncoding { attribute });
            };
            out.push(high << 4 | low);
            i += 3;
        } else if is_unreserved(b) || literals.contains(&b) {
            out.push(b);
            i += 1;
        } else {
            return Err(UriError::InvalidCharacter { attribute });
        }
    }
    Ok(out)
}

fn percent_encode(f: &mut fmt::Formatter<'_>, bytes: &[u8], all: bool) -> fmt::Result {
    for &b in bytes {
        if !all && is_unreserved(b) {
            f.write_char(char::from(b))?;
        } else {
            write!(f, "%{b:02X}")?;
        }
    }
    Ok(())
}

impl fmt::Display for Pkcs11Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("pkcs11:")?;
        let mut first = true;
        let mut attr = |f: &mut fmt::Formatter<'_>, name: &str, value: &[u8], all: bool| {
            if !first {
                f.write_char(';')?;
            }
            first = false;
            f.write_str(name)?;
            f.write_char('=')?;
            percent_encode(f, value, all)
        };
        let slot_id = self.slot_id.map(|id| id.to_string());
        let text: [(&str, Option<&str>); 10] = [
            ("library-manufacturer", self.library_manufacturer.as_deref()),
            ("library-description", self.library_description.as_deref()),
            ("library-version", self.library_version.as_deref()),
            ("slot-manufacturer", self.slot_manufacturer.as_deref()),
            ("slot-description", self.slot_description.as_deref()),
            ("slot-id", slot_id.as_deref()),
            ("manufacturer", self.manufacturer.as_deref()),
            ("model", self.model.as_deref()),
            ("serial", self.serial.as_deref()),
            ("token", self.token.as_deref()),
        ];
        for (name, value) in text {
            if let Some(value) = value {
                attr(f, name, value.as_bytes(), false)?;
            }
        }
        if let Some(id) = &self.id {
            attr(f, "id", id, true)?;
        }
        if let Some(object) = &self.object {
            attr(f, "object", object.as_bytes(), false)?;
        }
        if let Some(t) = self.object_type {
            attr(f, "type", t.as_str().as_bytes(), false)?;
        }
        Ok(())
    }
}
