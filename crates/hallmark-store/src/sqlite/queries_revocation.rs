//! Revocation reads: selections for bulk revocation, CRL entries, OCSP status.

use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::revocation::{
    CertificateSelection, Revocation, RevocationCandidate, RevokedCertificate, SerialStatus,
};

const CANDIDATE_SELECT: &str = "SELECT c.ca_id, c.serial, c.device_id, c.status, c.order_id, \
     c.station_id, c.issued_at, c.not_after, r.revoked_at, r.reason \
     FROM certificates c LEFT JOIN revocations r ON r.ca_id = c.ca_id AND r.serial = c.serial \
     WHERE c.status IN ('issued', 'superseded') AND ";

const CANDIDATE_ORDER: &str = " ORDER BY c.issued_at, c.ca_id, c.serial";

/// A revocation from two nullable columns.
fn revocation(row: &Row<'_>, at: usize) -> rusqlite::Result<Option<Revocation>> {
    let revoked_at: Option<i64> = row.get(at)?;
    let reason: Option<u8> = row.get(at + 1)?;
    Ok(revoked_at
        .zip(reason)
        .map(|(revoked_at, reason)| Revocation { revoked_at, reason }))
}

fn candidate(row: &Row<'_>) -> rusqlite::Result<RevocationCandidate> {
    Ok(RevocationCandidate {
        ca_id: row.get(0)?,
        serial: row.get(1)?,
        device_id: row.get(2)?,
        status: row.get(3)?,
        order_id: row.get(4)?,
        station_id: row.get(5)?,
        issued_at: row.get(6)?,
        not_after: row.get(7)?,
        revocation: revocation(row, 8)?,
    })
}

pub(crate) fn candidates(
    conn: &Connection,
    selection: &CertificateSelection,
) -> rusqlite::Result<Vec<RevocationCandidate>> {
    let query = |condition: &str, params: &[&dyn rusqlite::ToSql]| {
        let sql = format!("{CANDIDATE_SELECT}{condition}{CANDIDATE_ORDER}");
        conn.prepare_cached(&sql)?
            .query_map(params, candidate)?
            .collect()
    };
    match selection {
        CertificateSelection::Device(device_id) => query("c.device_id = ?1", &[device_id]),
        CertificateSelection::Serial(serial) => query("c.serial = ?1", &[serial]),
        CertificateSelection::Order(order_id) => query("c.order_id = ?1", &[order_id]),
        CertificateSelection::Station {
            station_id,
            since,
            until,
        } => query(
            "c.station_id = ?1 AND (?2 IS NULL OR c.issued_at >= ?2) \
             AND (?3 IS NULL OR c.issued_at < ?3)",
            &[station_id, since, until],
        ),
    }
}

pub(crate) fn revocations(
    conn: &Connection,
    ca_id: &str,
) -> rusqlite::Result<Vec<RevokedCertificate>> {
    conn.prepare_cached(
        "SELECT serial, revoked_at, reason FROM revocations WHERE ca_id = ?1 ORDER BY serial",
    )?
    .query_map([ca_id], |row| {
        Ok(RevokedCertificate {
            serial: row.get(0)?,
            revocation: Revocation {
                revoked_at: row.get(1)?,
                reason: row.get(2)?,
            },
        })
    })?
    .collect()
}

pub(crate) fn status(
    conn: &Connection,
    ca_id: &str,
    serial: &[u8],
) -> rusqlite::Result<Option<SerialStatus>> {
    conn.prepare_cached(
        "SELECT c.status, r.revoked_at, r.reason FROM certificates c \
         LEFT JOIN revocations r ON r.ca_id = c.ca_id AND r.serial = c.serial \
         WHERE c.ca_id = ?1 AND c.serial = ?2",
    )?
    .query_row(params![ca_id, serial], |row| {
        Ok(SerialStatus {
            status: row.get(0)?,
            revocation: revocation(row, 1)?,
        })
    })
    .optional()
}

pub(crate) fn version(conn: &Connection, ca_id: &str) -> rusqlite::Result<i64> {
    conn.prepare_cached("SELECT COALESCE(MAX(audit_seq), 0) FROM revocations WHERE ca_id = ?1")?
        .query_row([ca_id], |row| row.get(0))
}
