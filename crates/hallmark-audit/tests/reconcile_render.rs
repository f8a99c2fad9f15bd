#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The three renderings: terminal table, JSON, HTML.

use hallmark_audit::reconcile::{
    Category, Counts, CsvDevice, Installation, JSON_FORMAT, Provisioned, Report, TABLE_LIST_LIMIT,
    Totals, reconcile,
};
use serde_json::Value;

/// 2026-03-01T00:00:00Z.
const MAR_1: i64 = 1_772_323_200;
const DAY: i64 = 86_400;

fn cert(id: &str, station: Option<&str>, day: i64) -> Provisioned {
    Provisioned {
        device_id: id.into(),
        order_id: None,
        station_id: station.map(Into::into),
        serial_hex: format!("{:04X}", id.len()),
        issued_at: MAR_1 + day * DAY,
        installed: Installation::Installed,
        renewal: false,
    }
}

/// 25 devices not shipped, hostile ids shipped, a hostile station.
fn hostile() -> Report {
    let mut provisioned: Vec<Provisioned> = (0..25)
        .map(|i| cert(&format!("dev-{i:02}"), Some("st-1"), i % 3))
        .collect();
    provisioned.push(cert("ok-1", Some("\"><img src=x onerror=alert(1)>"), 0));
    let mut not_installed = cert("ni-1", None, 1);
    not_installed.installed = Installation::NotInstalled;
    provisioned.push(not_installed);
    let shipped = vec![
        CsvDevice::new("ok-1", 2),
        CsvDevice::new("ni-1", 3),
        CsvDevice::new("<script>alert(1)</script>", 4),
        CsvDevice::new("a&b", 5),
        CsvDevice::new("red\u{1b}[31m\u{202e}", 6),
    ];
    let mut report = reconcile(&provisioned, &shipped, &[]);
    report.title = Some("</title><script>alert(2)</script>".into());
    report
}

#[test]
fn html_escapes_every_input_string() {
    let html = hostile().to_html();
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "device id escaped"
    );
    assert!(
        html.contains("&lt;/title&gt;&lt;script&gt;alert(2)&lt;/script&gt;"),
        "title escaped"
    );
    assert!(
        html.contains("&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"),
        "station escaped"
    );
    assert!(html.contains("<code>a&amp;b</code>"));
    assert!(
        html.contains("red\\u{1b}[31m\\u{202e}"),
        "control characters shown"
    );
    assert!(!html.contains('\u{1b}') && !html.contains('\u{202e}'));
    let lower = html.to_lowercase();
    assert!(
        !lower.contains("<script"),
        "no script element, raw or generated"
    );
    assert!(!lower.contains("<img"));
}

#[test]
fn html_is_self_contained() {
    let html = hostile().to_html();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.trim_end().ends_with("</html>"));
    assert!(html.contains("Content-Security-Policy"));
    let lower = html.to_lowercase();
    for external in [
        "src=\"",
        "href=\"http",
        "@import",
        "url(",
        "<link",
        "<iframe",
    ] {
        assert!(!lower.contains(external), "{external}");
    }
    // The only absolute URL is the SVG namespace.
    assert_eq!(lower.matches("://").count(), 1);
    assert!(lower.contains("xmlns=\"http://www.w3.org/2000/svg\""));
}

#[test]
fn html_has_verdict_cards_chart_stations_and_lists() {
    let report = hostile();
    let html = report.to_html();
    assert!(html.contains("Discrepancies found"));
    assert!(html.contains("<svg"));
    assert!(html.contains(">Issued</text>") && html.contains(">Shipped</text>"));
    assert!(html.contains(">2026-03-01</text>"), "dated x axis");
    assert!(html.contains("<table>"));
    // One collapsible list per non-empty discrepancy, anchored for the cards.
    for c in Category::ALL {
        let listed = html.contains(&format!("<details id=\"{}\">", c.key()));
        assert_eq!(listed, c.is_discrepancy() && report.count(c) > 0, "{c:?}");
    }
    assert!(html.contains("href=\"#provisioned_not_shipped\""));
    // Lists are complete in HTML.
    for i in 0..25 {
        assert!(html.contains(&format!("<code>dev-{i:02}</code>")));
    }

    let clean = reconcile(&[cert("a", Some("st"), 0)], &[CsvDevice::new("a", 2)], &[]);
    let html = clean.to_html();
    assert!(html.contains("OK: no discrepancies"));
    assert!(!html.contains("<details"));
}

#[test]
fn chart_reads_for_one_day_to_a_year() {
    for days in [1, 2, 31, 90, 365, 400, 1000] {
        let provisioned: Vec<Provisioned> = (0..days)
            .map(|d| cert(&format!("d{d}"), Some("st"), d))
            .collect();
        let report = reconcile(&provisioned, &[], &[]);
        let html = report.to_html();
        let slots = html.matches("class=\"hit\"").count();
        assert!(slots > 0 && slots <= 400, "{days} days: {slots} slots");
        if days <= 400 {
            assert_eq!(slots as i64, days, "one slot per day up to 400 days");
        } else {
            assert!(html.contains("Each bar covers 3 days."));
        }
        let labels = html.matches("text-anchor=\"middle\">").count();
        assert!((1..=8).contains(&labels), "{days} days: {labels} labels");
        assert!(html.contains(">2026-03-01</text>"));
    }
    let empty = reconcile(&[], &[], &[]).to_html();
    assert!(!empty.contains("<svg") && empty.contains("No dated issuance or shipment"));
}

#[test]
fn table_summarises_and_truncates() {
    let table = hostile().to_table();
    assert!(table.contains("Verdict: DISCREPANCIES FOUND"));
    assert!(table.contains("Provisioned, not shipped: 25 (possible leakage)"));
    assert!(table.contains("  dev-19\n"));
    assert!(
        !table.contains("dev-20"),
        "only the first {TABLE_LIST_LIMIT}"
    );
    assert!(table.contains("  … and 5 more\n"));
    assert!(table.contains("  ni-1  (serial 0004)\n"));
    assert!(table.contains("red\\u{1b}[31m\\u{202e}"));
    assert!(
        !table.chars().any(|c| c.is_control() && c != '\n'),
        "no raw control characters"
    );
    assert!(table.contains("station"));
    assert!(table.contains("(none recorded)"));

    let clean = reconcile(&[cert("a", Some("st"), 0)], &[CsvDevice::new("a", 2)], &[]);
    assert!(clean.to_table().contains("Verdict: OK, no discrepancies"));
}

#[test]
fn json_carries_counts_and_full_lists() {
    let report = hostile();
    let json: Value = serde_json::from_str(&report.to_json().to_string()).unwrap();
    assert_eq!(json["format"], JSON_FORMAT);
    assert_eq!(json["has_discrepancy"], true);
    assert_eq!(json["title"], "</title><script>alert(2)</script>");
    let counts: Counts = serde_json::from_value(json["counts"].clone()).unwrap();
    assert_eq!(counts, report.counts());
    let totals: Totals = serde_json::from_value(json["totals"].clone()).unwrap();
    assert_eq!(totals, report.totals);
    for c in Category::ALL {
        let entry = &json["categories"][c.key()];
        assert_eq!(entry["count"], report.count(c), "{c:?}");
        assert_eq!(entry["discrepancy"], c.is_discrepancy());
        let ids: Vec<&str> = entry["device_ids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert_eq!(ids, report.device_ids(c), "{c:?}");
    }
    assert_eq!(json["categories"]["provisioned_not_shipped"]["count"], 25);
    assert_eq!(
        json["categories"]["issued_not_installed"]["devices"],
        serde_json::json!([{"device_id": "ni-1", "serials": ["0004"]}])
    );
    assert_eq!(json["stations"].as_array().unwrap().len(), 3);
    assert_eq!(json["stations"][2]["station_id"], Value::Null);
    assert_eq!(json["days"][0]["date"], "2026-03-01");
    assert_eq!(json["days"][0]["issued"], 10);

    let clean = reconcile(&[], &[], &[]).to_json();
    assert_eq!(clean["has_discrepancy"], false);
    assert_eq!(clean["title"], Value::Null);
}
