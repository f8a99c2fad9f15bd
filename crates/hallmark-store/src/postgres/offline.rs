//! Offline production: station sub-CA allocations and log imports, with
//! SQLite's quota rules (allocating takes `count` units at once, each
//! imported certificate counts as issued, closing gives back the rest).

use deadpool_postgres::GenericClient;

use super::codec::{OFFLINE_CA_COLUMNS, offline_ca};
use super::db;
use super::issuance::{INSERT_COLUMNS, check_free, expect_inserted};
use super::orders::take_quota;
use super::reads;
use super::writes::{PreparedEvent, append_audit, insert_authority_key};
use crate::StoreError;
use crate::model::{AuditSeq, IssuanceIntent, KeyRole};
use crate::offline::{NewOfflineCa, OfflineCaRecord, OfflineCertificate, OfflineImport};
use crate::orders::DeviceIdRule;

/// The allocation, its row locked until the transaction ends.
async fn lock_existing<C: GenericClient>(c: &C, id: &str) -> Result<OfflineCaRecord, StoreError> {
    let sql = format!("SELECT {OFFLINE_CA_COLUMNS} FROM offline_cas WHERE id = $1 FOR UPDATE");
    let row = db::query_opt(c, "look up offline CA", &sql, &[&id])
        .await?
        .ok_or_else(|| StoreError::NotFound {
            what: "offline CA",
            key: id.to_owned(),
        })?;
    offline_ca(&row)
}

async fn existing<C: GenericClient>(c: &C, id: &str) -> Result<OfflineCaRecord, StoreError> {
    reads::offline_ca(c, id)
        .await?
        .ok_or_else(|| StoreError::NotFound {
            what: "offline CA",
            key: id.to_owned(),
        })
}

pub(crate) async fn allocate_offline_ca<C: GenericClient>(
    c: &C,
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
    let order = reads::order_for_update(c, &ca.order_id)
        .await?
        .ok_or_else(|| StoreError::NotFound {
            what: "order",
            key: ca.order_id.clone(),
        })?;
    let station = reads::station(c, &ca.station_id)
        .await?
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
    let first = take_quota(c, &order, count, event.at).await?;
    let template = matches!(order.order.device_ids, DeviceIdRule::Template(_));
    let first_seq = template
        .then(|| i64::try_from(first))
        .transpose()
        .map_err(|_| StoreError::backend_message("take offline quota", "sequence overflow"))?;
    insert_authority_key(c, &ca.key, event).await?;
    db::execute(
        c,
        "insert offline CA",
        "INSERT INTO offline_cas (id, order_id, station_id, count, first_seq, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
        &[
            &ca.key.id,
            &ca.order_id,
            &ca.station_id,
            &count,
            &first_seq,
            &event.at,
        ],
    )
    .await?;
    existing(c, &ca.key.id).await
}

pub(crate) async fn import_offline<C: GenericClient>(
    c: &C,
    import: &OfflineImport,
    events: &[PreparedEvent],
) -> Result<AuditSeq, StoreError> {
    let ca = lock_existing(c, &import.ca_id).await?;
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
        insert_issued(c, &ca, &import.profile, certificate).await?;
    }
    let imported = import.certificates.len() as i64;
    let log_size = i64::try_from(import.log_size).map_err(|_| StoreError::Invalid {
        what: "offline log size",
        reason: "exceeds 2^63".into(),
    })?;
    let frontier: Vec<u8> = import.log_frontier.concat();
    db::execute_one(
        c,
        "advance offline log",
        "UPDATE offline_cas SET imported = imported + $2, log_size = $3, log_frontier = $4 \
         WHERE id = $1",
        &[&ca.id, &imported, &log_size, &frontier],
    )
    .await?;
    db::execute_one(
        c,
        "count offline issuance",
        "UPDATE orders SET issued = issued + $2 WHERE id = $1",
        &[&ca.order_id, &imported],
    )
    .await?;
    let mut last = 0;
    for event in events {
        last = append_audit(c, event).await?;
    }
    Ok(last)
}

async fn insert_issued<C: GenericClient>(
    c: &C,
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
    check_free(c, &intent).await?;
    let sql = format!(
        "INSERT INTO certificates ({INSERT_COLUMNS}, status, certificate_der, \
         not_before, not_after, issued_at, quota_unit) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'issued', $10, $11, $12, $9, 1) \
         ON CONFLICT DO NOTHING"
    );
    let inserted = db::execute(
        c,
        "insert offline issuance",
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
            &certificate.certificate_der,
            &certificate.not_before,
            &certificate.not_after,
        ],
    )
    .await?;
    expect_inserted(c, &intent, inserted).await
}

pub(crate) async fn close_offline_ca<C: GenericClient>(
    c: &C,
    id: &str,
    event: &PreparedEvent,
) -> Result<OfflineCaRecord, StoreError> {
    let ca = lock_existing(c, id).await?;
    if ca.closed_at.is_some() {
        return Err(StoreError::OfflineClosed { ca_id: ca.id });
    }
    let unused = i64::try_from(ca.left()).map_err(|_| StoreError::Invalid {
        what: "offline CA count",
        reason: "too large".into(),
    })?;
    db::execute_one(
        c,
        "close offline CA",
        "UPDATE offline_cas SET closed_at = $2 WHERE id = $1",
        &[&ca.id, &event.at],
    )
    .await?;
    db::execute_one(
        c,
        "return offline quota",
        "UPDATE orders SET reserved = reserved - $2 WHERE id = $1",
        &[&ca.order_id, &unused],
    )
    .await?;
    append_audit(c, event).await?;
    existing(c, id).await
}
