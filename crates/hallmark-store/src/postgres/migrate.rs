//! Schema migrations, recorded in `schema_migrations` like SQLite's.

use deadpool_postgres::Transaction;

use super::db::{self, db};
use crate::StoreError;

/// PostgreSQL's own migrations, applied in order; a version is never edited
/// once released, only followed by a new one.
pub(crate) const MIGRATIONS: &[(i64, &str)] = &[(1, include_str!("migrations/0001_initial.sql"))];

/// The advisory lock every migrating node takes (any constant works; this
/// one spells "hallmark" in ASCII).
const MIGRATION_LOCK: i64 = 0x6861_6c6c_6d61_726b;

/// The newest version this build knows.
pub(crate) fn supported() -> i64 {
    MIGRATIONS.last().map_or(0, |(version, _)| *version)
}

/// Applies every missing migration in the caller's transaction, under an
/// advisory lock so that nodes starting together migrate one at a time.
pub(crate) async fn run(tx: &Transaction<'_>, now: i64) -> Result<(), StoreError> {
    db::execute(
        tx,
        "lock schema migrations",
        "SELECT pg_advisory_xact_lock($1)",
        &[&MIGRATION_LOCK],
    )
    .await?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version    BIGINT NOT NULL PRIMARY KEY,
             applied_at BIGINT NOT NULL
         )",
    )
    .await
    .map_err(db("create schema_migrations"))?;
    let current = current_version(tx).await?;
    let supported = supported();
    if current > supported {
        return Err(StoreError::SchemaTooNew {
            found: current,
            supported,
        });
    }
    for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > current) {
        tx.batch_execute(sql)
            .await
            .map_err(db("apply schema migration"))?;
        db::execute(
            tx,
            "record schema migration",
            "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)",
            &[version, &now],
        )
        .await?;
        tracing::info!(version, "applied PostgreSQL schema migration");
    }
    Ok(())
}

/// The highest recorded version (0 for an empty database).
pub(crate) async fn current_version(tx: &Transaction<'_>) -> Result<i64, StoreError> {
    let row = db::query_one(
        tx,
        "read schema version",
        "SELECT COALESCE(MAX(version), 0)::bigint FROM schema_migrations",
        &[],
    )
    .await?;
    db::get(&row, 0)
}
