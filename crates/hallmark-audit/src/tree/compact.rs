//! An append-only Merkle tree that keeps only its frontier.

use super::{EMPTY_ROOT, node_hash};
use crate::{Error, Hash};

/// A Merkle tree ([RFC 9162 §2.1.1]) that remembers only the roots of its
/// perfect subtrees (its *frontier*): one hash per set bit of the size, so
/// at most 64 hashes whatever the size.
///
/// Appending costs one leaf copy plus, amortised, one node hash;
/// [`root`](Self::root) costs at most 63 node hashes.
///
/// A sequencer can persist [`size`](Self::size) and
/// [`frontier`](Self::frontier) and resume with
/// [`from_frontier`](Self::from_frontier) instead of rehashing the log.
///
/// [RFC 9162 §2.1.1]: https://www.rfc-editor.org/rfc/rfc9162#section-2.1.1
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CompactTree {
    size: u64,
    /// Roots of the perfect subtrees, largest (leftmost) first; the i-th from
    /// the end covers 2^(i-th lowest set bit of `size`) leaves.
    frontier: Vec<Hash>,
}

impl CompactTree {
    /// The empty tree.
    pub fn new() -> Self {
        Self {
            size: 0,
            frontier: Vec::with_capacity(64),
        }
    }

    /// Resumes a tree from its size and frontier (as returned by
    /// [`frontier`](Self::frontier)); the frontier must have one hash per
    /// set bit of `size` ([`Error::BadFrontier`]).
    pub fn from_frontier(size: u64, frontier: Vec<Hash>) -> Result<Self, Error> {
        let expected = size.count_ones() as usize;
        if frontier.len() != expected {
            return Err(Error::BadFrontier {
                size,
                expected,
                found: frontier.len(),
            });
        }
        Ok(Self { size, frontier })
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Whether the tree has no leaves.
    pub fn is_empty(&self) -> bool {
        self.size == 0
    }

    /// The perfect subtree roots, largest first.
    pub fn frontier(&self) -> &[Hash] {
        &self.frontier
    }

    /// Appends a leaf hash.
    #[inline]
    pub fn push(&mut self, leaf_hash: Hash) {
        let mut hash = leaf_hash;
        let mut size = self.size;
        // Each trailing 1 bit of the old size is a subtree as large as the
        // one being carried: merge them, as in a binary counter.
        while size & 1 == 1 {
            // Every set bit has its frontier hash (the invariant), so pop succeeds.
            if let Some(left) = self.frontier.pop() {
                hash = node_hash(&left, &hash);
            }
            size >>= 1;
        }
        self.frontier.push(hash);
        self.size += 1;
    }

    /// The Merkle Tree Hash of the leaves so far ([`EMPTY_ROOT`] when empty).
    ///
    /// RFC 9162 splits at the largest power of two, so the root is the
    /// frontier folded from the right: `H(f0, H(f1, … H(fk-1, fk)))`.
    pub fn root(&self) -> Hash {
        let mut subtrees = self.frontier.iter().rev();
        let Some(last) = subtrees.next() else {
            return EMPTY_ROOT;
        };
        subtrees.fold(*last, |acc, left| node_hash(left, &acc))
    }
}
