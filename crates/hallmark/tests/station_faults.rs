//! Nothing is lost on failure: a device drops (or errs) at each step, the
//! run reports it, the device is restarted on the same state and run
//! again, and is provisioned — with the same key and certificate when the
//! drop came after enrollment, and no extra certificate. Firmware below the
//! minimum is refused before any key is made.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests report failures by panicking

mod common;
mod line;

use std::collections::HashMap;

use common::text;
use line::{Line, Sim, report};

/// (name, extra device-sim arguments, status of the first run, whether a
/// certificate was issued in the first run).
const CASES: [(&str, &[&str], &str, bool); 8] = [
    (
        "hello",
        &["--fail-at", "hello"],
        "link_lost_at_hello",
        false,
    ),
    (
        "keygen",
        &["--fail-at", "generate-key"],
        "link_lost_at_generate_key",
        false,
    ),
    (
        "csr",
        &["--fail-at", "get-csr"],
        "link_lost_at_get_csr",
        false,
    ),
    (
        "install",
        &["--fail-at", "install"],
        "link_lost_at_install",
        true,
    ),
    (
        "verify",
        &["--fail-at", "verify"],
        "link_lost_at_verify",
        true,
    ),
    ("lock", &["--fail-at", "lock"], "link_lost_at_lock", true),
    (
        "install-error",
        &["--fail-at", "install", "--fail-mode", "error"],
        "device_error_at_install",
        true,
    ),
    (
        "old-firmware",
        &["--firmware", "0.9.9"],
        "firmware_too_old",
        false,
    ),
];

fn by_chip(lines: &[serde_json::Value]) -> HashMap<String, serde_json::Value> {
    lines
        .iter()
        .filter_map(|r| Some((r["chip_id"].as_str()?.to_string(), r.clone())))
        .collect()
}

#[test]
fn every_fault_is_reported_and_the_rerun_finishes_the_device() {
    let line = Line::new(20);
    let state = |name: &str| line.cli.path(&format!("dev-{name}"));
    let sims: Vec<Sim> = CASES
        .iter()
        .map(|(name, extra, ..)| Sim::start(&state(name), extra))
        .collect();
    let urls: Vec<&str> = sims.iter().map(|s| s.url.as_str()).collect();
    let devices = urls.join(",");

    let first = line.file("first.jsonl");
    let out = line.run(&[
        "--devices",
        &devices,
        "--min-firmware",
        "1.0.0",
        "--report",
        &first,
    ]);
    assert!(!out.status.success(), "{}", text(&out));
    let lines = report(&first);
    assert_eq!(lines.len(), CASES.len());
    let mut chips = Vec::new();
    for ((name, _, status, issued), url) in CASES.iter().zip(&urls) {
        let r = lines.iter().find(|r| r["address"] == *url).unwrap();
        assert_eq!(r["status"], *status, "{name}: {r}");
        assert_eq!(r["serial"].is_string(), *issued, "{name}: {r}");
        if *issued {
            assert_eq!(r["not_installed_reported"], true, "{name}: {r}");
        }
        // The simulator keeps its chip id in its state (HELLO may not have been answered).
        let chip = hex::encode(std::fs::read(state(name).join("chip_id")).unwrap());
        if r.get("chip_id").is_some() {
            assert_eq!(r["chip_id"], chip.as_str());
        }
        chips.push(chip);
    }
    let old = lines
        .iter()
        .find(|r| r["status"] == "firmware_too_old")
        .unwrap();
    assert_eq!(old["firmware"], "0.9.9");
    assert!(old.get("keygen_ms").is_none(), "no key was made: {old}");
    assert!(
        !state("old-firmware").join("hm_prov").exists(),
        "no key on the device"
    );
    let issued_first = CASES.iter().filter(|c| c.3).count() as u64;
    assert_eq!(line.certificates(), issued_first);
    assert_eq!(line.events("device.not_installed"), issued_first);

    // Restart every device on its state, without faults, and run again.
    drop(sims);
    let sims: Vec<Sim> = CASES
        .iter()
        .map(|(name, extra, ..)| {
            let keep: &[&str] = if *name == "old-firmware" { extra } else { &[] };
            Sim::start(&state(name), keep)
        })
        .collect();
    let devices = sims
        .iter()
        .map(|s| s.url.as_str())
        .collect::<Vec<_>>()
        .join(",");
    let second = line.file("second.jsonl");
    let out = line.run(&[
        "--devices",
        &devices,
        "--min-firmware",
        "1.0.0",
        "--report",
        &second,
    ]);
    assert!(
        !out.status.success(),
        "the old firmware still fails: {}",
        text(&out)
    );
    let before = by_chip(&lines);
    let after = by_chip(&report(&second));
    for ((name, _, _, issued), chip) in CASES.iter().zip(&chips) {
        let r = &after[chip];
        if *name == "old-firmware" {
            assert_eq!(r["status"], "firmware_too_old");
            continue;
        }
        assert_eq!(r["status"], "provisioned", "{name}: {r}");
        if *issued {
            assert_eq!(
                r["serial"], before[chip]["serial"],
                "{name}: same certificate"
            );
            assert_eq!(r["device_id"], before[chip]["device_id"], "{name}");
            assert_eq!(r["resumed"], true, "{name}: {r}");
        }
    }
    let provisioned = (CASES.len() - 1) as u64;
    assert_eq!(
        line.certificates(),
        provisioned,
        "one certificate per device, no extra"
    );
    assert_eq!(line.events("device.installed"), provisioned);
    assert_eq!(
        line.cli
            .count("SELECT count(DISTINCT public_key_sha256) FROM certificates"),
        provisioned
    );

    // Locked now: a third run refuses them all and issues nothing.
    let third = line.file("third.jsonl");
    let out = line.run(&[
        "--devices",
        &devices,
        "--min-firmware",
        "1.0.0",
        "--report",
        &third,
    ]);
    assert!(!out.status.success());
    let locked = report(&third)
        .iter()
        .filter(|r| r["status"] == "device_locked")
        .count();
    assert_eq!(locked as u64, provisioned);
    assert_eq!(line.certificates(), provisioned);
}
