//! Exact quotas under concurrency, end to end: 8 stations send 200 requests
//! each, all at once, against one order of 1000.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests report failures by panicking

mod common;

use std::collections::HashSet;

use common::Cli;
use common::serve::{Server, Station, create_order, rcgen_csr};
use serde_json::{Value, json};

const STATIONS: usize = 8;
const PER_STATION: usize = 200;
const QUANTITY: usize = 1000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_stations_racing_for_one_order_get_exactly_its_quantity() {
    let cli = Cli::new();
    cli.init_soft();
    let config = cli.home().join("hallmark.toml");
    let text = std::fs::read_to_string(&config).unwrap().replace(
        "station_rate_limit = { per_second = 20.0, burst = 40 }",
        "station_rate_limit = { per_second = 100000.0, burst = 100000 }",
    );
    std::fs::write(&config, text).unwrap();
    let (order, tokens) = create_order(
        &cli,
        &[
            "--product",
            "hub",
            "--quantity",
            &QUANTITY.to_string(),
            "--stations",
            &STATIONS.to_string(),
        ],
    );
    let server = Server::start(&cli);
    let root = std::fs::read(cli.chain_file("root")).unwrap();

    let mut stations = Vec::new();
    for token in &tokens {
        stations.push(Station::enroll(&server, &root, token).await);
    }
    // Every CSR is made before the first request, and the requests go out
    // round-robin over the stations: otherwise the first stations' requests
    // run while the last stations' CSRs are still being made, and a fast
    // server hands out the whole quota before the last station asks.
    let clients: Vec<_> = stations.iter().map(|s| s.client(&root)).collect();
    let csrs: Vec<String> = (0..STATIONS * PER_STATION)
        .map(|_| rcgen_csr("device").1)
        .collect();
    let mut tasks = Vec::new();
    for (i, csr) in csrs.into_iter().enumerate() {
        let request = clients[i % STATIONS]
            .post(server.url("/api/v1/enroll"))
            .json(&json!({ "csr": csr }));
        tasks.push(tokio::spawn(async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.unwrap())
        }));
    }

    let (mut issued, mut exhausted) = (Vec::new(), 0);
    for task in tasks {
        match task.await.unwrap() {
            (200, body) => issued.push(body),
            (403, body) if body["error"] == "quota_exhausted" => exhausted += 1,
            other => panic!("unexpected answer {other:?}"),
        }
    }
    assert_eq!(issued.len(), QUANTITY);
    assert_eq!(exhausted, STATIONS * PER_STATION - QUANTITY);
    let ids: HashSet<&str> = issued
        .iter()
        .map(|b| b["device_id"].as_str().unwrap())
        .collect();
    let serials: HashSet<&str> = issued
        .iter()
        .map(|b| b["serial"].as_str().unwrap())
        .collect();
    assert_eq!(
        (ids.len(), serials.len()),
        (QUANTITY, QUANTITY),
        "duplicate ids or serials"
    );

    // The store agrees, read by an independent reader.
    let count = |sql: &str| cli.count(sql);
    assert_eq!(
        count("SELECT count(*) FROM certificates WHERE status = 'issued'"),
        QUANTITY as u64
    );
    assert_eq!(
        count("SELECT count(DISTINCT device_id) FROM certificates"),
        QUANTITY as u64
    );
    assert_eq!(
        count("SELECT count(DISTINCT public_key_sha256) FROM certificates"),
        QUANTITY as u64
    );
    assert_eq!(
        count("SELECT count(*) FROM certificates WHERE status = 'pending'"),
        0
    );
    assert_eq!(
        count("SELECT count(*) FROM audit_log WHERE kind = 'certificate.issued'"),
        QUANTITY as u64
    );
    assert_eq!(
        count(
            "SELECT count(*) FROM audit_log WHERE kind = 'request.refused' AND json_extract(data, '$.reason') = 'quota_exhausted'"
        ),
        (STATIONS * PER_STATION - QUANTITY) as u64
    );
    let shown: Value = serde_json::from_str(&cli.ok(&["order", "show", &order, "--json"])).unwrap();
    assert_eq!(
        (shown["issued"].as_u64(), shown["left"].as_u64()),
        (Some(QUANTITY as u64), Some(0))
    );
    // Every station got a share: none was starved by the others.
    let per_station = cli.sql("SELECT count(DISTINCT station_id) FROM certificates");
    assert_eq!(per_station, STATIONS.to_string());
}
