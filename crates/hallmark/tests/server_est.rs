//! EST end to end with clients nobody here wrote: curl speaks HTTPS, OpenSSL
//! makes the keys and CSRs, reads the PKCS#7 answers and verifies the
//! chains, pkilint lints the certificates, sqlite3 reads the records.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests report failures by panicking

mod common;

use std::path::{Path, PathBuf};

use common::serve::{Reply, Server, create_order, curl};
use common::{Cli, split_pem, verify_device_cert};
use hallmark_testkit::tools::{self, KeySpec};

/// `openssl base64 -d`.
fn unbase64(dir: &Path, b64: &[u8], out: &str) -> PathBuf {
    let src = dir.join(format!("{out}.b64"));
    std::fs::write(&src, b64).unwrap();
    let dst = dir.join(out);
    tools::openssl_ok(&["base64", "-d", "-in", path(&src), "-out", path(&dst)]);
    dst
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The certificates of a certs-only PKCS#7 answer, as one PEM file.
fn p7_certs(dir: &Path, reply: &Reply, name: &str) -> PathBuf {
    assert_eq!(
        reply.status,
        200,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    let der = unbase64(dir, &reply.body, &format!("{name}.p7"));
    let pem = dir.join(format!("{name}.pem"));
    tools::openssl_ok(&[
        "pkcs7",
        "-inform",
        "DER",
        "-in",
        path(&der),
        "-print_certs",
        "-out",
        path(&pem),
    ]);
    // Keep only the PEM blocks (OpenSSL prints subject and issuer lines too).
    let text = std::fs::read_to_string(&pem).unwrap();
    let blocks: String = text
        .split_inclusive("-----END CERTIFICATE-----\n")
        .filter_map(|b| b.find("-----BEGIN").map(|i| &b[i..]))
        .collect();
    std::fs::write(&pem, blocks).unwrap();
    pem
}

/// Enrolls a station with curl over the JSON API; returns (cert chain PEM, key).
fn enroll_station(cli: &Cli, server: &Server, root: &Path, token: &str) -> (PathBuf, PathBuf) {
    let (key, csr) = cli.csr("station", KeySpec::Ec("prime256v1"), Some("sha256"), false);
    let body = serde_json::json!({ "token": token, "csr": std::fs::read_to_string(csr).unwrap() });
    let body_file = cli.path("station-enroll.json");
    std::fs::write(&body_file, body.to_string()).unwrap();
    let reply = curl(
        cli.dir.path(),
        &[
            "--cacert",
            path(root),
            "-H",
            "Content-Type: application/json",
            "--data-binary",
            &format!("@{}", path(&body_file)),
            &server.url("/api/v1/stations/enroll"),
        ],
    );
    assert_eq!(
        reply.status,
        200,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    let answer = reply.json();
    let chain = format!(
        "{}{}",
        answer["certificate"].as_str().unwrap(),
        answer["chain"][0].as_str().unwrap()
    );
    let cert = cli.path("station.pem");
    std::fs::write(&cert, chain).unwrap();
    (cert, key)
}

/// `POST simpleenroll` (or `simplereenroll`) with curl.
fn est_post(
    cli: &Cli,
    server: &Server,
    op: &str,
    b64: &Path,
    cert: Option<(&Path, &Path)>,
) -> Reply {
    let root = cli.chain_file("root");
    let url = server.url(&format!("/.well-known/est/{op}"));
    let data = format!("@{}", path(b64));
    let mut args = vec![
        "--cacert",
        path(&root),
        "-H",
        "Content-Type: application/pkcs10",
        "--data-binary",
        &data,
    ];
    if let Some((cert, key)) = cert {
        args.extend(["--cert", path(cert), "--key", path(key)]);
    }
    args.push(&url);
    curl(cli.dir.path(), &args)
}

/// A device key and its CSR as base64 DER: with line breaks (OpenSSL's
/// default) or on one line.
fn device_csr(cli: &Cli, name: &str, one_line: bool) -> (PathBuf, PathBuf) {
    let (key, der) = cli.csr(name, KeySpec::Ec("prime256v1"), Some("sha256"), true);
    let b64 = cli.path(&format!("{name}.b64"));
    let mut args = vec!["base64", "-in", path(&der), "-out", path(&b64)];
    if one_line {
        args.push("-A");
    }
    tools::openssl_ok(&args);
    (key, b64)
}

fn common_name(pem: &Path) -> String {
    tools::openssl_ok(&[
        "x509",
        "-in",
        path(pem),
        "-noout",
        "-subject",
        "-nameopt",
        "multiline",
    ])
    .lines()
    .find_map(|l| {
        l.trim()
            .strip_prefix("commonName")
            .map(|v| v.trim_start_matches([' ', '=']).to_string())
    })
    .unwrap()
}

#[test]
fn est_enrollment_with_curl_and_openssl() {
    let cli = Cli::new();
    cli.init_soft();
    let (order, tokens) = create_order(
        &cli,
        &[
            "--product",
            "sensor",
            "--quantity",
            "5",
            "--device-id-template",
            "ACME-{product}-{seq:06}",
        ],
    );
    let server = Server::start_with(&cli, &["--http-listen", "127.0.0.1:0"]);
    let dir = cli.dir.path();
    let root = cli.chain_file("root");

    // The plain-HTTP listener serves no enrollment (only health, CRLs, OCSP).
    let plain = format!("http://{}", server.http_addr.unwrap());
    for (route, status) in [
        ("/healthz", 200),
        ("/.well-known/est/cacerts", 404),
        ("/api/v1/stations/self", 404),
    ] {
        assert_eq!(
            curl(dir, &[&format!("{plain}{route}")]).status,
            status,
            "{route}"
        );
    }

    // The station credential: from the station CA, bound to the order, lint clean.
    let (station_cert, station_key) = enroll_station(&cli, &server, &root, &tokens[0]);
    let station_files = split_pem(dir, &std::fs::read_to_string(&station_cert).unwrap(), "st");
    tools::openssl_verify(
        &root,
        &[&station_files[1]],
        &station_files[0],
        Some("sslclient"),
    )
    .unwrap();
    tools::lint_certificate(&station_files[0]).unwrap();
    let subject =
        tools::openssl_ok(&["x509", "-in", path(&station_files[0]), "-noout", "-subject"]);
    assert!(subject.contains(&format!("OU = {order}")), "{subject}");

    // cacerts: root, station CA and both issuing CAs.
    let reply = curl(
        dir,
        &[
            "--cacert",
            path(&root),
            &server.url("/.well-known/est/cacerts"),
        ],
    );
    assert_eq!(reply.content_type, "application/pkcs7-mime");
    let cas = std::fs::read_to_string(p7_certs(dir, &reply, "cacerts")).unwrap();
    assert_eq!(cas.matches("BEGIN CERTIFICATE").count(), 4, "{cas}");

    // csrattrs is DER that OpenSSL parses.
    let reply = curl(
        dir,
        &[
            "--cacert",
            path(&root),
            &server.url("/.well-known/est/csrattrs"),
        ],
    );
    assert_eq!(reply.status, 200);
    assert_eq!(reply.content_type, "application/csrattrs");
    let attrs = unbase64(dir, &reply.body, "csrattrs.der");
    let parsed = tools::openssl_ok(&["asn1parse", "-inform", "DER", "-in", path(&attrs)]);
    assert!(parsed.contains("ecdsa-with-SHA256"), "{parsed}");

    // simpleenroll, base64 with line breaks and without (RFC 8951).
    let mut devices = Vec::new();
    for (i, one_line) in [false, true].into_iter().enumerate() {
        let (key, b64) = device_csr(&cli, &format!("device{i}"), one_line);
        let reply = est_post(
            &cli,
            &server,
            "simpleenroll",
            &b64,
            Some((&station_cert, &station_key)),
        );
        assert_eq!(
            reply.content_type,
            "application/pkcs7-mime; smime-type=certs-only"
        );
        let cert = p7_certs(dir, &reply, &format!("device{i}"));
        verify_device_cert(&cli, "berlin", &cert);
        assert_eq!(common_name(&cert), format!("ACME-sensor-{:06}", i + 1));
        devices.push((cert, key));
    }

    // No client certificate: 401, audit-logged, nothing issued.
    let (_, b64) = device_csr(&cli, "anonymous", false);
    let refused_before = cli.count("SELECT count(*) FROM audit_log WHERE kind = 'request.refused'");
    let reply = est_post(&cli, &server, "simpleenroll", &b64, None);
    assert_eq!(reply.status, 401);
    assert_eq!(reply.json()["error"], "client_certificate_required");
    assert_eq!(
        cli.count("SELECT count(*) FROM audit_log WHERE kind = 'request.refused'"),
        refused_before + 1
    );
    assert_eq!(
        cli.count("SELECT count(*) FROM certificates WHERE status = 'issued'"),
        2
    );
    // EST has no field for it: keys enrolled over EST are made on the device.
    assert_eq!(
        cli.count("SELECT count(*) FROM certificates WHERE key_origin = 'device'"),
        2
    );

    // simplereenroll with the device's own certificate (and its issuing CA).
    let (device_cert, device_key) = &devices[0];
    let with_chain = cli.path("device0-chain.pem");
    let ica = cli.chain_file("berlin");
    let bundle =
        std::fs::read_to_string(device_cert).unwrap() + &std::fs::read_to_string(&ica).unwrap();
    std::fs::write(&with_chain, bundle).unwrap();
    let csr_b64 = cli.path("renew.b64");
    let csr_der = device_key.with_extension("renew.der");
    tools::openssl_ok(&[
        "req",
        "-new",
        "-key",
        path(device_key),
        "-subj",
        "/CN=ACME-sensor-000001",
        "-outform",
        "DER",
        "-out",
        path(&csr_der),
    ]);
    tools::openssl_ok(&["base64", "-in", path(&csr_der), "-out", path(&csr_b64)]);
    let reply = est_post(
        &cli,
        &server,
        "simplereenroll",
        &csr_b64,
        Some((&with_chain, device_key)),
    );
    let renewed = p7_certs(dir, &reply, "renewed");
    verify_device_cert(&cli, "berlin", &renewed);
    assert_eq!(common_name(&renewed), "ACME-sensor-000001");
    assert_eq!(
        cli.sql("SELECT status FROM certificates WHERE device_id = 'ACME-sensor-000001' ORDER BY requested_at, status"),
        "superseded\nissued"
    );
    // The superseded certificate no longer re-enrolls.
    let reply = est_post(
        &cli,
        &server,
        "simplereenroll",
        &csr_b64,
        Some((&with_chain, device_key)),
    );
    assert_eq!(reply.status, 403);
    assert_eq!(reply.json()["error"], "unknown_device_certificate");

    // Health and metrics.
    let reply = curl(dir, &["--cacert", path(&root), &server.url("/healthz")]);
    assert_eq!(
        (reply.status, reply.body.as_slice()),
        (200, b"ok\n".as_slice())
    );
    let reply = curl(dir, &["--cacert", path(&root), &server.url("/metrics")]);
    let metrics = String::from_utf8(reply.body).unwrap();
    assert!(
        metrics.contains(&format!(
            "hallmark_certificates_issued_total{{factory=\"berlin\",order=\"{order}\"}} 2"
        )),
        "{metrics}"
    );
    assert!(
        metrics
            .contains("hallmark_requests_refused_total{reason=\"client_certificate_required\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains(&format!("hallmark_order_quota_left{{order=\"{order}\"}} 3")),
        "{metrics}"
    );
    assert!(
        metrics.contains("hallmark_request_duration_seconds_bucket"),
        "{metrics}"
    );

    // Graceful shutdown on SIGTERM; the sequencer signs a last checkpoint
    // over everything, refusals included.
    assert!(server.stop().success());
    let verified = cli.ok(&["audit", "verify"]);
    assert!(
        verified.contains("; 0 newer entries not yet checkpointed"),
        "{verified}"
    );
}
