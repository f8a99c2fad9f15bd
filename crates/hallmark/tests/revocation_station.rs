//! `hallmark revoke` in bulk: a compromised station's devices (dry run
//! first, then for real), its credential refused at once by the server,
//! everything recorded as sqlite3 reads it; refusals of bad input.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests report failures by panicking

mod common;

use common::Cli;
use common::serve::{Server, Station, create_order, rcgen_csr};
use serde_json::{Value, json};

async fn enroll(server: &Server, root: &[u8], station: &Station) -> reqwest::Response {
    let (_, csr) = rcgen_csr("");
    station
        .client(root)
        .post(server.url("/api/v1/enroll"))
        .json(&json!({ "csr": csr }))
        .send()
        .await
        .unwrap()
}

fn json(cli: &Cli, args: &[&str]) -> Value {
    let mut all = vec!["revoke", "--json"];
    all.extend_from_slice(args);
    serde_json::from_str(&cli.ok(&all)).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoking_a_station_revokes_its_devices_and_stops_it_at_once() {
    let cli = Cli::new();
    cli.init_soft();
    let (order, tokens) = create_order(&cli, &["--product", "sensor", "--quantity", "10"]);
    let server = Server::start(&cli);
    let root = std::fs::read(cli.chain_file("root")).unwrap();
    let station = Station::enroll(&server, &root, &tokens[0]).await;
    let mut devices = Vec::new();
    for _ in 0..2 {
        let reply = enroll(&server, &root, &station).await;
        assert_eq!(reply.status(), 200);
        let body: Value = reply.json().await.unwrap();
        devices.push(body["device_id"].as_str().unwrap().to_string());
    }

    let audit = || cli.count("SELECT count(*) FROM audit_log");
    let before = audit();
    let plan = json(&cli, &["--station", &station.id, "--dry-run"]);
    assert_eq!(plan["dry_run"], true);
    assert_eq!(plan["station"], station.id.as_str());
    // Ordered by issue time (then CA and serial): both were issued in one second.
    let mut listed: Vec<_> = plan["to_revoke"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["device_id"].as_str().unwrap().to_string())
        .collect();
    listed.sort();
    assert_eq!(listed, devices);
    let later = json(
        &cli,
        &[
            "--station",
            &station.id,
            "--since",
            "2099-01-01T00:00:00Z",
            "--dry-run",
        ],
    );
    assert_eq!(later["to_revoke"].as_array().unwrap().len(), 0);
    assert_eq!(audit(), before, "a dry run writes nothing");
    assert_eq!(cli.count("SELECT count(*) FROM revocations"), 0);

    let report = json(
        &cli,
        &["--station", &station.id, "--reason", "keyCompromise"],
    );
    assert_eq!(report["revoked"].as_array().unwrap().len(), 2);
    assert_eq!(report["station_revoked"], true);
    assert_eq!(report["reason"], "keyCompromise");

    // The station is refused on its very next request.
    let reply = enroll(&server, &root, &station).await;
    assert_eq!(reply.status(), 403);
    let body: Value = reply.json().await.unwrap();
    assert_eq!(body["error"], "station_revoked");

    // What sqlite3 sees: two revocations (reason 1), the station revoked,
    // one revocation event naming the station.
    assert_eq!(
        cli.count("SELECT count(*) FROM revocations WHERE reason = 1"),
        2
    );
    let revoked_station = format!(
        "SELECT count(*) FROM stations WHERE id = '{}' AND revoked_at IS NOT NULL",
        station.id
    );
    assert_eq!(cli.count(&revoked_station), 1);
    let events = format!(
        "SELECT count(*) FROM audit_log WHERE kind = 'revocation' AND subject = '{}'",
        station.id
    );
    assert_eq!(cli.count(&events), 1);

    // Idempotent: the order's certificates are all revoked already.
    let plan = json(&cli, &["--order", &order, "--dry-run"]);
    assert_eq!(plan["to_revoke"].as_array().unwrap().len(), 0);
    assert_eq!(plan["already_revoked"].as_array().unwrap().len(), 2);
    let again = json(&cli, &["--device", &devices[0], "--reason", "superseded"]);
    assert_eq!(
        (
            again["revoked"].as_array().unwrap().len(),
            &again["already_revoked"]
        ),
        (0, &json!(1))
    );
    assert_eq!(
        cli.count("SELECT count(*) FROM revocations WHERE reason = 4"),
        0,
        "not re-dated or re-reasoned"
    );
}

#[test]
fn bad_revocations_are_refused() {
    let cli = Cli::new();
    cli.init_soft();
    for (args, expected) in [
        (
            vec!["--device", "nobody", "--reason", "keyCompromise"],
            "nothing to revoke",
        ),
        (
            vec!["--station", "st-none", "--reason", "keyCompromise"],
            "unknown station",
        ),
        (
            vec!["--order", "ord-none", "--reason", "keyCompromise"],
            "unknown order",
        ),
        (
            vec!["--serial", "zz", "--reason", "keyCompromise"],
            "not hexadecimal",
        ),
        (
            vec!["--serial", "00", "--reason", "keyCompromise"],
            "not a certificate serial",
        ),
        (
            vec!["--device", "x", "--reason", "certificateHold"],
            "revocation is final",
        ),
        (
            vec!["--device", "x", "--reason", "sleepy"],
            "unknown revocation reason",
        ),
        (vec!["--device", "x"], "--reason"),
        (vec!["--reason", "keyCompromise"], "--device"),
        (
            vec![
                "--device",
                "x",
                "--since",
                "2026-01-01T00:00:00Z",
                "--dry-run",
            ],
            "--station",
        ),
    ] {
        let mut all = vec!["revoke"];
        all.extend_from_slice(&args);
        let err = cli.fails(&all);
        assert!(err.contains(expected), "{args:?}: {err}");
    }
    assert_eq!(
        cli.count("SELECT count(*) FROM audit_log WHERE kind = 'revocation'"),
        0
    );
}
