//! Orders: creation, station tokens, closing, refusals, and the quota step
//! of a reservation.

use deadpool_postgres::GenericClient;

use super::codec::parse_order_status;
use super::db::{self, duplicate_or, get};
use super::writes::{PreparedEvent, append_audit, authority_key_role};
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

pub(crate) async fn create_order<C: GenericClient>(
    c: &C,
    order: &NewOrder,
    tokens: &[[u8; 32]],
    event: &PreparedEvent,
) -> Result<AuditSeq, StoreError> {
    if authority_key_role(c, &order.factory).await? != Some(KeyRole::Issuing) {
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
    db::execute_raw(
        c,
        "INSERT INTO orders (id, factory, product, quantity, starts_at, expires_at, \
         device_id_kind, device_id_rule, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        &[
            &order.id,
            &order.factory,
            &order.product,
            &quantity,
            &order.starts_at,
            &order.expires_at,
            &kind,
            &rule,
            &order.created_at,
        ],
    )
    .await
    .map_err(duplicate_or("order", || order.id.clone(), "insert order"))?;
    insert_tokens(c, &order.id, tokens, event.at).await?;
    append_audit(c, event).await
}

pub(crate) async fn add_station_tokens<C: GenericClient>(
    c: &C,
    order_id: &str,
    tokens: &[[u8; 32]],
    event: &PreparedEvent,
) -> Result<AuditSeq, StoreError> {
    match lock_order_status(c, order_id).await? {
        OrderStatus::Open => {}
        OrderStatus::Closed => return Err(closed(order_id)),
    }
    insert_tokens(c, order_id, tokens, event.at).await?;
    append_audit(c, event).await
}

async fn insert_tokens<C: GenericClient>(
    c: &C,
    order_id: &str,
    tokens: &[[u8; 32]],
    now: i64,
) -> Result<(), StoreError> {
    for token in tokens {
        db::execute_raw(
            c,
            "INSERT INTO station_tokens (token_sha256, order_id, created_at) VALUES ($1, $2, $3)",
            &[&&token[..], &order_id, &now],
        )
        .await
        .map_err(duplicate_or(
            "station token",
            || Hex(token).to_string(),
            "insert station token",
        ))?;
    }
    Ok(())
}

pub(crate) async fn close_order<C: GenericClient>(
    c: &C,
    order_id: &str,
    event: &PreparedEvent,
) -> Result<AuditSeq, StoreError> {
    match lock_order_status(c, order_id).await? {
        OrderStatus::Open => {}
        OrderStatus::Closed => return Err(closed(order_id)),
    }
    db::execute_one(
        c,
        "close order",
        "UPDATE orders SET status = 'closed', closed_at = $2 WHERE id = $1 AND status = 'open'",
        &[&order_id, &event.at],
    )
    .await?;
    append_audit(c, event).await
}

pub(crate) async fn record_refusal<C: GenericClient>(
    c: &C,
    order_id: Option<&str>,
    event: &PreparedEvent,
) -> Result<AuditSeq, StoreError> {
    if let Some(order_id) = order_id {
        db::execute(
            c,
            "count refusal",
            "UPDATE orders SET refused = refused + 1 WHERE id = $1",
            &[&order_id],
        )
        .await?;
    }
    append_audit(c, event).await
}

/// The status of an order, its row locked; [`StoreError::NotFound`] if
/// there is none.
async fn lock_order_status<C: GenericClient>(
    c: &C,
    order_id: &str,
) -> Result<OrderStatus, StoreError> {
    let row = db::query_opt(
        c,
        "look up order",
        "SELECT status FROM orders WHERE id = $1 FOR UPDATE",
        &[&order_id],
    )
    .await?
    .ok_or_else(|| StoreError::NotFound {
        what: "order",
        key: order_id.to_owned(),
    })?;
    let status: String = get(&row, 0)?;
    parse_order_status(&status)
}

fn closed(order_id: &str) -> StoreError {
    StoreError::OrderUnavailable {
        order_id: order_id.to_owned(),
        reason: OrderUnavailable::Closed,
    }
}

/// Takes `count` units of the order's quota (and, for a template order,
/// `count` sequence numbers) in one statement; returns the first sequence
/// number taken. The caller holds the order's row lock (so `order` is
/// current); the `WHERE` clause re-checks every rule anyway. If no row
/// qualifies, says which rule refused.
pub(crate) async fn take_quota<C: GenericClient>(
    c: &C,
    order: &OrderRecord,
    count: i64,
    now: i64,
) -> Result<u64, StoreError> {
    let step = i64::from(matches!(order.order.device_ids, DeviceIdRule::Template(_)));
    let row = db::query_opt(
        c,
        "consume order quota",
        "UPDATE orders SET reserved = reserved + $2, next_seq = next_seq + $3 * $2 \
         WHERE id = $1 AND status = 'open' AND reserved + $2 <= quantity \
         AND starts_at <= $4 AND expires_at > $4 \
         RETURNING next_seq",
        &[&order.order.id, &count, &step, &now],
    )
    .await?;
    match row {
        // next_seq >= 1 by a CHECK constraint, so this is never negative.
        Some(row) => Ok((get::<i64>(&row, 0)? - step * count).unsigned_abs()),
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

/// One unit of quota for a reservation; returns its sequence number.
pub(crate) async fn consume_quota<C: GenericClient>(
    c: &C,
    order: &OrderRecord,
    now: i64,
) -> Result<u64, StoreError> {
    take_quota(c, order, 1, now).await
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
