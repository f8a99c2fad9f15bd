//! Production orders: what a factory may make, and the one-time tokens its
//! stations enroll with.
//!
//! Tokens are shown once, at creation, and stored only as SHA-256 hashes:
//! a copy of the database does not let anyone enroll a station.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hallmark_pki::DeviceId;
use hallmark_store::{
    AuditEvent, DeviceIdRule, DeviceIdTemplate, NewOrder, OrderRecord, TemplateValues,
};
use regex::Regex;
use serde_json::json;

use crate::error::AuthorityError;
use crate::hierarchy::sha256;
use crate::issue::Authority;

/// Orders run 30 days unless told otherwise.
pub const DEFAULT_ORDER_DAYS: i64 = 30;

/// The device-id template used when an order names neither a template nor
/// a pattern. It contains `{order}`, so it cannot collide with other orders.
pub const DEFAULT_TEMPLATE: &str = "{product}-{order}-{seq:06}";

/// How the order's device ids are chosen, as the operator wrote it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeviceIdSpec {
    /// The station proposes ids; they must match this regular expression
    /// (anchored at both ends).
    Pattern(String),
    /// The server assigns ids from this template.
    Template(String),
}

/// An order as the operator asks for it.
#[derive(Clone, Debug)]
pub struct OrderSpec {
    /// The factory (issuing CA id).
    pub factory: String,
    /// Product name: 1–32 characters from `[A-Za-z0-9._-]`.
    pub product: String,
    /// How many devices.
    pub quantity: u64,
    /// Start of the window (default: now).
    pub starts_at: Option<i64>,
    /// End of the window (default: start + [`DEFAULT_ORDER_DAYS`]).
    pub expires_at: Option<i64>,
    /// Device id rule (default: [`DEFAULT_TEMPLATE`]).
    pub device_ids: Option<DeviceIdSpec>,
    /// How many station enrollment tokens to make.
    pub stations: u32,
}

/// A created order and its station tokens (shown once, never stored).
#[derive(Debug)]
pub struct CreatedOrder {
    /// The stored order.
    pub order: OrderRecord,
    /// One-time station enrollment tokens.
    pub station_tokens: Vec<String>,
}

/// The SHA-256 of a station token, as stored.
pub fn token_hash(token: &str) -> [u8; 32] {
    sha256(token.trim().as_bytes())
}

/// Compiles an order's pattern, anchored at both ends.
pub fn compile_pattern(pattern: &str) -> Result<Regex, AuthorityError> {
    Regex::new(&format!("^(?:{pattern})$"))
        .map_err(|e| AuthorityError::InvalidOrder(format!("device id pattern: {e}")))
}

impl Authority {
    /// Creates an order and its station tokens (`order.created`).
    pub async fn create_order(&self, spec: OrderSpec) -> Result<CreatedOrder, AuthorityError> {
        let now = self.env.clock.now();
        let id = format!("ord-{}", hex::encode(&self.env.random16()[..4]));
        let order = self.new_order(&spec, id, now)?;
        self.issuing_ca(&order.factory).await?;
        let tokens: Vec<String> = (0..spec.stations).map(|_| self.new_token()).collect();
        let hashes: Vec<[u8; 32]> = tokens.iter().map(|t| token_hash(t)).collect();
        let event = AuditEvent::new(
            "order.created",
            Some(order.id.clone()),
            now,
            json!({
                "order": order.id,
                "factory": order.factory,
                "product": order.product,
                "quantity": order.quantity,
                "starts_at": order.starts_at,
                "expires_at": order.expires_at,
                "device_ids": order.device_ids,
                "station_token_sha256": hashes.iter().map(hex::encode).collect::<Vec<_>>(),
            }),
        );
        let id = order.id.clone();
        self.store.create_order(order, hashes, event).await?;
        Ok(CreatedOrder {
            order: self.order(&id).await?,
            station_tokens: tokens,
        })
    }

    /// Makes `count` more station tokens for an open order.
    pub async fn add_station_tokens(
        &self,
        order_id: &str,
        count: u32,
    ) -> Result<Vec<String>, AuthorityError> {
        let tokens: Vec<String> = (0..count).map(|_| self.new_token()).collect();
        let hashes: Vec<[u8; 32]> = tokens.iter().map(|t| token_hash(t)).collect();
        let event = AuditEvent::new(
            "order.tokens_added",
            Some(order_id.to_string()),
            self.env.clock.now(),
            json!({
                "order": order_id,
                "station_token_sha256": hashes.iter().map(hex::encode).collect::<Vec<_>>(),
            }),
        );
        self.store
            .add_station_tokens(order_id, hashes, event)
            .await
            .map_err(|e| not_found_as_unknown_order(e, order_id))?;
        Ok(tokens)
    }

    /// One order with its counters.
    pub async fn order(&self, id: &str) -> Result<OrderRecord, AuthorityError> {
        self.store
            .order(id)
            .await?
            .ok_or_else(|| AuthorityError::UnknownOrder(id.to_string()))
    }

    /// All orders with their counters.
    pub async fn orders(&self) -> Result<Vec<OrderRecord>, AuthorityError> {
        Ok(self.store.orders().await?)
    }

    /// The stations enrolled under an order.
    pub async fn stations(
        &self,
        order_id: &str,
    ) -> Result<Vec<hallmark_store::StationRecord>, AuthorityError> {
        Ok(self.store.stations(Some(order_id)).await?)
    }

    /// Closes an order (`order.closed`): no more issuance or enrollment.
    pub async fn close_order(&self, id: &str) -> Result<OrderRecord, AuthorityError> {
        let event = AuditEvent::new(
            "order.closed",
            Some(id.to_string()),
            self.env.clock.now(),
            json!({ "order": id }),
        );
        self.store
            .close_order(id, event)
            .await
            .map_err(|e| not_found_as_unknown_order(e, id))?;
        self.order(id).await
    }

    fn new_token(&self) -> String {
        let mut bytes = [0u8; 24];
        self.env.entropy.fill(&mut bytes);
        format!("hst_{}", URL_SAFE_NO_PAD.encode(bytes))
    }

    fn new_order(
        &self,
        spec: &OrderSpec,
        id: String,
        now: i64,
    ) -> Result<NewOrder, AuthorityError> {
        let invalid = |m: String| Err(AuthorityError::InvalidOrder(m));
        let product_ok = (1..=32).contains(&spec.product.len())
            && spec
                .product
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        if !product_ok {
            return invalid(format!(
                "product {:?} must be 1-32 characters from [A-Za-z0-9._-]",
                spec.product
            ));
        }
        if spec.quantity == 0 {
            return invalid("quantity must be at least 1".into());
        }
        let starts_at = spec.starts_at.unwrap_or(now);
        let expires_at = spec
            .expires_at
            .unwrap_or(starts_at + DEFAULT_ORDER_DAYS * 86_400);
        if expires_at <= starts_at {
            return invalid("the order must expire after it starts".into());
        }
        if expires_at <= now {
            return invalid("the order would already be expired".into());
        }
        let mut order = NewOrder {
            id,
            factory: spec.factory.clone(),
            product: spec.product.clone(),
            quantity: spec.quantity,
            starts_at,
            expires_at,
            device_ids: DeviceIdRule::Pattern(String::new()),
            created_at: now,
        };
        let rule = spec
            .device_ids
            .clone()
            .unwrap_or_else(|| DeviceIdSpec::Template(DEFAULT_TEMPLATE.into()));
        order.device_ids = match rule {
            DeviceIdSpec::Pattern(pattern) => {
                compile_pattern(&pattern)?;
                DeviceIdRule::Pattern(pattern)
            }
            DeviceIdSpec::Template(text) => {
                DeviceIdRule::Template(checked_template(&text, &order)?)
            }
        };
        Ok(order)
    }
}

/// Parses a template and checks that it yields valid device ids for the
/// whole order (the longest id is the one with the highest sequence number).
fn checked_template(text: &str, order: &NewOrder) -> Result<DeviceIdTemplate, AuthorityError> {
    let template =
        DeviceIdTemplate::parse(text).map_err(|e| AuthorityError::InvalidOrder(e.to_string()))?;
    for seq in [1, order.quantity] {
        let id = template.render(TemplateValues {
            product: &order.product,
            factory: &order.factory,
            order: &order.id,
            seq,
        });
        DeviceId::parse(&id).map_err(|_| {
            AuthorityError::InvalidOrder(format!(
                "template {text:?} yields {id:?}, not a valid device id \
                 (1-64 characters from [A-Za-z0-9._-], starting with a letter or digit)"
            ))
        })?;
    }
    Ok(template)
}

fn not_found_as_unknown_order(err: hallmark_store::StoreError, id: &str) -> AuthorityError {
    match err {
        hallmark_store::StoreError::NotFound { .. } => AuthorityError::UnknownOrder(id.to_string()),
        other => other.into(),
    }
}
