//! The comparison itself.

use std::collections::{BTreeMap, BTreeSet};

use time::{Date, OffsetDateTime};

use super::{
    CertifiedDevice, CsvDevice, DayRow, Installation, ListedDevice, Provisioned, Report,
    StationRow, Totals,
};

/// Reconciles the certificates Hallmark issued against the factory's
/// shipped and scrapped lists. Pure: the same inputs give the same report.
///
/// Device ids are compared exactly (byte for byte, case-sensitive); the
/// CSV parser has already trimmed them. See [`Report`] for the categories.
pub fn reconcile(
    provisioned: &[Provisioned],
    shipped: &[CsvDevice],
    scrapped: &[CsvDevice],
) -> Report {
    let mut certs: BTreeMap<&str, Vec<&Provisioned>> = BTreeMap::new();
    for cert in provisioned {
        certs.entry(cert.device_id.as_str()).or_default().push(cert);
    }
    for list in certs.values_mut() {
        list.sort_by(|a, b| (a.issued_at, &a.serial_hex).cmp(&(b.issued_at, &b.serial_hex)));
    }
    let shipped_lines = lines_by_id(shipped);
    let scrapped_lines = lines_by_id(scrapped);
    let is_certified = |id: &str| certs.contains_key(id);
    let is_shipped = |id: &str| shipped_lines.contains_key(id);
    let is_scrapped = |id: &str| scrapped_lines.contains_key(id);
    let ids = |map: &BTreeMap<&str, Vec<u64>>, keep: &dyn Fn(&str) -> bool| -> Vec<String> {
        map.keys()
            .copied()
            .filter(|id| keep(id))
            .map(str::to_string)
            .collect()
    };

    let serials_where = |keep: &dyn Fn(&Provisioned) -> bool, at_least: usize| {
        certs
            .iter()
            .filter_map(|(id, list)| {
                let serials: Vec<String> = list
                    .iter()
                    .filter(|c| keep(c))
                    .map(|c| c.serial_hex.clone())
                    .collect();
                (serials.len() >= at_least).then(|| CertifiedDevice {
                    device_id: (*id).to_string(),
                    serials,
                })
            })
            .collect::<Vec<_>>()
    };

    Report {
        title: None,
        totals: Totals {
            certificates: provisioned.len() as u64,
            renewals: provisioned.iter().filter(|c| c.renewal).count() as u64,
            installation_unknown: provisioned
                .iter()
                .filter(|c| c.installed == Installation::Unknown)
                .count() as u64,
            provisioned_devices: certs.len() as u64,
            shipped_rows: shipped.len() as u64,
            shipped_devices: shipped_lines.len() as u64,
            shipped_date_unknown: shipped.iter().filter(|d| d.date.is_none()).count() as u64,
            scrapped_rows: scrapped.len() as u64,
            scrapped_devices: scrapped_lines.len() as u64,
        },
        provisioned_and_shipped: certs
            .keys()
            .filter(|id| is_shipped(id))
            .map(|id| (*id).to_string())
            .collect(),
        provisioned_not_shipped: certs
            .keys()
            .filter(|id| !is_shipped(id) && !is_scrapped(id))
            .map(|id| (*id).to_string())
            .collect(),
        shipped_not_provisioned: ids(&shipped_lines, &|id| !is_certified(id)),
        duplicate_certified: serials_where(&|c| !c.renewal, 2),
        duplicate_shipped: repeated(&shipped_lines),
        duplicate_scrapped: repeated(&scrapped_lines),
        issued_not_installed: serials_where(&|c| c.installed == Installation::NotInstalled, 1),
        scrapped: ids(&scrapped_lines, &|_| true),
        scrapped_but_shipped: ids(&scrapped_lines, &is_shipped),
        scrapped_not_provisioned: ids(&scrapped_lines, &|id| !is_certified(id)),
        stations: stations(provisioned, &is_shipped, &is_scrapped),
        days: days(provisioned, shipped),
    }
}

/// Each id's lines, ascending.
fn lines_by_id(rows: &[CsvDevice]) -> BTreeMap<&str, Vec<u64>> {
    let mut map: BTreeMap<&str, Vec<u64>> = BTreeMap::new();
    for row in rows {
        map.entry(row.device_id.as_str())
            .or_default()
            .push(row.line);
    }
    for lines in map.values_mut() {
        lines.sort_unstable();
    }
    map
}

fn repeated(lines: &BTreeMap<&str, Vec<u64>>) -> Vec<ListedDevice> {
    lines
        .iter()
        .filter(|(_, lines)| lines.len() > 1)
        .map(|(id, lines)| ListedDevice {
            device_id: (*id).to_string(),
            lines: lines.clone(),
        })
        .collect()
}

fn stations(
    provisioned: &[Provisioned],
    is_shipped: &dyn Fn(&str) -> bool,
    is_scrapped: &dyn Fn(&str) -> bool,
) -> Vec<StationRow> {
    // (devices certified, devices with a certificate not installed)
    type Sets<'a> = (BTreeSet<&'a str>, BTreeSet<&'a str>);
    let mut by_station: BTreeMap<Option<&str>, Sets<'_>> = BTreeMap::new();
    for cert in provisioned {
        let (devices, not_installed) = by_station.entry(cert.station_id.as_deref()).or_default();
        devices.insert(&cert.device_id);
        if cert.installed == Installation::NotInstalled {
            not_installed.insert(&cert.device_id);
        }
    }
    let mut rows: Vec<StationRow> = by_station
        .into_iter()
        .map(|(station, (devices, not_installed))| {
            let count = |f: &dyn Fn(&str) -> bool| devices.iter().filter(|id| f(id)).count() as u64;
            StationRow {
                station_id: station.map(str::to_string),
                provisioned: devices.len() as u64,
                shipped: count(is_shipped),
                not_shipped: count(&|id| !is_shipped(id) && !is_scrapped(id)),
                scrapped: count(is_scrapped),
                not_installed: not_installed.len() as u64,
            }
        })
        .collect();
    // `None` sorts first in a BTreeMap; the unknown station goes last.
    rows.sort_by(|a, b| {
        (a.station_id.is_none(), &a.station_id).cmp(&(b.station_id.is_none(), &b.station_id))
    });
    rows
}

/// The UTC day of a unix time (`None` beyond the years ±9999).
pub(crate) fn utc_day(unix: i64) -> Option<Date> {
    OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .map(|at| at.date())
}

fn days(provisioned: &[Provisioned], shipped: &[CsvDevice]) -> Vec<DayRow> {
    let mut days: BTreeMap<Date, (u64, u64)> = BTreeMap::new();
    for cert in provisioned.iter().filter(|c| !c.renewal) {
        if let Some(day) = utc_day(cert.issued_at) {
            days.entry(day).or_default().0 += 1;
        }
    }
    for day in shipped.iter().filter_map(|d| d.date) {
        days.entry(day).or_default().1 += 1;
    }
    days.into_iter()
        .map(|(date, (issued, shipped))| DayRow {
            date,
            issued,
            shipped,
        })
        .collect()
}
