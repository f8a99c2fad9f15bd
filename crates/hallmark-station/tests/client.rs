//! `StationClient` over reqwest with mTLS against `openssl s_server -HTTP`
//! (which answers `GET /path` with the file `./path`, a complete HTTP
//! response): answers, refusals, and transport failures.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Pki, SServer};
use hallmark_pki::KeyAlgorithm;
use hallmark_station::{Error, StationClient, tls};
use tempfile::TempDir;

/// An `s_server -HTTP` document root and a client with a station identity.
struct Fixture {
    pki: Pki,
    www: TempDir,
    _keys: TempDir,
    identity: tls::Identity,
}

impl Fixture {
    fn new() -> Self {
        let pki = Pki::new();
        let keys = tempfile::tempdir().unwrap();
        let signer = common::soft_signer(keys.path(), KeyAlgorithm::EcdsaP256);
        let cert = pki.sign_client_csr(&common::csr_pem(signer.as_ref()), "client", 1);
        Self {
            pki,
            www: tempfile::tempdir().unwrap(),
            _keys: keys,
            identity: (vec![common::der_of(&cert)], signer),
        }
    }

    /// Serves `response` (head and body) at `path`.
    fn serve(&self, path: &str, status: &str, headers: &str, body: &str) {
        let file = self.www.path().join(path);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        let response = format!(
            "HTTP/1.0 {status}\r\nContent-Type: application/json\r\n{headers}\
             Content-Length: {}\r\n\r\n{body}",
            body.len()
        );
        std::fs::write(file, response).unwrap();
    }

    fn start(&self) -> SServer {
        SServer::start(&self.pki, &["-HTTP"], self.www.path())
    }

    fn client(&self, url: &str) -> StationClient {
        let config = tls::client_config(
            std::slice::from_ref(&self.pki.ca_der),
            Some(self.identity.clone()),
        )
        .unwrap();
        StationClient::new(url, config).unwrap()
    }
}

#[tokio::test]
async fn answers_are_decoded() {
    let f = Fixture::new();
    f.serve(
        "api/v1/stations/self",
        "200 OK",
        "",
        r#"{"station_id":"st-9c1d0e77","order_id":"ord-3f9a2c1b","not_after":1795086400,"enrolled_at":1790000000}"#,
    );
    f.serve(
        "api/v1/orders/ord-3f9a2c1b",
        "200 OK",
        "",
        r#"{"id":"ord-3f9a2c1b","factory":"berlin","product":"sensor","quantity":1000,
            "starts_at":1790000000,"expires_at":1800000000,
            "device_ids":{"kind":"template","value":"sensor-{order}-{seq:6}"},
            "status":"open","issued":3,"pending":1,"refused":0,"left":996,"stations":2,
            "a_future_field":true}"#,
    );
    let server = f.start();
    let client = f.client(&server.url());

    let me = client.whoami().await.unwrap();
    assert_eq!(me.station_id, "st-9c1d0e77");
    assert_eq!(me.enrolled_at, 1_790_000_000);
    let order = client.order("ord-3f9a2c1b").await.unwrap();
    assert_eq!(
        (order.left, order.device_ids.kind.as_str()),
        (996, "template")
    );
}

#[tokio::test]
async fn a_json_refusal_becomes_refused() {
    let f = Fixture::new();
    f.serve(
        "api/v1/stations/self",
        "403 Forbidden",
        "",
        r#"{"error":"quota_exhausted","message":"order \"ord-1\" has no quota left"}"#,
    );
    f.serve(
        "api/v1/orders/ord-1",
        "429 Too Many Requests",
        "Retry-After: 7\r\n",
        r#"{"error":"rate_limited","message":"slow down"}"#,
    );
    let server = f.start();
    let client = f.client(&server.url());

    let err = client.whoami().await.unwrap_err();
    let Error::Refused {
        status: 403,
        reason,
        message,
        retry_after: None,
    } = err
    else {
        panic!("{err:?}");
    };
    assert_eq!(reason, "quota_exhausted");
    assert_eq!(message, r#"order "ord-1" has no quota left"#);

    let err = client.order("ord-1").await.unwrap_err();
    assert!(
        matches!(&err, Error::Refused { status: 429, reason, retry_after: Some(7), .. } if reason == "rate_limited"),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_non_json_refusal_keeps_its_status() {
    let f = Fixture::new();
    f.serve(
        "api/v1/stations/self",
        "502 Bad Gateway",
        "",
        "<html>proxy error</html>",
    );
    let server = f.start();
    let err = f.client(&server.url()).whoami().await.unwrap_err();
    assert!(
        matches!(&err, Error::Refused { status: 502, reason, message, .. }
            if reason == "http_502" && message.contains("proxy error")),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_bad_answer_is_reported() {
    let f = Fixture::new();
    f.serve("api/v1/stations/self", "200 OK", "", r#"{"station":"?"}"#);
    let server = f.start();
    let err = f.client(&server.url()).whoami().await.unwrap_err();
    assert!(matches!(err, Error::BadResponse { .. }), "{err:?}");
}

#[tokio::test]
async fn a_closed_port_is_unreachable() {
    let f = Fixture::new();
    let url = format!("https://127.0.0.1:{}", common::free_port());
    let err = f.client(&url).whoami().await.unwrap_err();
    assert!(matches!(err, Error::Unreachable { .. }), "{err:?}");
}

#[tokio::test]
async fn an_untrusted_server_is_a_tls_failure() {
    let f = Fixture::new();
    let other = Pki::new();
    let server = f.start();
    let config = tls::client_config(
        std::slice::from_ref(&other.ca_der),
        Some(f.identity.clone()),
    )
    .unwrap();
    let client = StationClient::new(&server.url(), config).unwrap();
    let err = client.whoami().await.unwrap_err();
    assert!(
        matches!(&err, Error::Tls { reason, .. } if reason.contains("invalid peer certificate")),
        "{err:?}"
    );
}

#[tokio::test]
async fn the_server_refusing_the_station_certificate_is_a_tls_failure() {
    let f = Fixture::new();
    let server = f.start();
    let config = tls::client_config(std::slice::from_ref(&f.pki.ca_der), None).unwrap();
    let err = StationClient::new(&server.url(), config)
        .unwrap()
        .whoami()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Tls { .. }), "{err:?}");
}

#[test]
fn only_https_urls_are_accepted() {
    let ca = Pki::new().ca_der;
    for url in [
        "http://127.0.0.1:8443",
        "ca.example:8443",
        "https://u:p@ca.example/",
    ] {
        let config = tls::client_config(std::slice::from_ref(&ca), None).unwrap();
        let err = StationClient::new(url, config).unwrap_err();
        assert!(matches!(err, Error::InvalidUrl { .. }), "{url}: {err:?}");
    }
}

#[tokio::test]
async fn the_token_is_in_no_error() {
    let f = Fixture::new();
    let token = "hst_do-not-print-me";
    let server = f.start();
    let dead = format!("https://127.0.0.1:{}", common::free_port());
    for url in [server.url(), dead] {
        let config = tls::client_config(std::slice::from_ref(&f.pki.ca_der), None).unwrap();
        let client = StationClient::new(&url, config).unwrap();
        let err = client.enroll_station(token, "csr").await.unwrap_err();
        let mut text = format!("{err:?} {err}");
        let mut source = std::error::Error::source(&err);
        while let Some(cause) = source {
            text.push_str(&format!(" {cause} {cause:?}"));
            source = cause.source();
        }
        assert!(!text.contains(token), "{text}");
    }
}
