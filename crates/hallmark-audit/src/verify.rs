//! Streaming verification of a whole log against its signed checkpoints.
//!
//! [`LogVerifier`] recomputes the Merkle tree ([RFC 9162 §2.1.1]) of the
//! entries as they are pushed, in seq order, in O(log n) memory, and
//! compares its root with each signed checkpoint when the tree reaches the
//! checkpoint's size. It reports the first problem found:
//!
//! | evidence | error |
//! | --- | --- |
//! | an entry deleted, inserted or moved | [`Error::SeqGap`] (seq not the next one) |
//! | an entry modified (or renumbered) | [`Error::RootMismatch`] at the next checkpoint, naming the seq range since the last good one; [`Error::LeafHashMismatch`] naming the entry if a stored leaf hash is given |
//! | entries deleted at the end | [`Error::CheckpointBeyondLog`] from [`LogVerifier::finish`] |
//! | a checkpoint altered | [`Error::BadSignature`] (or [`Error::KeyIdMismatch`]) |
//! | a checkpoint older than the previous one | [`Error::TimestampWentBack`] |
//!
//! [RFC 9162 §2.1.1]: https://www.rfc-editor.org/rfc/rfc9162#section-2.1.1

use std::collections::VecDeque;

use hallmark_pki::PublicKey;

use crate::checkpoint::{Checkpoint, SignedCheckpoint, key_id};
use crate::leaf::{EntryRef, verify_leaf_hash};
use crate::tree::CompactTree;
use crate::{Error, Hash};

/// Verifies a log as a stream: entries in seq order via
/// [`push`](Self::push), signed checkpoints in tree-size order via
/// [`check`](Self::check) — before, or interleaved with, the entries they
/// cover — then [`finish`](Self::finish).
///
/// After the first error every call returns [`Error::AlreadyFailed`].
#[derive(Debug)]
pub struct LogVerifier {
    origin: String,
    tree: CompactTree,
    /// Checkpoints whose signature verified, waiting for the tree to reach
    /// their size (ascending).
    pending: VecDeque<Checkpoint>,
    /// Tree size and timestamp of the last checkpoint accepted by `check`.
    last_checked: Option<(u64, i64)>,
    /// The largest checkpoint whose root matched.
    verified: Option<Checkpoint>,
    checkpoints: u64,
    failed: bool,
}

/// What a successful verification established.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedLog {
    /// Number of entries.
    pub size: u64,
    /// Merkle Tree Hash of all entries.
    pub root_hash: Hash,
    /// Number of checkpoints whose signature and root matched.
    pub checkpoints: u64,
    /// The largest of them, if any.
    pub latest: Option<Checkpoint>,
    /// Entries after the latest checkpoint: consistent in sequence, but not
    /// yet covered by a signature.
    pub unsigned: u64,
}

impl LogVerifier {
    /// A verifier for the log named `origin` (checkpoints must carry it).
    pub fn new(origin: impl Into<String>) -> Self {
        Self {
            origin: origin.into(),
            tree: CompactTree::new(),
            pending: VecDeque::new(),
            last_checked: None,
            verified: None,
            checkpoints: 0,
            failed: false,
        }
    }

    /// Entries pushed so far.
    pub fn size(&self) -> u64 {
        self.tree.size()
    }

    /// The root of the entries pushed so far.
    pub fn root(&self) -> Hash {
        self.tree.root()
    }

    /// Entries covered by a matching checkpoint so far.
    pub fn verified_size(&self) -> u64 {
        self.verified.as_ref().map_or(0, |cp| cp.tree_size)
    }

    /// Appends the next entry; returns its leaf hash.
    pub fn push<'a>(&mut self, entry: impl Into<EntryRef<'a>>) -> Result<Hash, Error> {
        let entry = entry.into();
        self.guard(|v| {
            v.check_seq(entry.seq)?;
            let leaf = entry.leaf_hash();
            v.append(leaf)?;
            Ok(leaf)
        })
    }

    /// [`push`](Self::push) for a store that keeps each entry's leaf hash:
    /// a modified entry is named exactly ([`Error::LeafHashMismatch`]).
    pub fn push_with_leaf_hash<'a>(
        &mut self,
        entry: impl Into<EntryRef<'a>>,
        stored: &Hash,
    ) -> Result<(), Error> {
        let entry = entry.into();
        self.guard(|v| {
            v.check_seq(entry.seq)?;
            let leaf = verify_leaf_hash(entry, stored)?;
            v.append(leaf)
        })
    }

    /// Takes a signed checkpoint: checks its origin, signature and order
    /// now, and its root when the tree reaches its size (now, if it has).
    pub fn check(&mut self, checkpoint: &SignedCheckpoint, key: &PublicKey) -> Result<(), Error> {
        self.guard(|v| {
            let cp = &checkpoint.checkpoint;
            if cp.origin != v.origin {
                return Err(Error::OriginMismatch {
                    expected: v.origin.clone(),
                    found: cp.origin.clone(),
                });
            }
            checkpoint.verify(key)?;
            let (last_size, last_time) = v.last_checked.unwrap_or((0, i64::MIN));
            let after = last_size.max(v.tree.size());
            if cp.tree_size < after {
                return Err(Error::CheckpointOutOfOrder {
                    tree_size: cp.tree_size,
                    after,
                });
            }
            if cp.timestamp < last_time {
                return Err(Error::TimestampWentBack {
                    tree_size: cp.tree_size,
                    timestamp: cp.timestamp,
                    previous: last_time,
                });
            }
            v.last_checked = Some((cp.tree_size, cp.timestamp));
            v.pending.push_back(cp.clone());
            v.settle()
        })
    }

    /// [`check`](Self::check) with the key among `keys` whose key id the
    /// checkpoint names ([`Error::UnknownKey`] if none does).
    pub fn check_with(
        &mut self,
        checkpoint: &SignedCheckpoint,
        keys: &[PublicKey],
    ) -> Result<(), Error> {
        match keys
            .iter()
            .find(|k| key_id(k.spki_der()) == checkpoint.key_id)
        {
            Some(key) => self.check(checkpoint, key),
            None => self.guard(|_| {
                Err(Error::UnknownKey {
                    tree_size: checkpoint.checkpoint.tree_size,
                    key_id: checkpoint.key_id,
                })
            }),
        }
    }

    /// Ends the stream: a checkpoint beyond the last entry means entries
    /// were removed from the end ([`Error::CheckpointBeyondLog`]).
    pub fn finish(mut self) -> Result<VerifiedLog, Error> {
        if self.failed {
            return Err(Error::AlreadyFailed);
        }
        if let Some(cp) = self.pending.pop_front() {
            return Err(Error::CheckpointBeyondLog {
                tree_size: cp.tree_size,
                log_size: self.tree.size(),
            });
        }
        let size = self.tree.size();
        Ok(VerifiedLog {
            size,
            root_hash: self.tree.root(),
            checkpoints: self.checkpoints,
            unsigned: size - self.verified_size(),
            latest: self.verified,
        })
    }

    fn guard<T>(&mut self, f: impl FnOnce(&mut Self) -> Result<T, Error>) -> Result<T, Error> {
        if self.failed {
            return Err(Error::AlreadyFailed);
        }
        let result = f(self);
        self.failed = result.is_err();
        result
    }

    fn check_seq(&self, seq: i64) -> Result<(), Error> {
        // i64 seqs: a log of 2^63 entries is out of reach.
        let expected = self.tree.size() as i64 + 1;
        if seq == expected {
            Ok(())
        } else {
            Err(Error::SeqGap {
                expected,
                found: seq,
            })
        }
    }

    fn append(&mut self, leaf: Hash) -> Result<(), Error> {
        self.tree.push(leaf);
        self.settle()
    }

    /// Compares every pending checkpoint the tree has reached.
    fn settle(&mut self) -> Result<(), Error> {
        while self
            .pending
            .front()
            .is_some_and(|cp| cp.tree_size == self.tree.size())
        {
            let Some(cp) = self.pending.pop_front() else {
                break;
            };
            let computed_root = self.tree.root();
            if cp.root_hash != computed_root {
                return Err(Error::RootMismatch {
                    tree_size: cp.tree_size,
                    checkpoint_root: cp.root_hash,
                    computed_root,
                    verified_size: self.verified_size(),
                });
            }
            self.checkpoints += 1;
            self.verified = Some(cp);
        }
        Ok(())
    }
}

/// Verifies a whole log in one call: `checkpoints` (any order; sorted here
/// by tree size, then timestamp) each checked with the key of `keys` it names, then every
/// entry in order.
pub fn verify_log<'a>(
    origin: &str,
    entries: impl IntoIterator<Item = EntryRef<'a>>,
    checkpoints: &[SignedCheckpoint],
    keys: &[PublicKey],
) -> Result<VerifiedLog, Error> {
    let mut sorted: Vec<&SignedCheckpoint> = checkpoints.iter().collect();
    sorted.sort_by_key(|cp| (cp.checkpoint.tree_size, cp.checkpoint.timestamp));
    let mut verifier = LogVerifier::new(origin);
    for cp in sorted {
        verifier.check_with(cp, keys)?;
    }
    for entry in entries {
        verifier.push(entry)?;
    }
    verifier.finish()
}
