//! Key URIs: `soft:<label>` and RFC 7512 `pkcs11:` URIs.
//!
//! A [`KeyUri`] names a key without saying how to unlock it: passphrases and
//! PINs are configured on the key store and never travel in a URI. A
//! `pkcs11:` URI carrying `pin-value` or `pin-source` is refused.

use std::fmt::{self, Write as _};
use std::str::FromStr;

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
    /// A character that must be percent-encoded (RFC 7512 §2.3).
    #[error(
        "character {character:?} must be percent-encoded in PKCS#11 URI attribute `{attribute}`"
    )]
    InvalidCharacter {
        /// The attribute name.
        attribute: &'static str,
        /// The offending character.
        character: char,
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
/// The same for query attribute values (`pk11-res-avail` plus `/ ? | ;`).
const QUERY_LITERALS: &[u8] = b":[]@!$'()*+,=/?|;";

impl Pkcs11Uri {
    /// Parses everything after `pkcs11:`.
    fn parse_after_scheme(rest: &str) -> Result<Self, UriError> {
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
        if let Some((_, value)) = component.split_once('=') {
            percent_decode("query", value, QUERY_LITERALS)?;
        }
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

fn percent_decode(
    attribute: &'static str,
    value: &str,
    literals: &[u8],
) -> Result<Vec<u8>, UriError> {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or(UriError::BadPercentEncoding { attribute })?;
            out.push(hex);
            i += 3;
        } else if is_unreserved(b) || literals.contains(&b) {
            out.push(b);
            i += 1;
        } else {
            let character = value[i..].chars().next().unwrap_or('\u{fffd}');
            return Err(UriError::InvalidCharacter {
                attribute,
                character,
            });
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn p11(s: &str) -> Pkcs11Uri {
        match s.parse::<KeyUri>() {
            Ok(KeyUri::Pkcs11(uri)) => *uri,
            other => panic!("{s}: {other:?}"),
        }
    }

    #[test]
    fn labels() {
        for ok in ["a", "root-ca", "issuing_2026.v1", &"x".repeat(64)] {
            assert!(KeyLabel::new(ok).is_ok(), "{ok}");
        }
        for bad in ["", "a/b", "../x", "a b", "é", "a;b", &"x".repeat(65)] {
            assert!(
                matches!(KeyLabel::new(bad), Err(UriError::InvalidLabel { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn soft_round_trip() {
        let uri: KeyUri = "soft:root-ca".parse().unwrap();
        assert_eq!(uri, KeyUri::Soft(KeyLabel::new("root-ca").unwrap()));
        assert_eq!(uri.to_string(), "soft:root-ca");
        assert_eq!(uri.label(), Some("root-ca"));
        assert!("soft:../etc/passwd".parse::<KeyUri>().is_err());
        assert!("soft:".parse::<KeyUri>().is_err());
        assert_eq!("file:x".parse::<KeyUri>(), Err(UriError::UnknownScheme));
        assert_eq!("root-ca".parse::<KeyUri>(), Err(UriError::UnknownScheme));
    }

    #[test]
    fn pkcs11_generated_form() {
        let uri = KeyUri::pkcs11_private_key("factory-hsm", "root-ca");
        assert_eq!(
            uri.to_string(),
            "pkcs11:token=factory-hsm;object=root-ca;type=private"
        );
        assert_eq!(uri.to_string().parse::<KeyUri>().unwrap(), uri);
    }

    #[test]
    fn rfc7512_examples() {
        // RFC 7512 §3 examples (those without PINs).
        let u = p11("pkcs11:");
        assert_eq!(u, Pkcs11Uri::default());

        let u = p11("pkcs11:object=my-pubkey;type=public");
        assert_eq!(u.object.as_deref(), Some("my-pubkey"));
        assert_eq!(u.object_type, Some(Pkcs11ObjectType::PublicKey));

        let u = p11(
            "pkcs11:token=The%20Software%20PKCS%2311%20Softtoken;manufacturer=Snake%20Oil,%20Inc.;model=1.0;object=my-certificate;type=cert;id=%69%95%3E%5C%F4%BD%EC%91;serial=",
        );
        assert_eq!(u.token.as_deref(), Some("The Software PKCS#11 Softtoken"));
        assert_eq!(u.manufacturer.as_deref(), Some("Snake Oil, Inc."));
        assert_eq!(u.model.as_deref(), Some("1.0"));
        assert_eq!(u.serial.as_deref(), Some(""));
        assert_eq!(
            u.id.as_deref(),
            Some(&[0x69, 0x95, 0x3e, 0x5c, 0xf4, 0xbd, 0xec, 0x91][..])
        );
        assert_eq!(u.object_type, Some(Pkcs11ObjectType::Certificate));

        let u = p11(
            "pkcs11:token=Software%20PKCS%2311%20softtoken;manufacturer=Snake%20Oil,%20Inc.?module-name=softtoken",
        );
        assert_eq!(u.token.as_deref(), Some("Software PKCS#11 softtoken"));

        let u = p11(
            "pkcs11:library-manufacturer=Snake%20Oil,%20Inc.;library-description=Soft%20Token%20Library;library-version=1.23",
        );
        assert_eq!(u.library_version.as_deref(), Some("1.23"));
        assert_eq!(u.library_description.as_deref(), Some("Soft Token Library"));

        let u = p11(
            "pkcs11:token=A%20name%20with%20a%20substring%20%25%3B;object=my-certificate;type=cert",
        );
        assert_eq!(u.token.as_deref(), Some("A name with a substring %;"));

        let u = p11(
            "pkcs11:token=Name%20with%20a%20small%20A%20with%20acute:%20%C3%A1;object=my-certificate;type=cert",
        );
        assert_eq!(
            u.token.as_deref(),
            Some("Name with a small A with acute: á")
        );

        let u = p11("pkcs11:slot-description=Sun%20Metaslot;slot-id=7");
        assert_eq!(u.slot_id, Some(7));
        assert_eq!(u.slot_description.as_deref(), Some("Sun Metaslot"));
    }

    #[test]
    fn display_round_trips() {
        let u = p11(
            "pkcs11:token=The%20Software%20PKCS%2311%20Softtoken;manufacturer=Snake%20Oil,%20Inc.;object=my%3Bkey;type=private;id=%01%ff;slot-id=3;library-version=2",
        );
        let text = u.to_string();
        assert_eq!(
            text,
            "pkcs11:library-version=2;slot-id=3;manufacturer=Snake%20Oil%2C%20Inc.;token=The%20Software%20PKCS%2311%20Softtoken;id=%01%FF;object=my%3Bkey;type=private"
        );
        assert_eq!(p11(&text), u);
        // Scheme is case-insensitive.
        assert_eq!(p11("PKCS11:object=a"), p11("pkcs11:object=a"));
    }

    #[test]
    fn pins_are_refused_and_not_echoed() {
        for (uri, attribute) in [
            ("pkcs11:token=t;object=k?pin-value=123456", "pin-value"),
            (
                "pkcs11:token=t;object=k?module-name=x&pin-value=secret42",
                "pin-value",
            ),
            ("pkcs11:token=t?pin-source=file:/etc/pin", "pin-source"),
        ] {
            let err = uri.parse::<KeyUri>().unwrap_err();
            assert_eq!(err, UriError::PinInUri { attribute });
            let msg = err.to_string();
            assert!(
                !msg.contains("123456") && !msg.contains("secret42") && !msg.contains("/etc/pin")
            );
        }
        // Other query attributes are ignored.
        let u = p11("pkcs11:object=k?module-path=/usr/lib/x.so&module-name=x");
        assert_eq!(u.object.as_deref(), Some("k"));
    }

    #[test]
    fn malformed() {
        let cases: &[(&str, UriError)] = &[
            ("pkcs11:token", UriError::MissingEquals),
            ("pkcs11:token=a;", UriError::MissingEquals),
            (
                "pkcs11:token=a;token=b",
                UriError::DuplicateAttribute { attribute: "token" },
            ),
            (
                "pkcs11:pin=1234",
                UriError::UnknownAttribute { name: "pin".into() },
            ),
            (
                "pkcs11:x-vendor=1",
                UriError::UnknownAttribute {
                    name: "x-vendor".into(),
                },
            ),
            (
                "pkcs11:token=a%2",
                UriError::BadPercentEncoding { attribute: "token" },
            ),
            (
                "pkcs11:token=a%zz",
                UriError::BadPercentEncoding { attribute: "token" },
            ),
            (
                "pkcs11:token=a b",
                UriError::InvalidCharacter {
                    attribute: "token",
                    character: ' ',
                },
            ),
            (
                "pkcs11:token=a/b",
                UriError::InvalidCharacter {
                    attribute: "token",
                    character: '/',
                },
            ),
            (
                "pkcs11:object=%FF%FE",
                UriError::NotUtf8 {
                    attribute: "object",
                },
            ),
            (
                "pkcs11:type=secret",
                UriError::InvalidValue { attribute: "type" },
            ),
            (
                "pkcs11:slot-id=-1",
                UriError::InvalidValue {
                    attribute: "slot-id",
                },
            ),
            (
                "pkcs11:library-version=1.2.3",
                UriError::InvalidValue {
                    attribute: "library-version",
                },
            ),
            ("pkcs11:token=a#frag", UriError::Fragment),
        ];
        for (uri, want) in cases {
            assert_eq!(uri.parse::<KeyUri>().as_ref(), Err(want), "{uri}");
        }
        // id holds arbitrary bytes.
        assert_eq!(p11("pkcs11:id=%FF%00").id.as_deref(), Some(&[0xff, 0][..]));
    }
}
