//! The Merkle Tree Hash of [RFC 9162 §2.1.1] over leaf hashes, with
//! inclusion ([§2.1.3]) and consistency ([§2.1.4]) proofs.
//!
//! ```text
//! MTH({})      = SHA-256()                                   (the empty string)
//! MTH({d0})    = leaf hash of d0                             (see crate::leaf)
//! MTH(D[n])    = SHA-256(0x01 | MTH(D[0:k]) | MTH(D[k:n]))   k = largest power of 2 < n
//! ```
//!
//! Everything here works on leaf hashes (`[u8; 32]`), never on entries.
//! Leaf indices and tree sizes are `u64`; a leaf index is `seq − 1`.
//!
//! [RFC 9162 §2.1.1]: https://www.rfc-editor.org/rfc/rfc9162#section-2.1.1
//! [§2.1.3]: https://www.rfc-editor.org/rfc/rfc9162#section-2.1.3
//! [§2.1.4]: https://www.rfc-editor.org/rfc/rfc9162#section-2.1.4

mod compact;
mod consistency;
mod inclusion;

use sha2::{Digest as _, Sha256};

pub use compact::CompactTree;
pub use consistency::{consistency_proof, verify_consistency};
pub use inclusion::{audit_path, verify_inclusion};

use crate::Hash;

/// Domain separation prefix of interior nodes (RFC 9162 §2.1.1).
pub const NODE_PREFIX: u8 = 0x01;

/// The root of the empty tree: SHA-256 of the empty string,
/// `e3b0c442…b855`.
pub const EMPTY_ROOT: Hash = [
    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
    0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
];

/// An interior node: `SHA-256(0x01 | left | right)`.
#[inline]
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut block = [0u8; 65];
    block[0] = NODE_PREFIX;
    block[1..33].copy_from_slice(left);
    block[33..].copy_from_slice(right);
    Sha256::digest(block).into()
}

/// The Merkle Tree Hash of `leaf_hashes` (any length, including 0).
///
/// Computed with a [`CompactTree`]: O(n) hashing, O(log n) memory.
pub fn root_of(leaf_hashes: &[Hash]) -> Hash {
    let mut tree = CompactTree::new();
    for leaf in leaf_hashes {
        tree.push(*leaf);
    }
    tree.root()
}

/// The largest power of two strictly less than `n` (`n ≥ 2`): where RFC
/// 9162 splits a tree of `n` leaves.
fn split(n: usize) -> usize {
    debug_assert!(n >= 2);
    1 << (usize::BITS - 1 - (n - 1).leading_zeros())
}

/// A tree size as a slice length, if this platform can hold it.
fn as_len(size: u64) -> Option<usize> {
    usize::try_from(size).ok()
}
