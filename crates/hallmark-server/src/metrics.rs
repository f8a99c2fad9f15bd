//! Prometheus metrics, served as OpenMetrics text
//! ([OpenMetrics 1.0](https://github.com/prometheus/OpenMetrics/blob/main/specification/OpenMetrics.md)).
//!
//! | series | type | labels |
//! | --- | --- | --- |
//! | `hallmark_certificates_issued_total` | counter | `factory`, `order` |
//! | `hallmark_requests_refused_total` | counter | `reason` |
//! | `hallmark_request_duration_seconds` | histogram (0.5 ms … 5 s) | `route` |
//! | `hallmark_order_quota_left` | gauge | `order` |
//! | `hallmark_build_info` | info | `version` |
//!
//! A family without samples is not encoded at all (prometheus-client
//! leaves it out until its first update).
//!
//! Label values come from configuration (factory and order names, route
//! templates) and from a fixed set of refusal reasons, never from raw request
//! data, so that the number of series stays bounded.

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::{Registry, Unit};

use crate::Error;

/// Content type of [`Metrics::encode`]'s output.
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Upper bounds (seconds) of the request duration buckets: 0.5 ms to 5 s.
pub const DURATION_BUCKETS: [f64; 13] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct IssuedLabels {
    factory: String,
    order: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabels {
    reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OrderLabels {
    order: String,
}

/// The server's metrics and the registry that encodes them. Share it in an
/// `Arc`; every method takes `&self`.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    issued: Family<IssuedLabels, Counter>,
    refused: Family<ReasonLabels, Counter>,
    duration: Family<RouteLabels, Histogram>,
    quota_left: Family<OrderLabels, Gauge>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

fn duration_histogram() -> Histogram {
    Histogram::new(DURATION_BUCKETS)
}

impl Metrics {
    /// Registers all series (with no samples yet).
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let issued = Family::default();
        registry.register(
            "hallmark_certificates_issued",
            "Certificates issued, by factory and order",
            issued.clone(),
        );
        let refused = Family::default();
        registry.register(
            "hallmark_requests_refused",
            "Requests refused, by reason",
            refused.clone(),
        );
        let duration = Family::new_with_constructor(duration_histogram as fn() -> Histogram);
        registry.register_with_unit(
            "hallmark_request_duration",
            "Request handling time, by route",
            Unit::Seconds,
            duration.clone(),
        );
        let quota_left = Family::default();
        registry.register(
            "hallmark_order_quota_left",
            "Certificates an order may still issue",
            quota_left.clone(),
        );
        let build = Info::new(vec![("version", env!("CARGO_PKG_VERSION"))]);
        registry.register("hallmark_build", "Hallmark build information", build);
        Self {
            registry,
            issued,
            refused,
            duration,
            quota_left,
        }
    }

    /// Counts one certificate issued for `order` at `factory`.
    pub fn issued(&self, factory: &str, order: &str) {
        let labels = IssuedLabels {
            factory: factory.to_owned(),
            order: order.to_owned(),
        };
        self.issued.get_or_create(&labels).inc();
    }

    /// Counts one request refused for `reason` (a short, fixed word such as
    /// `rate_limited` or `quota_exhausted`).
    pub fn refused(&self, reason: &str) {
        let labels = ReasonLabels {
            reason: reason.to_owned(),
        };
        self.refused.get_or_create(&labels).inc();
    }

    /// Records how long a request to `route` (the route template, not the
    /// raw path) took.
    pub fn observe(&self, route: &str, elapsed: Duration) {
        let labels = RouteLabels {
            route: route.to_owned(),
        };
        self.duration
            .get_or_create(&labels)
            .observe(elapsed.as_secs_f64());
    }

    /// Sets how many certificates `order` may still issue.
    pub fn set_quota_left(&self, order: &str, left: i64) {
        let labels = OrderLabels {
            order: order.to_owned(),
        };
        self.quota_left.get_or_create(&labels).set(left);
    }

    /// Encodes every series as OpenMetrics text (ends with `# EOF`), to be
    /// served with [`OPENMETRICS_CONTENT_TYPE`].
    ///
    /// # Errors
    ///
    /// [`Error::Metrics`] if the encoder fails.
    pub fn encode(&self) -> Result<String, Error> {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)?;
        Ok(text)
    }
}

#[cfg(test)]
#[path = "metrics_tests.rs"]
mod tests;
