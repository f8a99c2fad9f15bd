//! Orders and stations through SQLite itself.

use std::sync::Arc;

use hallmark_store::{SqliteStore, Store, StoreError};
use rusqlite::Connection;
use tokio::task::JoinSet;

use crate::conformance::fixtures::{NOW, TestResult, audit_len, event, setup_cas};
use crate::conformance::order_fixtures::{
    ORDER, counters, create, order_intent, pattern_order, station_cert, template_order, token,
};

/// A station revoked in the database cannot renew.
#[tokio::test]
async fn revoked_station_cannot_renew() -> TestResult {
    let (dir, store) = crate::fresh().await?;
    setup_cas(&store).await?;
    store
        .create_order(pattern_order(ORDER, 5), vec![token(1)], event("o", ORDER))
        .await?;
    store
        .enroll_station(&token(1), "st-1", station_cert(1), event("e", "st-1"))
        .await?;
    Connection::open(dir.path().join("hallmark.db"))?.execute(
        "UPDATE stations SET revoked_at = ?1 WHERE id = 'st-1'",
        [NOW + 5],
    )?;
    let before = audit_len(&store).await?;
    let err = store
        .renew_station("st-1", station_cert(2), event("r", "st-1"))
        .await
        .err()
        .ok_or("a revoked station renewed")?;
    assert!(
        matches!(&err, StoreError::StationRevoked { station_id } if station_id == "st-1"),
        "{err:?}"
    );
    assert_eq!(audit_len(&store).await?, before);
    let station = store.station("st-1").await?.ok_or("station missing")?;
    assert_eq!(
        (station.revoked_at, station.current),
        (Some(NOW + 5), station_cert(1))
    );
    assert_eq!(store.station_by_certificate(&[0x51, 2]).await?, None);
    Ok(())
}

/// Two stores on one file (as two processes would be) share one quota.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn quota_holds_across_stores_on_one_file() -> TestResult {
    let (dir, first) = crate::fresh().await?;
    let second = SqliteStore::open(&dir.path().join("hallmark.db"))?;
    setup_cas(&first).await?;
    create(&first, template_order(ORDER, 20)?).await?;
    let stores: [Arc<dyn Store>; 2] = [Arc::new(first), Arc::new(second)];
    let mut callers = JoinSet::new();
    for i in 0..60u64 {
        let store = Arc::clone(&stores[(i % 2) as usize]);
        callers.spawn(async move {
            let wanted = order_intent(ORDER, "", i, i);
            store.reserve_issuance(wanted, event("r", "d")).await
        });
    }
    let (mut won, mut exhausted) = (0, 0);
    while let Some(joined) = callers.join_next().await {
        match joined? {
            Ok(_) => won += 1,
            Err(StoreError::QuotaExhausted { .. }) => exhausted += 1,
            Err(e) => return Err(e.into()),
        }
    }
    assert_eq!((won, exhausted), (20, 40));
    assert_eq!(counters(stores[1].as_ref(), ORDER).await?, (0, 20, 0, 0));
    Ok(())
}

/// The schema itself refuses to count past the quantity.
#[tokio::test]
async fn schema_refuses_exceeding_quantity() -> TestResult {
    let (dir, store) = crate::fresh().await?;
    setup_cas(&store).await?;
    create(&store, pattern_order(ORDER, 1)).await?;
    let conn = Connection::open(dir.path().join("hallmark.db"))?;
    let exceed = "UPDATE orders SET reserved = reserved + 2 WHERE id = ?1";
    assert!(conn.execute(exceed, [ORDER]).is_err());
    assert_eq!(counters(&store, ORDER).await?, (0, 0, 0, 0));
    Ok(())
}
