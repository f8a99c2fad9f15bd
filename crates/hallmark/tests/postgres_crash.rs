//! A node killed with SIGKILL mid-load, on PostgreSQL: every certificate a
//! station received is in the store and the audit log, the quota holds,
//! another node takes the sequencer lease over, and the audit log verifies.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests report failures by panicking

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::Cli;
use common::serve::{Server, Station, create_order, rcgen_csr};
use hallmark_testkit::postgres::TestDatabase;

const QUANTITY: u64 = 30;

fn one(db: &TestDatabase, sql: &str) -> String {
    db.query(sql).into_iter().next().unwrap_or_default()
}

fn count(db: &TestDatabase, sql: &str) -> u64 {
    one(db, sql).parse().unwrap()
}

/// Base64 body of a PEM certificate, on one line.
fn pem_body(pem: &str) -> String {
    pem.lines()
        .filter(|l| !l.starts_with("-----"))
        .collect::<String>()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn killed_node_loses_nothing_and_the_lease_moves() {
    let db = TestDatabase::create();
    let cli = Cli::new();
    cli.ok(&[
        "init",
        "--org",
        "Acme Devices",
        "--factory",
        "berlin",
        "--store",
        db.url(),
    ]);
    // Checkpoint every second, so the sequencer lease lasts 5 s.
    let config_path = cli.home().join("hallmark.toml");
    let config = std::fs::read_to_string(&config_path).unwrap();
    std::fs::write(
        &config_path,
        config.replace("checkpoint_seconds = 10", "checkpoint_seconds = 1"),
    )
    .unwrap();
    let quantity = QUANTITY.to_string();
    let (order, tokens) = create_order(
        &cli,
        &[
            "--product",
            "sensor",
            "--quantity",
            &quantity,
            "--stations",
            "8",
        ],
    );
    let first = Server::start(&cli);
    // Let the first node take the lease before the second starts.
    let deadline = Instant::now() + Duration::from_secs(10);
    while count(&db, "SELECT count(*) FROM audit_sequencer") == 0 {
        assert!(
            Instant::now() < deadline,
            "no node took the sequencer lease"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let second = Server::start(&cli);
    let leader = one(&db, "SELECT holder FROM audit_sequencer");
    assert!(
        leader.ends_with(&format!("-{}", first.child.id())),
        "{leader}"
    );

    let root = Arc::new(std::fs::read(cli.chain_file("root")).unwrap());
    let mut stations = Vec::new();
    for token in &tokens {
        stations.push(Station::enroll(&second, &root, token).await);
    }
    let urls = [first.url("/api/v1/enroll"), second.url("/api/v1/enroll")];
    let received = Arc::new(AtomicUsize::new(0));
    let mut load = tokio::task::JoinSet::new();
    for (i, station) in stations.into_iter().enumerate() {
        let (root, urls, received) = (Arc::clone(&root), urls.clone(), Arc::clone(&received));
        load.spawn(async move {
            let client = station.client(&root);
            let (mut certificates, mut lost) = (Vec::new(), 0);
            for attempt in 0..6 {
                let (_, csr) = rcgen_csr("");
                let sent = client
                    .post(&urls[(i + attempt) % 2])
                    .json(&serde_json::json!({ "csr": csr }))
                    .send()
                    .await;
                // A request to the killed node fails: no certificate left it.
                let Ok(reply) = sent else {
                    lost += 1;
                    continue;
                };
                if reply.status() != 200 {
                    continue;
                }
                let Ok(body) = reply.json::<serde_json::Value>().await else {
                    continue;
                };
                received.fetch_add(1, Ordering::SeqCst);
                certificates.push((
                    body["device_id"].as_str().unwrap().to_owned(),
                    body["certificate"].as_str().unwrap().to_owned(),
                ));
            }
            (certificates, lost)
        });
    }
    // Kill the leader mid-load.
    let deadline = Instant::now() + Duration::from_secs(30);
    while received.load(Ordering::SeqCst) < 8 {
        assert!(Instant::now() < deadline, "the load got nowhere");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let killed = std::process::Command::new("kill")
        .args(["-KILL", &first.child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let (mut certificates, mut lost) = (Vec::new(), 0);
    while let Some(joined) = load.join_next().await {
        let (received, failed) = joined.unwrap();
        certificates.extend(received);
        lost += failed;
    }
    assert!(
        lost > 0,
        "the node was killed after the load: nothing was in flight"
    );
    drop(first);
    assert!(certificates.len() >= 8, "{}", certificates.len());

    // The surviving node takes the lease over and integrates everything.
    let restarted = Server::start(&cli);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let holder = one(&db, "SELECT holder FROM audit_sequencer");
        let integrated = one(&db, "SELECT COALESCE(MAX(seq), 0) FROM audit_tree");
        let logged = one(&db, "SELECT COALESCE(MAX(seq), 0) FROM audit_log");
        if holder != leader && integrated == logged {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "lease still {holder}, tree {integrated}/{logged}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    for (device_id, pem) in &certificates {
        let stored = one(
            &db,
            &format!(
                "SELECT translate(encode(certificate_der, 'base64'), E'\\n', '') \
                 FROM certificates WHERE device_id = '{device_id}' AND status = 'issued'"
            ),
        );
        assert_eq!(stored, pem_body(pem), "{device_id} not stored as received");
        let events = format!(
            "SELECT count(*) FROM audit_log \
             WHERE kind = 'certificate.issued' AND subject = '{device_id}'"
        );
        assert_eq!(count(&db, &events), 1, "{device_id} not in the audit log");
    }
    let issued = count(
        &db,
        &format!(
            "SELECT count(*) FROM certificates WHERE status = 'issued' AND order_id = '{order}'"
        ),
    );
    assert!(
        issued >= certificates.len() as u64 && issued <= QUANTITY,
        "{issued}"
    );
    let reserved = count(
        &db,
        &format!("SELECT reserved FROM orders WHERE id = '{order}'"),
    );
    assert!(reserved <= QUANTITY, "{reserved}");
    let distinct = count(
        &db,
        "SELECT count(DISTINCT public_key_sha256) FROM certificates WHERE status = 'issued'",
    );
    assert_eq!(distinct, issued);

    for node in [restarted, second] {
        assert_eq!(node.stop().code(), Some(0));
    }
    let verified = cli.ok(&["audit", "verify"]);
    assert!(verified.contains("audit log OK"), "{verified}");
}
