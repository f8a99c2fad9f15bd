//! Offline production through a real server on SQLite: a station sub-CA
//! is granted, devices are provisioned with the server out of reach, the
//! log is synced and imported; a tampered log and an over-count log are
//! refused and import nothing; closing returns the unused quota.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests report failures by panicking

mod common;
mod line;

use std::path::{Path, PathBuf};

use base64::Engine;
use common::text;
use hallmark_testkit::tools;
use line::{Line, report};

/// `hallmark --home STATION station ARGS`.
fn station(line: &Line, args: &[&str]) -> std::process::Output {
    let mut all = vec!["--home", line.station.to_str().unwrap(), "station"];
    all.extend_from_slice(args);
    line.cli.run(&all)
}

/// Requests a sub-CA for `count` devices; returns its grant directory.
fn request(line: &Line, count: u64) -> PathBuf {
    let out = station(
        line,
        &["offline-ca", "request", "--count", &count.to_string()],
    );
    assert!(out.status.success(), "{}", text(&out));
    let printed = String::from_utf8(out.stdout).unwrap();
    let dir = printed
        .lines()
        .find_map(|l| l.strip_prefix("saved in "))
        .unwrap_or_else(|| panic!("no grant directory in {printed}"));
    PathBuf::from(dir.trim())
}

/// Points the station at a dead address while `f` runs: offline means
/// offline.
fn unplugged<T>(line: &Line, f: impl FnOnce() -> T) -> T {
    let toml = line.station.join("station.toml");
    let original = std::fs::read_to_string(&toml).unwrap();
    let server = format!("https://{}", line.server.addr);
    assert!(original.contains(&server), "{original}");
    std::fs::write(&toml, original.replace(&server, "https://127.0.0.1:9")).unwrap();
    let result = f();
    std::fs::write(&toml, original).unwrap();
    result
}

fn run_offline(line: &Line, grant: &Path, sims: usize, state: &str) -> std::process::Output {
    let report = line.file(&format!("{state}.jsonl"));
    let state = line.file(state);
    unplugged(line, || {
        line.run(&[
            "--offline",
            "--grant",
            grant.to_str().unwrap(),
            "--sim",
            &sims.to_string(),
            "--sim-state",
            &state,
            "--sim-keygen-delay",
            "1",
            "--report",
            &report,
        ])
    })
}

fn log_lines(grant: &Path) -> Vec<String> {
    std::fs::read_to_string(grant.join("log.jsonl"))
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn grant_json(grant: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(grant.join("grant.json")).unwrap()).unwrap()
}

/// Checks the first logged certificate with OpenSSL (chain to the root
/// through the sub-CA and the offline CA) and pkilint.
fn verify_logged_certificate(line: &Line, grant: &Path) {
    let entry: serde_json::Value = serde_json::from_str(&log_lines(grant)[0]).unwrap();
    let data = base64::engine::general_purpose::STANDARD
        .decode(entry["entry"]["data_json"].as_str().unwrap())
        .unwrap();
    let data: serde_json::Value = serde_json::from_slice(&data).unwrap();
    let der = base64::engine::general_purpose::STANDARD
        .decode(data["certificate"].as_str().unwrap())
        .unwrap();
    let leaf = line.cli.path("offline-leaf.pem");
    std::fs::write(&leaf, hallmark_pki::pem::encode("CERTIFICATE", &der)).unwrap();
    let g = grant_json(grant);
    let sub = line.cli.path("offline-sub.pem");
    std::fs::write(&sub, g["certificate"].as_str().unwrap()).unwrap();
    let chain = g["chain"].as_array().unwrap();
    let offline_ca = line.cli.path("offline-ca.pem");
    std::fs::write(&offline_ca, chain[0].as_str().unwrap()).unwrap();
    let root = line.cli.chain_file("root");
    tools::openssl_verify(&root, &[&sub, &offline_ca], &leaf, Some("sslclient"))
        .unwrap_or_else(|e| panic!("openssl verify of an offline certificate: {e}"));
    tools::openssl_verify(&root, &[&offline_ca], &sub, None)
        .unwrap_or_else(|e| panic!("openssl verify of the sub-CA: {e}"));
    tools::lint_certificate(&leaf).unwrap_or_else(|e| panic!("pkilint: {e}"));
    tools::lint_chain_link(&sub, &leaf).unwrap_or_else(|e| panic!("pkilint chain: {e}"));
}

#[test]
fn offline_issue_sync_tamper_over_count_close() {
    let line = Line::new(30);
    let reserved = || line.cli.count("SELECT reserved FROM orders");

    // A sub-CA for 12 devices takes 12 units of the quota at once.
    let grant = request(&line, 12);
    let g = grant_json(&grant);
    assert_eq!(g["count"], 12);
    assert_eq!(g["device_ids"]["assigned"].as_array().unwrap().len(), 12);
    assert!(g["key_uri"].as_str().unwrap().starts_with("soft:"), "{g}");
    assert_eq!(reserved(), 12);
    assert_eq!(line.events("offline_ca.issued"), 1);

    // Ten devices with the server out of reach.
    let out = run_offline(&line, &grant, 10, "sims-a");
    assert!(out.status.success(), "{}", text(&out));
    let lines = report(&line.file("sims-a.jsonl"));
    assert_eq!(lines.len(), 10);
    assert!(
        lines.iter().all(|r| r["status"] == "provisioned"),
        "{lines:?}"
    );
    assert_eq!(log_lines(&grant).len(), 10);
    assert_eq!(line.certificates(), 0, "nothing reached the server yet");
    verify_logged_certificate(&line, &grant);

    // A tampered log (one entry's time changed) is refused whole.
    let original = std::fs::read_to_string(grant.join("log.jsonl")).unwrap();
    let mut tampered: Vec<serde_json::Value> = original
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let at = tampered[4]["entry"]["at"].as_i64().unwrap();
    tampered[4]["entry"]["at"] = serde_json::json!(at + 1);
    let text_of = |v: &[serde_json::Value]| v.iter().map(|e| format!("{e}\n")).collect::<String>();
    std::fs::write(grant.join("log.jsonl"), text_of(&tampered)).unwrap();
    let out = station(&line, &["sync", "--grant", grant.to_str().unwrap()]);
    assert!(!out.status.success(), "a tampered log was accepted");
    assert!(text(&out).contains("offline_log_refused"), "{}", text(&out));
    assert_eq!(line.certificates(), 0);
    assert_eq!(line.events("offline.sync_refused"), 1);
    let refused = line.cli.sql(
        "SELECT json_extract(data, '$.anomaly') FROM audit_log WHERE kind = 'offline.sync_refused'",
    );
    assert_eq!(refused, "tree_mismatch");

    // The genuine log is imported: certificates, audit events, counters.
    std::fs::write(grant.join("log.jsonl"), &original).unwrap();
    let out = station(&line, &["sync", "--grant", grant.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("the server has 10 of 12"),
        "{}",
        text(&out)
    );
    let sub_id = g["id"].as_str().unwrap();
    assert_eq!(
        line.cli.count(&format!(
            "SELECT count(*) FROM certificates WHERE ca_id = '{sub_id}' AND status = 'issued'"
        )),
        10
    );
    for r in &lines {
        let id = r["device_id"].as_str().unwrap();
        let serial = line.cli.sql(&format!(
            "SELECT lower(hex(serial)) FROM certificates WHERE device_id = '{id}'"
        ));
        assert_eq!(serial, r["serial"].as_str().unwrap().to_lowercase(), "{id}");
    }
    assert_eq!(line.cli.count("SELECT issued FROM orders"), 10);
    let offline_events = line.cli.count(
        "SELECT count(*) FROM audit_log WHERE kind = 'certificate.issued' \
         AND json_extract(data, '$.offline') = 1",
    );
    assert_eq!(offline_events, 10);
    // A second sync has nothing to send.
    let out = station(&line, &["sync", "--grant", grant.to_str().unwrap()]);
    assert!(text(&out).contains("uploaded 0 entries"), "{}", text(&out));

    // A second sub-CA for 2: the station itself stops at its count.
    let small = request(&line, 2);
    assert_eq!(reserved(), 14);
    let out = run_offline(&line, &small, 3, "sims-b");
    assert!(
        !out.status.success(),
        "a device past the count was provisioned"
    );
    let lines = report(&line.file("sims-b.jsonl"));
    let refused: Vec<_> = lines
        .iter()
        .filter(|r| r["status"] != "provisioned")
        .collect();
    assert_eq!(refused.len(), 1, "{lines:?}");
    assert_eq!(refused[0]["status"], "offline_refused_count_used");

    // Someone edits the local grant to issue more: the server refuses the
    // over-count log and imports none of it.
    let path = small.join("grant.json");
    let mut edited = grant_json(&small);
    edited["count"] = serde_json::json!(3);
    edited["device_ids"]["assigned"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!("extra-device-1"));
    std::fs::write(&path, serde_json::to_vec_pretty(&edited).unwrap()).unwrap();
    run_offline(&line, &small, 3, "sims-b");
    let lines = report(&line.file("sims-b.jsonl"));
    assert_eq!(
        lines
            .iter()
            .filter(|r| r["status"] == "provisioned")
            .count(),
        1,
        "{lines:?}"
    );
    assert_eq!(log_lines(&small).len(), 3);
    let out = station(&line, &["sync", "--grant", small.to_str().unwrap()]);
    assert!(!out.status.success(), "an over-count log was accepted");
    assert!(text(&out).contains("exceed"), "{}", text(&out));
    assert_eq!(line.cli.count("SELECT issued FROM orders"), 10);
    assert_eq!(line.events("offline.sync_refused"), 2);

    // Closing the first sub-CA gives its 2 unused units back.
    let out = station(
        &line,
        &["sync", "--close", "--grant", grant.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("closed"), "{}", text(&out));
    assert_eq!(reserved(), 12);
    assert_eq!(line.events("offline_ca.closed"), 1);
    let out = run_offline(&line, &grant, 1, "sims-c");
    assert!(out.status.success(), "{}", text(&out));
    let out = station(&line, &["sync", "--grant", grant.to_str().unwrap()]);
    assert!(!out.status.success(), "a closed sub-CA took an upload");
    assert!(text(&out).contains("offline_ca_closed"), "{}", text(&out));
    assert_eq!(line.cli.count("SELECT issued FROM orders"), 10);

    // The whole audit log, offline imports included, verifies.
    let ok = line.cli.ok(&["audit", "verify"]);
    assert!(ok.contains("audit log OK"), "{ok}");
}
