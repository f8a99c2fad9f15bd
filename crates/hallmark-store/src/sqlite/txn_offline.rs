//! Offline production: station sub-CA allocations and log imports.
//!
//! Quota: allocating takes `count` units at once (`orders.reserved +=
//! count`); each imported certificate counts as issued (`orders.issued +=
//! 1`, `quota_unit = 1`); closing gives back the units never imported.

use rusqlite::{Connection, OptionalExtension, Row, params};

use super::codec_orders::unsigned;
use super::queries_orders;
use super::txn::{PreparedEvent, append_audit, db, expect_one_changed, insert_authority_key};
use super::txn_issuance::{check_free, issuance_conflict};
use crate::StoreError;
use crate::model::{AuditSeq, IssuanceIntent, KeyRole};
use crate::offline::{NewOfflineCa, OfflineCaRecord, OfflineCertificate, OfflineImport};
use crate::orders::DeviceIdRule;

const COLUMNS: &str = "id, order_id, station_id, count, first_seq, imported, log_size, \
     log_frontier, closed_at, created_at";

fn record(row: &Row<'_>) -> rusqlite::Result<OfflineCaRecord> {
    let frontier: Vec<u8> = row.get(7)?;
    Ok(OfflineCaRecord {
        id: row.get(0)?,
        order_id: row.get(1)?,
        station_id: row.get(2)?,
        count: unsigned(row, 3)?,
        first_seq: row
            .get::<_, Option<i64>>(4)?
            .map(|_| unsigned(row, 4))
            .transpose()?,
        imported: unsigned(row, 5)?,
        log_size: unsigned(row, 6)?,
        log_frontier: frontier
            .chunks_exact(32)
            .map(|c| {
                let mut hash = [0u8; 32];
                hash.copy_from_slice(c);
                hash
            })
            .collect(),
        closed_at: row.get(8)?,
        created_at: row.get(9)?,
    })
}

/// One allocation (any connection: the writer's jobs use it too).
pub(crate) fn offline_ca(conn: &Connection, id: &str) -> rusqlite::Result<Option<OfflineCaRecord>> {
    let sql = format!("SELECT {COLUMNS} FROM offline_cas WHERE id = ?1");
    conn.prepare_cached(&sql)?
        .query_row([id], record)
        .optional()
}

fn existing(conn: &Connection, id: &str) -> Result<OfflineCaRecord, StoreError> {
    offline_ca(conn, id)
        .map_err(db("look up offline CA"))?
        .ok_or_else(|| StoreError::NotFound {
            what: "offline CA",
            key: id.to_owned(),
        })
}

pub(crate) fn allocate_offline_ca(
    conn: &Connection,
    ca: &NewOfflineCa,
    event: &PreparedEvent,
) -> Result<OfflineCaRecord, StoreError> {
    if ca.count == 0 {
        return Err(StoreError::Invalid {
            what: "offline CA count",
            reason: "must be at least 1".into(),
        });
    }
    if ca.key.role != KeyRole::StationSubCa {
        return Err(StoreError::Invalid {
            what: "offline CA key role",
            reason: format!("{} is not station_sub_ca", ca.key.role),
        });
    }
    let order = queries_orders::order(conn, &ca.order_id)
        .map_err(db("look up order"))?
        .ok_or_else(|| StoreError::NotFound {
            what: "order",
            key: ca.order_id.clone(),
        })?;
    let station = queries_orders::station(conn, &ca.station_id)
        .map_err(db("look up station"))?
        .filter(|s| s.order_id == ca.order_id)
        .ok_or_else(|| StoreError::NotFound {
            what: "station of the order",
            key: ca.station_id.clone(),
        })?;
    if station.revoked_at.is_some() {
        return Err(StoreError::StationRevoked {
            station_id: station.id,
        });
    }
    let count = i64::try_from(ca.count).map_err(|_| StoreError::Invalid {
        what: "offline CA count",
        reason: "too large".into(),
    })?;
    let step = i64::from(matches!(order.order.device_ids, DeviceIdRule::Template(_)));
    let next_seq: Option<i64> = conn
        .prepare_cached(
            "UPDATE orders SET reserved = reserved + ?2, next_seq = next_seq + ?3 * ?2 \
             WHERE id = ?1 AND status = 'open' AND reserved + ?2 <= quantity \
             AND starts_at <= ?4 AND expires_at > ?4 \
             RETURNING next_seq",
        )
        .and_then(|mut stmt| {
            stmt.query_row(params![order.order.id, count, step, event.at], |row| {
                row.get(0)
            })
            .optional()
        })
        .map_err(db("take offline quota"))?;
    let Some(next_seq) = next_seq else {
        return Err(match order.availability(event.at) {
            Err(reason) => StoreError::OrderUnavailable {
                order_id: order.order.id.clone(),
                reason,
            },
            Ok(()) => StoreError::QuotaExhausted {
                order_id: order.order.id.clone(),
                quantity: order.order.quantity,
            },
        });
    };
    let first_seq = (step == 1).then_some(next_seq - count);
    insert_authority_key(conn, &ca.key, event)?;
    conn.prepare_cached(
        "INSERT INTO offline_cas (id, order_id, station_id, count, first_seq, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )
    .and_then(|mut stmt| {
        stmt.execute(params![
            ca.key.id,
            ca.order_id,
            ca.station_id,
            count,
            first_seq,
            event.at
        ])
    })
    .map_err(db("insert offline CA"))?;
    existing(conn, &ca.key.id)
}

pub(crate) fn import_offline(
    conn: &Connection,
    import: &OfflineImport,
    events: &[PreparedEvent],
) -> Result<AuditSeq, StoreError> {
    let ca = existing(conn, &import.ca_id)?;
    if ca.closed_at.is_some() {
        return Err(StoreError::OfflineClosed { ca_id: ca.id });
    }
    if ca.log_size != import.log_size_before {
        return Err(StoreError::OfflineLogOutOfSync {
            ca_id: ca.id,
            stored: ca.log_size,
            given: import.log_size_before,
        });
    }
    let claimed = ca.imported + import.certificates.len() as u64;
    if claimed > ca.count {
        return Err(StoreError::OfflineCountExceeded {
            ca_id: ca.id,
            count: ca.count,
            claimed,
        });
    }
    for certificate in &import.certificates {
        insert_issued(conn, &ca, &import.profile, certificate)?;
    }
    let imported = import.certificates.len() as i64;
    let log_size = i64::try_from(import.log_size).map_err(|_| StoreError::Invalid {
        what: "offline log size",
        reason: "exceeds 2^63".into(),
    })?;
    let frontier: Vec<u8> = import.log_frontier.concat();
    expect_one_changed(
        "advance offline log",
        conn.prepare_cached(
            "UPDATE offline_cas SET imported = imported + ?2, log_size = ?3, log_frontier = ?4 \
             WHERE id = ?1",
        )
        .and_then(|mut stmt| stmt.execute(params![ca.id, imported, log_size, frontier])),
    )?;
    expect_one_changed(
        "count offline issuance",
        conn.prepare_cached("UPDATE orders SET issued = issued + ?2 WHERE id = ?1")
            .and_then(|mut stmt| stmt.execute(params![ca.order_id, imported])),
    )?;
    let mut last = 0;
    for event in events {
        last = append_audit(conn, event)?;
    }
    Ok(last)
}

fn insert_issued(
    conn: &Connection,
    ca: &OfflineCaRecord,
    profile: &str,
    certificate: &OfflineCertificate,
) -> Result<(), StoreError> {
    let intent = IssuanceIntent {
        ca_id: ca.id.clone(),
        serial: certificate.serial.clone(),
        device_id: certificate.device_id.clone(),
        public_key_sha256: certificate.public_key_sha256,
        profile: profile.to_owned(),
        key_origin: certificate.key_origin,
        order_id: Some(ca.order_id.clone()),
        station_id: Some(ca.station_id.clone()),
        requested_at: certificate.issued_at,
        renews: None,
    };
    intent.validate()?;
    check_free(conn, &intent)?;
    conn.prepare_cached(
        "INSERT INTO certificates (ca_id, serial, device_id, public_key_sha256, profile, \
         key_origin, order_id, station_id, requested_at, status, certificate_der, \
         not_before, not_after, issued_at, quota_unit) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'issued', ?10, ?11, ?12, ?9, 1)",
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
            certificate.certificate_der,
            certificate.not_before,
            certificate.not_after,
        ])
    })
    .map(drop)
    .map_err(|e| issuance_conflict(conn, &intent, e))
}

pub(crate) fn close_offline_ca(
    conn: &Connection,
    id: &str,
    event: &PreparedEvent,
) -> Result<OfflineCaRecord, StoreError> {
    let ca = existing(conn, id)?;
    if ca.closed_at.is_some() {
        return Err(StoreError::OfflineClosed { ca_id: ca.id });
    }
    let unused = i64::try_from(ca.left()).map_err(|_| StoreError::Invalid {
        what: "offline CA count",
        reason: "too large".into(),
    })?;
    expect_one_changed(
        "close offline CA",
        conn.prepare_cached("UPDATE offline_cas SET closed_at = ?2 WHERE id = ?1")
            .and_then(|mut stmt| stmt.execute(params![ca.id, event.at])),
    )?;
    expect_one_changed(
        "return offline quota",
        conn.prepare_cached("UPDATE orders SET reserved = reserved - ?2 WHERE id = ?1")
            .and_then(|mut stmt| stmt.execute(params![ca.order_id, unused])),
    )?;
    append_audit(conn, event)?;
    existing(conn, id)
}
