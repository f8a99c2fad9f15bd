//! The SQLite backend: one file, WAL mode, `synchronous=FULL`, one batching
//! writer thread and a few read-only connections.

mod api;
mod checkpointer;
mod codec;
mod codec_orders;
mod queries;
mod queries_audit;
mod queries_orders;
mod queries_revocation;
mod reader;
#[cfg(test)]
mod tests;
mod txn;
mod txn_audit;
mod txn_issuance;
mod txn_offline;
mod txn_orders;
mod txn_revocation;
mod txn_stations;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use self::checkpointer::Checkpointer;
use self::reader::Readers;
use self::writer::Writer;
pub use self::writer::{MAX_BATCH, WriterStats};
use crate::StoreError;

/// How long a connection waits for a lock held by another process.
pub(crate) const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// [`Store`](crate::Store) on a SQLite database file.
///
/// Needs a tokio runtime (multi-thread or current-thread) for its async
/// methods: reads run on the blocking pool, writes on the store's own
/// writer thread. Dropping the store lets the writer finish and commit every
/// queued job, then joins it (a short block of at most one batch).
#[derive(Debug)]
pub struct SqliteStore {
    path: PathBuf,
    read_only: bool,
    readers: Arc<Readers>,
    writer: Writer,
    /// Declared after `writer`: dropped after it, so the last checkpoint
    /// sees every committed batch. `None` for a read-only store.
    _checkpointer: Option<Checkpointer>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and starts the
    /// writer thread. Call [`Store::migrate`](crate::Store::migrate) before first use.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let conn = open_writer(path)?;
        checkpointer::defer_checkpoints(&conn)?;
        let writer = Writer::spawn(conn)?;
        let checkpointer = Checkpointer::spawn(open_connection(path)?)?;
        Ok(SqliteStore {
            path: path.to_owned(),
            read_only: false,
            readers: Arc::new(Readers::new(path.to_owned())),
            writer,
            _checkpointer: Some(checkpointer),
        })
    }

    /// Opens an existing, current database for reading only (the
    /// standalone OCSP responder): every write, [`Store::migrate`]
    /// included, fails. Refuses a database whose schema is not the one
    /// this build writes (open it read-write once to upgrade it).
    ///
    /// [`Store::migrate`]: crate::Store::migrate
    pub fn open_read_only(path: &Path) -> Result<Self, StoreError> {
        let setup = |e| StoreError::backend("open database", e);
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(setup)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(setup)?;
        let found: i64 = conn
            .query_row(
                "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
                [],
                |row| row.get(0),
            )
            .map_err(setup)?;
        let supported = txn::MIGRATIONS.last().map_or(0, |(version, _)| *version);
        if found > supported {
            return Err(StoreError::SchemaTooNew { found, supported });
        }
        if found < supported {
            return Err(StoreError::Invalid {
                what: "database schema",
                reason: format!(
                    "version {found} is older than this build's {supported}: \
                     open the database read-write once to upgrade it"
                ),
            });
        }
        Ok(SqliteStore {
            path: path.to_owned(),
            read_only: true,
            readers: Arc::new(Readers::new(path.to_owned())),
            writer: Writer::spawn(conn)?,
            _checkpointer: None,
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// What the writer has done so far: jobs run and transactions
    /// committed (`commits < jobs` means callers shared commits).
    pub fn stats(&self) -> WriterStats {
        self.writer.stats()
    }
}

/// Applies the schema migrations on a connection of its own, with foreign
/// keys off (SQLite's documented way to rebuild a referenced table; they
/// cannot be switched inside the writer's transaction), in one `BEGIN
/// IMMEDIATE` transaction that checks every foreign key before it commits.
/// The writer and readers notice the new schema by themselves.
pub(crate) fn migrate_file(path: &Path, now: i64) -> Result<(), StoreError> {
    let mut conn = open_connection(path)?;
    conn.pragma_update(None, "foreign_keys", "OFF")
        .map_err(|e| StoreError::backend("open database", e))?;
    let tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(|e| StoreError::backend("begin transaction", e))?;
    txn::migrate(&tx, now)?;
    tx.commit().map_err(|e| StoreError::backend("commit", e))
}

fn open_writer(path: &Path) -> Result<Connection, StoreError> {
    let conn = open_connection(path)?;
    conn.pragma_update(None, "foreign_keys", "ON")
        .map_err(|e| StoreError::backend("open database", e))?;
    Ok(conn)
}

fn open_connection(path: &Path) -> Result<Connection, StoreError> {
    let setup = |e| StoreError::backend("open database", e);
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(setup)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(setup)?;
    let mode: String = conn
        .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
        .map_err(setup)?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::backend_message(
            "open database",
            format!("cannot enable WAL mode (journal_mode is {mode:?})"),
        ));
    }
    // FULL: a commit is on disk when COMMIT returns, so a caller may hand
    // out a certificate as soon as it is answered.
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(setup)?;
    Ok(conn)
}
