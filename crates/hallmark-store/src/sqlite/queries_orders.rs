//! Read queries for orders, station tokens and stations. They take any
//! connection, so the writer's jobs use them too.

use rusqlite::{Connection, OptionalExtension};

use super::codec_orders::{self, ORDER_COLUMNS, STATION_SELECT, STATION_TOKEN_COLUMNS};
use crate::orders::{OrderRecord, StationRecord, StationTokenRecord};

pub(crate) fn order(conn: &Connection, id: &str) -> rusqlite::Result<Option<OrderRecord>> {
    let sql = format!("SELECT {ORDER_COLUMNS} FROM orders o WHERE o.id = ?1");
    conn.prepare_cached(&sql)?
        .query_row([id], codec_orders::order)
        .optional()
}

pub(crate) fn orders(conn: &Connection) -> rusqlite::Result<Vec<OrderRecord>> {
    let sql = format!("SELECT {ORDER_COLUMNS} FROM orders o ORDER BY o.created_at, o.id");
    conn.prepare_cached(&sql)?
        .query_map([], codec_orders::order)?
        .collect()
}

pub(crate) fn station_token(
    conn: &Connection,
    token_sha256: &[u8; 32],
) -> rusqlite::Result<Option<StationTokenRecord>> {
    let sql = format!("SELECT {STATION_TOKEN_COLUMNS} FROM station_tokens WHERE token_sha256 = ?1");
    conn.prepare_cached(&sql)?
        .query_row([token_sha256], codec_orders::station_token)
        .optional()
}

pub(crate) fn station(conn: &Connection, id: &str) -> rusqlite::Result<Option<StationRecord>> {
    let sql = format!("{STATION_SELECT} WHERE s.id = ?1");
    conn.prepare_cached(&sql)?
        .query_row([id], codec_orders::station)
        .optional()
}

pub(crate) fn station_by_certificate(
    conn: &Connection,
    serial: &[u8],
) -> rusqlite::Result<Option<StationRecord>> {
    let sql = format!(
        "{STATION_SELECT} WHERE s.id = \
         (SELECT station_id FROM station_certificates WHERE serial = ?1)"
    );
    conn.prepare_cached(&sql)?
        .query_row([serial], codec_orders::station)
        .optional()
}

pub(crate) fn stations(
    conn: &Connection,
    order_id: Option<&str>,
) -> rusqlite::Result<Vec<StationRecord>> {
    let order = "ORDER BY s.enrolled_at, s.id";
    match order_id {
        Some(order_id) => conn
            .prepare_cached(&format!("{STATION_SELECT} WHERE s.order_id = ?1 {order}"))?
            .query_map([order_id], codec_orders::station)?
            .collect(),
        None => conn
            .prepare_cached(&format!("{STATION_SELECT} {order}"))?
            .query_map([], codec_orders::station)?
            .collect(),
    }
}
