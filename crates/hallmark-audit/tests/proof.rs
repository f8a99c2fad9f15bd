#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Self-contained inclusion proofs: round trip, JSON, and forgeries refused.

mod common;

use common::{ORIGIN, key, log};
use hallmark_audit::{Entry, Error, Hash, Proof};
use hallmark_pki::KeyAlgorithm;

fn leaf_hashes(entries: &[Entry]) -> Vec<Hash> {
    entries.iter().map(Entry::leaf_hash).collect()
}

#[test]
fn every_entry_has_a_proof_that_verifies_offline() {
    let k = key(KeyAlgorithm::EcdsaP256);
    let log = log(13, &[7, 13], k.signer.as_ref());
    let leaves = leaf_hashes(&log.entries);
    for cp in &log.checkpoints {
        let size = cp.checkpoint.tree_size as usize;
        for entry in &log.entries[..size] {
            let proof = Proof::build(entry.clone(), &leaves, cp.clone()).unwrap();
            // Through JSON, as a file handed to someone with only the public key.
            let json = proof.to_json().unwrap();
            let read = Proof::from_json(&json).unwrap();
            assert_eq!(read, proof);
            let verified = read.verify(&k.public).unwrap();
            assert_eq!(verified.entry, entry);
            assert_eq!(verified.index, entry.seq as u64 - 1);
            assert_eq!(verified.leaf_hash, entry.leaf_hash());
            assert_eq!(verified.checkpoint.origin, ORIGIN);
            assert_eq!(verified.checkpoint.tree_size, size as u64);
            assert_eq!(verified.key_id, cp.key_id);
        }
        // An entry the checkpoint does not cover has no proof under it.
        if let Some(later) = log.entries.get(size) {
            assert!(Proof::build(later.clone(), &leaves, cp.clone()).is_err());
        }
    }
}

#[test]
fn json_keeps_the_exact_data_bytes() {
    let k = key(KeyAlgorithm::Ed25519);
    let mut log = log(3, &[], k.signer.as_ref());
    // Same JSON value, different bytes: a different entry.
    log.entries[1].data_json = b"{ \"serial\" : \"2\" }".to_vec();
    let leaves = leaf_hashes(&log.entries);
    let cp = hallmark_audit::Checkpoint {
        origin: ORIGIN.into(),
        tree_size: 3,
        root_hash: hallmark_audit::root_of(&leaves),
        timestamp: 1,
    }
    .sign(k.signer.as_ref())
    .unwrap();
    let proof = Proof::build(log.entries[1].clone(), &leaves, cp).unwrap();
    let read = Proof::from_json(&proof.to_json().unwrap()).unwrap();
    assert_eq!(read.entry.data_json, log.entries[1].data_json);
    read.verify(&k.public).unwrap();
}

#[test]
fn tampered_proofs_are_refused() {
    let k = key(KeyAlgorithm::EcdsaP256);
    let log = log(11, &[11], k.signer.as_ref());
    let leaves = leaf_hashes(&log.entries);
    let cp = log.checkpoints[0].clone();
    let good = Proof::build(log.entries[4].clone(), &leaves, cp.clone()).unwrap();
    good.verify(&k.public).unwrap();

    // Wrong entry: edited data, or another entry under this one's path.
    let mut p = good.clone();
    p.entry.data_json = br#"{"serial":"5","order":"o-9"}"#.to_vec();
    let err = p.verify(&k.public).unwrap_err();
    assert!(
        matches!(err, Error::InclusionProofInvalid { index: 4, .. }),
        "{err}"
    );
    let mut p = good.clone();
    p.entry = log.entries[5].clone();
    assert!(matches!(
        p.verify(&k.public),
        Err(Error::ProofIndexMismatch { index: 4, seq: 6 })
    ));
    p.index = 5;
    assert!(matches!(
        p.verify(&k.public),
        Err(Error::InclusionProofInvalid { .. })
    ));

    // Wrong index (the entry's seq moved with it, or not).
    let mut p = good.clone();
    p.index = 3;
    assert!(matches!(
        p.verify(&k.public),
        Err(Error::ProofIndexMismatch { .. })
    ));
    p.entry.seq = 4;
    assert!(matches!(
        p.verify(&k.public),
        Err(Error::InclusionProofInvalid { .. })
    ));

    // Wrong path: a hash flipped, dropped, added, or another entry's path.
    for edit in [
        |p: &mut Proof| p.audit_path[1][0] ^= 1,
        |p: &mut Proof| p.audit_path.truncate(p.audit_path.len() - 1),
        |p: &mut Proof| p.audit_path.push([7; 32]),
        |p: &mut Proof| p.audit_path.swap(0, 1),
    ] {
        let mut p = good.clone();
        edit(&mut p);
        assert!(matches!(
            p.verify(&k.public),
            Err(Error::InclusionProofInvalid { .. })
        ));
    }
    let mut p = good.clone();
    p.audit_path = Proof::build(log.entries[5].clone(), &leaves, cp.clone())
        .unwrap()
        .audit_path;
    assert!(p.verify(&k.public).is_err());

    // Checkpoint: signed by another key, or altered.
    let other = key(KeyAlgorithm::EcdsaP256);
    let mut p = good.clone();
    p.checkpoint = cp.checkpoint.sign(other.signer.as_ref()).unwrap();
    assert!(matches!(
        p.verify(&k.public),
        Err(Error::KeyIdMismatch { .. })
    ));
    let mut p = good.clone();
    p.checkpoint.checkpoint.tree_size = 12;
    assert!(matches!(
        p.verify(&k.public),
        Err(Error::BadSignature { tree_size: 12 })
    ));
}

#[test]
fn build_refuses_inconsistent_inputs() {
    let k = key(KeyAlgorithm::Ed25519);
    let log = log(9, &[9], k.signer.as_ref());
    let mut leaves = leaf_hashes(&log.entries);
    let cp = log.checkpoints[0].clone();

    let mut edited = log.entries[2].clone();
    edited.at += 1;
    let err = Proof::build(edited, &leaves, cp.clone()).unwrap_err();
    assert!(
        matches!(err, Error::LeafHashMismatch { seq: 3, .. }),
        "{err}"
    );

    leaves[7][0] ^= 1;
    let err = Proof::build(log.entries[2].clone(), &leaves, cp.clone()).unwrap_err();
    assert!(
        matches!(err, Error::RootMismatch { tree_size: 9, .. }),
        "{err}"
    );

    let err = Proof::build(log.entries[2].clone(), &leaves[..8], cp).unwrap_err();
    assert!(
        matches!(
            err,
            Error::CheckpointBeyondLog {
                tree_size: 9,
                log_size: 8
            }
        ),
        "{err}"
    );
}
