//! Write operations. Each runs on the writer thread inside its own savepoint
//! of a batch transaction; an `Err` rolls back everything it did, audit
//! event included.

use rusqlite::{Connection, OptionalExtension, ffi, params};

use super::queries::live_device_for_key;
use crate::StoreError;
use crate::error::Hex;
use crate::model::{AuditEvent, AuditSeq, AuthorityKey, IssuanceIntent, IssuanceStatus};

/// Schema migrations, applied in order; a version is never edited once
/// released, only followed by a new one.
pub(crate) const MIGRATIONS: &[(i64, &str)] = &[(1, include_str!("migrations/0001_initial.sql"))];

/// An audit event whose data is already encoded: these bytes are stored.
#[derive(Debug)]
pub(crate) struct PreparedEvent {
    kind: String,
    subject: Option<String>,
    at: i64,
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

fn db(operation: &'static str) -> impl FnOnce(rusqlite::Error) -> StoreError {
    move |e| StoreError::backend(operation, e)
}

/// The SQLite message of a UNIQUE / PRIMARY KEY violation, e.g.
/// `"UNIQUE constraint failed: certificates.device_id"`.
fn unique_violation(e: &rusqlite::Error) -> Option<&str> {
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

fn authority_key_exists(conn: &Connection, id: &str) -> Result<bool, StoreError> {
    conn.prepare_cached("SELECT 1 FROM authority_keys WHERE id = ?1")
        .and_then(|mut stmt| stmt.exists([id]))
        .map_err(db("look up authority key"))
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
    .map_err(|e| match unique_violation(&e) {
        Some(_) => StoreError::Duplicate {
            what: "authority key",
            key: key.id.clone(),
        },
        None => StoreError::backend("insert authority key", e),
    })?;
    append_audit(conn, event)
}

pub(crate) fn reserve_issuance(
    conn: &Connection,
    intent: &IssuanceIntent,
    event: &PreparedEvent,
) -> Result<AuditSeq, StoreError> {
    if !authority_key_exists(conn, &intent.ca_id)? {
        return Err(StoreError::NotFound {
            what: "authority key",
            key: intent.ca_id.clone(),
        });
    }
    // Checked first so that the refusal is deterministic when several rules
    // are broken at once; the unique indexes below remain the arbiter.
    let device_taken = conn
        .prepare_cached("SELECT 1 FROM certificates WHERE device_id = ?1 AND status <> 'failed'")
        .and_then(|mut stmt| stmt.exists([&intent.device_id]))
        .map_err(db("look up device id"))?;
    if device_taken {
        return Err(device_id_taken(intent));
    }
    if let Some(device_id) =
        live_device_for_key(conn, &intent.public_key_sha256).map_err(db("look up public key"))?
    {
        return Err(StoreError::PublicKeyTaken { device_id });
    }
    let serial_used = conn
        .prepare_cached("SELECT 1 FROM certificates WHERE ca_id = ?1 AND serial = ?2")
        .and_then(|mut stmt| stmt.exists(params![intent.ca_id, intent.serial]))
        .map_err(db("look up serial"))?;
    if serial_used {
        return Err(serial_taken(intent));
    }
    conn.prepare_cached(
        "INSERT INTO certificates (ca_id, serial, device_id, public_key_sha256, profile, \
         key_origin, order_id, station_id, requested_at, status) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'pending')",
    )
    .and_then(|mut stmt| {
        stmt.execute(params![
            intent.ca_id,
            intent.serial,
            intent.device_id,
            intent.public_key_sha256,
            intent.profile,
            intent.key_origin,
            intent.order_id,
            intent.station_id,
            intent.requested_at,
        ])
    })
    .map_err(|e| issuance_conflict(conn, intent, e))?;
    append_audit(conn, event)
}

fn device_id_taken(intent: &IssuanceIntent) -> StoreError {
    StoreError::DeviceIdTaken {
        device_id: intent.device_id.clone(),
    }
}

fn serial_taken(intent: &IssuanceIntent) -> StoreError {
    StoreError::SerialTaken {
        ca_id: intent.ca_id.clone(),
        serial: intent.serial.clone(),
    }
}

/// Maps a failed certificate insert to the rule whose index fired.
pub(crate) fn issuance_conflict(
    conn: &Connection,
    intent: &IssuanceIntent,
    e: rusqlite::Error,
) -> StoreError {
    let Some(message) = unique_violation(&e) else {
        return StoreError::backend("insert issuance", e);
    };
    if message.contains("certificates.device_id") {
        device_id_taken(intent)
    } else if message.contains("certificates.public_key_sha256") {
        match live_device_for_key(conn, &intent.public_key_sha256) {
            Ok(Some(device_id)) => StoreError::PublicKeyTaken { device_id },
            Ok(None) => StoreError::backend("insert issuance", e),
            Err(lookup) => StoreError::backend("look up public key", lookup),
        }
    } else if message.contains("certificates.serial") {
        serial_taken(intent)
    } else {
        StoreError::backend("insert issuance", e)
    }
}

/// Refuses unless the record exists and is pending.
fn expect_pending(conn: &Connection, ca_id: &str, serial: &[u8]) -> Result<(), StoreError> {
    let status: Option<IssuanceStatus> = conn
        .prepare_cached("SELECT status FROM certificates WHERE ca_id = ?1 AND serial = ?2")
        .and_then(|mut stmt| {
            stmt.query_row(params![ca_id, serial], |row| row.get(0))
                .optional()
        })
        .map_err(db("look up issuance"))?;
    match status {
        Some(IssuanceStatus::Pending) => Ok(()),
        Some(status) => Err(StoreError::NotPending {
            ca_id: ca_id.to_owned(),
            serial: serial.to_vec(),
            status,
        }),
        None => Err(StoreError::NotFound {
            what: "issuance",
            key: format!("{ca_id}/{}", Hex(serial)),
        }),
    }
}

/// `UPDATE … WHERE status = 'pending'` must have changed exactly one row.
fn expect_one_changed(changed: rusqlite::Result<usize>) -> Result<(), StoreError> {
    match changed.map_err(db("update issuance"))? {
        1 => Ok(()),
        n => Err(StoreError::backend_message(
            "update issuance",
            format!("{n} rows changed, expected 1"),
        )),
    }
}

pub(crate) fn complete_issuance(
    conn: &Connection,
    ca_id: &str,
    serial: &[u8],
    certificate_der: &[u8],
    validity: (i64, i64),
    event: &PreparedEvent,
) -> Result<AuditSeq, StoreError> {
    expect_pending(conn, ca_id, serial)?;
    expect_one_changed(
        conn.prepare_cached(
            "UPDATE certificates SET status = 'issued', certificate_der = ?3, \
             not_before = ?4, not_after = ?5, issued_at = ?6 \
             WHERE ca_id = ?1 AND serial = ?2 AND status = 'pending'",
        )
        .and_then(|mut stmt| {
            stmt.execute(params![
                ca_id,
                serial,
                certificate_der,
                validity.0,
                validity.1,
                event.at
            ])
        }),
    )?;
    append_audit(conn, event)
}

pub(crate) fn fail_issuance(
    conn: &Connection,
    ca_id: &str,
    serial: &[u8],
    reason: &str,
    event: &PreparedEvent,
) -> Result<AuditSeq, StoreError> {
    expect_pending(conn, ca_id, serial)?;
    expect_one_changed(
        conn.prepare_cached(
            "UPDATE certificates SET status = 'failed', failure_reason = ?3 \
             WHERE ca_id = ?1 AND serial = ?2 AND status = 'pending'",
        )
        .and_then(|mut stmt| stmt.execute(params![ca_id, serial, reason])),
    )?;
    append_audit(conn, event)
}
