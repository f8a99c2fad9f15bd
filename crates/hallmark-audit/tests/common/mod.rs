//! Shared test helpers: real audit signers and an in-memory log.
#![allow(dead_code)]

use std::sync::Arc;

use hallmark_audit::{Checkpoint, CompactTree, Entry, SignedCheckpoint};
use hallmark_keys::{KeyStore as _, SoftKeyStore};
use hallmark_pki::{KeyAlgorithm, PublicKey, Signer};
use zeroize::Zeroizing;

pub const ORIGIN: &str = "hallmark/test-installation";

/// A software key in a temporary directory (kept alive with the signer).
pub struct TestKey {
    _dir: tempfile::TempDir,
    pub signer: Arc<dyn Signer>,
    pub public: PublicKey,
}

pub fn key(alg: KeyAlgorithm) -> TestKey {
    let dir = tempfile::tempdir().unwrap();
    let store =
        SoftKeyStore::open(dir.path().join("keys"), Zeroizing::new("audit pass".into())).unwrap();
    let uri = store.generate("audit", alg).unwrap();
    let signer = store.signer(&uri).unwrap();
    let public = PublicKey::from_spki_der(signer.public_key_der()).unwrap();
    TestKey {
        _dir: dir,
        signer,
        public,
    }
}

pub fn entry(seq: i64) -> Entry {
    Entry {
        seq,
        kind: if seq % 3 == 0 {
            "issuance.intent"
        } else {
            "certificate.issued"
        }
        .into(),
        subject: (seq % 4 != 0).then(|| format!("device-{seq:05}")),
        at: 1_767_225_600 + seq,
        data_json: format!(r#"{{"serial":"{seq:x}","order":"o-1"}}"#).into_bytes(),
    }
}

/// An in-memory audit log with its signed checkpoints.
pub struct Log {
    pub entries: Vec<Entry>,
    pub checkpoints: Vec<SignedCheckpoint>,
}

/// `n` entries, a checkpoint signed after each size in `at`.
pub fn log(n: i64, at: &[u64], signer: &dyn Signer) -> Log {
    let entries: Vec<Entry> = (1..=n).map(entry).collect();
    let mut tree = CompactTree::new();
    let mut checkpoints = Vec::new();
    for size in 0..=n as u64 {
        if size > 0 {
            tree.push(entries[size as usize - 1].leaf_hash());
        }
        if at.contains(&size) {
            let cp = Checkpoint {
                origin: ORIGIN.into(),
                tree_size: size,
                root_hash: tree.root(),
                timestamp: 1_767_300_000 + size as i64,
            };
            checkpoints.push(cp.sign(signer).unwrap());
        }
    }
    Log {
        entries,
        checkpoints,
    }
}
