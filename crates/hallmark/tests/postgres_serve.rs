//! Hallmark on PostgreSQL end to end: `init --store postgres://…`, `serve`
//! (one node, then three on one database), stations enrolling devices over
//! EST and the JSON API, the records read back with SQL and the audit log
//! verified. Each test has a database of its own (`HALLMARK_TEST_PG`).

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests report failures by panicking

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;

use common::serve::{Server, Station, create_order, rcgen_csr};
use common::{Cli, text};
use hallmark_testkit::postgres::TestDatabase;
use hallmark_testkit::tools::{self, KeySpec};

fn init_postgres(cli: &Cli, db: &TestDatabase) {
    cli.ok(&[
        "init",
        "--org",
        "Acme Devices",
        "--factory",
        "berlin",
        "--store",
        db.url(),
    ]);
}

fn count(db: &TestDatabase, sql: &str) -> u64 {
    db.query(sql)[0].parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_serve_and_est_enroll_on_postgres() {
    let db = TestDatabase::create();
    let cli = Cli::new();
    init_postgres(&cli, &db);
    let config = std::fs::read_to_string(cli.home().join("hallmark.toml")).unwrap();
    assert!(config.contains("backend = \"postgres\""), "{config}");
    assert!(config.contains(db.url()), "{config}");
    assert!(!cli.home().join("hallmark.db").exists(), "no SQLite file");
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM authority_keys WHERE role = 'issuing'"
        ),
        1
    );

    let (order, tokens) = create_order(&cli, &["--product", "sensor", "--quantity", "3"]);
    let server = Server::start(&cli);
    let root = std::fs::read(cli.chain_file("root")).unwrap();
    let station = Station::enroll(&server, &root, &tokens[0]).await;

    // EST simpleenroll with an OpenSSL-made CSR, as base64 DER.
    let (_key, der) = cli.csr("device", KeySpec::Ec("prime256v1"), Some("sha256"), true);
    let b64 = cli.path("device.b64");
    tools::openssl_ok(&[
        "base64",
        "-in",
        der.to_str().unwrap(),
        "-out",
        b64.to_str().unwrap(),
    ]);
    let reply = station
        .client(&root)
        .post(server.url("/.well-known/est/simpleenroll"))
        .header("Content-Type", "application/pkcs10")
        .body(std::fs::read(&b64).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 200);
    let content_type = reply.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(
        content_type.starts_with("application/pkcs7-mime"),
        "{content_type}"
    );
    assert!(!reply.bytes().await.unwrap().is_empty());

    let issued = format!(
        "SELECT count(*) FROM certificates WHERE status = 'issued' AND order_id = '{order}'"
    );
    assert_eq!(count(&db, &issued), 1);
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM audit_log WHERE kind = 'certificate.issued'"
        ),
        1
    );
    assert_eq!(server.stop().code(), Some(0));
    let verified = cli.ok(&["audit", "verify"]);
    assert!(verified.contains("audit log OK"), "{verified}");
}

#[test]
fn init_refuses_passwords_and_a_used_database() {
    let db = TestDatabase::create();
    let cli = Cli::new();
    let with_password = db.url().replace("postgres@", "postgres:hunter2-secret@");
    let out = cli.run(&[
        "init",
        "--org",
        "Acme",
        "--factory",
        "berlin",
        "--store",
        &with_password,
    ]);
    assert!(!out.status.success());
    let message = text(&out);
    assert!(message.contains("must not contain a password"), "{message}");
    assert!(!message.contains("hunter2-secret"), "{message}");
    assert!(!cli.home().exists());

    init_postgres(&cli, &db);
    let again = Cli::new();
    let message = again.fails(&[
        "init",
        "--org",
        "Acme",
        "--factory",
        "berlin",
        "--store",
        db.url(),
    ]);
    assert!(
        message.contains("already holds a Hallmark CA hierarchy"),
        "{message}"
    );
    assert!(!again.home().exists(), "nothing left behind");
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM authority_keys WHERE role = 'root'"
        ),
        1
    );
}

/// Three `hallmark serve` nodes on one database, 16 stations enrolling at
/// once against one order of 40 (64 attempts, spread over the nodes):
/// exactly 40 certificates, no device id, serial or key twice, and the
/// audit log verifies.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_nodes_share_one_order_exactly() {
    let db = TestDatabase::create();
    let cli = Cli::new();
    init_postgres(&cli, &db);
    let (order, tokens) = create_order(
        &cli,
        &[
            "--product",
            "sensor",
            "--quantity",
            "40",
            "--stations",
            "16",
        ],
    );
    let nodes: Vec<Server> = (0..3).map(|_| Server::start(&cli)).collect();
    let root = Arc::new(std::fs::read(cli.chain_file("root")).unwrap());
    let mut stations = Vec::new();
    for (i, token) in tokens.iter().enumerate() {
        stations.push(Station::enroll(&nodes[i % 3], &root, token).await);
    }
    let urls: Vec<String> = nodes.iter().map(|n| n.url("/api/v1/enroll")).collect();
    let mut tasks = tokio::task::JoinSet::new();
    for (i, station) in stations.into_iter().enumerate() {
        let (root, urls) = (Arc::clone(&root), urls.clone());
        tasks.spawn(async move {
            let client = station.client(&root);
            let mut statuses = Vec::new();
            for attempt in 0..4 {
                let (_, csr) = rcgen_csr("");
                let reply = client
                    .post(&urls[(i + attempt) % 3])
                    .json(&serde_json::json!({ "csr": csr }))
                    .send()
                    .await
                    .unwrap();
                statuses.push(reply.status().as_u16());
            }
            statuses
        });
    }
    let mut statuses = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        statuses.extend(joined.unwrap());
    }
    let ok = statuses.iter().filter(|s| **s == 200).count();
    assert_eq!(ok, 40, "{statuses:?}");
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 409 || *s == 403),
        "{statuses:?}"
    );

    let issued = format!("FROM certificates WHERE status = 'issued' AND order_id = '{order}'");
    assert_eq!(count(&db, &format!("SELECT count(*) {issued}")), 40);
    for column in ["device_id", "serial", "public_key_sha256"] {
        let distinct = count(&db, &format!("SELECT count(DISTINCT {column}) {issued}"));
        assert_eq!(distinct, 40, "{column} repeated");
    }
    assert_eq!(
        count(
            &db,
            &format!("SELECT reserved FROM orders WHERE id = '{order}'")
        ),
        40
    );
    let seqs: BTreeSet<u64> = db
        .query("SELECT seq FROM audit_log")
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
    assert_eq!(
        seqs,
        (1..=seqs.len() as u64).collect(),
        "audit seq has a gap"
    );
    for node in nodes {
        assert_eq!(node.stop().code(), Some(0));
    }
    let verified = cli.ok(&["audit", "verify"]);
    assert!(verified.contains("audit log OK"), "{verified}");
}
