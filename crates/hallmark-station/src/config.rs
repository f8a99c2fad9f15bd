//! `station.toml`: what a station home holds, typed.
//!
//! ```toml
//! server = "https://ca.example:8443"
//! root = "root.pem"
//! key_uri = "soft:station-1790000000"
//! station_id = "st-9c1d0e77"     # after enrollment
//! order_id = "ord-3f9a2c1b"      # after enrollment
//! not_after = 1795086400         # of the current certificate
//!
//! [keys]
//! backend = "soft"               # or "pkcs11": module, token, pin
//! dir = "keys"
//! passphrase = { env = "HALLMARK_PASSPHRASE" }   # or { file = "PATH" }
//! ```
//!
//! Unknown fields are refused, and so is a secret written inline: secrets
//! come from an environment variable or a file. Parse errors never quote
//! the file's text, so a mistakenly written secret is not repeated.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use hallmark_keys::{KeyStore, Pkcs11Config, Pkcs11KeyStore, SoftKeyStore};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::Error;

/// The contents of `station.toml`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StationConfig {
    /// The Hallmark server, `https://host:port`.
    pub server: String,
    /// The trusted root certificate (PEM), relative to the home.
    pub root: PathBuf,
    /// The station key (`soft:<label>` or a `pkcs11:` URI).
    pub key_uri: String,
    /// The station id, once enrolled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub station_id: Option<String>,
    /// The order the station serves, once enrolled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_id: Option<String>,
    /// End of validity of the current certificate, unix seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_after: Option<i64>,
    /// Where the station key lives.
    pub keys: KeysConfig,
}

/// `[keys]`: the station key's store.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "backend", rename_all = "lowercase", deny_unknown_fields)]
pub enum KeysConfig {
    /// An encrypted key file ([`hallmark_keys::SoftKeyStore`]).
    Soft {
        /// The key directory, relative to the home.
        dir: PathBuf,
        /// The passphrase.
        passphrase: SecretSource,
    },
    /// A key on a PKCS#11 token ([`hallmark_keys::Pkcs11KeyStore`]).
    Pkcs11 {
        /// The vendor's PKCS#11 module.
        module: PathBuf,
        /// The token label.
        token: String,
        /// The user PIN.
        pin: SecretSource,
    },
}

/// Where a secret comes from: an environment variable or a file, never
/// `station.toml` itself.
#[derive(Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SecretSource {
    /// `{ env = "VARIABLE" }`.
    Env(String),
    /// `{ file = "PATH" }` (relative to the home; trailing newline ignored).
    File(PathBuf),
}

impl fmt::Debug for SecretSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Env(var) => write!(f, "env {var}"),
            Self::File(path) => write!(f, "file {}", path.display()),
        }
    }
}

impl KeysConfig {
    /// Opens the key store this describes, reading its secret (paths are
    /// relative to `home`).
    ///
    /// # Errors
    ///
    /// [`Error::SecretMissing`], [`Error::Io`], [`Error::Keys`].
    pub fn open_store(&self, home: &Path) -> Result<Arc<dyn KeyStore>, Error> {
        Ok(match self {
            Self::Soft { dir, passphrase } => {
                let passphrase = passphrase.read(home, "key passphrase")?;
                Arc::new(SoftKeyStore::open(home.join(dir), passphrase)?)
            }
            Self::Pkcs11 { module, token, pin } => {
                let pin = pin.read(home, "PKCS#11 PIN")?;
                Arc::new(Pkcs11KeyStore::open(Pkcs11Config {
                    module: module.clone(),
                    token_label: token.clone(),
                    pin,
                })?)
            }
        })
    }
}

impl SecretSource {
    /// Reads the secret (`what` names it in errors: `key passphrase`, `PKCS#11 PIN`).
    ///
    /// # Errors
    ///
    /// [`Error::SecretMissing`] when unset or empty, [`Error::Io`] when the
    /// file cannot be read.
    pub fn read(&self, home: &Path, what: &'static str) -> Result<Zeroizing<String>, Error> {
        let missing = |hint: String| Error::SecretMissing { what, hint };
        match self {
            Self::Env(var) => match std::env::var(var) {
                Ok(value) if !value.is_empty() => Ok(Zeroizing::new(value)),
                _ => Err(missing(format!("set the environment variable {var}"))),
            },
            Self::File(file) => {
                let path = home.join(file);
                let mut text =
                    Zeroizing::new(std::fs::read_to_string(&path).map_err(|source| Error::Io {
                        path: path.clone(),
                        source,
                    })?);
                let len = text.trim_end_matches(['\r', '\n']).len();
                text.truncate(len);
                if text.is_empty() {
                    return Err(missing(format!("the file {} is empty", path.display())));
                }
                Ok(text)
            }
        }
    }
}

/// The only accepted form: a table with exactly one of `env`, `file`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SecretTable {
    #[serde(default)]
    env: Option<String>,
    #[serde(default)]
    file: Option<PathBuf>,
}

const INLINE_REFUSED: &str = "secrets must not be written into station.toml: \
     use { env = \"VARIABLE\" } or { file = \"PATH\" }";

impl<'de> Deserialize<'de> for SecretSource {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::{self, MapAccess, Visitor, value::MapAccessDeserializer};

        struct SecretVisitor;
        impl<'de> Visitor<'de> for SecretVisitor {
            type Value = SecretSource;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("{ env = \"VARIABLE\" } or { file = \"PATH\" }")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<SecretSource, A::Error> {
                let table = SecretTable::deserialize(MapAccessDeserializer::new(map))?;
                match (table.env, table.file) {
                    (Some(var), None) => Ok(SecretSource::Env(var)),
                    (None, Some(file)) => Ok(SecretSource::File(file)),
                    _ => Err(de::Error::custom("give exactly one of env or file")),
                }
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<SecretSource, E> {
                Err(E::custom(INLINE_REFUSED))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<SecretSource, E> {
                Err(E::custom(INLINE_REFUSED))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<SecretSource, E> {
                Err(E::custom(INLINE_REFUSED))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<SecretSource, E> {
                Err(E::custom(INLINE_REFUSED))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<SecretSource, E> {
                Err(E::custom(INLINE_REFUSED))
            }
        }
        deserializer.deserialize_any(SecretVisitor)
    }
}

impl StationConfig {
    /// Parses `station.toml` text; `path` names the file in errors.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] with the parser's message and line, never the text.
    pub fn parse(text: &str, path: &Path) -> Result<Self, Error> {
        toml::from_str(text).map_err(|err| {
            let line = err.span().map(|span| line_of(text, span.start));
            let message = match line {
                Some(line) => format!("line {line}: {}", err.message().trim_end()),
                None => err.message().trim_end().to_string(),
            };
            Error::Config {
                path: path.to_owned(),
                message,
            }
        })
    }

    /// The text of `station.toml`.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] if serialization fails (it does not for valid values).
    pub fn render(&self, path: &Path) -> Result<String, Error> {
        let body = toml::to_string(self).map_err(|err| Error::Config {
            path: path.to_owned(),
            message: err.to_string(),
        })?;
        Ok(format!(
            "# Hallmark station home (written by hallmark station enroll).\n\
             # Secrets are never stored here: they come from the environment or a file.\n\n{body}"
        ))
    }
}

/// The 1-based line of byte offset `at` in `text`.
fn line_of(text: &str, at: usize) -> usize {
    let end = at.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}
