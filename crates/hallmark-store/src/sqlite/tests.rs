//! White-box tests: the unique indexes alone (without the pre-checks) map
//! to the right refusal, and the writer's batch rules.

use std::sync::Arc;
use std::time::Duration;

use rusqlite::{Connection, params};

use super::open_writer;
use super::txn;
use super::txn_issuance::issuance_conflict;
use super::writer::Writer;
use crate::StoreError;
use crate::model::{IssuanceIntent, KeyOrigin};

type TestResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

fn intent(device: &str, key: u8, serial: u8) -> IssuanceIntent {
    IssuanceIntent {
        ca_id: "ca".into(),
        serial: vec![serial; 16],
        device_id: device.into(),
        public_key_sha256: [key; 32],
        profile: "p".into(),
        key_origin: KeyOrigin::Station,
        order_id: None,
        station_id: None,
        requested_at: 0,
        renews: None,
    }
}

/// Inserts without any pre-check, as a racing node would.
fn raw_insert(conn: &Connection, i: &IssuanceIntent, status: &str) -> rusqlite::Result<usize> {
    conn.execute(
        "INSERT INTO certificates (ca_id, serial, device_id, public_key_sha256, profile, \
         key_origin, requested_at, status) VALUES (?1, ?2, ?3, ?4, 'p', 'station', 0, ?5)",
        params![i.ca_id, i.serial, i.device_id, i.public_key_sha256, status],
    )
}

#[test]
fn unique_indexes_are_the_arbiter() -> TestResult {
    let conn = Connection::open_in_memory()?;
    txn::migrate(&conn, 0)?;
    conn.execute(
        "INSERT INTO authority_keys (id, role, algorithm, key_uri, created_at) \
         VALUES ('ca', 'issuing', 'ecdsa-p256', 'file:ca', 0)",
        [],
    )?;
    raw_insert(&conn, &intent("dev-1", 1, 1), "pending")?;
    raw_insert(&conn, &intent("dev-9", 9, 9), "failed")?;

    let conflict = |i: &IssuanceIntent| match raw_insert(&conn, i, "pending") {
        Ok(_) => Err(format!("{i:?} was accepted")),
        Err(e) => Ok(issuance_conflict(&conn, i, e)),
    };
    let err = conflict(&intent("dev-1", 2, 2))?;
    assert!(matches!(&err, StoreError::DeviceIdTaken { device_id } if device_id == "dev-1"));
    let err = conflict(&intent("dev-2", 1, 2))?;
    assert!(matches!(&err, StoreError::PublicKeyTaken { device_id } if device_id == "dev-1"));
    let err = conflict(&intent("dev-2", 2, 1))?;
    assert!(matches!(err, StoreError::SerialTaken { .. }), "{err:?}");
    let err = conflict(&intent("dev-2", 2, 9))?;
    assert!(
        matches!(err, StoreError::SerialTaken { .. }),
        "failed rows keep serials"
    );

    // Failed rows hold neither device id nor key.
    raw_insert(&conn, &intent("dev-9", 9, 10), "pending")?;
    Ok(())
}

fn writer_on(dir: &tempfile::TempDir) -> Result<Writer, StoreError> {
    let conn = open_writer(&dir.path().join("w.db"))?;
    conn.execute_batch("CREATE TABLE t (v INTEGER NOT NULL UNIQUE)")
        .map_err(|e| StoreError::backend("setup", e))?;
    Writer::spawn(conn)
}

fn insert(v: i64) -> impl FnOnce(&rusqlite::Transaction<'_>) -> Result<(), StoreError> {
    move |tx| {
        tx.execute("INSERT INTO t (v) VALUES (?1)", [v])
            .map(drop)
            .map_err(|e| StoreError::backend("insert", e))
    }
}

fn count(dir: &tempfile::TempDir) -> rusqlite::Result<i64> {
    Connection::open(dir.path().join("w.db"))?.query_row("SELECT COUNT(*) FROM t", [], |r| r.get(0))
}

/// A job that breaks the transaction fails its whole batch: the job before
/// it in the same batch is not reported done and not committed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transaction_failure_fails_whole_batch() -> TestResult {
    let dir = tempfile::tempdir()?;
    let writer = Arc::new(writer_on(&dir)?);

    // Hold the writer inside a job until the two others are queued, so that
    // they land in the same (next) batch.
    let (running_tx, running_rx) = std::sync::mpsc::channel();
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let blocker = tokio::spawn({
        let writer = Arc::clone(&writer);
        async move {
            writer
                .submit(move |tx| {
                    let _ = running_tx.send(());
                    let _ = release_rx.recv_timeout(Duration::from_secs(10));
                    insert(0)(tx)
                })
                .await
        }
    });
    tokio::task::spawn_blocking(move || running_rx.recv_timeout(Duration::from_secs(10))).await??;
    let good = tokio::spawn({
        let writer = Arc::clone(&writer);
        async move { writer.submit(insert(1)).await }
    });
    while writer.queued() < 1 {
        tokio::task::yield_now().await;
    }
    let breaker = tokio::spawn({
        let writer = Arc::clone(&writer);
        async move {
            writer
                .submit(|tx| {
                    tx.execute_batch("ROLLBACK")
                        .map_err(|e| StoreError::backend("x", e))
                })
                .await
        }
    });
    while writer.queued() < 2 {
        tokio::task::yield_now().await;
    }
    release_tx.send(())?;

    blocker.await??;
    let good = good.await?;
    assert!(
        matches!(
            good,
            Err(StoreError::Backend {
                operation: "close savepoint",
                ..
            })
        ),
        "{good:?}"
    );
    assert!(breaker.await?.is_err());
    assert_eq!(count(&dir)?, 1, "only the blocker's batch committed");
    let stats = writer.stats();
    assert_eq!((stats.commits, stats.failed_batches, stats.jobs), (1, 1, 3));
    Ok(())
}

/// A refused or panicking job is rolled back alone; the writer carries on.
#[tokio::test]
async fn failed_job_rolls_back_alone() -> TestResult {
    let dir = tempfile::tempdir()?;
    let writer = writer_on(&dir)?;
    writer.submit(insert(1)).await?;
    let duplicate = writer
        .submit(|tx| {
            insert(2)(tx)?;
            insert(1)(tx)
        })
        .await;
    assert!(duplicate.is_err());
    let panicked = writer
        .submit(|_| -> Result<(), StoreError> { panic!("bug in a job") })
        .await;
    assert!(matches!(
        panicked,
        Err(StoreError::Backend {
            operation: "write job",
            ..
        })
    ));
    writer.submit(insert(3)).await?;
    drop(writer);
    let conn = Connection::open(dir.path().join("w.db"))?;
    let mut stmt = conn.prepare("SELECT v FROM t ORDER BY v")?;
    let values: Vec<i64> = stmt
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    assert_eq!(values, [1, 3]);
    Ok(())
}
