//! Reserve / complete / fail, with order quota and renewals.
//!
//! Quota bookkeeping: a record that consumed a unit of its order's quota has
//! `quota_unit = 1`; reserving it incremented `orders.reserved`, completing
//! it increments `orders.issued`, failing it decrements `orders.reserved`.
//! Renewals and records without an order have `quota_unit = 0` and touch no
//! counter.

use rusqlite::{Connection, OptionalExtension, params};

use super::queries_orders;
use super::txn::{
    PreparedEvent, append_audit, authority_key_exists, db, expect_one_changed, unique_violation,
};
use super::txn_orders::{consume_quota, render_device_id};
use crate::error::Hex;
use crate::model::{AuditEvent, AuditSeq, IssuanceIntent, IssuanceStatus, Reservation};
use crate::orders::{DeviceIdRule, OrderRecord};
use crate::{Settled, SignStep, StoreError};

pub(crate) fn reserve_issuance(
    conn: &Connection,
    mut intent: IssuanceIntent,
    mut event: AuditEvent,
) -> Result<Reservation, StoreError> {
    let order = match &intent.order_id {
        Some(id) => queries_orders::order(conn, id).map_err(db("look up order"))?,
        None => None,
    };
    let template = check_device_id(&intent, order.as_ref())?;
    if !authority_key_exists(conn, &intent.ca_id)? {
        return Err(StoreError::NotFound {
            what: "authority key",
            key: intent.ca_id.clone(),
        });
    }
    let order = match (&intent.order_id, order) {
        (Some(id), None) => {
            return Err(StoreError::NotFound {
                what: "order",
                key: id.clone(),
            });
        }
        (_, order) => order,
    };
    let consumes_quota = match (&intent.renews, &order) {
        (Some(renews), _) => {
            supersede(conn, &intent, renews)?;
            false
        }
        (None, Some(order)) => {
            let seq = consume_quota(conn, order, intent.requested_at)?;
            if template {
                intent.device_id = render_device_id(order, seq)?;
                assign_device_id(&mut event, &intent.device_id);
            }
            true
        }
        (None, None) => false,
    };
    check_free(conn, &intent)?;
    insert_pending(conn, &intent, consumes_quota)?;
    let audit_seq = append_audit(conn, &PreparedEvent::new(event)?)?;
    Ok(Reservation {
        audit_seq,
        device_id: intent.device_id,
    })
}

/// Reserve, sign and record in one job of the writer's transaction (see
/// [`crate::IssueAtOnce`]). Any error rolls the whole job back.
pub(crate) fn issue_at_once(
    conn: &Connection,
    intent: IssuanceIntent,
    event: AuditEvent,
    sign: SignStep,
) -> Result<Settled, StoreError> {
    let (ca_id, serial) = (intent.ca_id.clone(), intent.serial.clone());
    let reservation = reserve_issuance(conn, intent, event)?;
    match sign(&reservation) {
        Ok(signed) => {
            let event = PreparedEvent::new(signed.event)?;
            let validity = (signed.not_before, signed.not_after);
            let der = &signed.certificate_der;
            let audit_seq = complete_issuance(conn, &ca_id, &serial, der, validity, &event)?;
            Ok(Settled::Issued {
                reservation,
                audit_seq,
            })
        }
        Err(failed) => {
            let event = PreparedEvent::new(failed.event)?;
            let audit_seq = fail_issuance(conn, &ca_id, &serial, &failed.reason, &event)?;
            Ok(Settled::Failed {
                reservation,
                audit_seq,
            })
        }
    }
}

/// Refuses an empty device id unless the order assigns it, and a given one
/// if it does. Renewals keep their device id, so they always name it.
/// Returns whether the store assigns the id. An unknown order is treated
/// as one without a template (it is refused as unknown later).
fn check_device_id(
    intent: &IssuanceIntent,
    order: Option<&OrderRecord>,
) -> Result<bool, StoreError> {
    let template = intent.renews.is_none()
        && order.is_some_and(|o| matches!(o.order.device_ids, DeviceIdRule::Template(_)));
    let reason = match (template, intent.device_id.is_empty()) {
        (true, false) => "must be empty: the order assigns device ids from its template",
        (false, true) => "must not be empty",
        _ => return Ok(template),
    };
    Err(StoreError::Invalid {
        what: "device id",
        reason: reason.to_owned(),
    })
}

/// Marks the issued record a renewal replaces as superseded.
fn supersede(conn: &Connection, intent: &IssuanceIntent, renews: &[u8]) -> Result<(), StoreError> {
    let changed = conn
        .prepare_cached(
            "UPDATE certificates SET status = 'superseded' \
             WHERE ca_id = ?1 AND serial = ?2 AND device_id = ?3 AND status = 'issued'",
        )
        .and_then(|mut stmt| stmt.execute(params![intent.ca_id, renews, intent.device_id]))
        .map_err(db("supersede issuance"))?;
    if changed == 1 {
        return Ok(());
    }
    Err(StoreError::NotFound {
        what: "issuance to renew",
        key: format!("{}/{}", intent.ca_id, Hex(renews)),
    })
}

/// Writes an assigned device id into the event's subject and data.
fn assign_device_id(event: &mut AuditEvent, device_id: &str) {
    event.subject = Some(device_id.to_owned());
    if let Some(data) = event.data.as_object_mut() {
        data.insert("device_id".to_owned(), device_id.into());
    }
}

/// Pre-checks of device id, key and serial, in the documented order, so the
/// refusal is deterministic when several rules are broken at once; the
/// unique indexes remain the arbiter.
pub(crate) fn check_free(conn: &Connection, intent: &IssuanceIntent) -> Result<(), StoreError> {
    let device_taken = conn
        .prepare_cached(
            "SELECT 1 FROM certificates WHERE device_id = ?1 AND status IN ('pending', 'issued')",
        )
        .and_then(|mut stmt| stmt.exists([&intent.device_id]))
        .map_err(db("look up device id"))?;
    if device_taken {
        return Err(device_id_taken(intent));
    }
    if let Some(device_id) = key_holder(conn, &intent.public_key_sha256)? {
        return Err(StoreError::PublicKeyTaken { device_id });
    }
    let serial_used = conn
        .prepare_cached("SELECT 1 FROM certificates WHERE ca_id = ?1 AND serial = ?2")
        .and_then(|mut stmt| stmt.exists(params![intent.ca_id, intent.serial]))
        .map_err(db("look up serial"))?;
    if serial_used {
        return Err(serial_taken(intent));
    }
    Ok(())
}

/// The device holding a key: a pending or issued record, or a superseded
/// one whose renewal is still pending (a failed renewal restores it, so its
/// key stays held until the renewal is decided).
fn key_holder(conn: &Connection, key: &[u8; 32]) -> Result<Option<String>, StoreError> {
    conn.prepare_cached(
        "SELECT old.device_id FROM certificates old WHERE old.public_key_sha256 = ?1 \
         AND (old.status IN ('pending', 'issued') OR (old.status = 'superseded' AND EXISTS ( \
             SELECT 1 FROM certificates r \
             WHERE r.ca_id = old.ca_id AND r.renews = old.serial AND r.status = 'pending'))) \
         LIMIT 1",
    )
    .and_then(|mut stmt| stmt.query_row([key], |row| row.get(0)).optional())
    .map_err(db("look up public key"))
}

fn insert_pending(
    conn: &Connection,
    intent: &IssuanceIntent,
    consumes_quota: bool,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO certificates (ca_id, serial, device_id, public_key_sha256, profile, \
         key_origin, order_id, station_id, requested_at, status, renews, quota_unit) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'pending', ?10, ?11)",
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
            intent.renews,
            i64::from(consumes_quota),
        ])
    })
    .map(drop)
    .map_err(|e| issuance_conflict(conn, intent, e))
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
        match key_holder(conn, &intent.public_key_sha256) {
            Ok(Some(device_id)) => StoreError::PublicKeyTaken { device_id },
            Ok(None) => StoreError::backend("insert issuance", e),
            Err(lookup) => lookup,
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

pub(crate) fn complete_issuance(
    conn: &Connection,
    ca_id: &str,
    serial: &[u8],
    certificate_der: &[u8],
    validity: (i64, i64),
    event: &PreparedEvent,
) -> Result<AuditSeq, StoreError> {
    // One statement on the hot path: the record must be pending and its
    // station (if any) not revoked. Only when nothing changed do the
    // look-ups below say which rule refused it.
    let changed = conn
        .prepare_cached(
            "UPDATE certificates SET status = 'issued', certificate_der = ?3, \
             not_before = ?4, not_after = ?5, issued_at = ?6 \
             WHERE ca_id = ?1 AND serial = ?2 AND status = 'pending' \
             AND NOT EXISTS (SELECT 1 FROM stations s \
                 WHERE s.id = certificates.station_id AND s.revoked_at IS NOT NULL)",
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
        })
        .map_err(db("update issuance"))?;
    if changed != 1 {
        expect_pending(conn, ca_id, serial)?;
        refuse_if_station_revoked(conn, ca_id, serial)?;
        return Err(StoreError::backend_message(
            "update issuance",
            format!("{changed} rows changed for {ca_id}/{}", Hex(serial)),
        ));
    }
    update_order_of(conn, ca_id, serial, "issued = issued + 1")?;
    append_audit(conn, event)
}

/// A station revoked while one of its issuances was in flight gets no
/// certificate out of it: the revocation wins.
fn refuse_if_station_revoked(
    conn: &Connection,
    ca_id: &str,
    serial: &[u8],
) -> Result<(), StoreError> {
    let revoked: Option<String> = conn
        .prepare_cached(
            "SELECT s.id FROM certificates c JOIN stations s ON s.id = c.station_id \
             WHERE c.ca_id = ?1 AND c.serial = ?2 AND s.revoked_at IS NOT NULL",
        )
        .and_then(|mut stmt| {
            stmt.query_row(params![ca_id, serial], |row| row.get(0))
                .optional()
        })
        .map_err(|e| StoreError::backend("look up station", e))?;
    match revoked {
        Some(station_id) => Err(StoreError::StationRevoked { station_id }),
        None => Ok(()),
    }
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
        "update issuance",
        conn.prepare_cached(
            "UPDATE certificates SET status = 'failed', failure_reason = ?3 \
             WHERE ca_id = ?1 AND serial = ?2 AND status = 'pending'",
        )
        .and_then(|mut stmt| stmt.execute(params![ca_id, serial, reason])),
    )?;
    update_order_of(conn, ca_id, serial, "reserved = reserved - 1")?;
    restore_renewed(conn, ca_id, serial)?;
    append_audit(conn, event)
}

/// Applies `set` to the order whose quota the record consumed, if any.
fn update_order_of(
    conn: &Connection,
    ca_id: &str,
    serial: &[u8],
    set: &'static str,
) -> Result<(), StoreError> {
    let sql = format!(
        "UPDATE orders SET {set} WHERE id = (SELECT order_id FROM certificates \
         WHERE ca_id = ?1 AND serial = ?2 AND quota_unit = 1)"
    );
    conn.prepare_cached(&sql)
        .and_then(|mut stmt| stmt.execute(params![ca_id, serial]))
        .map(drop)
        .map_err(db("update order counters"))
}

/// Puts the record a failed renewal replaced back to issued.
fn restore_renewed(conn: &Connection, ca_id: &str, serial: &[u8]) -> Result<(), StoreError> {
    conn.prepare_cached(
        "UPDATE certificates SET status = 'issued' \
         WHERE ca_id = ?1 AND status = 'superseded' AND serial = \
             (SELECT renews FROM certificates WHERE ca_id = ?1 AND serial = ?2)",
    )
    .and_then(|mut stmt| stmt.execute(params![ca_id, serial]))
    .map(drop)
    .map_err(db("restore renewed issuance"))
}
