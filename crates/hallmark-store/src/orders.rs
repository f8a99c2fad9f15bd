//! Production orders, station enrollment tokens and stations: the records
//! behind bounded provisioning.
//!
//! An order says what a factory may make: which product, how many devices
//! (the quota), in which time window, and how device ids are chosen. Its
//! quota is consumed when an issuance is *reserved* under it, returned when
//! the issuance fails, and never exceeded: the check and the decrement are
//! one statement inside the reserving transaction, so the database decides
//! between concurrent requests on any number of server nodes.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::StoreError;
use crate::model::UnixSeconds;

/// How an order's device ids are chosen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum DeviceIdRule {
    /// The station proposes the id (the CSR's CN); it must match this
    /// regular expression (checked by the caller, anchored at both ends).
    Pattern(String),
    /// The store assigns the next id from this template when an issuance
    /// is reserved (see [`DeviceIdTemplate`]).
    Template(DeviceIdTemplate),
}

/// A device-id template such as `ACME-{product}-{seq:06}`.
///
/// Placeholders: `{product}`, `{factory}`, `{order}` and `{seq}` (the
/// order's sequence number, 1, 2, 3, …), optionally zero-padded as
/// `{seq:0N}` with N from 1 to 20. Exactly one `{seq}` is required, so
/// every rendered id is distinct. Anything else in braces is refused when
/// the template is parsed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DeviceIdTemplate {
    source: String,
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Product,
    Factory,
    Order,
    Seq { width: usize },
}

/// The values a [`DeviceIdTemplate`] is rendered with.
#[derive(Debug, Clone, Copy)]
pub struct TemplateValues<'a> {
    /// The order's product name.
    pub product: &'a str,
    /// The order's factory (issuing CA id).
    pub factory: &'a str,
    /// The order id.
    pub order: &'a str,
    /// The sequence number.
    pub seq: u64,
}

impl DeviceIdTemplate {
    /// Parses a template.
    pub fn parse(source: &str) -> Result<Self, StoreError> {
        let invalid = |reason: String| StoreError::Invalid {
            what: "device id template",
            reason,
        };
        let mut parts = Vec::new();
        let mut rest = source;
        let mut seqs = 0;
        while let Some(open) = rest.find('{') {
            if rest[..open].contains('}') {
                return Err(invalid(format!("unmatched '}}' in {source:?}")));
            }
            if open > 0 {
                parts.push(Part::Text(rest[..open].to_string()));
            }
            let close = rest[open..]
                .find('}')
                .map(|i| open + i)
                .ok_or_else(|| invalid(format!("unclosed '{{' in {source:?}")))?;
            let name = &rest[open + 1..close];
            parts.push(match name {
                "product" => Part::Product,
                "factory" => Part::Factory,
                "order" => Part::Order,
                "seq" => Part::Seq { width: 0 },
                _ => match name.strip_prefix("seq:0").map(str::parse::<usize>) {
                    Some(Ok(width)) if (1..=20).contains(&width) => Part::Seq { width },
                    _ => {
                        return Err(invalid(format!(
                            "unknown placeholder {{{name}}} (known: {{product}}, {{factory}}, \
                             {{order}}, {{seq}}, {{seq:0N}})"
                        )));
                    }
                },
            });
            if matches!(parts.last(), Some(Part::Seq { .. })) {
                seqs += 1;
            }
            rest = &rest[close + 1..];
        }
        if rest.contains('}') {
            return Err(invalid(format!("unmatched '}}' in {source:?}")));
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_string()));
        }
        if seqs != 1 {
            return Err(invalid(format!(
                "{source:?} must contain exactly one {{seq}} placeholder"
            )));
        }
        Ok(DeviceIdTemplate {
            source: source.to_string(),
            parts,
        })
    }

    /// The template as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Renders the device id for `values`.
    pub fn render(&self, values: TemplateValues<'_>) -> String {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(text) => out.push_str(text),
                Part::Product => out.push_str(values.product),
                Part::Factory => out.push_str(values.factory),
                Part::Order => out.push_str(values.order),
                Part::Seq { width } => out.push_str(&format!("{:0width$}", values.seq)),
            }
        }
        out
    }
}

impl fmt::Display for DeviceIdTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

impl TryFrom<String> for DeviceIdTemplate {
    type Error = StoreError;
    fn try_from(source: String) -> Result<Self, StoreError> {
        Self::parse(&source)
    }
}

impl From<DeviceIdTemplate> for String {
    fn from(template: DeviceIdTemplate) -> String {
        template.source
    }
}

/// Whether an order still takes requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    /// Open: requests inside its window are served while quota lasts.
    Open,
    /// Closed by an operator: no more issuance or station enrollment.
    Closed,
}

impl OrderStatus {
    /// The stable text form (as stored in the database).
    pub const fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Open => "open",
            OrderStatus::Closed => "closed",
        }
    }
}

impl fmt::Display for OrderStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A production order to create.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewOrder {
    /// Unique id, e.g. `"ord-3f9a2c1b"`.
    pub id: String,
    /// The factory: an issuing CA id (must be stored).
    pub factory: String,
    /// Product name.
    pub product: String,
    /// The quota: at most this many device certificates.
    pub quantity: u64,
    /// Requests before this time are refused.
    pub starts_at: UnixSeconds,
    /// Requests at or after this time are refused.
    pub expires_at: UnixSeconds,
    /// How device ids are chosen.
    pub device_ids: DeviceIdRule,
    /// When the order was created.
    pub created_at: UnixSeconds,
}

/// A stored order with its counters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderRecord {
    /// What was ordered.
    #[serde(flatten)]
    pub order: NewOrder,
    /// Open or closed.
    pub status: OrderStatus,
    /// When it was closed.
    pub closed_at: Option<UnixSeconds>,
    /// Certificates issued under the order (each consumed a unit of the
    /// quota). Renewals are not counted, and a certificate later superseded
    /// by a renewal still counts.
    pub issued: u64,
    /// Issuances reserved under the order but not yet completed or failed
    /// (renewals not counted), including the units held by open offline
    /// sub-CAs and not yet imported.
    pub pending: u64,
    /// Requests refused under the order (see [`Store::record_refusal`](crate::Store::record_refusal)).
    pub refused: u64,
    /// Stations enrolled under the order.
    pub stations: u64,
}

impl OrderRecord {
    /// The JSON form shown to people and stations: every field plus `left`.
    pub fn to_json(&self) -> serde_json::Value {
        let mut value = serde_json::to_value(self).unwrap_or_default();
        value["left"] = serde_json::Value::from(self.left());
        value
    }

    /// Quota left: `quantity - issued - pending`.
    pub fn left(&self) -> u64 {
        self.order
            .quantity
            .saturating_sub(self.issued + self.pending)
    }
}

/// A station's certificate, as issued by the station CA.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StationCertificate {
    /// Serial (unique among station certificates).
    pub serial: Vec<u8>,
    /// The certificate.
    pub certificate_der: Vec<u8>,
    /// SHA-256 of the station's DER `SubjectPublicKeyInfo`.
    pub public_key_sha256: [u8; 32],
    /// Start of validity.
    pub not_before: UnixSeconds,
    /// End of validity.
    pub not_after: UnixSeconds,
}

/// A station enrolled under an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StationRecord {
    /// Unique id, e.g. `"st-9c1d0e77"` (the certificate's CN).
    pub id: String,
    /// The order it serves.
    pub order_id: String,
    /// When it enrolled.
    pub enrolled_at: UnixSeconds,
    /// When it was revoked, if it was.
    pub revoked_at: Option<UnixSeconds>,
    /// Its newest certificate.
    pub current: StationCertificate,
}

/// A stored station enrollment token (only its hash is kept).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StationTokenRecord {
    /// SHA-256 of the token.
    pub token_sha256: [u8; 32],
    /// The order the token enrolls a station into.
    pub order_id: String,
    /// The station that used it, once used.
    pub used_by: Option<String>,
    /// When it was used.
    pub used_at: Option<UnixSeconds>,
}

/// Why an order refuses a request at a given time (see
/// [`StoreError::OrderUnavailable`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderUnavailable {
    /// Closed by an operator.
    Closed,
    /// Its window has not started.
    NotStarted,
    /// Its window has ended.
    Expired,
}

impl OrderRecord {
    /// Whether the order takes requests at `now`.
    pub fn availability(&self, now: UnixSeconds) -> Result<(), OrderUnavailable> {
        if self.status == OrderStatus::Closed {
            Err(OrderUnavailable::Closed)
        } else if now < self.order.starts_at {
            Err(OrderUnavailable::NotStarted)
        } else if now >= self.order.expires_at {
            Err(OrderUnavailable::Expired)
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(seq: u64) -> TemplateValues<'static> {
        TemplateValues {
            product: "sensor",
            factory: "berlin",
            order: "ord-1",
            seq,
        }
    }

    #[test]
    fn renders_every_placeholder() {
        let t = DeviceIdTemplate::parse("ACME-{product}-{factory}-{order}-{seq:06}").unwrap();
        assert_eq!(t.render(values(42)), "ACME-sensor-berlin-ord-1-000042");
        let t = DeviceIdTemplate::parse("{seq}").unwrap();
        assert_eq!(t.render(values(1234567)), "1234567");
    }

    #[test]
    fn refuses_bad_templates() {
        for bad in [
            "ACME",
            "{seq}-{seq}",
            "{serial}",
            "{seq:6}",
            "{seq:021}",
            "a{seq",
            "a}{seq}",
        ] {
            assert!(
                matches!(
                    DeviceIdTemplate::parse(bad),
                    Err(StoreError::Invalid {
                        what: "device id template",
                        ..
                    })
                ),
                "{bad:?} was accepted"
            );
        }
    }
}
