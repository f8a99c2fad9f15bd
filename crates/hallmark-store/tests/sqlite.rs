//! The SQLite backend: the conformance suite on real database files, plus
//! SQLite-specific checks (batching, close, pragmas, schema versions).

mod conformance;
mod sqlite_only;

use std::path::Path;
use std::sync::Arc;

use conformance::fixtures::{NOW, TestResult};
use conformance::{
    at_once, audit, audit_tree, concurrency, issuance, keys, offline, orders, quota, renewals,
    revocation, revocation_reads, stations,
};
use hallmark_store::{AuditEvent, SqliteStore, Store, StoreError};
use serde_json::json;
use tempfile::TempDir;

/// A fresh, migrated store in its own temporary directory (kept alive by
/// the returned `TempDir`).
async fn fresh() -> TestResult<(TempDir, SqliteStore)> {
    let dir = tempfile::tempdir()?;
    let store = SqliteStore::open(&dir.path().join("hallmark.db"))?;
    store.migrate().await?;
    Ok((dir, store))
}

async fn fresh_shared() -> TestResult<(TempDir, Arc<dyn Store>)> {
    let (dir, store) = fresh().await?;
    Ok((dir, Arc::new(store)))
}

macro_rules! conformance {
    ($($check:path => $name:ident),+ $(,)?) => {$(
        #[tokio::test]
        async fn $name() -> TestResult {
            let (_dir, store) = fresh().await?;
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
            let (_dir, store) = fresh_shared().await?;
            $check(store).await
        }

        #[tokio::test]
        async fn $current() -> TestResult {
            let (_dir, store) = fresh_shared().await?;
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
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("hallmark.db");
    concurrency::survives_reopen(|| {
        let path = path.clone();
        async move { Ok(Arc::new(SqliteStore::open(&path)?) as Arc<dyn Store>) }
    })
    .await
}

fn audit_event(i: usize) -> AuditEvent {
    AuditEvent::new("test.write", None, NOW, json!({ "i": i }))
}

/// 200 concurrent writers share commits: fewer commits than jobs. (A claim
/// about structure: the writer drains its queue into one transaction.)
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn batching_shares_commits() -> TestResult {
    let (_dir, store) = fresh().await?;
    let store = Arc::new(store);
    let before = store.stats();
    let mut writers = tokio::task::JoinSet::new();
    for i in 0..200 {
        let store = Arc::clone(&store);
        writers.spawn(async move { store.append_audit(audit_event(i)).await });
    }
    while let Some(joined) = writers.join_next().await {
        joined??;
    }
    let after = store.stats();
    let (jobs, commits) = (after.jobs - before.jobs, after.commits - before.commits);
    assert_eq!(jobs, 200);
    assert!(
        commits < jobs,
        "{commits} commits for {jobs} jobs: no batching"
    );
    assert!(after.largest_batch > 1);
    assert_eq!(after.failed_batches, 0);
    let log = store.audit_events(0, 1000).await?;
    assert!(log.iter().enumerate().all(|(i, r)| r.seq == i as i64 + 1));
    assert_eq!(log.len(), 200);
    Ok(())
}

/// A one-transaction issuance is one writer job and one commit, where
/// reserve + complete are two of each.
#[tokio::test]
async fn issue_at_once_is_one_commit() -> TestResult {
    use hallmark_store::IssueAtOnce;
    let (_dir, store) = fresh().await?;
    conformance::fixtures::setup_cas(&store).await?;
    let before = store.stats();
    let step = at_once::signing(&Arc::default());
    let intent = conformance::fixtures::intent("dev-1", 1, 1);
    let event = conformance::fixtures::event("issuance.intent", "dev-1");
    store.issue_at_once(intent, event, step).await?;
    let after = store.stats();
    assert_eq!(
        (after.jobs - before.jobs, after.commits - before.commits),
        (1, 1)
    );
    Ok(())
}

/// Commits reach the database file itself, not only the WAL, long before
/// the WAL would reach SQLite's own checkpoint size: the store's checkpoint
/// thread copies them. (Checked on a copy of the main file alone.)
#[tokio::test]
async fn checkpoints_run_in_the_background() -> TestResult {
    let (dir, store) = fresh().await?;
    for i in 0..20 {
        store.append_audit(audit_event(i)).await?;
    }
    let copy = dir.path().join("copy.db");
    for _ in 0..100 {
        std::fs::copy(dir.path().join("hallmark.db"), &copy)?;
        let _ = std::fs::remove_file(dir.path().join("copy.db-wal"));
        // A copy taken mid-checkpoint may be torn: then look again.
        let copied: rusqlite::Result<i64> = rusqlite::Connection::open(&copy).and_then(|c| {
            c.query_row(
                "SELECT COUNT(*) FROM audit_log WHERE kind = 'test.write'",
                [],
                |row| row.get(0),
            )
        });
        if copied.ok() == Some(20) {
            return Ok(());
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    drop(store);
    Err("after 5 s the events were still only in the WAL".into())
}

/// Dropping the store commits every job already queued, even if its caller
/// stopped waiting.
#[tokio::test]
async fn drop_commits_queued_jobs() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("hallmark.db");
    let store = SqliteStore::open(&path)?;
    store.migrate().await?;
    for i in 0..20 {
        // Poll each append just far enough to queue its job, then abandon it.
        let append = tokio::task::unconstrained(store.append_audit(audit_event(i)));
        tokio::select! {
            biased;
            _ = append => {}
            () = std::future::ready(()) => {}
        }
    }
    drop(store);
    let store = SqliteStore::open(&path)?;
    assert_eq!(store.audit_events(0, 100).await?.len(), 20);
    Ok(())
}

/// The file is in WAL mode with the schema version recorded.
#[tokio::test]
async fn wal_mode_and_schema_version() -> TestResult {
    let (dir, store) = fresh().await?;
    let conn = rusqlite::Connection::open(dir.path().join("hallmark.db"))?;
    let mode: String = conn.query_row("PRAGMA journal_mode", [], |row| row.get(0))?;
    assert_eq!(mode, "wal");
    let versions: i64 = conn.query_row("SELECT MAX(version) FROM schema_migrations", [], |r| {
        r.get(0)
    })?;
    assert_eq!(versions, 5);
    drop(store);
    Ok(())
}

/// A database written by a newer build is refused, not modified.
#[tokio::test]
async fn newer_schema_refused() -> TestResult {
    let (dir, store) = fresh().await?;
    let conn = rusqlite::Connection::open(dir.path().join("hallmark.db"))?;
    conn.execute(
        "INSERT INTO schema_migrations (version, applied_at) VALUES (99, 0)",
        [],
    )?;
    let err = store.migrate().await.err().ok_or("newer schema accepted")?;
    assert!(
        matches!(
            err,
            StoreError::SchemaTooNew {
                found: 99,
                supported: 5
            }
        ),
        "{err:?}"
    );
    Ok(())
}

/// Opening a path in a missing directory fails with a backend error.
#[tokio::test]
async fn open_reports_bad_path() -> TestResult {
    let dir = tempfile::tempdir()?;
    let err = SqliteStore::open(&dir.path().join("missing/dir/hallmark.db"))
        .err()
        .ok_or("opened a file in a missing directory")?;
    assert!(
        matches!(
            err,
            StoreError::Backend {
                operation: "open database",
                ..
            }
        ),
        "{err:?}"
    );
    let _: &Path = dir.path();
    Ok(())
}

/// A read-only store (the standalone OCSP responder's) answers reads and
/// refuses every write; a database with an older schema is refused.
#[tokio::test]
async fn read_only_store_refuses_writes() -> TestResult {
    let (dir, store) = fresh().await?;
    store.append_audit(audit_event(1)).await?;
    drop(store);
    let path = dir.path().join("hallmark.db");
    let read_only = SqliteStore::open_read_only(&path)?;
    assert_eq!(read_only.audit_events(0, 10).await?.len(), 1);
    assert_eq!(read_only.revocation_version("factory-berlin").await?, 0);
    let err = read_only
        .append_audit(audit_event(2))
        .await
        .err()
        .ok_or("a read-only store wrote")?;
    assert!(matches!(err, StoreError::Backend { .. }), "{err:?}");
    drop(read_only);
    assert_eq!(
        SqliteStore::open(&path)?.audit_events(0, 10).await?.len(),
        1
    );

    let conn = rusqlite::Connection::open(&path)?;
    conn.execute("DELETE FROM schema_migrations WHERE version = 5", [])?;
    let err = SqliteStore::open_read_only(&path)
        .err()
        .ok_or("an old schema was accepted")?;
    assert!(matches!(err, StoreError::Invalid { .. }), "{err:?}");
    Ok(())
}
