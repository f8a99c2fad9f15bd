#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The reconciliation: categories, stations, days, the verdict.

use hallmark_audit::reconcile::{
    Category, CertifiedDevice, Counts, CsvDevice, DayRow, Installation, ListedDevice, Provisioned,
    StationRow, Totals, reconcile,
};
use time::macros::date;

/// 2026-03-01T00:00:00Z.
const MAR_1: i64 = 1_772_323_200;
const DAY: i64 = 86_400;

fn cert(id: &str, station: Option<&str>, serial: &str, installed: Installation) -> Provisioned {
    Provisioned {
        device_id: id.into(),
        order_id: Some("order-1".into()),
        station_id: station.map(Into::into),
        serial_hex: serial.into(),
        issued_at: MAR_1 + 3600,
        installed,
        renewal: false,
    }
}

fn ok(id: &str, station: &str, serial: &str) -> Provisioned {
    cert(id, Some(station), serial, Installation::Installed)
}

/// Rows on lines 2, 3, … as in a file with a header.
fn rows(ids: &[&str]) -> Vec<CsvDevice> {
    (2..)
        .zip(ids)
        .map(|(line, id)| CsvDevice::new(*id, line))
        .collect()
}

fn strings(ids: &[&str]) -> Vec<String> {
    ids.iter().map(|s| s.to_string()).collect()
}

/// Every category populated at once.
fn scenario() -> (Vec<Provisioned>, Vec<CsvDevice>, Vec<CsvDevice>) {
    let mut renewal = ok("a3", "st-1", "0A3B");
    renewal.renewal = true;
    renewal.issued_at += 30 * DAY;
    let mut second = ok("d1", "st-1", "0D1B");
    second.issued_at += 60;
    let provisioned = vec![
        ok("a2", "st-1", "0A2"),
        ok("a1", "st-1", "0A1"),
        ok("a3", "st-1", "0A3"),
        renewal,
        ok("l1", "st-2", "0B1"),
        cert("l2", None, "0B2", Installation::Unknown),
        second,
        ok("d1", "st-1", "0D1"),
        cert("n1", Some("st-2"), "0C1", Installation::NotInstalled),
        ok("s1", "st-2", "0E1"),
        ok("s2", "st-1", "0E2"),
    ];
    // a1 shipped twice (lines 2 and 9), c1 never certified.
    let shipped = rows(&["a1", "a2", "a3", "d1", "n1", "s2", "c1", "a1"]);
    // x1 never certified and listed twice (lines 4 and 5).
    let scrapped = rows(&["s2", "s1", "x1", "x1"]);
    (provisioned, shipped, scrapped)
}

#[test]
fn every_category_with_exact_lists() {
    let (provisioned, shipped, scrapped) = scenario();
    let report = reconcile(&provisioned, &shipped, &scrapped);

    assert_eq!(
        report.provisioned_and_shipped,
        strings(&["a1", "a2", "a3", "d1", "n1", "s2"])
    );
    assert_eq!(report.provisioned_not_shipped, strings(&["l1", "l2"]));
    assert_eq!(report.shipped_not_provisioned, strings(&["c1"]));
    assert_eq!(
        report.duplicate_certified,
        [CertifiedDevice {
            device_id: "d1".into(),
            serials: strings(&["0D1", "0D1B"])
        }]
    );
    assert_eq!(
        report.duplicate_shipped,
        [ListedDevice {
            device_id: "a1".into(),
            lines: vec![2, 9]
        }]
    );
    assert_eq!(
        report.duplicate_scrapped,
        [ListedDevice {
            device_id: "x1".into(),
            lines: vec![4, 5]
        }]
    );
    assert_eq!(
        report.issued_not_installed,
        [CertifiedDevice {
            device_id: "n1".into(),
            serials: strings(&["0C1"])
        }]
    );
    assert_eq!(report.scrapped, strings(&["s1", "s2", "x1"]));
    assert_eq!(report.scrapped_but_shipped, strings(&["s2"]));
    assert_eq!(report.scrapped_not_provisioned, strings(&["x1"]));

    assert_eq!(
        report.totals,
        Totals {
            certificates: 11,
            renewals: 1,
            installation_unknown: 1,
            provisioned_devices: 9,
            shipped_rows: 8,
            shipped_devices: 7,
            shipped_date_unknown: 8,
            scrapped_rows: 4,
            scrapped_devices: 3,
        }
    );
    let station =
        |id: Option<&str>,
         [provisioned, shipped, not_shipped, scrapped, not_installed]: [u64; 5]| {
            StationRow {
                station_id: id.map(Into::into),
                provisioned,
                shipped,
                not_shipped,
                scrapped,
                not_installed,
            }
        };
    assert_eq!(
        report.stations,
        [
            station(Some("st-1"), [5, 5, 0, 1, 0]),
            station(Some("st-2"), [3, 1, 1, 1, 1]),
            station(None, [1, 0, 1, 0, 0]),
        ]
    );
    for category in Category::ALL {
        assert!(report.count(category) > 0, "{category:?} is empty");
    }
    assert!(report.has_discrepancy());
    assert_eq!(
        report.counts(),
        Counts {
            provisioned_and_shipped: 6,
            provisioned_not_shipped: 2,
            shipped_not_provisioned: 1,
            duplicate_certified: 1,
            duplicate_shipped: 1,
            duplicate_scrapped: 1,
            issued_not_installed: 1,
            scrapped: 3,
            scrapped_but_shipped: 1,
            scrapped_not_provisioned: 1,
        }
    );
    assert_eq!(report.device_ids(Category::DuplicateShipped), ["a1"]);
}

#[test]
fn input_order_does_not_matter() {
    let (mut provisioned, mut shipped, mut scrapped) = scenario();
    let report = reconcile(&provisioned, &shipped, &scrapped);
    provisioned.reverse();
    shipped.reverse();
    scrapped.reverse();
    assert_eq!(reconcile(&provisioned, &shipped, &scrapped), report);
}

#[test]
fn renewals_are_not_duplicates() {
    let mut renewals = vec![ok("dev-1", "st-1", "01")];
    for (i, serial) in ["02", "03"].into_iter().enumerate() {
        let mut renewal = ok("dev-1", "st-1", serial);
        renewal.renewal = true;
        renewal.issued_at += (i as i64 + 1) * 365 * DAY;
        renewals.push(renewal);
    }
    let report = reconcile(&renewals, &rows(&["dev-1"]), &[]);
    assert!(report.duplicate_certified.is_empty());
    assert!(!report.has_discrepancy(), "{}", report.to_table());
    assert_eq!(report.totals.renewals, 2);
    // Renewals are not production: the chart counts only the first.
    assert_eq!(report.days.iter().map(|d| d.issued).sum::<u64>(), 1);

    // A second non-renewal certificate is a duplicate, renewals aside.
    renewals.push(ok("dev-1", "st-2", "04"));
    let report = reconcile(&renewals, &rows(&["dev-1"]), &[]);
    assert_eq!(
        report.duplicate_certified,
        [CertifiedDevice {
            device_id: "dev-1".into(),
            serials: strings(&["01", "04"])
        }]
    );
}

#[test]
fn a_clean_reconciliation_has_no_discrepancy() {
    let provisioned = [
        ok("a", "st-1", "01"),
        ok("b", "st-1", "02"),
        ok("c", "st-2", "03"),
    ];
    let mut unknown = cert("d", Some("st-2"), "04", Installation::Unknown);
    unknown.order_id = None;
    let provisioned = [&provisioned[..], &[unknown]].concat();
    let report = reconcile(&provisioned, &rows(&["b", "a", "d"]), &rows(&["c"]));
    assert!(!report.has_discrepancy());
    assert_eq!(report.provisioned_and_shipped, strings(&["a", "b", "d"]));
    assert_eq!(report.scrapped, strings(&["c"]));
    assert!(report.provisioned_not_shipped.is_empty());

    let empty = reconcile(&[], &[], &[]);
    assert!(!empty.has_discrepancy());
    assert!(empty.stations.is_empty() && empty.days.is_empty());
}

#[test]
fn days_split_at_utc_midnight() {
    let at = |id: &str, issued_at: i64| {
        let mut c = ok(id, "st-1", id);
        c.issued_at = issued_at;
        c
    };
    let provisioned = [
        at("a", MAR_1 - 1),       // 2026-02-28T23:59:59Z
        at("b", MAR_1),           // 2026-03-01T00:00:00Z
        at("c", MAR_1 + DAY - 1), // 2026-03-01T23:59:59Z
        at("d", MAR_1 + DAY),     // 2026-03-02T00:00:00Z
        at("e", MAR_1 + 3 * DAY), // 2026-03-04
    ];
    let shipped = vec![
        CsvDevice::new("a", 2).with_date(date!(2026 - 03 - 01)),
        CsvDevice::new("b", 3).with_date(date!(2026 - 03 - 02)),
        CsvDevice::new("c", 4).with_date(date!(2026 - 03 - 02)),
        CsvDevice::new("d", 5),
    ];
    let report = reconcile(&provisioned, &shipped, &[]);
    let day = |date, issued, shipped| DayRow {
        date,
        issued,
        shipped,
    };
    assert_eq!(
        report.days,
        [
            day(date!(2026 - 02 - 28), 1, 0),
            day(date!(2026 - 03 - 01), 2, 1),
            day(date!(2026 - 03 - 02), 1, 2),
            day(date!(2026 - 03 - 04), 1, 0),
        ]
    );
    assert_eq!(report.totals.shipped_date_unknown, 1);
}

#[test]
fn csv_dates_follow_utc_too() {
    let shipped = hallmark_audit::reconcile::parse_device_csv(
        &b"device_id,shipped_at\na,2026-03-01T23:30:00-01:00\nb,2026-03-01T00:30:00+01:00\n"[..],
        "shipped.csv",
    )
    .unwrap();
    let report = reconcile(&[], &shipped, &[]);
    let dates: Vec<_> = report.days.iter().map(|d| (d.date, d.shipped)).collect();
    assert_eq!(
        dates,
        [(date!(2026 - 02 - 28), 1), (date!(2026 - 03 - 02), 1)]
    );
}
