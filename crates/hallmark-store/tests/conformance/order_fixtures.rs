//! Orders, tokens and station certificates shared by the order and station
//! checks.

use hallmark_store::{
    DeviceIdRule, DeviceIdTemplate, IssuanceIntent, NewOrder, OrderRecord, StationCertificate,
    Store,
};

use super::fixtures::{CA, NOW, TestResult, event, intent};

/// The order most checks create.
pub const ORDER: &str = "ord-0001";
/// Its product.
pub const PRODUCT: &str = "sensor";
/// The template of [`template_order`].
pub const TEMPLATE: &str = "ACME-{product}-{seq:04}";

/// An order of `quantity` devices of [`CA`] whose ids the station proposes,
/// open from an hour ago for a day.
pub fn pattern_order(id: &str, quantity: u64) -> NewOrder {
    NewOrder {
        id: id.to_owned(),
        factory: CA.to_owned(),
        product: PRODUCT.to_owned(),
        quantity,
        starts_at: NOW - 3_600,
        expires_at: NOW + 86_400,
        device_ids: DeviceIdRule::Pattern("^dev-[0-9]+$".to_owned()),
        created_at: NOW - 3_600,
    }
}

/// Like [`pattern_order`], with ids from [`TEMPLATE`].
pub fn template_order(id: &str, quantity: u64) -> TestResult<NewOrder> {
    Ok(NewOrder {
        device_ids: DeviceIdRule::Template(DeviceIdTemplate::parse(TEMPLATE)?),
        ..pattern_order(id, quantity)
    })
}

/// Stores `order` with no station tokens.
pub async fn create(store: &dyn Store, order: NewOrder) -> TestResult {
    let subject = order.id.clone();
    store
        .create_order(order, Vec::new(), event("order.created", &subject))
        .await?;
    Ok(())
}

/// An intent under `order` (device id as given, empty for templates).
pub fn order_intent(order: &str, device: &str, key: u64, serial_n: u64) -> IssuanceIntent {
    IssuanceIntent {
        order_id: Some(order.to_owned()),
        ..intent(device, key, serial_n)
    }
}

/// The stored order; an error if it is missing.
pub async fn order(store: &dyn Store, id: &str) -> TestResult<OrderRecord> {
    Ok(store.order(id).await?.ok_or("order missing")?)
}

/// `(issued, pending, refused, stations)` of an order.
pub async fn counters(store: &dyn Store, id: &str) -> TestResult<(u64, u64, u64, u64)> {
    let o = order(store, id).await?;
    Ok((o.issued, o.pending, o.refused, o.stations))
}

/// A station enrollment token hash made from `n`.
pub fn token(n: u8) -> [u8; 32] {
    [n; 32]
}

/// A station certificate with serial `[0x51, n]`.
pub fn station_cert(n: u8) -> StationCertificate {
    StationCertificate {
        serial: vec![0x51, n],
        certificate_der: vec![0x30, 0x03, n],
        public_key_sha256: [n ^ 0xff; 32],
        not_before: NOW,
        not_after: NOW + 365 * 86_400,
    }
}
