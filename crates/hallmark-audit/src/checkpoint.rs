//! Signed checkpoints: the log's size and root hash at a time, signed with
//! the audit key (the role of an RFC 9162 signed tree head, [§4.10]).
//!
//! The signed bytes are the checkpoint's *body*, a text in the style of the
//! C2SP [`tlog-checkpoint`] format, one field per line, each ending in `\n`:
//!
//! ```text
//! hallmark/7f3a…            origin: the log's name
//! 1048576                   tree size, decimal, no leading zeros
//! 47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=
//!                           root hash, standard padded base64
//! timestamp 1767225600      extension line: unix seconds, decimal
//! ```
//!
//! The origin is 1–255 printable ASCII characters without spaces (it is also
//! the note's key name). A [`SignedCheckpoint`] adds the key id — the first
//! 4 bytes of SHA-256 of the signing key's DER `SubjectPublicKeyInfo`, so
//! that several audit keys can coexist — and the signature, made by a
//! [`Signer`] over the body's UTF-8 bytes with the key's own signature
//! algorithm (ECDSA signatures in DER, as X.509 carries them).
//!
//! Two serialised forms:
//!
//! * JSON (storage, export): `{"checkpoint":{"origin":…,"tree_size":…,
//!   "root_hash":"<base64>","timestamp":…},"key_id":"<8 hex>","signature":"<base64>"}`;
//! * a [C2SP signed note] ([`SignedCheckpoint::to_note`]): the body, an
//!   empty line, and one signature line
//!   `— <origin> <base64(key id ‖ signature)>`.
//!
//! [§4.10]: https://www.rfc-editor.org/rfc/rfc9162#section-4.10
//! [`tlog-checkpoint`]: https://github.com/C2SP/C2SP/blob/main/tlog-checkpoint.md
//! [C2SP signed note]: https://github.com/C2SP/C2SP/blob/main/signed-note.md

use hallmark_pki::{PublicKey, Signer};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::{Error, Hash};

/// A key id: the first 4 bytes of SHA-256 of a DER `SubjectPublicKeyInfo`.
pub type KeyId = [u8; 4];

/// The key id of a DER `SubjectPublicKeyInfo`.
pub fn key_id(spki_der: &[u8]) -> KeyId {
    let digest = Sha256::digest(spki_der);
    [digest[0], digest[1], digest[2], digest[3]]
}

/// The log's state at a time: what the audit key signs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checkpoint {
    /// The log's name, e.g. `hallmark/<installation id>`.
    pub origin: String,
    /// Number of entries covered (entries seq `1..=tree_size`).
    pub tree_size: u64,
    /// Merkle Tree Hash of those entries.
    #[serde(with = "crate::encoding::hash")]
    pub root_hash: Hash,
    /// When the checkpoint was made (unix seconds).
    pub timestamp: i64,
}

/// A checkpoint with its signature.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedCheckpoint {
    /// What was signed.
    pub checkpoint: Checkpoint,
    /// Which key signed it (see [`key_id`]).
    #[serde(with = "crate::encoding::key_id")]
    pub key_id: KeyId,
    /// The signature over [`Checkpoint::body`].
    #[serde(with = "crate::encoding::bytes")]
    pub signature: Vec<u8>,
}

impl Checkpoint {
    /// Signs the checkpoint's body with `signer` and checks the signature
    /// against the signer's public key before returning it.
    pub fn sign(&self, signer: &dyn Signer) -> Result<SignedCheckpoint, Error> {
        let body = self.body()?;
        let signature = signer.sign(body.as_bytes())?;
        let key = PublicKey::from_spki_der(signer.public_key_der()).map_err(Error::Key)?;
        let signed = SignedCheckpoint {
            checkpoint: self.clone(),
            key_id: key_id(key.spki_der()),
            signature,
        };
        signed.verify(&key)?;
        Ok(signed)
    }
}

impl SignedCheckpoint {
    /// Verifies the signature with `key` and returns the checkpoint.
    ///
    /// [`Error::KeyIdMismatch`] if another key signed it,
    /// [`Error::BadSignature`] if the signature or any field was altered.
    pub fn verify(&self, key: &PublicKey) -> Result<&Checkpoint, Error> {
        let cp = &self.checkpoint;
        let expected = key_id(key.spki_der());
        if self.key_id != expected {
            return Err(Error::KeyIdMismatch {
                tree_size: cp.tree_size,
                expected,
                found: self.key_id,
            });
        }
        let body = cp.body()?;
        key.verify(
            key.algorithm().signature_algorithm(),
            body.as_bytes(),
            &self.signature,
        )
        .map_err(|_| Error::BadSignature {
            tree_size: cp.tree_size,
        })?;
        Ok(cp)
    }

    /// [`verify`](Self::verify) with a DER `SubjectPublicKeyInfo`.
    pub fn verify_spki(&self, spki_der: &[u8]) -> Result<&Checkpoint, Error> {
        let key = PublicKey::from_spki_der(spki_der).map_err(Error::Key)?;
        self.verify(&key)?;
        Ok(&self.checkpoint)
    }

    /// The JSON form.
    pub fn to_json(&self) -> Result<String, Error> {
        Ok(serde_json::to_string(self)?)
    }

    /// Reads the JSON form (unknown fields refused).
    pub fn from_json(json: &str) -> Result<Self, Error> {
        Ok(serde_json::from_str(json)?)
    }
}
