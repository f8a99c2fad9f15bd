//! The SQLite backend: one file, WAL mode, `synchronous=FULL`, one batching
//! writer thread and a few read-only connections.

mod codec;
mod queries;
mod reader;
#[cfg(test)]
mod tests;
mod txn;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use rusqlite::{Connection, OpenFlags};

use self::reader::Readers;
use self::txn::PreparedEvent;
use self::writer::Writer;
pub use self::writer::{MAX_BATCH, WriterStats};
use crate::model::{
    AuditEvent, AuditRecord, AuditSeq, AuthorityKey, CertificateRecord, IssuanceIntent, UnixSeconds,
};
use crate::{Store, StoreError};

/// How long a connection waits for a lock held by another process.
pub(crate) const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// [`Store`] on a SQLite database file.
///
/// Needs a tokio runtime (multi-thread or current-thread) for its async
/// methods: reads run on the blocking pool, writes on the store's own
/// writer thread. Dropping the store lets the writer finish and commit every
/// queued job, then joins it (a short block of at most one batch).
#[derive(Debug)]
pub struct SqliteStore {
    path: PathBuf,
    readers: Arc<Readers>,
    writer: Writer,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and starts the
    /// writer thread. Call [`Store::migrate`] before first use.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let conn = open_writer(path)?;
        let writer = Writer::spawn(conn)?;
        Ok(SqliteStore {
            path: path.to_owned(),
            readers: Arc::new(Readers::new(path.to_owned())),
            writer,
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

fn open_writer(path: &Path) -> Result<Connection, StoreError> {
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
    conn.pragma_update(None, "foreign_keys", "ON")
        .map_err(setup)?;
    Ok(conn)
}

fn unix_now() -> UnixSeconds {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

#[async_trait]
impl Store for SqliteStore {
    async fn migrate(&self) -> Result<(), StoreError> {
        let now = unix_now();
        self.writer.submit(move |tx| txn::migrate(tx, now)).await
    }

    async fn insert_authority_key(
        &self,
        key: AuthorityKey,
        event: AuditEvent,
    ) -> Result<AuditSeq, StoreError> {
        let event = PreparedEvent::new(event)?;
        self.writer
            .submit(move |tx| txn::insert_authority_key(tx, &key, &event))
            .await
    }

    async fn authority_keys(&self) -> Result<Vec<AuthorityKey>, StoreError> {
        self.readers.read(queries::authority_keys).await
    }

    async fn authority_key(&self, id: &str) -> Result<Option<AuthorityKey>, StoreError> {
        let id = id.to_owned();
        self.readers
            .read(move |conn| queries::authority_key(conn, &id))
            .await
    }

    async fn reserve_issuance(
        &self,
        intent: IssuanceIntent,
        event: AuditEvent,
    ) -> Result<AuditSeq, StoreError> {
        intent.validate()?;
        let event = PreparedEvent::new(event)?;
        self.writer
            .submit(move |tx| txn::reserve_issuance(tx, &intent, &event))
            .await
    }

    async fn complete_issuance(
        &self,
        ca_id: &str,
        serial: &[u8],
        certificate_der: Vec<u8>,
        not_before: UnixSeconds,
        not_after: UnixSeconds,
        event: AuditEvent,
    ) -> Result<AuditSeq, StoreError> {
        let event = PreparedEvent::new(event)?;
        let (ca_id, serial) = (ca_id.to_owned(), serial.to_vec());
        self.writer
            .submit(move |tx| {
                let validity = (not_before, not_after);
                txn::complete_issuance(tx, &ca_id, &serial, &certificate_der, validity, &event)
            })
            .await
    }

    async fn fail_issuance(
        &self,
        ca_id: &str,
        serial: &[u8],
        reason: String,
        event: AuditEvent,
    ) -> Result<AuditSeq, StoreError> {
        let event = PreparedEvent::new(event)?;
        let (ca_id, serial) = (ca_id.to_owned(), serial.to_vec());
        self.writer
            .submit(move |tx| txn::fail_issuance(tx, &ca_id, &serial, &reason, &event))
            .await
    }

    async fn certificate_by_device(
        &self,
        device_id: &str,
    ) -> Result<Option<CertificateRecord>, StoreError> {
        let device_id = device_id.to_owned();
        self.readers
            .read(move |conn| queries::certificate_by_device(conn, &device_id))
            .await
    }

    async fn certificate_by_serial(
        &self,
        ca_id: &str,
        serial: &[u8],
    ) -> Result<Option<CertificateRecord>, StoreError> {
        let (ca_id, serial) = (ca_id.to_owned(), serial.to_vec());
        self.readers
            .read(move |conn| queries::certificate_by_serial(conn, &ca_id, &serial))
            .await
    }

    async fn pending_issuances(
        &self,
        requested_before: UnixSeconds,
    ) -> Result<Vec<CertificateRecord>, StoreError> {
        self.readers
            .read(move |conn| queries::pending_before(conn, requested_before))
            .await
    }

    async fn device_for_public_key(
        &self,
        public_key_sha256: &[u8; 32],
    ) -> Result<Option<String>, StoreError> {
        let key = *public_key_sha256;
        self.readers
            .read(move |conn| queries::live_device_for_key(conn, &key))
            .await
    }

    async fn count_issued(&self, ca_id: Option<&str>) -> Result<u64, StoreError> {
        let ca_id = ca_id.map(str::to_owned);
        self.readers
            .read(move |conn| queries::count_issued(conn, ca_id.as_deref()))
            .await
    }

    async fn audit_events(
        &self,
        after_seq: AuditSeq,
        limit: u32,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        self.readers
            .read(move |conn| queries::audit_events(conn, after_seq, limit))
            .await
    }

    async fn append_audit(&self, event: AuditEvent) -> Result<AuditSeq, StoreError> {
        let event = PreparedEvent::new(event)?;
        self.writer
            .submit(move |tx| txn::append_audit(tx, &event))
            .await
    }
}
