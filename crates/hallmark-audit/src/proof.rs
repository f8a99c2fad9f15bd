//! Self-contained inclusion proofs: one entry, its audit path and a signed
//! checkpoint, verifiable offline with only the audit public key
//! ([RFC 9162 §2.1.3]).
//!
//! JSON form:
//!
//! ```text
//! {"entry":{"seq":…,"kind":…,"subject":…,"at":…,"data_json":"<base64>"},
//!  "index":…,"audit_path":["<base64>",…],
//!  "checkpoint":{"checkpoint":{…},"key_id":"<8 hex>","signature":"<base64>"}}
//! ```
//!
//! [RFC 9162 §2.1.3]: https://www.rfc-editor.org/rfc/rfc9162#section-2.1.3

use hallmark_pki::PublicKey;
use serde::{Deserialize, Serialize};

use crate::checkpoint::{Checkpoint, KeyId, SignedCheckpoint};
use crate::leaf::Entry;
use crate::tree::{audit_path, root_of, verify_inclusion};
use crate::{Error, Hash};

/// Proof that an entry is in the log a signed checkpoint commits to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Proof {
    /// The entry itself.
    pub entry: Entry,
    /// Its leaf index (`seq − 1`).
    pub index: u64,
    /// Sibling hashes from the leaf up to the root.
    #[serde(with = "crate::encoding::hashes")]
    pub audit_path: Vec<Hash>,
    /// The checkpoint whose root the path leads to.
    pub checkpoint: SignedCheckpoint,
}

/// What a verified [`Proof`] establishes: the audit key signed a log of
/// `checkpoint.tree_size` entries containing `entry` at `index`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VerifiedProof<'a> {
    /// The entry.
    pub entry: &'a Entry,
    /// Its leaf hash.
    pub leaf_hash: Hash,
    /// Its leaf index.
    pub index: u64,
    /// The checkpoint (signature checked).
    pub checkpoint: &'a Checkpoint,
    /// The id of the key that signed it.
    pub key_id: KeyId,
}

impl Proof {
    /// Builds the proof for `entry` in the tree of `checkpoint`, from the
    /// leaf hashes of (at least) the checkpoint's first `tree_size` entries.
    ///
    /// Checks what it builds: the entry must be the leaf at its index
    /// ([`Error::LeafHashMismatch`]) and the leaves must have the
    /// checkpoint's root ([`Error::RootMismatch`]). The signature is not
    /// checked here.
    pub fn build(
        entry: Entry,
        leaf_hashes: &[Hash],
        checkpoint: SignedCheckpoint,
    ) -> Result<Self, Error> {
        let cp = &checkpoint.checkpoint;
        let leaves = usize::try_from(cp.tree_size)
            .ok()
            .and_then(|n| leaf_hashes.get(..n))
            .ok_or(Error::CheckpointBeyondLog {
                tree_size: cp.tree_size,
                log_size: leaf_hashes.len() as u64,
            })?;
        let index = index_of(&entry, cp.tree_size)?;
        let leaf_hash = entry.leaf_hash();
        let stored = leaves[index as usize];
        if stored != leaf_hash {
            return Err(Error::LeafHashMismatch {
                seq: entry.seq,
                stored,
                computed: leaf_hash,
            });
        }
        let path = audit_path(index, leaves)?;
        if verify_inclusion(&leaf_hash, index, cp.tree_size, &path, &cp.root_hash).is_err() {
            return Err(Error::RootMismatch {
                tree_size: cp.tree_size,
                checkpoint_root: cp.root_hash,
                computed_root: root_of(leaves),
                verified_size: 0,
            });
        }
        Ok(Self {
            entry,
            index,
            audit_path: path,
            checkpoint,
        })
    }

    /// Verifies the proof offline: the checkpoint's signature under
    /// `trusted_key`, the entry's place (`index = seq − 1`) and the audit
    /// path from the entry's leaf hash to the signed root.
    pub fn verify(&self, trusted_key: &PublicKey) -> Result<VerifiedProof<'_>, Error> {
        let checkpoint = self.checkpoint.verify(trusted_key)?;
        if index_of(&self.entry, u64::MAX).ok() != Some(self.index) {
            return Err(Error::ProofIndexMismatch {
                index: self.index,
                seq: self.entry.seq,
            });
        }
        let leaf_hash = self.entry.leaf_hash();
        verify_inclusion(
            &leaf_hash,
            self.index,
            checkpoint.tree_size,
            &self.audit_path,
            &checkpoint.root_hash,
        )?;
        Ok(VerifiedProof {
            entry: &self.entry,
            leaf_hash,
            index: self.index,
            checkpoint,
            key_id: self.checkpoint.key_id,
        })
    }

    /// The JSON form (pretty-printed).
    pub fn to_json(&self) -> Result<String, Error> {
        Ok(serde_json::to_string_pretty(self)?)
    }

    /// Reads the JSON form (unknown fields refused).
    pub fn from_json(json: &str) -> Result<Self, Error> {
        Ok(serde_json::from_str(json)?)
    }
}

/// The leaf index of `entry` (`seq − 1`), which must be below `tree_size`.
fn index_of(entry: &Entry, tree_size: u64) -> Result<u64, Error> {
    entry
        .seq
        .checked_sub(1)
        .and_then(|i| u64::try_from(i).ok())
        .filter(|i| *i < tree_size)
        .ok_or(Error::InclusionProofInvalid {
            index: entry.seq.wrapping_sub(1) as u64,
            tree_size,
            reason: "entry seq outside the tree",
        })
}
