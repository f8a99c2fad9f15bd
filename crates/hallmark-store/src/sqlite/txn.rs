//! Write operations shared by all others: migrations, the audit log,
//! authority keys and error mapping. Each operation runs on the writer
//! thread inside its own savepoint of a batch transaction; an `Err` rolls
//! back everything it did, audit event included. Issuance, orders and
//! stations live in `txn_issuance`, `txn_orders` and `txn_stations`.

use rusqlite::{Connection, OptionalExtension, ffi, params};

use crate::StoreError;
use crate::model::{AuditEvent, AuditSeq, AuthorityKey, KeyRole};

/// Schema migrations, applied in order; a version is never edited once
/// released, only followed by a new one.
pub(crate) const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("migrations/0001_initial.sql")),
    (2, include_str!("migrations/0002_orders_stations.sql")),
    (3, include_str!("migrations/0003_audit_tree.sql")),
    (4, include_str!("migrations/0004_revocation.sql")),
    (5, include_str!("migrations/0005_offline.sql")),
];

/// An audit event whose data is already encoded: these bytes are stored.
///
/// Most operations encode before submitting the job (an encoding error is
/// then answered without touching the writer). Reservations encode inside
/// their job, because a template order assigns the device id that goes into
/// the event's subject and data.
#[derive(Debug)]
pub(crate) struct PreparedEvent {
    kind: String,
    subject: Option<String>,
    /// When it happened (also the time a few operations record).
    pub(crate) at: i64,
    data_json: Vec<u8>,
}

impl PreparedEvent {
    pub(crate) fn new(event: AuditEvent) -> Result<Self, StoreError> {
        let data_json = event.encode_data()?;
        Ok(PreparedEvent {
            kind: event.kind,
            subject: event.subject,
            at: event.at,
            data_json,
        })
    }
}

pub(crate) fn db(operation: &'static str) -> impl FnOnce(rusqlite::Error) -> StoreError {
    move |e| StoreError::backend(operation, e)
}

/// The SQLite message of a UNIQUE / PRIMARY KEY violation, e.g.
/// `"UNIQUE constraint failed: certificates.device_id"`.
pub(crate) fn unique_violation(e: &rusqlite::Error) -> Option<&str> {
    match e {
        rusqlite::Error::SqliteFailure(err, message)
            if err.extended_code == ffi::SQLITE_CONSTRAINT_UNIQUE
                || err.extended_code == ffi::SQLITE_CONSTRAINT_PRIMARYKEY =>
        {
            Some(message.as_deref().unwrap_or(""))
        }
        _ => None,
    }
}

pub(crate) fn migrate(conn: &Connection, now: i64) -> Result<(), StoreError> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version    INTEGER NOT NULL PRIMARY KEY,
             applied_at INTEGER NOT NULL
         )",
    )
    .map_err(db("create schema_migrations"))?;
    let current: i64 = conn
        .query_row(
            "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
            [],
            |row| row.get(0),
        )
        .map_err(db("read schema version"))?;
    let supported = MIGRATIONS.last().map_or(0, |(version, _)| *version);
    if current > supported {
        return Err(StoreError::SchemaTooNew {
            found: current,
            supported,
        });
    }
    for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > current) {
        conn.execute_batch(sql)
            .map_err(db("apply schema migration"))?;
        conn.execute(
            "INSERT INTO schema_migrations (version, applied_at) VALUES (?1, ?2)",
            params![version, now],
        )
        .map_err(db("record schema migration"))?;
        tracing::info!(version, "applied schema migration");
    }
    let violations: i64 = conn
        .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |row| {
            row.get(0)
        })
        .map_err(db("check foreign keys after migration"))?;
    if violations > 0 {
        return Err(StoreError::backend_message(
            "apply schema migration",
            format!("{violations} rows break a foreign key after migrating"),
        ));
    }
    Ok(())
}

pub(crate) fn append_audit(
    conn: &Connection,
    event: &PreparedEvent,
) -> Result<AuditSeq, StoreError> {
    conn.prepare_cached(
        "INSERT INTO audit_log (kind, subject, at, data) VALUES (?1, ?2, ?3, ?4) RETURNING seq",
    )
    .and_then(|mut stmt| {
        stmt.query_row(
            params![event.kind, event.subject, event.at, event.data_json],
            |row| row.get(0),
        )
    })
    .map_err(db("append audit event"))
}

pub(crate) fn authority_key_exists(conn: &Connection, id: &str) -> Result<bool, StoreError> {
    Ok(authority_key_role(conn, id)?.is_some())
}

/// The role of a stored authority key.
pub(crate) fn authority_key_role(
    conn: &Connection,
    id: &str,
) -> Result<Option<KeyRole>, StoreError> {
    conn.prepare_cached("SELECT role FROM authority_keys WHERE id = ?1")
        .and_then(|mut stmt| stmt.query_row([id], |row| row.get(0)).optional())
        .map_err(db("look up authority key"))
}

/// Maps a UNIQUE / PRIMARY KEY violation to [`StoreError::Duplicate`],
/// anything else to a backend error.
pub(crate) fn duplicate_or(
    what: &'static str,
    key: impl FnOnce() -> String,
    operation: &'static str,
) -> impl FnOnce(rusqlite::Error) -> StoreError {
    move |e| match unique_violation(&e) {
        Some(_) => StoreError::Duplicate { what, key: key() },
        None => StoreError::backend(operation, e),
    }
}

/// An `UPDATE` that must have changed exactly one row.
pub(crate) fn expect_one_changed(
    operation: &'static str,
    changed: rusqlite::Result<usize>,
) -> Result<(), StoreError> {
    match changed.map_err(db(operation))? {
        1 => Ok(()),
        n => Err(StoreError::backend_message(
            operation,
            format!("{n} rows changed, expected 1"),
        )),
    }
}

pub(crate) fn insert_authority_key(
    conn: &Connection,
    key: &AuthorityKey,
    event: &PreparedEvent,
) -> Result<AuditSeq, StoreError> {
    match &key.parent_id {
        Some(parent) if !authority_key_exists(conn, parent)? => {
            return Err(StoreError::NotFound {
                what: "parent authority key",
                key: parent.clone(),
            });
        }
        _ => {}
    }
    conn.prepare_cached(
        "INSERT INTO authority_keys (id, role, parent_id, factory, subject, algorithm, \
         key_uri, certificate_der, not_after, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )
    .and_then(|mut stmt| {
        stmt.execute(params![
            key.id,
            key.role,
            key.parent_id,
            key.factory,
            key.subject,
            key.algorithm,
            key.key_uri,
            key.certificate_der,
            key.not_after,
            key.created_at,
        ])
    })
    .map_err(duplicate_or(
        "authority key",
        || key.id.clone(),
        "insert authority key",
    ))?;
    append_audit(conn, event)
}
