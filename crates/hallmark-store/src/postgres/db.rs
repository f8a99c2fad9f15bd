//! Statement helpers, error mapping and the retrying transaction runner.

use std::time::Duration;

use deadpool_postgres::{GenericClient, Transaction};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use tokio_postgres::{IsolationLevel, Row};

use crate::StoreError;

/// Statement parameters.
pub(crate) type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

/// How often a transaction is tried when PostgreSQL reports a
/// serialization failure, a deadlock or a lost connection before commit.
pub(crate) const MAX_ATTEMPTS: u32 = 8;

pub(crate) fn db(operation: &'static str) -> impl FnOnce(tokio_postgres::Error) -> StoreError {
    move |e| StoreError::backend(operation, e)
}

pub(crate) async fn query<C: GenericClient>(
    c: &C,
    operation: &'static str,
    sql: &str,
    params: Params<'_>,
) -> Result<Vec<Row>, StoreError> {
    let stmt = c.prepare_cached(sql).await.map_err(db(operation))?;
    c.query(&stmt, params).await.map_err(db(operation))
}

pub(crate) async fn query_opt<C: GenericClient>(
    c: &C,
    operation: &'static str,
    sql: &str,
    params: Params<'_>,
) -> Result<Option<Row>, StoreError> {
    let stmt = c.prepare_cached(sql).await.map_err(db(operation))?;
    c.query_opt(&stmt, params).await.map_err(db(operation))
}

pub(crate) async fn query_one<C: GenericClient>(
    c: &C,
    operation: &'static str,
    sql: &str,
    params: Params<'_>,
) -> Result<Row, StoreError> {
    let stmt = c.prepare_cached(sql).await.map_err(db(operation))?;
    c.query_one(&stmt, params).await.map_err(db(operation))
}

/// Runs a statement, keeping PostgreSQL's own error (to map constraint
/// violations).
pub(crate) async fn execute_raw<C: GenericClient>(
    c: &C,
    sql: &str,
    params: Params<'_>,
) -> Result<u64, tokio_postgres::Error> {
    let stmt = c.prepare_cached(sql).await?;
    c.execute(&stmt, params).await
}

pub(crate) async fn execute<C: GenericClient>(
    c: &C,
    operation: &'static str,
    sql: &str,
    params: Params<'_>,
) -> Result<u64, StoreError> {
    execute_raw(c, sql, params).await.map_err(db(operation))
}

/// A statement that must have changed exactly one row.
pub(crate) async fn execute_one<C: GenericClient>(
    c: &C,
    operation: &'static str,
    sql: &str,
    params: Params<'_>,
) -> Result<(), StoreError> {
    match execute(c, operation, sql, params).await? {
        1 => Ok(()),
        n => Err(StoreError::backend_message(
            operation,
            format!("{n} rows changed, expected 1"),
        )),
    }
}

/// The constraint named by a unique violation.
pub(crate) fn unique_violation(e: &tokio_postgres::Error) -> Option<&str> {
    let db = e.as_db_error()?;
    (*db.code() == SqlState::UNIQUE_VIOLATION).then(|| db.constraint().unwrap_or(""))
}

/// Maps a unique violation to [`StoreError::Duplicate`], anything else to
/// a backend error.
pub(crate) fn duplicate_or(
    what: &'static str,
    key: impl FnOnce() -> String,
    operation: &'static str,
) -> impl FnOnce(tokio_postgres::Error) -> StoreError {
    move |e| match unique_violation(&e) {
        Some(_) => StoreError::Duplicate { what, key: key() },
        None => StoreError::backend(operation, e),
    }
}

/// Reads a column, mapping a type mismatch to a backend error.
pub(crate) fn get<'a, T: tokio_postgres::types::FromSql<'a>>(
    row: &'a Row,
    index: usize,
) -> Result<T, StoreError> {
    row.try_get(index).map_err(db("decode row"))
}

/// A column that is never negative (CHECK constraints, counts).
pub(crate) fn unsigned(row: &Row, index: usize) -> Result<u64, StoreError> {
    let value: i64 = get(row, index)?;
    u64::try_from(value).map_err(|_| {
        StoreError::backend_message(
            "decode row",
            format!("negative value {value} in column {index}"),
        )
    })
}

/// A fixed 32-byte hash column.
pub(crate) fn hash(row: &Row, index: usize) -> Result<[u8; 32], StoreError> {
    let bytes: Vec<u8> = get(row, index)?;
    <[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| {
        StoreError::backend_message("decode row", format!("{} bytes, expected 32", bytes.len()))
    })
}

/// Concatenated 32-byte hashes (frontiers).
pub(crate) fn hashes(bytes: &[u8]) -> Vec<[u8; 32]> {
    bytes
        .chunks_exact(32)
        .map(|c| {
            let mut hash = [0u8; 32];
            hash.copy_from_slice(c);
            hash
        })
        .collect()
}

/// Whether a failed attempt may simply be run again: PostgreSQL rolled it
/// back (serialization failure, deadlock), or the connection broke before
/// the commit was sent.
fn retryable(e: &tokio_postgres::Error, before_commit: bool) -> bool {
    match e.code() {
        Some(code) => {
            *code == SqlState::T_R_SERIALIZATION_FAILURE || *code == SqlState::T_R_DEADLOCK_DETECTED
        }
        None => before_commit && e.is_closed(),
    }
}

fn retryable_store_error(e: &StoreError) -> bool {
    match e {
        StoreError::Backend { source, .. } => source
            .downcast_ref::<tokio_postgres::Error>()
            .is_some_and(|e| retryable(e, true)),
        _ => false,
    }
}

/// Whether a transaction that could not even begin (a pooled connection
/// that broke) should be tried again.
pub(crate) fn retry_begin(e: &StoreError, attempt: u32) -> bool {
    attempt + 1 < MAX_ATTEMPTS && retryable_store_error(e)
}

/// What one attempt of a transaction came to.
#[derive(Debug)]
pub(crate) enum Attempt<T> {
    /// Committed (or refused): the answer.
    Done(Result<T, StoreError>),
    /// Rolled back for a reason that running it again may cure.
    Retry,
}

/// Starts a READ COMMITTED transaction (whatever the server's default):
/// every rule is held by row locks and single-statement checks, not by
/// snapshot isolation.
pub(crate) async fn begin(
    client: &mut deadpool_postgres::Client,
) -> Result<Transaction<'_>, StoreError> {
    client
        .build_transaction()
        .isolation_level(IsolationLevel::ReadCommitted)
        .start()
        .await
        .map_err(db("begin transaction"))
}

/// Commits a successful attempt or rolls back a failed one, and says
/// whether to try again.
pub(crate) async fn finish<T>(
    tx: Transaction<'_>,
    outcome: Result<T, StoreError>,
    attempt: u32,
) -> Attempt<T> {
    let last = attempt + 1 >= MAX_ATTEMPTS;
    match outcome {
        Ok(value) => match tx.commit().await {
            Ok(()) => Attempt::Done(Ok(value)),
            Err(e) if !last && retryable(&e, false) => Attempt::Retry,
            Err(e) => Attempt::Done(Err(StoreError::backend("commit", e))),
        },
        Err(e) => {
            // A failed rollback leaves the connection broken; the pool
            // drops it, and nothing of the attempt was committed.
            let _ = tx.rollback().await;
            if !last && retryable_store_error(&e) {
                Attempt::Retry
            } else {
                Attempt::Done(Err(e))
            }
        }
    }
}

/// A short, growing pause before attempt `attempt + 1`.
pub(crate) async fn backoff(attempt: u32) {
    let millis = 2u64.saturating_pow(attempt.min(8));
    tokio::time::sleep(Duration::from_millis(millis)).await;
}

/// Runs `$body` (an expression using the transaction `$tx`) in a READ
/// COMMITTED transaction of `$store`, committing when it returns `Ok`, and
/// runs it again (up to [`MAX_ATTEMPTS`]) after a serialization failure,
/// deadlock or broken connection. `$body` must only borrow its inputs.
macro_rules! in_transaction {
    ($store:expr, |$tx:ident| $body:expr) => {{
        let mut attempt: u32 = 0;
        loop {
            let mut client = $store.client().await?;
            let $tx = match $crate::postgres::db::begin(&mut client).await {
                Ok(tx) => tx,
                Err(e) if $crate::postgres::db::retry_begin(&e, attempt) => {
                    attempt += 1;
                    $crate::postgres::db::backoff(attempt).await;
                    continue;
                }
                Err(e) => break Err(e),
            };
            let outcome = $body;
            match $crate::postgres::db::finish($tx, outcome, attempt).await {
                $crate::postgres::db::Attempt::Done(result) => break result,
                $crate::postgres::db::Attempt::Retry => {
                    tracing::debug!(attempt, "retrying a PostgreSQL transaction");
                    attempt += 1;
                    $crate::postgres::db::backoff(attempt).await;
                }
            }
        }
    }};
}
pub(crate) use in_transaction;
