//! Read queries. They take any client, so write transactions use them too.

use deadpool_postgres::GenericClient;

use super::codec::{
    self, AUDIT_COLUMNS, AUTHORITY_KEY_COLUMNS, CERTIFICATE_COLUMNS, OFFLINE_CA_COLUMNS,
    ORDER_COLUMNS, STATION_SELECT, STATION_TOKEN_COLUMNS, all,
};
use super::db::{self, get, hash, hashes};
use crate::StoreError;
use crate::model::{AuditRecord, AuthorityKey, CertificateRecord, StoredCheckpoint};
use crate::offline::OfflineCaRecord;
use crate::orders::{OrderRecord, StationRecord, StationTokenRecord};

pub(crate) async fn authority_keys<C: GenericClient>(
    c: &C,
) -> Result<Vec<AuthorityKey>, StoreError> {
    let sql = format!("SELECT {AUTHORITY_KEY_COLUMNS} FROM authority_keys ORDER BY created_at, id");
    let rows = db::query(c, "list authority keys", &sql, &[]).await?;
    all(&rows, codec::authority_key)
}

pub(crate) async fn authority_key<C: GenericClient>(
    c: &C,
    id: &str,
) -> Result<Option<AuthorityKey>, StoreError> {
    let sql = format!("SELECT {AUTHORITY_KEY_COLUMNS} FROM authority_keys WHERE id = $1");
    let row = db::query_opt(c, "look up authority key", &sql, &[&id]).await?;
    row.as_ref().map(codec::authority_key).transpose()
}

pub(crate) async fn certificate_by_device<C: GenericClient>(
    c: &C,
    device_id: &str,
) -> Result<Option<CertificateRecord>, StoreError> {
    let sql = format!(
        "SELECT {CERTIFICATE_COLUMNS} FROM certificates \
         WHERE device_id = $1 AND status IN ('pending', 'issued')"
    );
    let row = db::query_opt(c, "look up certificate", &sql, &[&device_id]).await?;
    row.as_ref().map(codec::certificate).transpose()
}

pub(crate) async fn certificate_by_serial<C: GenericClient>(
    c: &C,
    ca_id: &str,
    serial: &[u8],
) -> Result<Option<CertificateRecord>, StoreError> {
    let sql =
        format!("SELECT {CERTIFICATE_COLUMNS} FROM certificates WHERE ca_id = $1 AND serial = $2");
    let row = db::query_opt(c, "look up certificate", &sql, &[&ca_id, &serial]).await?;
    row.as_ref().map(codec::certificate).transpose()
}

/// Issued and superseded records (of one order, or all), in issue order.
pub(crate) async fn issued_certificates<C: GenericClient>(
    c: &C,
    order_id: Option<&str>,
) -> Result<Vec<CertificateRecord>, StoreError> {
    let sql = format!(
        "SELECT {CERTIFICATE_COLUMNS} FROM certificates \
         WHERE status IN ('issued', 'superseded') AND ($1::text IS NULL OR order_id = $1) \
         ORDER BY issued_at, ca_id, serial"
    );
    let rows = db::query(c, "list issued certificates", &sql, &[&order_id]).await?;
    all(&rows, codec::certificate)
}

/// Pending records reserved before `before`, oldest first.
pub(crate) async fn pending_before<C: GenericClient>(
    c: &C,
    before: i64,
) -> Result<Vec<CertificateRecord>, StoreError> {
    let sql = format!(
        "SELECT {CERTIFICATE_COLUMNS} FROM certificates \
         WHERE status = 'pending' AND requested_at < $1 ORDER BY requested_at, ca_id, serial"
    );
    let rows = db::query(c, "list pending issuances", &sql, &[&before]).await?;
    all(&rows, codec::certificate)
}

/// The device of the pending or issued record holding this key.
pub(crate) async fn live_device_for_key<C: GenericClient>(
    c: &C,
    key: &[u8; 32],
) -> Result<Option<String>, StoreError> {
    let row = db::query_opt(
        c,
        "look up public key",
        "SELECT device_id FROM certificates \
         WHERE public_key_sha256 = $1 AND status IN ('pending', 'issued')",
        &[&&key[..]],
    )
    .await?;
    row.as_ref().map(|r| get(r, 0)).transpose()
}

pub(crate) async fn count_issued<C: GenericClient>(
    c: &C,
    ca_id: Option<&str>,
) -> Result<u64, StoreError> {
    let row = db::query_one(
        c,
        "count issued certificates",
        "SELECT COUNT(*) FROM certificates \
         WHERE status = 'issued' AND ($1::text IS NULL OR ca_id = $1)",
        &[&ca_id],
    )
    .await?;
    db::unsigned(&row, 0)
}

pub(crate) async fn audit_events<C: GenericClient>(
    c: &C,
    after_seq: i64,
    limit: u32,
) -> Result<Vec<AuditRecord>, StoreError> {
    let sql = format!("SELECT {AUDIT_COLUMNS} FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2");
    let rows = db::query(c, "read audit log", &sql, &[&after_seq, &i64::from(limit)]).await?;
    all(&rows, codec::audit_record)
}

pub(crate) async fn order<C: GenericClient>(
    c: &C,
    id: &str,
) -> Result<Option<OrderRecord>, StoreError> {
    let sql = format!("SELECT {ORDER_COLUMNS} FROM orders o WHERE o.id = $1");
    let row = db::query_opt(c, "look up order", &sql, &[&id]).await?;
    row.as_ref().map(codec::order).transpose()
}

/// The order, its row locked until the transaction ends: every change of
/// its counters queues behind this.
pub(crate) async fn order_for_update<C: GenericClient>(
    c: &C,
    id: &str,
) -> Result<Option<OrderRecord>, StoreError> {
    let sql = format!("SELECT {ORDER_COLUMNS} FROM orders o WHERE o.id = $1 FOR UPDATE OF o");
    let row = db::query_opt(c, "lock order", &sql, &[&id]).await?;
    row.as_ref().map(codec::order).transpose()
}

pub(crate) async fn orders<C: GenericClient>(c: &C) -> Result<Vec<OrderRecord>, StoreError> {
    let sql = format!("SELECT {ORDER_COLUMNS} FROM orders o ORDER BY o.created_at, o.id");
    let rows = db::query(c, "list orders", &sql, &[]).await?;
    all(&rows, codec::order)
}

pub(crate) async fn station_token<C: GenericClient>(
    c: &C,
    token: &[u8; 32],
) -> Result<Option<StationTokenRecord>, StoreError> {
    let sql = format!("SELECT {STATION_TOKEN_COLUMNS} FROM station_tokens WHERE token_sha256 = $1");
    let row = db::query_opt(c, "look up station token", &sql, &[&&token[..]]).await?;
    row.as_ref().map(codec::station_token).transpose()
}

pub(crate) async fn station<C: GenericClient>(
    c: &C,
    id: &str,
) -> Result<Option<StationRecord>, StoreError> {
    let sql = format!("{STATION_SELECT} WHERE s.id = $1");
    let row = db::query_opt(c, "look up station", &sql, &[&id]).await?;
    row.as_ref().map(codec::station).transpose()
}

pub(crate) async fn station_by_certificate<C: GenericClient>(
    c: &C,
    serial: &[u8],
) -> Result<Option<StationRecord>, StoreError> {
    let sql = format!(
        "{STATION_SELECT} WHERE s.id = \
         (SELECT station_id FROM station_certificates WHERE serial = $1)"
    );
    let row = db::query_opt(c, "look up station", &sql, &[&serial]).await?;
    row.as_ref().map(codec::station).transpose()
}

pub(crate) async fn stations<C: GenericClient>(
    c: &C,
    order_id: Option<&str>,
) -> Result<Vec<StationRecord>, StoreError> {
    let sql = format!(
        "{STATION_SELECT} WHERE ($1::text IS NULL OR s.order_id = $1) \
         ORDER BY s.enrolled_at, s.id"
    );
    let rows = db::query(c, "list stations", &sql, &[&order_id]).await?;
    all(&rows, codec::station)
}

pub(crate) async fn offline_ca<C: GenericClient>(
    c: &C,
    id: &str,
) -> Result<Option<OfflineCaRecord>, StoreError> {
    let sql = format!("SELECT {OFFLINE_CA_COLUMNS} FROM offline_cas WHERE id = $1");
    let row = db::query_opt(c, "look up offline CA", &sql, &[&id]).await?;
    row.as_ref().map(codec::offline_ca).transpose()
}

pub(crate) async fn leaf_hashes<C: GenericClient>(
    c: &C,
    after_seq: i64,
    limit: u32,
) -> Result<Vec<(i64, [u8; 32])>, StoreError> {
    let rows = db::query(
        c,
        "read audit tree",
        "SELECT seq, leaf_hash FROM audit_tree WHERE seq > $1 ORDER BY seq LIMIT $2",
        &[&after_seq, &i64::from(limit)],
    )
    .await?;
    all(&rows, |row| Ok((get(row, 0)?, hash(row, 1)?)))
}

pub(crate) async fn checkpoints<C: GenericClient>(
    c: &C,
) -> Result<Vec<StoredCheckpoint>, StoreError> {
    let rows = db::query(
        c,
        "read checkpoints",
        "SELECT tree_size, root_hash, timestamp, signed, frontier \
         FROM audit_checkpoints ORDER BY tree_size",
        &[],
    )
    .await?;
    all(&rows, |row| {
        let frontier: Vec<u8> = get(row, 4)?;
        Ok(StoredCheckpoint {
            tree_size: get(row, 0)?,
            root_hash: hash(row, 1)?,
            timestamp: get(row, 2)?,
            signed: get(row, 3)?,
            frontier: hashes(&frontier),
        })
    })
}
