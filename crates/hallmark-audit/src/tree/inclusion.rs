//! Inclusion proofs (audit paths), [RFC 9162 §2.1.3].
//!
//! [RFC 9162 §2.1.3]: https://www.rfc-editor.org/rfc/rfc9162#section-2.1.3

use super::{as_len, node_hash, root_of, split};
use crate::{Error, Hash};

/// The audit path of leaf `index` in the tree of `leaf_hashes`
/// ([RFC 9162 §2.1.3.1]): the sibling subtree roots from the leaf up.
///
/// O(n) hashing; fails with [`Error::InclusionProofInvalid`] if `index` is
/// not a leaf of the tree.
///
/// [RFC 9162 §2.1.3.1]: https://www.rfc-editor.org/rfc/rfc9162#section-2.1.3.1
pub fn audit_path(index: u64, leaf_hashes: &[Hash]) -> Result<Vec<Hash>, Error> {
    let n = leaf_hashes.len();
    let m = match as_len(index) {
        Some(m) if m < n => m,
        _ => {
            return Err(Error::InclusionProofInvalid {
                index,
                tree_size: n as u64,
                reason: "index beyond tree size",
            });
        }
    };
    // PATH(m, D[n]) = PATH(m, D[0:k]) : MTH(D[k:n])      if m < k
    //               = PATH(m - k, D[k:n]) : MTH(D[0:k])  otherwise
    // unrolled from the top; the path lists the deepest sibling first.
    let (mut lo, mut hi) = (0, n);
    let mut path = Vec::with_capacity(64);
    while hi - lo > 1 {
        let mid = lo + split(hi - lo);
        if m < mid {
            path.push(root_of(&leaf_hashes[mid..hi]));
            hi = mid;
        } else {
            path.push(root_of(&leaf_hashes[lo..mid]));
            lo = mid;
        }
    }
    path.reverse();
    Ok(path)
}

/// Verifies that `leaf_hash` is leaf `index` of the tree of `tree_size`
/// leaves whose root is `root`, given its audit `path`
/// ([RFC 9162 §2.1.3.2]).
///
/// [RFC 9162 §2.1.3.2]: https://www.rfc-editor.org/rfc/rfc9162#section-2.1.3.2
pub fn verify_inclusion(
    leaf_hash: &Hash,
    index: u64,
    tree_size: u64,
    path: &[Hash],
    root: &Hash,
) -> Result<(), Error> {
    let fail = |reason| Error::InclusionProofInvalid {
        index,
        tree_size,
        reason,
    };
    if index >= tree_size {
        return Err(fail("index beyond tree size"));
    }
    let (mut fn_, mut sn) = (index, tree_size - 1);
    let mut r = *leaf_hash;
    for p in path {
        if sn == 0 {
            return Err(fail("audit path too long"));
        }
        if fn_ & 1 == 1 || fn_ == sn {
            r = node_hash(p, &r);
            if fn_ & 1 == 0 {
                // Skip levels where this node is the tree's last, lone child.
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if sn != 0 {
        return Err(fail("audit path too short"));
    }
    if r != *root {
        return Err(fail("audit path leads to another root"));
    }
    Ok(())
}
