//! Read queries, run on read-only connections.

use rusqlite::{Connection, OptionalExtension, params};

use super::codec::{self, AUDIT_COLUMNS, AUTHORITY_KEY_COLUMNS, CERTIFICATE_COLUMNS};
use crate::model::{AuditRecord, AuthorityKey, CertificateRecord};

pub(crate) fn authority_keys(conn: &Connection) -> rusqlite::Result<Vec<AuthorityKey>> {
    let sql = format!("SELECT {AUTHORITY_KEY_COLUMNS} FROM authority_keys ORDER BY created_at, id");
    let mut stmt = conn.prepare_cached(&sql)?;
    let keys = stmt.query_map([], codec::authority_key)?;
    keys.collect()
}

pub(crate) fn authority_key(conn: &Connection, id: &str) -> rusqlite::Result<Option<AuthorityKey>> {
    let sql = format!("SELECT {AUTHORITY_KEY_COLUMNS} FROM authority_keys WHERE id = ?1");
    conn.prepare_cached(&sql)?
        .query_row([id], codec::authority_key)
        .optional()
}

pub(crate) fn certificate_by_device(
    conn: &Connection,
    device_id: &str,
) -> rusqlite::Result<Option<CertificateRecord>> {
    let sql = format!(
        "SELECT {CERTIFICATE_COLUMNS} FROM certificates \
         WHERE device_id = ?1 AND status IN ('pending', 'issued')"
    );
    conn.prepare_cached(&sql)?
        .query_row([device_id], codec::certificate)
        .optional()
}

pub(crate) fn certificate_by_serial(
    conn: &Connection,
    ca_id: &str,
    serial: &[u8],
) -> rusqlite::Result<Option<CertificateRecord>> {
    let sql =
        format!("SELECT {CERTIFICATE_COLUMNS} FROM certificates WHERE ca_id = ?1 AND serial = ?2");
    conn.prepare_cached(&sql)?
        .query_row(params![ca_id, serial], codec::certificate)
        .optional()
}

/// Issued and superseded records (of one order, or all), in issue order.
pub(crate) fn issued_certificates(
    conn: &Connection,
    order_id: Option<&str>,
) -> rusqlite::Result<Vec<CertificateRecord>> {
    let sql = format!(
        "SELECT {CERTIFICATE_COLUMNS} FROM certificates \
         WHERE status IN ('issued', 'superseded') AND (?1 IS NULL OR order_id = ?1) \
         ORDER BY issued_at, ca_id, serial"
    );
    conn.prepare_cached(&sql)?
        .query_map([order_id], codec::certificate)?
        .collect()
}

/// Pending records reserved before `before`, oldest first.
pub(crate) fn pending_before(
    conn: &Connection,
    before: i64,
) -> rusqlite::Result<Vec<CertificateRecord>> {
    let sql = format!(
        "SELECT {CERTIFICATE_COLUMNS} FROM certificates \
         WHERE status = 'pending' AND requested_at < ?1 ORDER BY requested_at, ca_id, serial"
    );
    conn.prepare_cached(&sql)?
        .query_map([before], codec::certificate)?
        .collect()
}

/// The device of the pending or issued record holding this key.
pub(crate) fn live_device_for_key(
    conn: &Connection,
    public_key_sha256: &[u8; 32],
) -> rusqlite::Result<Option<String>> {
    conn.prepare_cached(
        "SELECT device_id FROM certificates WHERE public_key_sha256 = ?1 AND status IN ('pending', 'issued')",
    )?
    .query_row([public_key_sha256], |row| row.get(0))
    .optional()
}

pub(crate) fn count_issued(conn: &Connection, ca_id: Option<&str>) -> rusqlite::Result<u64> {
    let count: i64 = match ca_id {
        Some(ca_id) => conn
            .prepare_cached(
                "SELECT COUNT(*) FROM certificates WHERE status = 'issued' AND ca_id = ?1",
            )?
            .query_row([ca_id], |row| row.get(0))?,
        None => conn
            .prepare_cached("SELECT COUNT(*) FROM certificates WHERE status = 'issued'")?
            .query_row([], |row| row.get(0))?,
    };
    // COUNT(*) is never negative.
    Ok(count.unsigned_abs())
}

pub(crate) fn audit_events(
    conn: &Connection,
    after_seq: i64,
    limit: u32,
) -> rusqlite::Result<Vec<AuditRecord>> {
    let sql = format!("SELECT {AUDIT_COLUMNS} FROM audit_log WHERE seq > ?1 ORDER BY seq LIMIT ?2");
    let mut stmt = conn.prepare_cached(&sql)?;
    let records = stmt.query_map(params![after_seq, limit], codec::audit_record)?;
    records.collect()
}
