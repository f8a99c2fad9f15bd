//! Reserve / complete / fail, with order quota and renewals. The same
//! bookkeeping as SQLite's (`quota_unit`, `orders.reserved`,
//! `orders.issued`), with the row locks that make it hold across nodes.

use deadpool_postgres::GenericClient;

use super::codec::text_enum;
use super::db::{self, get};
use super::orders::{consume_quota, render_device_id};
use super::reads;
use super::writes::{PreparedEvent, append_audit, authority_key_exists};
use crate::StoreError;
use crate::error::Hex;
use crate::model::{AuditEvent, AuditSeq, IssuanceIntent, IssuanceStatus, Reservation};
use crate::orders::{DeviceIdRule, OrderRecord};

pub(crate) async fn reserve_issuance<C: GenericClient>(
    c: &C,
    intent: &IssuanceIntent,
    event: &AuditEvent,
) -> Result<Reservation, StoreError> {
    let (mut intent, mut event) = (intent.clone(), event.clone());
    let order = match &intent.order_id {
        Some(id) => reads::order_for_update(c, id).await?,
        None => None,
    };
    let template = check_device_id(&intent, order.as_ref())?;
    if !authority_key_exists(c, &intent.ca_id).await? {
        return Err(StoreError::NotFound {
            what: "authority key",
            key: intent.ca_id.clone(),
        });
    }
    if let (Some(id), None) = (&intent.order_id, &order) {
        return Err(StoreError::NotFound {
            what: "order",
            key: id.clone(),
        });
    }
    let consumes_quota = match (intent.renews.clone(), &order) {
        (Some(renews), _) => {
            supersede(c, &intent, &renews).await?;
            false
        }
        (None, Some(order)) => {
            let seq = consume_quota(c, order, intent.requested_at).await?;
            if template {
                intent.device_id = render_device_id(order, seq)?;
                assign_device_id(&mut event, &intent.device_id);
            }
            true
        }
        (None, None) => false,
    };
    check_free(c, &intent).await?;
    insert_pending(c, &intent, consumes_quota).await?;
    let audit_seq = append_audit(c, &PreparedEvent::new(event)?).await?;
    Ok(Reservation {
        audit_seq,
        device_id: intent.device_id,
    })
}

/// Refuses an empty device id unless the order assigns it, and a given one
/// if it does (SQLite's rule, word for word).
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

/// Marks the issued record a renewal replaces as superseded (a concurrent
/// renewal of the same record waits for the row and then finds it
/// superseded).
async fn supersede<C: GenericClient>(
    c: &C,
    intent: &IssuanceIntent,
    renews: &[u8],
) -> Result<(), StoreError> {
    let changed = db::execute(
        c,
        "supersede issuance",
        "UPDATE certificates SET status = 'superseded' \
         WHERE ca_id = $1 AND serial = $2 AND device_id = $3 AND status = 'issued'",
        &[&intent.ca_id, &renews, &intent.device_id],
    )
    .await?;
    if changed == 1 {
        return Ok(());
    }
    Err(StoreError::NotFound {
        what: "issuance to renew",
        key: format!("{}/{}", intent.ca_id, Hex(renews)),
    })
}

fn assign_device_id(event: &mut AuditEvent, device_id: &str) {
    event.subject = Some(device_id.to_owned());
    if let Some(data) = event.data.as_object_mut() {
        data.insert("device_id".to_owned(), device_id.into());
    }
}

/// Pre-checks of device id, key and serial, in the documented order; the
/// unique indexes remain the arbiter between concurrent transactions.
pub(crate) async fn check_free<C: GenericClient>(
    c: &C,
    intent: &IssuanceIntent,
) -> Result<(), StoreError> {
    let device_taken = db::query_opt(
        c,
        "look up device id",
        "SELECT 1 FROM certificates WHERE device_id = $1 AND status IN ('pending', 'issued')",
        &[&intent.device_id],
    )
    .await?;
    if device_taken.is_some() {
        return Err(device_id_taken(intent));
    }
    if let Some(device_id) = key_holder(c, &intent.public_key_sha256).await? {
        return Err(StoreError::PublicKeyTaken { device_id });
    }
    let serial_used = db::query_opt(
        c,
        "look up serial",
        "SELECT 1 FROM certificates WHERE ca_id = $1 AND serial = $2",
        &[&intent.ca_id, &intent.serial],
    )
    .await?;
    if serial_used.is_some() {
        return Err(serial_taken(intent));
    }
    Ok(())
}

/// The device holding a key: a pending or issued record, or a superseded
/// one whose renewal is still pending.
async fn key_holder<C: GenericClient>(c: &C, key: &[u8; 32]) -> Result<Option<String>, StoreError> {
    let row = db::query_opt(
        c,
        "look up public key",
        "SELECT old.device_id FROM certificates old WHERE old.public_key_sha256 = $1 \
         AND (old.status IN ('pending', 'issued') OR (old.status = 'superseded' AND EXISTS ( \
             SELECT 1 FROM certificates r \
             WHERE r.ca_id = old.ca_id AND r.renews = old.serial AND r.status = 'pending'))) \
         LIMIT 1",
        &[&&key[..]],
    )
    .await?;
    row.as_ref().map(|r| get(r, 0)).transpose()
}

/// The columns of a certificate insert, `$1` to `$9` from the intent.
pub(crate) const INSERT_COLUMNS: &str = "ca_id, serial, device_id, public_key_sha256, profile, \
     key_origin, order_id, station_id, requested_at";

async fn insert_pending<C: GenericClient>(
    c: &C,
    intent: &IssuanceIntent,
    consumes_quota: bool,
) -> Result<(), StoreError> {
    let sql = format!(
        "INSERT INTO certificates ({INSERT_COLUMNS}, status, renews, quota_unit) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'pending', $10, $11) \
         ON CONFLICT DO NOTHING"
    );
    let inserted = db::execute(
        c,
        "insert issuance",
        &sql,
        &[
            &intent.ca_id,
            &intent.serial,
            &intent.device_id,
            &&intent.public_key_sha256[..],
            &intent.profile,
            &intent.key_origin.as_str(),
            &intent.order_id,
            &intent.station_id,
            &intent.requested_at,
            &intent.renews,
            &i64::from(consumes_quota),
        ],
    )
    .await?;
    expect_inserted(c, intent, inserted).await
}

/// After an `INSERT … ON CONFLICT DO NOTHING` of a certificate: when no row
/// went in, a concurrent transaction won a unique index (and has
/// committed, or the insert would still be waiting for it), so the
/// pre-checks, run again, name the rule.
pub(crate) async fn expect_inserted<C: GenericClient>(
    c: &C,
    intent: &IssuanceIntent,
    inserted: u64,
) -> Result<(), StoreError> {
    if inserted == 1 {
        return Ok(());
    }
    check_free(c, intent).await?;
    Err(StoreError::backend_message(
        "insert issuance",
        "a unique index refused the record, but no conflicting record is visible",
    ))
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

/// Locks the record and refuses unless it exists and is pending.
async fn lock_pending<C: GenericClient>(
    c: &C,
    ca_id: &str,
    serial: &[u8],
) -> Result<(), StoreError> {
    let row = db::query_opt(
        c,
        "look up issuance",
        "SELECT status FROM certificates WHERE ca_id = $1 AND serial = $2 FOR UPDATE",
        &[&ca_id, &serial],
    )
    .await?;
    let status: Option<IssuanceStatus> = row.as_ref().map(|r| text_enum(r, 0)).transpose()?;
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

pub(crate) async fn complete_issuance<C: GenericClient>(
    c: &C,
    ca_id: &str,
    serial: &[u8],
    certificate_der: &[u8],
    validity: (i64, i64),
    event: &PreparedEvent,
) -> Result<AuditSeq, StoreError> {
    lock_pending(c, ca_id, serial).await?;
    refuse_if_station_revoked(c, ca_id, serial).await?;
    db::execute_one(
        c,
        "update issuance",
        "UPDATE certificates SET status = 'issued', certificate_der = $3, \
         not_before = $4, not_after = $5, issued_at = $6 \
         WHERE ca_id = $1 AND serial = $2 AND status = 'pending'",
        &[
            &ca_id,
            &serial,
            &certificate_der,
            &validity.0,
            &validity.1,
            &event.at,
        ],
    )
    .await?;
    update_order_of(c, ca_id, serial, "issued = issued + 1").await?;
    append_audit(c, event).await
}

/// A station revoked while one of its issuances was in flight gets no
/// certificate out of it. The station row is share-locked, so a concurrent
/// revocation waits for this transaction (and then revokes the
/// certificate too, or this one waits for it and refuses).
async fn refuse_if_station_revoked<C: GenericClient>(
    c: &C,
    ca_id: &str,
    serial: &[u8],
) -> Result<(), StoreError> {
    let row = db::query_opt(
        c,
        "look up station",
        "SELECT s.id, s.revoked_at FROM stations s WHERE s.id = \
             (SELECT station_id FROM certificates WHERE ca_id = $1 AND serial = $2) \
         FOR SHARE",
        &[&ca_id, &serial],
    )
    .await?;
    let Some(row) = row else { return Ok(()) };
    let revoked_at: Option<i64> = get(&row, 1)?;
    match revoked_at {
        Some(_) => Err(StoreError::StationRevoked {
            station_id: get(&row, 0)?,
        }),
        None => Ok(()),
    }
}

pub(crate) async fn fail_issuance<C: GenericClient>(
    c: &C,
    ca_id: &str,
    serial: &[u8],
    reason: &str,
    event: &PreparedEvent,
) -> Result<AuditSeq, StoreError> {
    lock_pending(c, ca_id, serial).await?;
    db::execute_one(
        c,
        "update issuance",
        "UPDATE certificates SET status = 'failed', failure_reason = $3 \
         WHERE ca_id = $1 AND serial = $2 AND status = 'pending'",
        &[&ca_id, &serial, &reason],
    )
    .await?;
    update_order_of(c, ca_id, serial, "reserved = reserved - 1").await?;
    restore_renewed(c, ca_id, serial).await?;
    append_audit(c, event).await
}

/// Applies `set` to the order whose quota the record consumed, if any.
async fn update_order_of<C: GenericClient>(
    c: &C,
    ca_id: &str,
    serial: &[u8],
    set: &'static str,
) -> Result<(), StoreError> {
    let sql = format!(
        "UPDATE orders SET {set} WHERE id = (SELECT order_id FROM certificates \
         WHERE ca_id = $1 AND serial = $2 AND quota_unit = 1)"
    );
    db::execute(c, "update order counters", &sql, &[&ca_id, &serial])
        .await
        .map(drop)
}

/// Puts the record a failed renewal replaced back to issued.
async fn restore_renewed<C: GenericClient>(
    c: &C,
    ca_id: &str,
    serial: &[u8],
) -> Result<(), StoreError> {
    db::execute(
        c,
        "restore renewed issuance",
        "UPDATE certificates SET status = 'issued' \
         WHERE ca_id = $1 AND status = 'superseded' AND serial = \
             (SELECT renews FROM certificates WHERE ca_id = $1 AND serial = $2)",
        &[&ca_id, &serial],
    )
    .await
    .map(drop)
}
