//! Consistency proofs between two tree sizes, [RFC 9162 §2.1.4].
//!
//! [RFC 9162 §2.1.4]: https://www.rfc-editor.org/rfc/rfc9162#section-2.1.4

use super::{EMPTY_ROOT, as_len, node_hash, root_of, split};
use crate::{Error, Hash};

/// The proof that the tree of the first `old_size` leaves is a prefix of
/// the tree of all `leaf_hashes` ([RFC 9162 §2.1.4.1]).
///
/// Empty when `old_size` is 0 or the whole tree; fails with
/// [`Error::ConsistencyProofInvalid`] if `old_size` exceeds the tree.
///
/// [RFC 9162 §2.1.4.1]: https://www.rfc-editor.org/rfc/rfc9162#section-2.1.4.1
pub fn consistency_proof(old_size: u64, leaf_hashes: &[Hash]) -> Result<Vec<Hash>, Error> {
    let n = leaf_hashes.len();
    let Some(mut m) = as_len(old_size).filter(|m| *m <= n) else {
        return Err(Error::ConsistencyProofInvalid {
            old_size,
            new_size: n as u64,
            reason: "old size beyond new size",
        });
    };
    let mut proof = Vec::with_capacity(64);
    if m == 0 || m == n {
        return Ok(proof);
    }
    // SUBPROOF(m, D[n], b), unrolled from the top; the proof lists the
    // deepest node first. `whole` is b: the old tree is a whole subtree
    // known to the verifier.
    let (mut lo, mut hi, mut whole) = (0, n, true);
    loop {
        let size = hi - lo;
        if m == size {
            if !whole {
                proof.push(root_of(&leaf_hashes[lo..hi]));
            }
            break;
        }
        let k = split(size);
        if m <= k {
            proof.push(root_of(&leaf_hashes[lo + k..hi]));
            hi = lo + k;
        } else {
            proof.push(root_of(&leaf_hashes[lo..lo + k]));
            lo += k;
            m -= k;
            whole = false;
        }
    }
    proof.reverse();
    Ok(proof)
}

/// Verifies that the tree of `old_size` leaves with root `old_root` is a
/// prefix of the tree of `new_size` leaves with root `new_root`
/// ([RFC 9162 §2.1.4.2]).
///
/// Equal sizes need an empty proof and equal roots; an old size of 0 needs
/// an empty proof and the empty root.
///
/// [RFC 9162 §2.1.4.2]: https://www.rfc-editor.org/rfc/rfc9162#section-2.1.4.2
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), Error> {
    let fail = |reason| Error::ConsistencyProofInvalid {
        old_size,
        new_size,
        reason,
    };
    if old_size > new_size {
        return Err(fail("old size beyond new size"));
    }
    if old_size == 0 || old_size == new_size {
        if !proof.is_empty() {
            return Err(fail("proof should be empty"));
        }
        let expected = if old_size == 0 { &EMPTY_ROOT } else { new_root };
        return if old_root == expected {
            Ok(())
        } else {
            Err(fail("roots differ"))
        };
    }
    let Some((first, rest)) = proof.split_first() else {
        return Err(fail("empty proof"));
    };
    // If the old tree is a perfect subtree, its root is implicitly the
    // first node of the path.
    let (seed, rest) = if old_size.is_power_of_two() {
        (old_root, proof)
    } else {
        (first, rest)
    };
    let (mut fn_, mut sn) = (old_size - 1, new_size - 1);
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    let (mut fr, mut sr) = (*seed, *seed);
    for c in rest {
        if sn == 0 {
            return Err(fail("proof too long"));
        }
        if fn_ & 1 == 1 || fn_ == sn {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while fn_ & 1 == 0 && fn_ != 0 {
                fn_ >>= 1;
                sn >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if sn != 0 {
        return Err(fail("proof too short"));
    }
    if fr != *old_root {
        return Err(fail("proof leads to another old root"));
    }
    if sr != *new_root {
        return Err(fail("proof leads to another new root"));
    }
    Ok(())
}
