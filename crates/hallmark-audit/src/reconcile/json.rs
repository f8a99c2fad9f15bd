//! The report as JSON for machines (schema in `docs/reconcile.md`).

use serde::Serialize;
use serde_json::{Map, Value, json};

use super::{Category, Report};

/// The value of the JSON report's `format` key; it changes only when a key
/// is removed or changes meaning.
pub const JSON_FORMAT: &str = "hallmark-reconcile/1";

impl Report {
    /// The report for machines: every list in full.
    ///
    /// ```json
    /// { "format": "hallmark-reconcile/1", "title": null, "has_discrepancy": true,
    ///   "totals": { "certificates": 3, … }, "counts": { "provisioned_not_shipped": 1, … },
    ///   "categories": { "provisioned_not_shipped": { "discrepancy": true, "count": 1,
    ///                   "device_ids": ["dev-7"] }, … },
    ///   "stations": [ { "station_id": "st-1", "provisioned": 3, … } ],
    ///   "days": [ { "date": "2026-03-01", "issued": 3, "shipped": 2 } ] }
    /// ```
    ///
    /// `duplicate_certified` and `issued_not_installed` also carry
    /// `devices: [{device_id, serials}]`, `duplicate_shipped` and
    /// `duplicate_scrapped` carry `devices: [{device_id, lines}]`.
    /// `totals` and `counts` deserialize as [`Totals`](super::Totals) and
    /// [`Counts`](super::Counts).
    pub fn to_json(&self) -> Value {
        let mut categories = Map::new();
        for category in Category::ALL {
            let mut entry = json!({
                "discrepancy": category.is_discrepancy(),
                "count": self.count(category),
                "device_ids": self.device_ids(category),
            });
            let devices = match category {
                Category::DuplicateCertified => Some(value(&self.duplicate_certified)),
                Category::IssuedNotInstalled => Some(value(&self.issued_not_installed)),
                Category::DuplicateShipped => Some(value(&self.duplicate_shipped)),
                Category::DuplicateScrapped => Some(value(&self.duplicate_scrapped)),
                _ => None,
            };
            if let (Some(devices), Some(map)) = (devices, entry.as_object_mut()) {
                map.insert("devices".into(), devices);
            }
            categories.insert(category.key().into(), entry);
        }
        let days: Vec<Value> = self
            .days
            .iter()
            .map(|d| {
                json!({
                    "date": super::chart::iso_date(d.date),
                    "issued": d.issued,
                    "shipped": d.shipped,
                })
            })
            .collect();
        json!({
            "format": JSON_FORMAT,
            "title": self.title,
            "has_discrepancy": self.has_discrepancy(),
            "totals": value(&self.totals),
            "counts": value(&self.counts()),
            "categories": categories,
            "stations": value(&self.stations),
            "days": days,
        })
    }
}

/// Plain data (strings, numbers, lists) always serializes.
fn value(data: &impl Serialize) -> Value {
    serde_json::to_value(data).unwrap_or_default()
}
