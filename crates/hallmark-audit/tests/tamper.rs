#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Tampering with an in-memory log, each way detected as its own error.

mod common;

use common::{Log, ORIGIN, TestKey, entry, key, log};
use hallmark_audit::{
    Checkpoint, Entry, Error, LogVerifier, SignedCheckpoint, VerifiedLog, verify_log,
};
use hallmark_pki::{KeyAlgorithm, PublicKey};

const SIZES: [u64; 5] = [0, 5, 10, 16, 20];

fn setup() -> (TestKey, Log) {
    let k = key(KeyAlgorithm::EcdsaP256);
    let log = log(20, &SIZES, k.signer.as_ref());
    (k, log)
}

fn verify(
    entries: &[Entry],
    checkpoints: &[SignedCheckpoint],
    key: &PublicKey,
) -> Result<VerifiedLog, Error> {
    verify_log(
        ORIGIN,
        entries.iter().map(Entry::as_ref),
        checkpoints,
        std::slice::from_ref(key),
    )
}

fn root_mismatch(err: Error) -> (u64, u64) {
    match err {
        Error::RootMismatch {
            tree_size,
            verified_size,
            ..
        } => (tree_size, verified_size),
        other => panic!("expected RootMismatch, got {other}"),
    }
}

#[test]
fn intact_log_verifies() {
    let (k, log) = setup();
    let v = verify(&log.entries, &log.checkpoints, &k.public).unwrap();
    assert_eq!(v.size, 20);
    assert_eq!(v.checkpoints, 5);
    assert_eq!(v.unsigned, 0);
    assert_eq!(v.latest.unwrap().tree_size, 20);

    // More entries since the last checkpoint: fine, but reported unsigned.
    let v = verify(&log.entries, &log.checkpoints[..4], &k.public).unwrap();
    assert_eq!((v.size, v.unsigned), (20, 4));
}

#[test]
fn streaming_with_interleaved_checkpoints_and_stored_leaf_hashes() {
    let (k, log) = setup();
    let mut v = LogVerifier::new(ORIGIN);
    let mut cps = log.checkpoints.iter().peekable();
    for e in &log.entries {
        while let Some(cp) = cps.next_if(|cp| cp.checkpoint.tree_size <= v.size()) {
            v.check(cp, &k.public).unwrap();
        }
        v.push_with_leaf_hash(e, &e.leaf_hash()).unwrap();
    }
    for cp in cps {
        v.check(cp, &k.public).unwrap();
    }
    assert_eq!(v.verified_size(), 20);
    assert_eq!(v.finish().unwrap().checkpoints, 5);
}

#[test]
fn modified_entry_is_located_between_checkpoints() {
    let (k, mut log) = setup();
    log.entries[6].data_json = br#"{"serial":"7","order":"o-2"}"#.to_vec();
    let err = verify(&log.entries, &log.checkpoints, &k.public).unwrap_err();
    assert!(err.to_string().contains("among seq 6..=10"), "{err}");
    assert_eq!(root_mismatch(err), (10, 5));

    // With the stored leaf hashes the entry itself is named.
    let (_, good) = setup();
    let mut v = LogVerifier::new(ORIGIN);
    let mut result = Ok(());
    for (e, stored) in log.entries.iter().zip(&good.entries) {
        result = v.push_with_leaf_hash(e, &stored.leaf_hash());
        if result.is_err() {
            break;
        }
    }
    assert!(matches!(
        result,
        Err(Error::LeafHashMismatch { seq: 7, .. })
    ));
    // The verifier stops at the first problem.
    assert!(matches!(v.push(&log.entries[7]), Err(Error::AlreadyFailed)));
}

#[test]
fn every_field_of_an_entry_is_covered() {
    let (k, log) = setup();
    let edits: [fn(&mut Entry); 5] = [
        |e| e.kind.push('x'),
        |e| e.subject = None,
        |e| e.at += 1,
        |e| e.data_json.push(b' '),
        |e| e.subject = Some("device-99999".into()),
    ];
    for edit in edits {
        let mut entries = log.entries.clone();
        edit(&mut entries[17]);
        let err = verify(&entries, &log.checkpoints, &k.public).unwrap_err();
        assert_eq!(root_mismatch(err), (20, 16));
    }
}

#[test]
fn deleted_entry_is_a_gap() {
    let (k, mut log) = setup();
    log.entries.remove(6);
    let err = verify(&log.entries, &log.checkpoints, &k.public).unwrap_err();
    assert!(
        matches!(
            err,
            Error::SeqGap {
                expected: 7,
                found: 8
            }
        ),
        "{err}"
    );

    // Renumbered to hide the gap: the next checkpoint's root differs.
    for (i, e) in log.entries.iter_mut().enumerate() {
        e.seq = i as i64 + 1;
    }
    let err = verify(&log.entries, &log.checkpoints, &k.public).unwrap_err();
    assert_eq!(root_mismatch(err), (10, 5));
}

#[test]
fn deleted_tail_is_beyond_the_log() {
    let (k, mut log) = setup();
    log.entries.truncate(18);
    let err = verify(&log.entries, &log.checkpoints, &k.public).unwrap_err();
    assert!(
        matches!(
            err,
            Error::CheckpointBeyondLog {
                tree_size: 20,
                log_size: 18
            }
        ),
        "{err}"
    );
}

#[test]
fn inserted_entry_is_a_gap_or_a_mismatch() {
    let (k, log) = setup();
    let mut entries = log.entries.clone();
    entries.insert(6, entry(7));
    let err = verify(&entries, &log.checkpoints, &k.public).unwrap_err();
    assert!(
        matches!(
            err,
            Error::SeqGap {
                expected: 8,
                found: 7
            }
        ),
        "{err}"
    );

    let mut forged = entry(7);
    forged.kind = "certificate.revoked".into();
    entries[6] = forged;
    for (i, e) in entries.iter_mut().enumerate() {
        e.seq = i as i64 + 1;
    }
    let err = verify(&entries, &log.checkpoints, &k.public).unwrap_err();
    assert_eq!(root_mismatch(err), (10, 5));
}

#[test]
fn reordered_entries_are_detected() {
    let (k, log) = setup();
    let mut entries = log.entries.clone();
    entries.swap(11, 12);
    let err = verify(&entries, &log.checkpoints, &k.public).unwrap_err();
    assert!(
        matches!(
            err,
            Error::SeqGap {
                expected: 12,
                found: 13
            }
        ),
        "{err}"
    );

    // Contents swapped, seqs kept.
    let mut entries = log.entries.clone();
    entries.swap(11, 12);
    entries[11].seq = 12;
    entries[12].seq = 13;
    let err = verify(&entries, &log.checkpoints, &k.public).unwrap_err();
    assert_eq!(root_mismatch(err), (16, 10));
}

#[test]
fn altered_checkpoints_are_detected() {
    let (k, log) = setup();
    let alter: [fn(&mut SignedCheckpoint); 4] = [
        |s| s.checkpoint.root_hash[5] ^= 0x40,
        |s| s.checkpoint.tree_size = 9,
        |s| s.checkpoint.timestamp -= 3600,
        |s| s.signature[10] ^= 1,
    ];
    for f in alter {
        let mut cps = log.checkpoints.clone();
        f(&mut cps[2]);
        let err = verify(&log.entries, &cps, &k.public).unwrap_err();
        assert!(matches!(err, Error::BadSignature { .. }), "{err}");
    }
}

#[test]
fn checkpoint_from_another_key_is_refused() {
    let (k, log) = setup();
    let other = key(KeyAlgorithm::EcdsaP256);
    let mut cps = log.checkpoints.clone();
    cps[3] = cps[3].checkpoint.sign(other.signer.as_ref()).unwrap();
    let err = verify(&log.entries, &cps, &k.public).unwrap_err();
    assert!(
        matches!(err, Error::UnknownKey { tree_size: 16, key_id } if key_id == cps[3].key_id),
        "{err}"
    );
    let mut v = LogVerifier::new(ORIGIN);
    assert!(matches!(
        v.check(&cps[3], &k.public),
        Err(Error::KeyIdMismatch { .. })
    ));

    // Both keys trusted (a key rotation): verifies.
    verify_log(
        ORIGIN,
        log.entries.iter().map(Entry::as_ref),
        &cps,
        &[k.public.clone(), other.public.clone()],
    )
    .unwrap();
}

#[test]
fn checkpoint_timestamp_going_back_is_detected() {
    let (k, log) = setup();
    let mut cps = log.checkpoints.clone();
    let mut older: Checkpoint = cps[3].checkpoint.clone();
    older.timestamp = cps[2].checkpoint.timestamp - 1;
    cps[3] = older.sign(k.signer.as_ref()).unwrap();
    let err = verify(&log.entries, &cps, &k.public).unwrap_err();
    assert!(
        matches!(err, Error::TimestampWentBack { tree_size: 16, .. }),
        "{err}"
    );
}

#[test]
fn checkpoint_for_another_log_or_out_of_order_is_refused() {
    let (k, log) = setup();
    let mut v = LogVerifier::new("hallmark/elsewhere");
    let err = v.check(&log.checkpoints[1], &k.public).unwrap_err();
    assert!(matches!(err, Error::OriginMismatch { .. }), "{err}");

    let mut v = LogVerifier::new(ORIGIN);
    for e in &log.entries[..12] {
        v.push(e).unwrap();
    }
    let err = v.check(&log.checkpoints[2], &k.public).unwrap_err();
    assert!(
        matches!(
            err,
            Error::CheckpointOutOfOrder {
                tree_size: 10,
                after: 12
            }
        ),
        "{err}"
    );
}
