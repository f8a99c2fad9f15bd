//! Order quota and template device ids.

use std::collections::BTreeSet;
use std::sync::Arc;

use hallmark_store::{Store, StoreError};
use tokio::task::JoinSet;

use super::fixtures::{CA, NOW, TestResult, audit_len, event, intent, refused, serial, setup_cas};
use super::order_fixtures::{
    ORDER, counters, create, order, order_intent, pattern_order, template_order,
};

const CERT: &[u8] = &[0x30, 0x00];

fn exhausted(e: &StoreError) -> bool {
    matches!(e, StoreError::QuotaExhausted { order_id, .. } if order_id == ORDER)
}

/// Reserving consumes quota, completing keeps it consumed, failing gives
/// it back; the quantity is never exceeded.
pub async fn quota_consumed_and_returned(store: &dyn Store) -> TestResult {
    setup_cas(store).await?;
    create(store, pattern_order(ORDER, 2)).await?;
    for n in 1..=2 {
        let device = format!("dev-{n}");
        store
            .reserve_issuance(order_intent(ORDER, &device, n, n), event("r", &device))
            .await?;
    }
    assert_eq!(counters(store, ORDER).await?, (0, 2, 0, 0));
    assert_eq!(order(store, ORDER).await?.left(), 0);
    let err = refused(
        store
            .reserve_issuance(order_intent(ORDER, "dev-3", 3, 3), event("r", "dev-3"))
            .await,
    )?;
    assert!(
        matches!(err, StoreError::QuotaExhausted { quantity: 2, .. }),
        "{err:?}"
    );
    assert_eq!(store.certificate_by_serial(CA, &serial(3)).await?, None);

    store
        .complete_issuance(
            CA,
            &serial(1),
            CERT.to_vec(),
            NOW,
            NOW + 1,
            event("i", "dev-1"),
        )
        .await?;
    store
        .fail_issuance(CA, &serial(2), "HSM".into(), event("f", "dev-2"))
        .await?;
    assert_eq!(counters(store, ORDER).await?, (1, 0, 0, 0));
    assert_eq!(
        order(store, ORDER).await?.left(),
        1,
        "the failure gave its unit back"
    );

    store
        .reserve_issuance(order_intent(ORDER, "dev-3", 3, 3), event("r", "dev-3"))
        .await?;
    let err = refused(
        store
            .reserve_issuance(order_intent(ORDER, "dev-4", 4, 4), event("r", "dev-4"))
            .await,
    )?;
    assert!(exhausted(&err), "{err:?}");
    assert_eq!(counters(store, ORDER).await?, (1, 1, 0, 0));

    // Reservations without an order are not limited by it.
    store
        .reserve_issuance(intent("dev-5", 5, 5), event("r", "dev-5"))
        .await?;
    assert_eq!(counters(store, ORDER).await?, (1, 1, 0, 0));
    Ok(())
}

/// Template ids are 1, 2, 3, … in order; a failed issuance does not give
/// its number back; the assigned id is in the record and the event.
pub async fn template_ids_assigned(store: &dyn Store) -> TestResult {
    setup_cas(store).await?;
    create(store, template_order(ORDER, 10)?).await?;
    let mut ids = Vec::new();
    for n in 1..=3 {
        let mut reserving = event("issuance.reserved", "placeholder");
        reserving.subject = None;
        let reserved = store
            .reserve_issuance(order_intent(ORDER, "", n, n), reserving)
            .await?;
        let record = store.certificate_by_serial(CA, &serial(n)).await?;
        assert_eq!(
            record.ok_or("no record")?.intent.device_id,
            reserved.device_id
        );
        let logged = store.audit_events(reserved.audit_seq - 1, 1).await?;
        let logged = logged.first().ok_or("no event")?;
        assert_eq!(logged.subject.as_deref(), Some(reserved.device_id.as_str()));
        assert_eq!(logged.data["device_id"], reserved.device_id.as_str());
        assert_eq!(logged.data["subject"], "placeholder", "other data kept");
        ids.push(reserved.device_id);
    }
    assert_eq!(
        ids,
        ["ACME-sensor-0001", "ACME-sensor-0002", "ACME-sensor-0003"]
    );

    store
        .fail_issuance(CA, &serial(3), "HSM".into(), event("f", "d"))
        .await?;
    let next = store
        .reserve_issuance(order_intent(ORDER, "", 4, 4), event("r", "d"))
        .await?;
    assert_eq!(
        next.device_id, "ACME-sensor-0004",
        "0003 is not handed out again"
    );

    // The next id is taken by a reservation outside the order: refused,
    // and the whole reservation (sequence number included) rolls back.
    store
        .reserve_issuance(intent("ACME-sensor-0005", 5, 5), event("r", "d"))
        .await?;
    let before = audit_len(store).await?;
    let err = refused(
        store
            .reserve_issuance(order_intent(ORDER, "", 6, 6), event("r", "d"))
            .await,
    )?;
    assert!(
        matches!(&err, StoreError::DeviceIdTaken { device_id } if device_id == "ACME-sensor-0005"),
        "{err:?}"
    );
    assert_eq!(audit_len(store).await?, before);
    assert_eq!(counters(store, ORDER).await?, (0, 3, 0, 0));
    store
        .fail_issuance(CA, &serial(5), "freed".into(), event("f", "d"))
        .await?;
    let retried = store
        .reserve_issuance(order_intent(ORDER, "", 6, 6), event("r", "d"))
        .await?;
    assert_eq!(retried.device_id, "ACME-sensor-0005");
    Ok(())
}

const QUANTITY: u64 = 50;
const CALLERS: u64 = 120;

/// 120 concurrent reservations against an order of 50: exactly 50 win,
/// every other caller is told the quota is exhausted, ids are distinct.
pub async fn quota_never_exceeded(store: Arc<dyn Store>) -> TestResult {
    setup_cas(store.as_ref()).await?;
    create(store.as_ref(), template_order(ORDER, QUANTITY)?).await?;
    let before = audit_len(store.as_ref()).await?;
    let mut callers = JoinSet::new();
    for i in 0..CALLERS {
        let store = Arc::clone(&store);
        callers.spawn(async move {
            let wanted = order_intent(ORDER, "", 1000 + i, 1000 + i);
            store.reserve_issuance(wanted, event("r", "d")).await
        });
    }
    let mut ids = BTreeSet::new();
    let mut refusals = 0;
    while let Some(joined) = callers.join_next().await {
        match joined? {
            Ok(reserved) => assert!(ids.insert(reserved.device_id), "id handed out twice"),
            Err(e) if exhausted(&e) => refusals += 1,
            Err(e) => return Err(e.into()),
        }
    }
    assert_eq!((ids.len() as u64, refusals), (QUANTITY, CALLERS - QUANTITY));
    let expected: BTreeSet<String> = (1..=QUANTITY)
        .map(|n| format!("ACME-sensor-{n:04}"))
        .collect();
    assert_eq!(ids, expected, "sequence numbers 1..=50, no gaps");
    assert_eq!(counters(store.as_ref(), ORDER).await?, (0, QUANTITY, 0, 0));
    assert_eq!(audit_len(store.as_ref()).await?, before + QUANTITY as usize);
    Ok(())
}
