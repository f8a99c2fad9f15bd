//! Concurrent callers: the database is the arbiter.

use std::collections::BTreeSet;
use std::future::Future;
use std::sync::Arc;

use hallmark_store::{AuditSeq, IssuanceStatus, Store, StoreError};
use tokio::task::JoinSet;

use super::fixtures::{CA, NOW, TestResult, audit_len, event, intent, serial, setup_cas};

const CALLERS: u64 = 64;

/// Runs `CALLERS` reservations at once; `make(i)` builds caller i's intent.
async fn reserve_all(
    store: &Arc<dyn Store>,
    make: impl Fn(u64) -> hallmark_store::IssuanceIntent,
) -> TestResult<Vec<Result<AuditSeq, StoreError>>> {
    let mut callers = JoinSet::new();
    for i in 0..CALLERS {
        let store = Arc::clone(store);
        let wanted = make(i);
        callers.spawn(async move {
            let subject = wanted.device_id.clone();
            store
                .reserve_issuance(wanted, event("issuance.reserved", &subject))
                .await
                .map(|reservation| reservation.audit_seq)
        });
    }
    let mut results = Vec::new();
    while let Some(joined) = callers.join_next().await {
        results.push(joined?);
    }
    Ok(results)
}

/// 64 concurrent reservations of distinct devices all succeed, each with
/// its own audit seq.
pub async fn concurrent_distinct_devices(store: Arc<dyn Store>) -> TestResult {
    setup_cas(store.as_ref()).await?;
    let before = audit_len(store.as_ref()).await?;
    let results = reserve_all(&store, |i| intent(&format!("dev-{i}"), i, i)).await?;
    let seqs: BTreeSet<AuditSeq> = results.into_iter().collect::<Result<_, _>>()?;
    assert_eq!(seqs.len() as u64, CALLERS, "every caller got its own seq");
    assert_eq!(audit_len(store.as_ref()).await?, before + CALLERS as usize);
    for i in 0..CALLERS {
        let record = store
            .certificate_by_serial(CA, &serial(i))
            .await?
            .ok_or("lost record")?;
        assert_eq!(record.status, IssuanceStatus::Pending);
        assert_eq!(record.intent.device_id, format!("dev-{i}"));
    }
    Ok(())
}

/// 64 concurrent reservations of the same device id: exactly one wins,
/// every other caller is told the device id is taken.
pub async fn concurrent_same_device(store: Arc<dyn Store>) -> TestResult {
    setup_cas(store.as_ref()).await?;
    let before = audit_len(store.as_ref()).await?;
    let results = reserve_all(&store, |i| intent("dev-contested", i, i)).await?;
    let wins = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(wins, 1, "{results:?}");
    for result in &results {
        if let Err(e) = result {
            assert!(
                matches!(e, StoreError::DeviceIdTaken { device_id } if device_id == "dev-contested"),
                "{e:?}"
            );
        }
    }
    assert_eq!(audit_len(store.as_ref()).await?, before + 1);
    Ok(())
}

/// 64 concurrent reservations of the same public key for different
/// devices: one wins, the others are told which device holds the key.
pub async fn concurrent_same_public_key(store: Arc<dyn Store>) -> TestResult {
    setup_cas(store.as_ref()).await?;
    let results = reserve_all(&store, |i| intent(&format!("dev-{i}"), 7, i)).await?;
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        1,
        "{results:?}"
    );
    let winner = store
        .device_for_public_key(&super::fixtures::key_hash(7))
        .await?
        .ok_or("no winner recorded")?;
    for result in &results {
        if let Err(e) = result {
            assert!(
                matches!(e, StoreError::PublicKeyTaken { device_id } if *device_id == winner),
                "{e:?}"
            );
        }
    }
    Ok(())
}

/// Everything committed is there after the store is closed and reopened.
pub async fn survives_reopen<F, Fut>(open: F) -> TestResult
where
    F: Fn() -> Fut,
    Fut: Future<Output = TestResult<Arc<dyn Store>>>,
{
    {
        let store = open().await?;
        store.migrate().await?;
        setup_cas(store.as_ref()).await?;
        store
            .reserve_issuance(intent("dev-1", 1, 1), event("issuance.reserved", "dev-1"))
            .await?;
        store
            .complete_issuance(
                CA,
                &serial(1),
                vec![0x30, 0x00],
                NOW,
                NOW + 1,
                event("issued", "dev-1"),
            )
            .await?;
        store
            .reserve_issuance(intent("dev-2", 2, 2), event("issuance.reserved", "dev-2"))
            .await?;
    }
    let store = open().await?;
    store.migrate().await?;
    assert_eq!(store.authority_keys().await?.len(), 3);
    assert_eq!(store.count_issued(Some(CA)).await?, 1);
    let pending = store
        .certificate_by_device("dev-2")
        .await?
        .ok_or("lost reservation")?;
    assert_eq!(pending.status, IssuanceStatus::Pending);
    assert_eq!(audit_len(store.as_ref()).await?, 6);
    let next = store.append_audit(event("store.reopened", "x")).await?;
    assert_eq!(next, 7, "seq continues after reopening");
    Ok(())
}
