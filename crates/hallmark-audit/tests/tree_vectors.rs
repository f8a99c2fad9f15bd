#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The Merkle tree against the Certificate Transparency reference vectors and
//! against an independent, literal transcription of RFC 9162 §2.1.

use hallmark_audit::{
    CompactTree, EMPTY_ROOT, Error, Hash, audit_path, consistency_proof, root_of,
    verify_consistency, verify_inclusion,
};
use sha2::{Digest, Sha256};

// ---- reference: RFC 9162 §2.1 written as recursion over slices ----

fn ref_leaf(data: &[u8]) -> Hash {
    Sha256::new()
        .chain_update([0u8])
        .chain_update(data)
        .finalize()
        .into()
}

fn ref_node(l: &Hash, r: &Hash) -> Hash {
    Sha256::new()
        .chain_update([1u8])
        .chain_update(l)
        .chain_update(r)
        .finalize()
        .into()
}

fn ref_k(n: usize) -> usize {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

fn ref_mth(d: &[Hash]) -> Hash {
    match d.len() {
        0 => Sha256::digest([]).into(),
        1 => d[0],
        n => {
            let k = ref_k(n);
            ref_node(&ref_mth(&d[..k]), &ref_mth(&d[k..]))
        }
    }
}

fn ref_path(m: usize, d: &[Hash]) -> Vec<Hash> {
    let n = d.len();
    if n <= 1 {
        return vec![];
    }
    let k = ref_k(n);
    if m < k {
        let mut p = ref_path(m, &d[..k]);
        p.push(ref_mth(&d[k..]));
        p
    } else {
        let mut p = ref_path(m - k, &d[k..]);
        p.push(ref_mth(&d[..k]));
        p
    }
}

fn ref_subproof(m: usize, d: &[Hash], b: bool) -> Vec<Hash> {
    let n = d.len();
    if m == n {
        return if b { vec![] } else { vec![ref_mth(d)] };
    }
    let k = ref_k(n);
    if m <= k {
        let mut p = ref_subproof(m, &d[..k], b);
        p.push(ref_mth(&d[k..]));
        p
    } else {
        let mut p = ref_subproof(m - k, &d[k..], false);
        p.push(ref_mth(&d[..k]));
        p
    }
}

fn leaves(n: usize) -> Vec<Hash> {
    (0..n)
        .map(|i| ref_leaf(format!("leaf {i}").as_bytes()))
        .collect()
}

// ---- known values ----

fn h(hex_str: &str) -> Hash {
    hex::decode(hex_str).unwrap().try_into().unwrap()
}

const CT_DATA: [&str; 8] = [
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
];

const CT_ROOTS: [&str; 9] = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

fn ct_leaves() -> Vec<Hash> {
    CT_DATA
        .iter()
        .map(|d| ref_leaf(&hex::decode(d).unwrap()))
        .collect()
}

#[test]
fn empty_tree_is_sha256_of_nothing() {
    assert_eq!(EMPTY_ROOT, h(CT_ROOTS[0]));
    assert_eq!(root_of(&[]), EMPTY_ROOT);
    assert_eq!(CompactTree::new().root(), EMPTY_ROOT);
}

#[test]
fn certificate_transparency_roots() {
    let l = ct_leaves();
    for (n, root) in CT_ROOTS.iter().enumerate() {
        assert_eq!(root_of(&l[..n]), h(root), "size {n}");
    }
}

#[test]
fn certificate_transparency_proofs() {
    let l = ct_leaves();
    let root8 = h(CT_ROOTS[8]);
    let cases: [(u64, [&str; 3]); 2] = [
        (
            0,
            [
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ],
        ),
        (
            5,
            [
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
    ];
    for (index, path) in cases {
        let path: Vec<Hash> = path.iter().map(|p| h(p)).collect();
        assert_eq!(audit_path(index, &l).unwrap(), path);
        verify_inclusion(&l[index as usize], index, 8, &path, &root8).unwrap();
    }
    let consistency: [(u64, &[&str]); 2] = [
        (
            2,
            &[
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ],
        ),
        (
            6,
            &[
                "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
    ];
    for (old, proof) in consistency {
        let proof: Vec<Hash> = proof.iter().map(|p| h(p)).collect();
        assert_eq!(consistency_proof(old, &l).unwrap(), proof);
        let old_root = h(CT_ROOTS[old as usize]);
        verify_consistency(old, 8, &old_root, &root8, &proof).unwrap();
    }
}

// ---- exhaustive cross-check, sizes 1..=64 ----

#[test]
fn roots_match_reference_and_compact_tree_at_every_size() {
    let l = leaves(64);
    let mut tree = CompactTree::new();
    for n in 1..=64 {
        tree.push(l[n - 1]);
        let expected = ref_mth(&l[..n]);
        assert_eq!(tree.root(), expected, "compact, size {n}");
        assert_eq!(root_of(&l[..n]), expected, "root_of, size {n}");
        let resumed = CompactTree::from_frontier(n as u64, tree.frontier().to_vec()).unwrap();
        assert_eq!(resumed.root(), expected);
    }
}

#[test]
fn inclusion_proofs_for_every_index_of_every_size() {
    let l = leaves(64);
    for n in 1..=64usize {
        let d = &l[..n];
        let root = ref_mth(d);
        let size = n as u64;
        for m in 0..n {
            let path = audit_path(m as u64, d).unwrap();
            assert_eq!(path, ref_path(m, d), "path of {m} in {n}");
            let i = m as u64;
            verify_inclusion(&d[m], i, size, &path, &root).unwrap();

            // Each way of lying is refused.
            let bad = |leaf: &Hash, index: u64, tree_size: u64, p: &[Hash], r: &Hash| {
                verify_inclusion(leaf, index, tree_size, p, r).is_err()
            };
            assert!(bad(&d[(m + 1) % n], i, size, &path, &root) || n == 1);
            assert!(bad(&d[m], i + 1, size, &path, &root));
            // (A wrong tree size with the right root can verify — leaf 0 of 6
            // and of 7 have the same path shape — which is why a checkpoint
            // signs the size together with the root.)
            assert!(bad(&d[m], i, size, &path, &ref_leaf(b"other")));
            let mut longer = path.clone();
            longer.push(root);
            assert!(bad(&d[m], i, size, &longer, &root));
            if !path.is_empty() {
                assert!(bad(&d[m], i, size, &path[..path.len() - 1], &root));
                for k in 0..path.len() {
                    let mut flipped = path.clone();
                    flipped[k][0] ^= 1;
                    assert!(bad(&d[m], i, size, &flipped, &root));
                }
            }
            if m > 0 {
                assert!(bad(&d[m], i - 1, size, &path, &root));
            }
        }
        assert!(matches!(
            audit_path(size, d),
            Err(Error::InclusionProofInvalid { .. })
        ));
    }
}

#[test]
fn consistency_proofs_for_every_pair_of_sizes() {
    let l = leaves(64);
    let roots: Vec<Hash> = (0..=64).map(|n| ref_mth(&l[..n])).collect();
    for n in 1..=64usize {
        let d = &l[..n];
        for m in 0..=n {
            let proof = consistency_proof(m as u64, d).unwrap();
            let expected = if m == 0 || m == n {
                vec![]
            } else {
                ref_subproof(m, d, true)
            };
            assert_eq!(proof, expected, "proof {m} -> {n}");
            let (old, new) = (m as u64, n as u64);
            verify_consistency(old, new, &roots[m], &roots[n], &proof).unwrap();

            let bad = |o: u64, s: u64, or: &Hash, nr: &Hash, p: &[Hash]| {
                verify_consistency(o, s, or, nr, p).is_err()
            };
            if m < n {
                // Every tree extends the empty one, whatever its root.
                assert!(bad(old, new, &roots[m], &roots[n - 1], &proof) || m == 0);
                assert!(bad(old, new, &roots[m + 1], &roots[n], &proof));
                assert!(bad(old + 1, new, &roots[m], &roots[n], &proof));
                assert!(bad(new, old, &roots[n], &roots[m], &proof));
                let mut longer = proof.clone();
                longer.push(roots[n]);
                assert!(bad(old, new, &roots[m], &roots[n], &longer));
            }
            if !proof.is_empty() {
                assert!(bad(
                    old,
                    new,
                    &roots[m],
                    &roots[n],
                    &proof[..proof.len() - 1]
                ));
                for k in 0..proof.len() {
                    let mut flipped = proof.clone();
                    flipped[k][31] ^= 0x80;
                    assert!(bad(old, new, &roots[m], &roots[n], &flipped));
                }
            }
        }
        assert!(consistency_proof(n as u64 + 1, d).is_err());
    }
}

#[test]
fn bad_frontier_is_refused() {
    assert!(matches!(
        CompactTree::from_frontier(3, vec![[0; 32]]),
        Err(Error::BadFrontier {
            size: 3,
            expected: 2,
            found: 1
        })
    ));
}
