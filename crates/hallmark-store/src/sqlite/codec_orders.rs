//! Rows ⇄ order, token and station records.

use rusqlite::Row;
use rusqlite::types::{FromSqlError, Type};

use crate::orders::{
    DeviceIdRule, DeviceIdTemplate, NewOrder, OrderRecord, OrderStatus, StationCertificate,
    StationRecord, StationTokenRecord,
};

/// Columns read by [`order`], in order (`o` = `orders`). `pending` is
/// `reserved - issued`; `stations` is counted.
pub(crate) const ORDER_COLUMNS: &str = "o.id, o.factory, o.product, o.quantity, o.starts_at, \
     o.expires_at, o.device_id_kind, o.device_id_rule, o.created_at, o.status, o.closed_at, \
     o.issued, o.reserved - o.issued, o.refused, \
     (SELECT COUNT(*) FROM stations s WHERE s.order_id = o.id)";

pub(crate) fn order(row: &Row<'_>) -> rusqlite::Result<OrderRecord> {
    Ok(OrderRecord {
        order: NewOrder {
            id: row.get(0)?,
            factory: row.get(1)?,
            product: row.get(2)?,
            quantity: unsigned(row, 3)?,
            starts_at: row.get(4)?,
            expires_at: row.get(5)?,
            device_ids: device_id_rule(row, 6)?,
            created_at: row.get(8)?,
        },
        status: order_status(row, 9)?,
        closed_at: row.get(10)?,
        issued: unsigned(row, 11)?,
        pending: unsigned(row, 12)?,
        refused: unsigned(row, 13)?,
        stations: unsigned(row, 14)?,
    })
}

/// A column that is never negative (CHECK constraints, counts).
pub(crate) fn unsigned(row: &Row<'_>, index: usize) -> rusqlite::Result<u64> {
    let value: i64 = row.get(index)?;
    u64::try_from(value)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(index, Type::Integer, Box::new(e)))
}

fn device_id_rule(row: &Row<'_>, kind_index: usize) -> rusqlite::Result<DeviceIdRule> {
    let kind: String = row.get(kind_index)?;
    let rule: String = row.get(kind_index + 1)?;
    match kind.as_str() {
        "pattern" => Ok(DeviceIdRule::Pattern(rule)),
        "template" => DeviceIdTemplate::parse(&rule)
            .map(DeviceIdRule::Template)
            .map_err(|e| conversion(kind_index + 1, e)),
        other => Err(conversion(
            kind_index,
            FromSqlError::Other(format!("unknown device id rule kind {other:?}").into()),
        )),
    }
}

/// Parses the stored text form of an [`OrderStatus`].
pub(crate) fn parse_order_status(text: &str) -> Option<OrderStatus> {
    [OrderStatus::Open, OrderStatus::Closed]
        .into_iter()
        .find(|status| status.as_str() == text)
}

fn order_status(row: &Row<'_>, index: usize) -> rusqlite::Result<OrderStatus> {
    let text: String = row.get(index)?;
    parse_order_status(&text).ok_or_else(|| {
        conversion(
            index,
            FromSqlError::Other(format!("unknown order status {text:?}").into()),
        )
    })
}

fn conversion<E>(index: usize, e: E) -> rusqlite::Error
where
    E: std::error::Error + Send + Sync + 'static,
{
    rusqlite::Error::FromSqlConversionFailure(index, Type::Text, Box::new(e))
}

/// Columns read by [`station_token`], in order.
pub(crate) const STATION_TOKEN_COLUMNS: &str = "token_sha256, order_id, used_by, used_at";

pub(crate) fn station_token(row: &Row<'_>) -> rusqlite::Result<StationTokenRecord> {
    Ok(StationTokenRecord {
        token_sha256: row.get(0)?,
        order_id: row.get(1)?,
        used_by: row.get(2)?,
        used_at: row.get(3)?,
    })
}

/// `SELECT` of [`station`] rows: a station joined with its newest
/// certificate (highest `issued_at`, then highest `generation`). Append a
/// `WHERE` on `s`.
pub(crate) const STATION_SELECT: &str = "SELECT s.id, s.order_id, s.enrolled_at, s.revoked_at, \
     c.serial, c.certificate_der, c.public_key_sha256, c.not_before, c.not_after \
     FROM stations s JOIN station_certificates c ON c.serial = ( \
         SELECT n.serial FROM station_certificates n WHERE n.station_id = s.id \
         ORDER BY n.issued_at DESC, n.generation DESC LIMIT 1)";

pub(crate) fn station(row: &Row<'_>) -> rusqlite::Result<StationRecord> {
    Ok(StationRecord {
        id: row.get(0)?,
        order_id: row.get(1)?,
        enrolled_at: row.get(2)?,
        revoked_at: row.get(3)?,
        current: StationCertificate {
            serial: row.get(4)?,
            certificate_der: row.get(5)?,
            public_key_sha256: row.get(6)?,
            not_before: row.get(7)?,
            not_after: row.get(8)?,
        },
    })
}
