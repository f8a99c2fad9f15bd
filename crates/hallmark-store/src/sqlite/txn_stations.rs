//! Station enrollment (one-time tokens) and renewal.

use rusqlite::{Connection, OptionalExtension, params};

use super::queries_orders;
use super::txn::{PreparedEvent, append_audit, db, duplicate_or, expect_one_changed};
use crate::StoreError;
use crate::error::Hex;
use crate::model::AuditSeq;
use crate::orders::StationCertificate;

/// Checks what can be checked without the database.
pub(crate) fn validate_certificate(certificate: &StationCertificate) -> Result<(), StoreError> {
    if !(1..=20).contains(&certificate.serial.len()) {
        return Err(StoreError::Invalid {
            what: "serial",
            reason: format!("{} bytes, expected 1 to 20", certificate.serial.len()),
        });
    }
    Ok(())
}

pub(crate) fn enroll_station(
    conn: &Connection,
    token_sha256: &[u8; 32],
    station_id: &str,
    certificate: &StationCertificate,
    event: &PreparedEvent,
) -> Result<AuditSeq, StoreError> {
    let order_id = unused_token_order(conn, token_sha256)?;
    let order = queries_orders::order(conn, &order_id)
        .map_err(db("look up order"))?
        .ok_or_else(|| StoreError::NotFound {
            what: "order",
            key: order_id.clone(),
        })?;
    order
        .availability(event.at)
        .map_err(|reason| StoreError::OrderUnavailable {
            order_id: order_id.clone(),
            reason,
        })?;
    conn.prepare_cached("INSERT INTO stations (id, order_id, enrolled_at) VALUES (?1, ?2, ?3)")
        .and_then(|mut stmt| stmt.execute(params![station_id, order_id, event.at]))
        .map_err(duplicate_or(
            "station",
            || station_id.to_owned(),
            "insert station",
        ))?;
    insert_certificate(conn, station_id, certificate, event.at)?;
    expect_one_changed(
        "use station token",
        conn.prepare_cached(
            "UPDATE station_tokens SET used_by = ?2, used_at = ?3 \
             WHERE token_sha256 = ?1 AND used_by IS NULL",
        )
        .and_then(|mut stmt| stmt.execute(params![token_sha256, station_id, event.at])),
    )?;
    append_audit(conn, event)
}

/// The order of an unused token; refuses unknown and used tokens.
fn unused_token_order(conn: &Connection, token_sha256: &[u8; 32]) -> Result<String, StoreError> {
    let token: Option<(String, Option<String>)> = conn
        .prepare_cached("SELECT order_id, used_by FROM station_tokens WHERE token_sha256 = ?1")
        .and_then(|mut stmt| {
            stmt.query_row([token_sha256], |row| Ok((row.get(0)?, row.get(1)?)))
                .optional()
        })
        .map_err(db("look up station token"))?;
    match token {
        None => Err(StoreError::TokenUnknown),
        Some((order_id, Some(_))) => Err(StoreError::TokenUsed { order_id }),
        Some((order_id, None)) => Ok(order_id),
    }
}

pub(crate) fn renew_station(
    conn: &Connection,
    station_id: &str,
    certificate: &StationCertificate,
    event: &PreparedEvent,
) -> Result<AuditSeq, StoreError> {
    let revoked_at: Option<Option<i64>> = conn
        .prepare_cached("SELECT revoked_at FROM stations WHERE id = ?1")
        .and_then(|mut stmt| stmt.query_row([station_id], |row| row.get(0)).optional())
        .map_err(db("look up station"))?;
    match revoked_at {
        None => {
            return Err(StoreError::NotFound {
                what: "station",
                key: station_id.to_owned(),
            });
        }
        Some(Some(_)) => {
            return Err(StoreError::StationRevoked {
                station_id: station_id.to_owned(),
            });
        }
        Some(None) => {}
    }
    insert_certificate(conn, station_id, certificate, event.at)?;
    append_audit(conn, event)
}

/// Stores a station's next certificate (generation = previous + 1).
fn insert_certificate(
    conn: &Connection,
    station_id: &str,
    certificate: &StationCertificate,
    issued_at: i64,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO station_certificates (serial, station_id, generation, certificate_der, \
         public_key_sha256, not_before, not_after, issued_at) \
         VALUES (?1, ?2, (SELECT COALESCE(MAX(generation), 0) + 1 FROM station_certificates \
                          WHERE station_id = ?2), ?3, ?4, ?5, ?6, ?7)",
    )
    .and_then(|mut stmt| {
        stmt.execute(params![
            certificate.serial,
            station_id,
            certificate.certificate_der,
            certificate.public_key_sha256,
            certificate.not_before,
            certificate.not_after,
            issued_at,
        ])
    })
    .map(drop)
    .map_err(duplicate_or(
        "station certificate",
        || Hex(&certificate.serial).to_string(),
        "insert station certificate",
    ))
}
