//! `hallmark station run` through a real server on SQLite: 200 simulated
//! devices, then the same devices again (locked: never provisioned twice),
//! then the server goes away mid-run (the station stops taking devices).

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests report failures by panicking

mod common;
mod line;

use std::collections::HashSet;
use std::io::{BufRead, BufReader};

use common::text;
use line::{Line, report};

const DEVICES: usize = 200;

#[test]
fn two_hundred_devices_then_locked_then_server_lost() {
    let mut line = Line::new(260);
    let states = line.file("sims");
    let first = line.file("first.jsonl");
    let devices = DEVICES.to_string();
    let out = line.run(&[
        "--sim",
        &devices,
        "--sim-state",
        &states,
        "--sim-keygen-delay",
        "5",
        "--parallel",
        "16",
        "--report",
        &first,
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let printed = String::from_utf8(out.stdout).unwrap();
    assert!(
        printed.contains(&format!("provisioned {DEVICES} of {DEVICES} devices")),
        "{printed}"
    );
    for step in [
        "hello", "keygen", "csr", "enroll", "install", "verify", "lock", "report", "added",
    ] {
        assert!(
            printed.lines().any(|l| l.starts_with(step)),
            "no {step} row:\n{printed}"
        );
    }

    // Every report line, and the server's records, by sqlite3.
    let lines = report(&first);
    assert_eq!(lines.len(), DEVICES);
    let mut ids = HashSet::new();
    let mut serials = HashSet::new();
    for r in &lines {
        assert_eq!(r["status"], "provisioned", "{r}");
        assert_eq!(r["key_origin"], "device");
        assert_eq!(r["resumed"], false);
        assert!(
            r["address"]
                .as_str()
                .unwrap()
                .starts_with("tcp://127.0.0.1:")
        );
        for field in [
            "hello_ms",
            "keygen_ms",
            "csr_ms",
            "enroll_ms",
            "install_ms",
            "verify_ms",
            "lock_ms",
            "report_ms",
            "total_ms",
            "fixture_ms",
            "device_ms",
            "added_ms",
        ] {
            assert!(r[field].as_f64().unwrap() >= 0.0, "{field}: {r}");
        }
        let fixture = r["fixture_ms"].as_f64().unwrap();
        let added = fixture - r["device_ms"].as_f64().unwrap();
        assert!((added - r["added_ms"].as_f64().unwrap()).abs() < 0.1, "{r}");
        // The report to the server goes out after the fixture is free.
        let reported = fixture + r["report_ms"].as_f64().unwrap();
        assert!(reported <= r["total_ms"].as_f64().unwrap() + 0.1, "{r}");
        let id = r["device_id"].as_str().unwrap().to_string();
        let serial = r["serial"].as_str().unwrap().to_string();
        let stored = line.cli.sql(&format!(
            "SELECT lower(hex(serial)) || ' ' || status FROM certificates WHERE device_id = '{id}'"
        ));
        assert_eq!(stored, format!("{} issued", serial.to_lowercase()), "{id}");
        assert!(ids.insert(id));
        assert!(serials.insert(serial));
    }
    assert_eq!(line.certificates(), DEVICES as u64);
    assert_eq!(
        line.cli.count(
            "SELECT count(*) FROM certificates WHERE key_origin = 'device' AND status = 'issued'"
        ),
        DEVICES as u64
    );
    assert_eq!(line.events("device.installed"), DEVICES as u64);
    assert_eq!(line.events("device.not_installed"), 0);
    let dirs = std::fs::read_dir(line.station.join("journal")).map_or(0, |d| d.count());
    assert_eq!(dirs, 0, "the journal is emptied once devices are locked");

    // The same devices again: every one is locked, none is touched.
    let second = line.file("second.jsonl");
    let out = line.run(&[
        "--sim",
        &devices,
        "--sim-state",
        &states,
        "--report",
        &second,
    ]);
    assert!(!out.status.success(), "{}", text(&out));
    let lines = report(&second);
    assert_eq!(lines.len(), DEVICES);
    assert!(
        lines
            .iter()
            .all(|r| r["status"] == "device_locked" && r["initial_state"] == "locked")
    );
    assert!(text(&out).contains(&format!(
        "{DEVICES} of {DEVICES} device(s) were not provisioned"
    )));
    assert_eq!(line.certificates(), DEVICES as u64, "no new certificate");

    // The server dies mid-run: the station stops taking devices and says why.
    let third = line.file("third.jsonl");
    let mut child = line.spawn(&[
        "--sim",
        "40",
        "--parallel",
        "2",
        "--sim-keygen-delay",
        "40",
        "--report",
        &third,
    ]);
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut seen = String::new();
    for _ in 0..4 {
        stdout.read_line(&mut seen).unwrap();
    }
    assert_eq!(seen.matches("provisioned").count(), 4, "{seen}");
    line.server.child.kill().unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    let status = child.wait().unwrap();
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(!status.success());
    assert!(rest.contains("STOPPED taking devices"), "{rest}");
    assert!(
        stderr.contains("the run stopped taking devices"),
        "{stderr}"
    );
    assert!(
        stderr.contains("cannot reach the Hallmark server"),
        "{stderr}"
    );
    let lines = report(&third);
    assert_eq!(lines.len(), 40);
    let count = |s: &str| lines.iter().filter(|r| r["status"] == s).count();
    assert!(count("provisioned") >= 4);
    assert!(count("not_attempted") > 20, "{rest}");
    assert!(
        count("server_unreachable") + count("installed_not_reported") >= 1,
        "{rest}"
    );
    let known = [
        "provisioned",
        "not_attempted",
        "server_unreachable",
        "installed_not_reported",
        "abandoned_server_unreachable",
        "server_error",
    ];
    assert!(
        lines
            .iter()
            .all(|r| known.contains(&r["status"].as_str().unwrap())),
        "{rest}"
    );
}
