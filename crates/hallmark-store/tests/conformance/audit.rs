//! The audit log: sequencing, exact bytes, atomicity with the action.

use hallmark_store::{AuditEvent, Store};
use serde_json::json;

use super::fixtures::{NOW, TestResult, audit_len, event, intent, refused, setup_cas};

/// Seqs start at 1 and increase by one per committed event; data comes back
/// as the exact bytes stored and parses to the value given; paging works.
pub async fn audit_seq_and_bytes(store: &dyn Store) -> TestResult {
    let payloads = [
        json!({}),
        json!({ "z": 1, "a": [1, 2, { "nested": null }], "m": "ünïcødé ✓" }),
        json!({ "big": u64::MAX, "neg": -42, "float": 0.1, "bool": true }),
        json!("just a string"),
        json!([3, 2, 1]),
    ];
    let mut expected = Vec::new();
    for (i, data) in payloads.iter().enumerate() {
        let subject = (i % 2 == 0).then(|| format!("dev-{i}"));
        let given = AuditEvent::new("config.changed", subject, NOW + i as i64, data.clone());
        let seq = store.append_audit(given.clone()).await?;
        expected.push((seq, given));
    }
    let seqs: Vec<i64> = expected.iter().map(|(seq, _)| *seq).collect();
    assert_eq!(seqs, [1, 2, 3, 4, 5]);

    let log = store.audit_events(0, 100).await?;
    assert_eq!(log.len(), expected.len());
    for (record, (seq, given)) in log.iter().zip(&expected) {
        assert_eq!(record.seq, *seq);
        assert_eq!(record.kind, given.kind);
        assert_eq!(record.subject, given.subject);
        assert_eq!(record.at, given.at);
        assert_eq!(record.data, given.data);
        assert_eq!(record.data_json, serde_json::to_vec(&given.data)?);
    }

    let page = store.audit_events(2, 2).await?;
    assert_eq!(page.iter().map(|r| r.seq).collect::<Vec<_>>(), [3, 4]);
    assert!(store.audit_events(5, 10).await?.is_empty());
    Ok(())
}

/// A refused reservation rolls back its whole transaction: no audit event
/// from that call, and the seq stays gap-free. The refusal itself is then
/// logged on its own.
pub async fn refusal_appends_no_audit_event(store: &dyn Store) -> TestResult {
    setup_cas(store).await?;
    let first = store
        .reserve_issuance(intent("dev-1", 1, 1), event("issuance.reserved", "dev-1"))
        .await?;
    let before = audit_len(store).await?;
    refused(
        store
            .reserve_issuance(intent("dev-1", 2, 2), event("issuance.reserved", "dev-1"))
            .await,
    )?;
    refused(
        store
            .reserve_issuance(intent("dev-2", 1, 3), event("issuance.reserved", "dev-2"))
            .await,
    )?;
    refused(
        store
            .reserve_issuance(intent("dev-3", 3, 1), event("issuance.reserved", "dev-3"))
            .await,
    )?;
    assert_eq!(audit_len(store).await?, before);

    let logged = store
        .append_audit(AuditEvent::new(
            "issuance.refused",
            Some("dev-1".into()),
            NOW,
            json!({ "reason": "device_id_taken" }),
        ))
        .await?;
    assert_eq!(
        logged,
        first.audit_seq + 1,
        "no seq was burnt by the refusals"
    );
    let next = store
        .reserve_issuance(intent("dev-4", 4, 4), event("issuance.reserved", "dev-4"))
        .await?;
    assert_eq!(next.audit_seq, logged + 1);
    assert_eq!(next.device_id, "dev-4");

    let log = store.audit_events(0, 100).await?;
    assert!(
        log.iter().enumerate().all(|(i, r)| r.seq == i as i64 + 1),
        "gap in {log:?}"
    );
    Ok(())
}
