//! Revocation writes: revoking certificates and stations, CRL numbers.

use std::collections::HashSet;

use rusqlite::{Connection, OptionalExtension, params};
use serde_json::{Value, json};

use super::txn::{PreparedEvent, append_audit, authority_key_exists, db};
use crate::StoreError;
use crate::error::Hex;
use crate::model::{AuditEvent, IssuanceStatus};
use crate::revocation::{CertificateId, RevocationOutcome, RevocationTargets};

pub(crate) fn revoke(
    conn: &Connection,
    targets: &RevocationTargets,
    reason: u8,
    mut event: AuditEvent,
) -> Result<RevocationOutcome, StoreError> {
    let station_revoked = match &targets.station {
        Some(station_id) => revoke_station(conn, station_id, event.at)?,
        None => false,
    };
    let mut seen = HashSet::new();
    let mut outcome = RevocationOutcome {
        station_revoked,
        ..RevocationOutcome::default()
    };
    let mut listed = Vec::new();
    for target in &targets.certificates {
        if !seen.insert(target) {
            continue;
        }
        match certificate(conn, target)? {
            Some((IssuanceStatus::Issued | IssuanceStatus::Superseded, _, true)) => {
                outcome.already_revoked += 1;
            }
            Some((IssuanceStatus::Issued | IssuanceStatus::Superseded, device_id, false)) => {
                listed.push(json!({
                    "ca": target.ca_id,
                    "serial": Hex(&target.serial).to_string(),
                    "device_id": device_id,
                }));
                outcome.revoked.push(target.clone());
            }
            _ => {
                return Err(StoreError::NotFound {
                    what: "issued certificate",
                    key: format!("{}/{}", target.ca_id, Hex(&target.serial)),
                });
            }
        }
    }
    if outcome.revoked.is_empty() && !station_revoked {
        return Ok(outcome);
    }
    if let Some(data) = event.data.as_object_mut() {
        data.insert("revoked".into(), Value::Array(listed));
        data.insert("already_revoked".into(), outcome.already_revoked.into());
        data.insert("station_revoked".into(), station_revoked.into());
    }
    let at = event.at;
    let seq = append_audit(conn, &PreparedEvent::new(event)?)?;
    let mut insert = conn
        .prepare_cached(
            "INSERT INTO revocations (ca_id, serial, revoked_at, reason, audit_seq) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )
        .map_err(db("record revocation"))?;
    for target in &outcome.revoked {
        insert
            .execute(params![target.ca_id, target.serial, at, reason, seq])
            .map_err(db("record revocation"))?;
    }
    outcome.audit_seq = Some(seq);
    Ok(outcome)
}

/// `(status, device id, already revoked)` of a certificate.
fn certificate(
    conn: &Connection,
    target: &CertificateId,
) -> Result<Option<(IssuanceStatus, String, bool)>, StoreError> {
    conn.prepare_cached(
        "SELECT c.status, c.device_id, r.serial IS NOT NULL FROM certificates c \
         LEFT JOIN revocations r ON r.ca_id = c.ca_id AND r.serial = c.serial \
         WHERE c.ca_id = ?1 AND c.serial = ?2",
    )
    .and_then(|mut stmt| {
        stmt.query_row(params![target.ca_id, target.serial], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?))
        })
        .optional()
    })
    .map_err(db("look up certificate"))
}

/// Sets the station's `revoked_at` unless already set; `true` if it changed.
fn revoke_station(conn: &Connection, station_id: &str, at: i64) -> Result<bool, StoreError> {
    let revoked_at: Option<Option<i64>> = conn
        .prepare_cached("SELECT revoked_at FROM stations WHERE id = ?1")
        .and_then(|mut stmt| stmt.query_row([station_id], |row| row.get(0)).optional())
        .map_err(db("look up station"))?;
    match revoked_at {
        None => Err(StoreError::NotFound {
            what: "station",
            key: station_id.to_owned(),
        }),
        Some(Some(_)) => Ok(false),
        Some(None) => {
            conn.prepare_cached("UPDATE stations SET revoked_at = ?2 WHERE id = ?1")
                .and_then(|mut stmt| stmt.execute(params![station_id, at]))
                .map_err(db("revoke station"))?;
            Ok(true)
        }
    }
}

pub(crate) fn next_crl_number(
    conn: &Connection,
    ca_id: &str,
    this_update: i64,
    mut event: AuditEvent,
) -> Result<u64, StoreError> {
    if !authority_key_exists(conn, ca_id)? {
        return Err(StoreError::NotFound {
            what: "authority key",
            key: ca_id.to_owned(),
        });
    }
    let number: i64 = conn
        .prepare_cached(
            "INSERT INTO crl_numbers (ca_id, last_number, last_this_update) VALUES (?1, 1, ?2) \
             ON CONFLICT (ca_id) DO UPDATE SET last_number = last_number + 1, \
             last_this_update = excluded.last_this_update \
             RETURNING last_number",
        )
        .and_then(|mut stmt| stmt.query_row(params![ca_id, this_update], |row| row.get(0)))
        .map_err(db("take CRL number"))?;
    // CHECK (last_number >= 1) holds it positive.
    let number = number.unsigned_abs();
    if let Some(data) = event.data.as_object_mut() {
        data.insert("crl_number".into(), number.into());
    }
    append_audit(conn, &PreparedEvent::new(event)?)?;
    Ok(number)
}
