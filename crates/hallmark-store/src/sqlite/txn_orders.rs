//! Orders: creation, station tokens, closing, refusals, and the quota step
//! of a reservation.

use rusqlite::{Connection, OptionalExtension, params};

use super::codec_orders::parse_order_status;
use super::txn::{
    PreparedEvent, append_audit, authority_key_role, db, duplicate_or, expect_one_changed,
};
use crate::StoreError;
use crate::error::Hex;
use crate::model::{AuditSeq, KeyRole};
use crate::orders::{
    DeviceIdRule, NewOrder, OrderRecord, OrderStatus, OrderUnavailable, TemplateValues,
};

/// Checks what can be checked without the database.
pub(crate) fn validate_new_order(order: &NewOrder) -> Result<(), StoreError> {
    if order.quantity == 0 || i64::try_from(order.quantity).is_err() {
        return Err(StoreError::Invalid {
            what: "order quantity",
            reason: format!("{}, expected 1 to {}", order.quantity, i64::MAX),
        });
    }
    if order.expires_at <= order.starts_at {
        return Err(StoreError::Invalid {
            what: "order window",
            reason: format!(
                "expires at {} which is not after its start {}",
                order.expires_at, order.starts_at
            ),
        });
    }
    Ok(())
}

pub(crate) fn create_order(
    conn: &Connection,
    order: &NewOrder,
    tokens: &[[u8; 32]],
    event: &PreparedEvent,
) -> Result<AuditSeq, StoreError> {
    if authority_key_role(conn, &order.factory)? != Some(KeyRole::Issuing) {
        return Err(StoreError::NotFound {
            what: "issuing CA",
            key: order.factory.clone(),
        });
    }
    let quantity = i64::try_from(order.quantity).map_err(|e| StoreError::Invalid {
        what: "order quantity",
        reason: e.to_string(),
    })?;
    let (kind, rule) = match &order.device_ids {
        DeviceIdRule::Pattern(pattern) => ("pattern", pattern.as_str()),
        DeviceIdRule::Template(template) => ("template", template.as_str()),
    };
    conn.prepare_cached(
        "INSERT INTO orders (id, factory, product, quantity, starts_at, expires_at, \
         device_id_kind, device_id_rule, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )
    .and_then(|mut stmt| {
        stmt.execute(params![
            order.id,
            order.factory,
            order.product,
            quantity,
            order.starts_at,
            order.expires_at,
            kind,
            rule,
            order.created_at,
        ])
    })
    .map_err(duplicate_or("order", || order.id.clone(), "insert order"))?;
    insert_tokens(conn, &order.id, tokens, event.at)?;
    append_audit(conn, event)
}

pub(crate) fn add_station_tokens(
    conn: &Connection,
    order_id: &str,
    tokens: &[[u8; 32]],
    event: &PreparedEvent,
) -> Result<AuditSeq, StoreError> {
    match order_status(conn, order_id)? {
        OrderStatus::Open => {}
        OrderStatus::Closed => return Err(closed(order_id)),
    }
    insert_tokens(conn, order_id, tokens, event.at)?;
    append_audit(conn, event)
}

fn insert_tokens(
    conn: &Connection,
    order_id: &str,
    tokens: &[[u8; 32]],
    now: i64,
) -> Result<(), StoreError> {
    let mut stmt = conn
        .prepare_cached(
            "INSERT INTO station_tokens (token_sha256, order_id, created_at) VALUES (?1, ?2, ?3)",
        )
        .map_err(db("insert station token"))?;
    for token in tokens {
        stmt.execute(params![token, order_id, now])
            .map_err(duplicate_or(
                "station token",
                || Hex(token).to_string(),
                "insert station token",
            ))?;
    }
    Ok(())
}

pub(crate) fn close_order(
    conn: &Connection,
    order_id: &str,
    event: &PreparedEvent,
) -> Result<AuditSeq, StoreError> {
    match order_status(conn, order_id)? {
        OrderStatus::Open => {}
        OrderStatus::Closed => return Err(closed(order_id)),
    }
    expect_one_changed(
        "close order",
        conn.prepare_cached(
            "UPDATE orders SET status = 'closed', closed_at = ?2 \
             WHERE id = ?1 AND status = 'open'",
        )
        .and_then(|mut stmt| stmt.execute(params![order_id, event.at])),
    )?;
    append_audit(conn, event)
}

pub(crate) fn record_refusal(
    conn: &Connection,
    order_id: Option<&str>,
    event: &PreparedEvent,
) -> Result<AuditSeq, StoreError> {
    if let Some(order_id) = order_id {
        conn.prepare_cached("UPDATE orders SET refused = refused + 1 WHERE id = ?1")
            .and_then(|mut stmt| stmt.execute([order_id]))
            .map_err(db("count refusal"))?;
    }
    append_audit(conn, event)
}

/// The status of an order; [`StoreError::NotFound`] if there is none.
fn order_status(conn: &Connection, order_id: &str) -> Result<OrderStatus, StoreError> {
    let status: Option<String> = conn
        .prepare_cached("SELECT status FROM orders WHERE id = ?1")
        .and_then(|mut stmt| stmt.query_row([order_id], |row| row.get(0)).optional())
        .map_err(db("look up order"))?;
    let status = status.ok_or_else(|| StoreError::NotFound {
        what: "order",
        key: order_id.to_owned(),
    })?;
    parse_order_status(&status).ok_or_else(|| {
        StoreError::backend_message("look up order", format!("unknown order status {status:?}"))
    })
}

fn closed(order_id: &str) -> StoreError {
    StoreError::OrderUnavailable {
        order_id: order_id.to_owned(),
        reason: OrderUnavailable::Closed,
    }
}

/// Takes one unit of the order's quota (and, for a template order, the
/// next sequence number) in one statement; returns the sequence number.
/// If no row qualifies, says which rule refused.
pub(crate) fn consume_quota(
    conn: &Connection,
    order: &OrderRecord,
    now: i64,
) -> Result<u64, StoreError> {
    let step = i64::from(matches!(order.order.device_ids, DeviceIdRule::Template(_)));
    let next_seq: Option<i64> = conn
        .prepare_cached(
            "UPDATE orders SET reserved = reserved + 1, next_seq = next_seq + ?2 \
             WHERE id = ?1 AND status = 'open' AND reserved < quantity \
             AND starts_at <= ?3 AND expires_at > ?3 \
             RETURNING next_seq",
        )
        .and_then(|mut stmt| {
            stmt.query_row(params![order.order.id, step, now], |row| row.get(0))
                .optional()
        })
        .map_err(db("consume order quota"))?;
    match next_seq {
        // next_seq >= 1 by a CHECK constraint, so this is never negative.
        Some(next) => Ok((next - step).unsigned_abs()),
        None => Err(match order.availability(now) {
            Err(reason) => StoreError::OrderUnavailable {
                order_id: order.order.id.clone(),
                reason,
            },
            Ok(()) => StoreError::QuotaExhausted {
                order_id: order.order.id.clone(),
                quantity: order.order.quantity,
            },
        }),
    }
}

pub(crate) fn render_device_id(order: &OrderRecord, seq: u64) -> Result<String, StoreError> {
    let DeviceIdRule::Template(template) = &order.order.device_ids else {
        return Err(StoreError::backend_message(
            "render device id",
            "the order has no device id template",
        ));
    };
    Ok(template.render(TemplateValues {
        product: &order.order.product,
        factory: &order.order.factory,
        order: &order.order.id,
        seq,
    }))
}
