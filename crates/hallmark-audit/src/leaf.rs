//! Audit entries and their canonical leaf encoding.
//!
//! An entry is a Merkle tree leaf ([RFC 9162 §2.1.1]). Its *leaf bytes* are
//! an unambiguous, prefix-free encoding of every field (all integers
//! big-endian):
//!
//! ```text
//! leaf_bytes = 0x01                          format version
//!            | seq          i64 (8 bytes, two's complement)
//!            | at           i64 (8 bytes, two's complement; unix seconds)
//!            | len(kind)    u64 (8 bytes) | kind (UTF-8)
//!            | 0x00                        subject absent
//!              or 0x01 | len(subject) u64 | subject (UTF-8)
//!            | len(data)    u64 (8 bytes) | data_json (the exact stored bytes)
//!
//! leaf_hash  = SHA-256(0x00 | leaf_bytes)
//! ```
//!
//! `data_json` is hashed exactly as stored, never re-serialized: two JSON
//! texts that parse to the same value are different entries.
//!
//! [RFC 9162 §2.1.1]: https://www.rfc-editor.org/rfc/rfc9162#section-2.1.1

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::{Error, Hash};

/// Version byte that starts every leaf encoding.
pub const LEAF_FORMAT_VERSION: u8 = 1;

/// Domain separation prefix of leaf hashes (RFC 9162 §2.1.1).
pub const LEAF_PREFIX: u8 = 0x00;

/// One audit log record, as stored (owned).
///
/// JSON form: `{"seq":1,"kind":"…","subject":"…"|null,"at":1700000000,"data_json":"<base64>"}`
/// (`data_json` is base64 so that its exact bytes survive).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// Position in the log: 1, 2, 3, … with no gaps (leaf index = seq − 1).
    pub seq: i64,
    /// Event kind, e.g. `certificate.issued`.
    pub kind: String,
    /// What the event is about, if anything.
    pub subject: Option<String>,
    /// When it happened (unix seconds).
    pub at: i64,
    /// The event's data: the exact JSON bytes stored.
    #[serde(with = "crate::encoding::bytes")]
    pub data_json: Vec<u8>,
}

/// A borrowed audit record: what the encoding and the verifier read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EntryRef<'a> {
    /// See [`Entry::seq`].
    pub seq: i64,
    /// See [`Entry::kind`].
    pub kind: &'a str,
    /// See [`Entry::subject`].
    pub subject: Option<&'a str>,
    /// See [`Entry::at`].
    pub at: i64,
    /// See [`Entry::data_json`].
    pub data_json: &'a [u8],
}

impl Entry {
    /// Borrows the entry.
    pub fn as_ref(&self) -> EntryRef<'_> {
        EntryRef {
            seq: self.seq,
            kind: &self.kind,
            subject: self.subject.as_deref(),
            at: self.at,
            data_json: &self.data_json,
        }
    }

    /// The entry's leaf hash.
    pub fn leaf_hash(&self) -> Hash {
        self.as_ref().leaf_hash()
    }
}

impl<'a> From<&'a Entry> for EntryRef<'a> {
    fn from(entry: &'a Entry) -> Self {
        entry.as_ref()
    }
}

impl EntryRef<'_> {
    /// Copies the entry.
    pub fn to_entry(&self) -> Entry {
        Entry {
            seq: self.seq,
            kind: self.kind.to_owned(),
            subject: self.subject.map(str::to_owned),
            at: self.at,
            data_json: self.data_json.to_vec(),
        }
    }

    /// Appends the entry's canonical leaf bytes (see the module docs) to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        self.feed(|part| out.extend_from_slice(part));
    }

    /// The entry's canonical leaf bytes.
    pub fn leaf_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(
            42 + self.kind.len() + self.subject.map_or(0, str::len) + self.data_json.len(),
        );
        self.encode_into(&mut out);
        out
    }

    /// `SHA-256(0x00 | leaf_bytes)`, hashed as a stream (no allocation).
    pub fn leaf_hash(&self) -> Hash {
        let mut h = Sha256::new();
        h.update([LEAF_PREFIX]);
        self.feed(|part| h.update(part));
        h.finalize().into()
    }

    /// Feeds the leaf bytes, in order, to `sink`. The fixed-size header is
    /// assembled on the stack so the hash sees few, large updates.
    fn feed(&self, mut sink: impl FnMut(&[u8])) {
        let mut head = [0u8; 25];
        head[0] = LEAF_FORMAT_VERSION;
        head[1..9].copy_from_slice(&self.seq.to_be_bytes());
        head[9..17].copy_from_slice(&self.at.to_be_bytes());
        head[17..25].copy_from_slice(&len(self.kind.as_bytes()));
        sink(&head);
        sink(self.kind.as_bytes());
        match self.subject {
            None => sink(&[0]),
            Some(subject) => {
                let mut tag = [1u8; 9];
                tag[1..].copy_from_slice(&len(subject.as_bytes()));
                sink(&tag);
                sink(subject.as_bytes());
            }
        }
        sink(&len(self.data_json));
        sink(self.data_json);
    }
}

fn len(bytes: &[u8]) -> [u8; 8] {
    // usize ≤ 64 bits on every supported target.
    (bytes.len() as u64).to_be_bytes()
}

/// Checks an entry against the leaf hash stored with it and returns the
/// hash: a mismatch names the modified entry exactly
/// ([`Error::LeafHashMismatch`]).
pub fn verify_leaf_hash<'a>(entry: impl Into<EntryRef<'a>>, stored: &Hash) -> Result<Hash, Error> {
    let entry = entry.into();
    let computed = entry.leaf_hash();
    if computed == *stored {
        Ok(computed)
    } else {
        Err(Error::LeafHashMismatch {
            seq: entry.seq,
            stored: *stored,
            computed,
        })
    }
}
