//! The PostgreSQL backend: the conformance suite, each check in a database
//! of its own (`HALLMARK_TEST_PG`, default
//! `postgres://postgres@127.0.0.1:5432/postgres`), plus what only a shared
//! server can show: several stores ("nodes") on one database, schema
//! versions, refused URLs. An unreachable server fails these tests with how
//! to start one.

mod conformance;

use std::collections::BTreeSet;
use std::sync::Arc;

use conformance::fixtures::{NOW, TestResult, event, setup_cas};
use conformance::order_fixtures::{ORDER, create, order, order_intent, pattern_order};
use conformance::{
    at_once, audit, audit_tree, concurrency, issuance, keys, offline, orders, quota, renewals,
    revocation, revocation_reads, stations,
};
use hallmark_store::{AuditEvent, PgStore, Store, StoreError};
use hallmark_testkit::postgres::TestDatabase;
use serde_json::json;
use tokio::task::JoinSet;

/// A connected store on `db` (one "node").
async fn connect(db: &TestDatabase) -> TestResult<PgStore> {
    Ok(PgStore::connect(db.url(), None, 8).await?)
}

/// A fresh, migrated store in a database of its own (dropped with the
/// returned `TestDatabase`).
async fn fresh() -> TestResult<(TestDatabase, PgStore)> {
    let db = TestDatabase::create();
    let store = connect(&db).await?;
    store.migrate().await?;
    Ok((db, store))
}

async fn fresh_shared() -> TestResult<(TestDatabase, Arc<dyn Store>)> {
    let (db, store) = fresh().await?;
    Ok((db, Arc::new(store)))
}

macro_rules! conformance {
    ($($check:path => $name:ident),+ $(,)?) => {$(
        #[tokio::test]
        async fn $name() -> TestResult {
            let (_db, store) = fresh().await?;
            $check(&store).await
        }
    )+};
}

conformance! {
    keys::migrate_is_idempotent => migrate_is_idempotent,
    at_once::issues_with_assigned_id => at_once_issues_with_assigned_id,
    at_once::failed_sign_step_is_recorded => at_once_failed_sign_step_is_recorded,
    at_once::refusal_skips_the_sign_step => at_once_refusal_skips_the_sign_step,
    at_once::refused_completion_rolls_everything_back => at_once_refused_completion_rolls_everything_back,
    at_once::panicking_sign_step_writes_nothing => at_once_panicking_sign_step_writes_nothing,
    keys::authority_keys_round_trip => authority_keys_round_trip,
    keys::duplicate_authority_key => duplicate_authority_key,
    issuance::reserve_complete_lifecycle => reserve_complete_lifecycle,
    issuance::fail_frees_device_and_key => fail_frees_device_and_key,
    issuance::pending_issuances_listed => pending_issuances_listed,
    issuance::device_id_taken => device_id_taken,
    issuance::public_key_taken => public_key_taken,
    issuance::serial_never_reused => serial_never_reused,
    issuance::complete_requires_pending => complete_requires_pending,
    issuance::bad_reservations_refused => bad_reservations_refused,
    issuance::issued_certificates_listed => issued_certificates_listed,
    issuance::key_origin_is_kept => key_origin_is_kept,
    audit::audit_seq_and_bytes => audit_seq_and_bytes,
    audit::refusal_appends_no_audit_event => refusal_appends_no_audit_event,
    audit_tree::sequencer_lease_is_exclusive => sequencer_lease_is_exclusive,
    audit_tree::integration_is_contiguous => integration_is_contiguous,
    orders::create_order_round_trip => create_order_round_trip,
    orders::bad_orders_refused => bad_orders_refused,
    orders::device_id_rules => device_id_rules,
    orders::order_window_and_close => order_window_and_close,
    orders::refusals_counted => refusals_counted,
    quota::quota_consumed_and_returned => quota_consumed_and_returned,
    quota::template_ids_assigned => template_ids_assigned,
    renewals::renewal_supersedes_and_fail_restores => renewal_supersedes_and_fail_restores,
    renewals::renewal_needs_issued_record => renewal_needs_issued_record,
    renewals::renewal_with_new_key => renewal_with_new_key,
    stations::enroll_station_once => enroll_station_once,
    stations::enroll_refused_when_order_unavailable => enroll_refused_when_order_unavailable,
    stations::renew_station_keeps_old_certificates => renew_station_keeps_old_certificates,
    stations::revoked_station_cannot_complete_an_issuance => revoked_station_cannot_complete_an_issuance,
    revocation::revoke_issued_certificates => revoke_issued_certificates,
    revocation::revocation_is_idempotent => revocation_is_idempotent,
    revocation::revocation_refusals_write_nothing => revocation_refusals_write_nothing,
    revocation::revoke_station_stops_credential => revoke_station_stops_credential,
    revocation_reads::selections_for_bulk_revocation => selections_for_bulk_revocation,
    revocation_reads::crl_numbers_grow => crl_numbers_grow,
    offline::allocation_takes_quota => offline_allocation_takes_quota,
    offline::bad_allocations_refused => offline_bad_allocations_refused,
    offline::template_block_reserved => offline_template_block_reserved,
    offline::import_continues_log => offline_import_continues_log,
    offline::bad_imports_refused => offline_bad_imports_refused,
    offline::close_returns_unused_quota => offline_close_returns_unused_quota,
}

macro_rules! conformance_concurrent {
    ($($check:path => $multi:ident, $current:ident),+ $(,)?) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn $multi() -> TestResult {
            let (_db, store) = fresh_shared().await?;
            $check(store).await
        }

        #[tokio::test]
        async fn $current() -> TestResult {
            let (_db, store) = fresh_shared().await?;
            $check(store).await
        }
    )+};
}

conformance_concurrent! {
    concurrency::concurrent_distinct_devices
        => concurrent_distinct_devices, concurrent_distinct_devices_current_thread,
    concurrency::concurrent_same_device
        => concurrent_same_device, concurrent_same_device_current_thread,
    concurrency::concurrent_same_public_key
        => concurrent_same_public_key, concurrent_same_public_key_current_thread,
    quota::quota_never_exceeded
        => quota_never_exceeded, quota_never_exceeded_current_thread,
}

#[tokio::test]
async fn survives_reopen() -> TestResult {
    let db = TestDatabase::create();
    concurrency::survives_reopen(|| {
        let url = db.url().to_owned();
        async move { Ok(Arc::new(PgStore::connect(&url, None, 4).await?) as Arc<dyn Store>) }
    })
    .await
}

fn audit_event(i: usize) -> AuditEvent {
    AuditEvent::new("test.write", None, NOW, json!({ "i": i }))
}

/// Three stores on one database ("nodes"), 50 appends each at once: the log
/// holds seq 1..=150 with no gap, every caller got its own seq.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn audit_seq_gap_free_across_nodes() -> TestResult {
    let (db, first) = fresh().await?;
    let nodes: Vec<Arc<PgStore>> = vec![
        Arc::new(first),
        Arc::new(connect(&db).await?),
        Arc::new(connect(&db).await?),
    ];
    let mut writers = JoinSet::new();
    for (n, node) in nodes.iter().enumerate() {
        for i in 0..50 {
            let node = Arc::clone(node);
            writers.spawn(async move { node.append_audit(audit_event(n * 100 + i)).await });
        }
    }
    let mut seqs = BTreeSet::new();
    while let Some(joined) = writers.join_next().await {
        assert!(seqs.insert(joined??), "a seq was handed out twice");
    }
    assert_eq!(seqs, (1..=150).collect::<BTreeSet<i64>>());
    let log = nodes[2].audit_events(0, 1000).await?;
    assert!(log.iter().enumerate().all(|(i, r)| r.seq == i as i64 + 1));
    assert_eq!(log.len(), 150);
    Ok(())
}

/// Three nodes reserve 90 devices at once under an order of 40: exactly 40
/// win, the rest are told the quota is exhausted, and the counters agree.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn quota_exact_across_nodes() -> TestResult {
    let (db, first) = fresh().await?;
    setup_cas(&first).await?;
    create(&first, pattern_order(ORDER, 40)).await?;
    let nodes: Vec<Arc<PgStore>> = vec![
        Arc::new(first),
        Arc::new(connect(&db).await?),
        Arc::new(connect(&db).await?),
    ];
    let mut callers = JoinSet::new();
    for i in 0..90u64 {
        let node = Arc::clone(&nodes[i as usize % 3]);
        callers.spawn(async move {
            let device = format!("dev-{i}");
            node.reserve_issuance(order_intent(ORDER, &device, i, i), event("r", &device))
                .await
        });
    }
    let (mut won, mut exhausted) = (0, 0);
    while let Some(joined) = callers.join_next().await {
        match joined? {
            Ok(_) => won += 1,
            Err(StoreError::QuotaExhausted { .. }) => exhausted += 1,
            Err(e) => return Err(format!("unexpected refusal {e:?}").into()),
        }
    }
    assert_eq!((won, exhausted), (40, 50));
    let record = order(nodes[1].as_ref(), ORDER).await?;
    assert_eq!((record.pending, record.left()), (40, 0));
    assert_eq!(nodes[0].pending_issuances(NOW + 1).await?.len(), 40);
    Ok(())
}

/// Nodes starting together migrate once; the schema version is recorded.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_migrations() -> TestResult {
    let db = TestDatabase::create();
    let mut nodes = JoinSet::new();
    for _ in 0..4 {
        let url = db.url().to_owned();
        nodes.spawn(async move {
            let store = PgStore::connect(&url, None, 2).await?;
            store.migrate().await?;
            Ok::<_, StoreError>(store)
        });
    }
    while let Some(joined) = nodes.join_next().await {
        joined??;
    }
    assert_eq!(
        db.query("SELECT string_agg(version::text, ',') FROM schema_migrations"),
        ["1"]
    );
    Ok(())
}

/// A database written by a newer build is refused, not modified.
#[tokio::test]
async fn newer_schema_refused() -> TestResult {
    let (db, store) = fresh().await?;
    db.query("INSERT INTO schema_migrations (version, applied_at) VALUES (99, 0)");
    let err = store.migrate().await.err().ok_or("newer schema accepted")?;
    assert!(
        matches!(
            err,
            StoreError::SchemaTooNew {
                found: 99,
                supported: 1
            }
        ),
        "{err:?}"
    );
    Ok(())
}

/// A password in the URL is refused without being repeated.
#[tokio::test]
async fn password_in_url_refused() -> TestResult {
    let err = PgStore::connect("postgres://postgres:s3cr3t-pw@127.0.0.1:5432/x", None, 1)
        .await
        .err()
        .ok_or("a URL with a password was accepted")?;
    assert!(
        matches!(
            err,
            StoreError::Invalid {
                what: "PostgreSQL URL",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(!format!("{err} {err:?}").contains("s3cr3t-pw"), "{err:?}");
    Ok(())
}

/// An unreachable server is a backend error naming where it looked.
#[tokio::test]
async fn unreachable_server_reported() -> TestResult {
    // Port 9 (discard) on loopback: nothing listens there.
    let err = PgStore::connect("postgres://postgres@127.0.0.1:9/postgres", None, 1)
        .await
        .err()
        .ok_or("connected to nothing")?;
    assert!(
        matches!(
            err,
            StoreError::Backend {
                operation: "connect to PostgreSQL",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("connect to PostgreSQL"));
    let source = std::error::Error::source(&err).map(ToString::to_string);
    assert!(source.is_some_and(|s| s.contains("127.0.0.1:9")), "{err:?}");
    Ok(())
}

/// Data is stored with PostgreSQL's types: audit bytes exactly as given.
#[tokio::test]
async fn audit_bytes_stored_verbatim() -> TestResult {
    let (db, store) = fresh().await?;
    let data = json!({"b": 1, "a": [true, null], "s": "ünïcode"});
    let seq = store
        .append_audit(AuditEvent::new(
            "test.bytes",
            Some("dev-1".into()),
            NOW,
            data.clone(),
        ))
        .await?;
    let stored = db.query(&format!(
        "SELECT convert_from(data, 'UTF8') FROM audit_log WHERE seq = {seq}"
    ));
    assert_eq!(stored, [serde_json::to_string(&data)?]);
    let record = &store.audit_events(seq - 1, 1).await?[0];
    assert_eq!(record.data_json, serde_json::to_vec(&data)?);
    Ok(())
}
