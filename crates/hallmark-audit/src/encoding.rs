//! Serde helpers for the JSON forms: binary values as standard padded
//! base64 (as in RFC 9162 and C2SP checkpoints), key ids as lowercase hex.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serializer};

use crate::Hash;

pub(crate) fn b64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

pub(crate) fn unb64(text: &str) -> Option<Vec<u8>> {
    STANDARD.decode(text).ok()
}

pub(crate) fn unb64_hash(text: &str) -> Option<Hash> {
    unb64(text)?.try_into().ok()
}

/// `Vec<u8>` as base64.
pub(crate) mod bytes {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&b64(v))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        unb64(&text).ok_or_else(|| D::Error::custom("invalid base64"))
    }
}

/// `[u8; 32]` as base64.
pub(crate) mod hash {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(v: &Hash, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&b64(v))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Hash, D::Error> {
        let text = String::deserialize(d)?;
        unb64_hash(&text).ok_or_else(|| D::Error::custom("expected a base64 SHA-256 hash"))
    }
}

/// `Vec<[u8; 32]>` as an array of base64 strings.
pub(crate) mod hashes {
    use serde::ser::SerializeSeq as _;

    use super::*;

    pub(crate) fn serialize<S: Serializer>(v: &[Hash], s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(v.len()))?;
        for h in v {
            seq.serialize_element(&b64(h))?;
        }
        seq.end()
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Hash>, D::Error> {
        Vec::<String>::deserialize(d)?
            .iter()
            .map(|t| {
                unb64_hash(t).ok_or_else(|| D::Error::custom("expected a base64 SHA-256 hash"))
            })
            .collect()
    }
}

/// `[u8; 4]` as 8 lowercase hex digits.
pub(crate) mod key_id {
    use super::*;
    use crate::checkpoint::KeyId;

    pub(crate) fn serialize<S: Serializer>(v: &KeyId, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(v))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<KeyId, D::Error> {
        let text = String::deserialize(d)?;
        let mut id = [0u8; 4];
        hex::decode_to_slice(&text, &mut id)
            .map_err(|_| D::Error::custom("expected a key id of 8 hex digits"))?;
        Ok(id)
    }
}
