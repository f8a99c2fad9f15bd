//! Per-step percentiles over a run's provisioned devices, and the summary
//! table `hallmark station run` and `hallmark demo` print.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::record::{DeviceRecord, Step};

/// The `p`-th percentile (0–100, nearest rank) of `values`; `None` when empty.
pub fn percentile(values: &[f64], p: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// One row of the table: a name and its values over the devices.
fn rows(records: &[&DeviceRecord]) -> Vec<(String, Vec<f64>)> {
    let mut rows: Vec<(String, Vec<f64>)> = Step::ALL
        .into_iter()
        .map(|step| {
            let values = records.iter().filter_map(|r| r.times.get(step)).collect();
            (step.name().to_string(), values)
        })
        .collect();
    let column = |name: &str, f: fn(&DeviceRecord) -> f64| {
        (name.to_string(), records.iter().map(|r| f(r)).collect())
    };
    rows.push(column("total", |r| r.total_ms));
    rows.push(column("fixture (until locked)", |r| r.fixture_ms));
    rows.push(column("device (keygen+csr+verify)", |r| r.device_ms));
    rows.push(column("server (enroll+report)", |r| r.server_ms));
    rows.push(column("added = fixture - device", |r| r.added_ms));
    rows
}

/// The per-step p50/p99 table (milliseconds) over the provisioned devices
/// in `records`, with the definition of the added time.
pub fn table(records: &[DeviceRecord]) -> String {
    let provisioned: Vec<&DeviceRecord> = records.iter().filter(|r| r.is_provisioned()).collect();
    let mut out = String::new();
    if provisioned.is_empty() {
        out.push_str("no device was provisioned: no timings\n");
        return out;
    }
    let _ = writeln!(
        out,
        "per device, over {} provisioned (ms):\n{:<28} {:>9} {:>9}",
        provisioned.len(),
        "step",
        "p50",
        "p99"
    );
    for (name, values) in rows(&provisioned) {
        if let (Some(p50), Some(p99)) = (percentile(&values, 50.0), percentile(&values, 99.0)) {
            let _ = writeln!(out, "{name:<28} {p50:>9.1} {p99:>9.1}");
        }
    }
    out.push_str(
        "Hallmark's added line time = total minus the device's own work (the round trips of\n\
         GENERATE_KEY, GET_CSR and VERIFY: key generation and signing on the device); it is the\n\
         server (enroll, report), the station's checks and journal, and HELLO/INSTALL/LOCK.\n",
    );
    out
}

/// How many devices ended in each status, most frequent first.
pub fn status_counts(records: &[DeviceRecord]) -> Vec<(String, usize)> {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for record in records {
        *counts.entry(record.status.as_str()).or_default() += 1;
    }
    let mut counts: Vec<(String, usize)> = counts
        .into_iter()
        .map(|(s, n)| (s.to_string(), n))
        .collect();
    counts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 50.0), Some(50.0));
        assert_eq!(percentile(&v, 99.0), Some(99.0));
        assert_eq!(percentile(&[3.0], 99.0), Some(3.0));
        assert_eq!(percentile(&[], 50.0), None);
    }
}
