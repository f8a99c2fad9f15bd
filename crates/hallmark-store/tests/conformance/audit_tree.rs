//! The audit log's Merkle tree: one sequencer at a time, contiguous leaf
//! hashes, checkpoints only at the new tree size.

use hallmark_store::{AuditEvent, Store, StoreError, StoredCheckpoint};
use serde_json::json;

use super::fixtures::{NOW, TestResult, refused};

async fn append(store: &dyn Store, n: usize) -> TestResult {
    for i in 0..n {
        store
            .append_audit(AuditEvent::new("test", None, NOW, json!({ "i": i })))
            .await?;
    }
    Ok(())
}

fn checkpoint(size: i64) -> StoredCheckpoint {
    StoredCheckpoint {
        tree_size: size,
        root_hash: [size as u8; 32],
        timestamp: NOW + size,
        signed: format!("{{\"size\":{size}}}").into_bytes(),
        frontier: vec![[1; 32], [2; 32]],
    }
}

/// The lease goes to one holder until it expires; the holder renews it.
pub async fn sequencer_lease_is_exclusive(store: &dyn Store) -> TestResult {
    assert!(store.acquire_sequencer("node-a", NOW, 30).await?);
    assert!(!store.acquire_sequencer("node-b", NOW + 10, 30).await?);
    assert!(
        store.acquire_sequencer("node-a", NOW + 20, 30).await?,
        "renewal"
    );
    assert!(!store.acquire_sequencer("node-b", NOW + 49, 30).await?);
    assert!(
        store.acquire_sequencer("node-b", NOW + 51, 30).await?,
        "takeover after expiry"
    );
    // The old holder can no longer integrate.
    append(store, 1).await?;
    let err = refused(
        store
            .integrate_audit("node-a", NOW + 52, 1, vec![[9; 32]], None)
            .await,
    )?;
    assert!(
        matches!(err, StoreError::NotSequencer { ref holder } if holder == "node-b"),
        "{err}"
    );
    Ok(())
}

/// Leaf hashes go in contiguously; checkpoints land at the new size only.
pub async fn integration_is_contiguous(store: &dyn Store) -> TestResult {
    append(store, 5).await?;
    assert!(store.acquire_sequencer("seq", NOW, 60).await?);
    let wrong_start = store
        .integrate_audit("seq", NOW, 2, vec![[2; 32]], None)
        .await;
    assert!(matches!(wrong_start, Err(StoreError::Invalid { .. })));
    let wrong_size = store
        .integrate_audit("seq", NOW, 1, vec![[1; 32], [2; 32]], Some(checkpoint(3)))
        .await;
    assert!(matches!(wrong_size, Err(StoreError::Invalid { .. })));
    assert!(
        store.audit_leaf_hashes(0, 10).await?.is_empty(),
        "refusals wrote nothing"
    );

    store
        .integrate_audit(
            "seq",
            NOW,
            1,
            vec![[1; 32], [2; 32], [3; 32]],
            Some(checkpoint(3)),
        )
        .await?;
    store
        .integrate_audit("seq", NOW, 4, vec![[4; 32]], None)
        .await?;
    let stale = store
        .integrate_audit("seq", NOW, 5, vec![[5; 32]], Some(checkpoint(3)))
        .await;
    assert!(matches!(stale, Err(StoreError::Invalid { .. })));
    store
        .integrate_audit("seq", NOW, 5, vec![[5; 32]], Some(checkpoint(5)))
        .await?;

    let hashes = store.audit_leaf_hashes(0, 10).await?;
    let expected: Vec<(i64, [u8; 32])> = (1..=5).map(|i| (i, [i as u8; 32])).collect();
    assert_eq!(hashes, expected);
    assert_eq!(store.audit_leaf_hashes(3, 1).await?, vec![(4, [4; 32])]);
    let checkpoints = store.audit_checkpoints().await?;
    assert_eq!(checkpoints, vec![checkpoint(3), checkpoint(5)]);
    Ok(())
}
