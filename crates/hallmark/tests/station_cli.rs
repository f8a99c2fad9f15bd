//! `hallmark station enroll` and `renew` against a running server, as a
//! factory technician runs them.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests report failures by panicking

mod common;

use common::serve::{Server, create_order};
use common::{Cli, split_pem};
use hallmark_testkit::tools::{self, KeySpec};

fn serial(pem: &std::path::Path) -> String {
    tools::certificate_text(pem, &["-serial"])
        .lines()
        .find_map(|l| l.strip_prefix("serial=").map(str::to_string))
        .unwrap()
}

#[test]
fn stations_enroll_with_their_own_key_or_a_csr_and_renew() {
    let cli = Cli::new();
    cli.init_soft();
    let (order, tokens) = create_order(
        &cli,
        &["--product", "lamp", "--quantity", "10", "--stations", "2"],
    );
    let server = Server::start(&cli);
    let root = cli.chain_file("root");
    let url = format!("https://{}", server.addr);
    let station_home = cli.path("station-1");
    let home_arg = station_home.to_str().unwrap();
    let enroll = |home: &str, token: &str| {
        cli.run(&[
            "--home",
            home,
            "station",
            "enroll",
            "--server",
            &url,
            "--root",
            root.to_str().unwrap(),
            "--token",
            token,
        ])
    };

    // With a home: the station makes and keeps its own encrypted key.
    let out = enroll(home_arg, &tokens[0]);
    assert!(out.status.success(), "{}", common::text(&out));
    let printed = String::from_utf8(out.stdout).unwrap();
    assert!(printed.contains(&format!("for order {order}")), "{printed}");
    let pem = std::fs::read_to_string(station_home.join("station.pem")).unwrap();
    let certs = split_pem(cli.dir.path(), &pem, "station");
    tools::openssl_verify(&root, &[&certs[1]], &certs[0], Some("sslclient")).unwrap();
    let config = std::fs::read_to_string(station_home.join("station.toml")).unwrap();
    assert!(
        !config.contains(common::PASSPHRASE),
        "secret in station.toml"
    );
    let key_files: Vec<_> = std::fs::read_dir(station_home.join("keys"))
        .unwrap()
        .collect();
    assert_eq!(key_files.len(), 1);
    let key = std::fs::read_to_string(key_files[0].as_ref().unwrap().path()).unwrap();
    assert!(key.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"));

    // The token works once; a refused enrollment leaves no home behind.
    let second_home = cli.path("station-2");
    let out = enroll(second_home.to_str().unwrap(), &tokens[0]);
    assert!(!out.status.success());
    assert!(
        common::text(&out).contains("token_used"),
        "{}",
        common::text(&out)
    );
    assert!(!second_home.exists());

    // Renewal: not due yet; forced, a new certificate for the same key.
    let out = cli.ok(&["--home", home_arg, "station", "renew"]);
    assert!(out.contains("not due"), "{out}");
    let before = serial(&certs[0]);
    cli.ok(&["--home", home_arg, "station", "renew", "--force"]);
    let pem = std::fs::read_to_string(station_home.join("station.pem")).unwrap();
    let renewed = split_pem(cli.dir.path(), &pem, "renewed");
    assert_ne!(serial(&renewed[0]), before);
    tools::openssl_verify(&root, &[&renewed[1]], &renewed[0], Some("sslclient")).unwrap();

    // Bring your own CSR: the certificate and its chain come back.
    let (_, csr) = cli.csr("byo", KeySpec::Ec("prime256v1"), Some("sha256"), false);
    let out_file = cli.path("byo.pem");
    cli.ok(&[
        "station",
        "enroll",
        "--server",
        &url,
        "--root",
        root.to_str().unwrap(),
        "--token",
        &tokens[1],
        "--csr",
        csr.to_str().unwrap(),
        "--out",
        out_file.to_str().unwrap(),
    ]);
    let certs = split_pem(
        cli.dir.path(),
        &std::fs::read_to_string(&out_file).unwrap(),
        "byo",
    );
    assert_eq!(certs.len(), 3, "certificate, station CA, root");
    tools::openssl_verify(&root, &[&certs[1]], &certs[0], Some("sslclient")).unwrap();

    // The server knows both stations under the order.
    let shown = cli.ok(&["order", "show", &order]);
    assert_eq!(shown.matches("  station st-").count(), 2, "{shown}");
}
