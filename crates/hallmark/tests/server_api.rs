//! The JSON API and every refusal reason, over real HTTPS with an
//! independent client (reqwest, rcgen-made keys). Each refusal must be a 4xx
//! JSON `{"error", "message"}`, leave an audit record and consume nothing.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests report failures by panicking

mod common;

use common::Cli;
use common::serve::{Server, Station, create_order, rcgen_csr};
use serde_json::{Value, json};

async fn send(request: reqwest::RequestBuilder) -> reqwest::Response {
    request.send().await.unwrap()
}

struct Setup {
    cli: Cli,
    server: Server,
    root: Vec<u8>,
}

/// A home with the given station rate limit line, and a running server.
fn setup(rate_limit: &str) -> Setup {
    let cli = Cli::new();
    cli.init_soft();
    let config = cli.home().join("hallmark.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    let text = text.replace(
        "station_rate_limit = { per_second = 20.0, burst = 40 }",
        rate_limit,
    );
    std::fs::write(&config, text).unwrap();
    let server = Server::start(&cli);
    let root = std::fs::read(cli.chain_file("root")).unwrap();
    Setup { cli, server, root }
}

impl Setup {
    fn refusals(&self) -> u64 {
        self.cli
            .count("SELECT count(*) FROM audit_log WHERE kind = 'request.refused'")
    }

    fn issued(&self) -> u64 {
        self.cli
            .count("SELECT count(*) FROM certificates WHERE status = 'issued'")
    }

    fn order_json(&self, id: &str) -> Value {
        serde_json::from_str(&self.cli.ok(&["order", "show", id, "--json"])).unwrap()
    }

    async fn enroll(
        &self,
        station: &Station,
        csr: &str,
        device_id: Option<&str>,
    ) -> reqwest::Response {
        let mut body = json!({ "csr": csr });
        if let Some(id) = device_id {
            body["device_id"] = json!(id);
        }
        station
            .client(&self.root)
            .post(self.server.url("/api/v1/enroll"))
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    /// Sends `request` (a lazy future) and checks the refusal: status,
    /// reason, exactly one more audit record, nothing issued.
    async fn expect_refusal(
        &self,
        request: impl std::future::Future<Output = reqwest::Response>,
        status: u16,
        reason: &str,
    ) -> Value {
        let (refusals, issued) = (self.refusals(), self.issued());
        let response = request.await;
        let code = response.status().as_u16();
        let body: Value = response.json().await.unwrap();
        assert_eq!(
            (code, body["error"].as_str()),
            (status, Some(reason)),
            "{body}"
        );
        assert!(
            body["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{body}"
        );
        // The refusal was recorded before the response was written.
        assert_eq!(
            self.refusals(),
            refusals + 1,
            "{reason}: not audit-logged once"
        );
        assert_eq!(self.issued(), issued, "{reason}: something was issued");
        let last = self
            .cli
            .sql("SELECT json_extract(data, '$.reason') FROM audit_log ORDER BY seq DESC LIMIT 1");
        assert_eq!(last, reason);
        body
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_enrollment_and_every_refusal_reason() {
    let s = setup("station_rate_limit = { per_second = 1000.0, burst = 1000 }");
    let (order, tokens) = create_order(
        &s.cli,
        &[
            "--product",
            "meter",
            "--quantity",
            "3",
            "--stations",
            "2",
            "--device-id-pattern",
            "MTR-[0-9]{4}",
        ],
    );
    let station = Station::enroll(&s.server, &s.root, &tokens[0]).await;

    // Enroll: the id from the request, then from the CSR's CN.
    let (_, csr) = rcgen_csr("ignored");
    let ok = s.enroll(&station, &csr, Some("MTR-0001")).await;
    assert_eq!(ok.status(), 200);
    let body: Value = ok.json().await.unwrap();
    assert_eq!(body["device_id"], "MTR-0001");
    assert!(
        body["certificate"]
            .as_str()
            .unwrap()
            .starts_with("-----BEGIN CERTIFICATE-----")
    );
    assert_eq!(body["chain"].as_array().unwrap().len(), 2);
    // A retry with the same key gets the same certificate back.
    let again: Value = s
        .enroll(&station, &csr, Some("MTR-0001"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (again["resumed"].as_bool(), &again["serial"]),
        (Some(true), &body["serial"])
    );
    // The station reports the installation; a wrong serial is refused.
    let client = station.client(&s.root);
    let report = |what: &'static str, serial: String| {
        client
            .post(s.server.url(&format!("/api/v1/devices/MTR-0001/{what}")))
            .json(&json!({ "serial": serial, "reason": "link lost" }))
            .send()
    };
    let serial = body["serial"].as_str().unwrap().to_string();
    assert_eq!(
        report("installed", serial.clone()).await.unwrap().status(),
        200
    );
    assert_eq!(
        s.cli
            .count("SELECT count(*) FROM audit_log WHERE kind = 'device.installed'"),
        1
    );
    s.expect_refusal(
        async { report("not-installed", "00".repeat(16)).await.unwrap() },
        403,
        "unknown_device_certificate",
    )
    .await;
    let (_, csr_cn) = rcgen_csr("MTR-0002");
    assert_eq!(s.enroll(&station, &csr_cn, None).await.status(), 200);

    // Device lookup: visible to the order's station.
    let device: Value = station
        .client(&s.root)
        .get(s.server.url("/api/v1/devices/MTR-0001"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (device["status"].as_str(), device["order_id"].as_str()),
        (Some("issued"), Some(order.as_str()))
    );
    let me: Value = station
        .client(&s.root)
        .get(s.server.url("/api/v1/stations/self"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["station_id"], station.id.as_str());
    let order_view: Value = station
        .client(&s.root)
        .get(s.server.url(&format!("/api/v1/orders/{order}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (order_view["issued"].as_u64(), order_view["left"].as_u64()),
        (Some(2), Some(1))
    );

    // Refusals of the request itself.
    let (_, fresh) = rcgen_csr("x");
    s.expect_refusal(
        s.enroll(&station, &fresh, Some("ABC-1")),
        403,
        "device_id_not_allowed",
    )
    .await;
    s.expect_refusal(
        s.enroll(&station, &fresh, Some("bad id!")),
        403,
        "device_id_not_allowed",
    )
    .await;
    s.expect_refusal(
        s.enroll(&station, &fresh, Some("MTR-0001")),
        409,
        "device_id_taken",
    )
    .await;
    s.expect_refusal(
        s.enroll(&station, &csr, Some("MTR-0003")),
        409,
        "public_key_taken",
    )
    .await;
    s.expect_refusal(
        s.enroll(
            &station,
            "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n",
            Some("MTR-0003"),
        ),
        400,
        "bad_csr",
    )
    .await;
    let (_, no_cn) = rcgen_csr("");
    s.expect_refusal(s.enroll(&station, &no_cn, None), 400, "device_id_missing")
        .await;
    let client = station.client(&s.root);
    let bad_json = client
        .post(s.server.url("/api/v1/enroll"))
        .header("content-type", "application/json")
        .body("{\"csr\": 1");
    s.expect_refusal(send(bad_json), 400, "bad_request").await;

    // The order's counters saw every refusal and no quota went.
    let shown = s.order_json(&order);
    assert_eq!(
        (shown["issued"].as_u64(), shown["left"].as_u64()),
        (Some(2), Some(1))
    );
    assert_eq!(shown["refused"].as_u64(), Some(8));

    // Quota: the last unit, then quota_exhausted.
    let (_, csr3) = rcgen_csr("MTR-0003");
    assert_eq!(s.enroll(&station, &csr3, None).await.status(), 200);
    let (_, csr4) = rcgen_csr("MTR-0004");
    s.expect_refusal(s.enroll(&station, &csr4, None), 403, "quota_exhausted")
        .await;

    // Tokens: used twice, unknown.
    let (_, st_csr) = rcgen_csr("station");
    let anonymous = common::serve::client(&s.root, None);
    for (token, reason) in [
        (tokens[0].as_str(), "token_used"),
        ("hst_not-a-token", "token_unknown"),
    ] {
        let request = anonymous
            .post(s.server.url("/api/v1/stations/enroll"))
            .json(&json!({ "token": token, "csr": st_csr }));
        s.expect_refusal(send(request), 403, reason).await;
    }

    // No client certificate; a device certificate is not a station's.
    let request = anonymous
        .post(s.server.url("/api/v1/enroll"))
        .json(&json!({ "csr": csr4 }));
    s.expect_refusal(send(request), 401, "client_certificate_required")
        .await;

    // A closed order refuses its stations, and its unused token.
    let second = Station::enroll(&s.server, &s.root, &tokens[1]).await;
    s.cli.ok(&["order", "close", &order]);
    s.expect_refusal(s.enroll(&second, &csr4, None), 403, "order_closed")
        .await;

    // A revoked station is refused at once.
    s.cli.sql(&format!(
        "UPDATE stations SET revoked_at = 1 WHERE id = '{}'",
        second.id
    ));
    s.expect_refusal(s.enroll(&second, &csr4, None), 403, "station_revoked")
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_key_origin_comes_from_the_body_and_is_stored_and_audited() {
    let s = setup("station_rate_limit = { per_second = 1000.0, burst = 1000 }");
    let (_, tokens) = create_order(&s.cli, &["--product", "tag", "--quantity", "5"]);
    let station = Station::enroll(&s.server, &s.root, &tokens[0]).await;
    let enroll = |csr: String, origin: Option<&str>| {
        let mut body = json!({ "csr": csr });
        if let Some(origin) = origin {
            body["key_origin"] = json!(origin);
        }
        station
            .client(&s.root)
            .post(s.server.url("/api/v1/enroll"))
            .json(&body)
    };

    let (_, csr) = rcgen_csr("st-made");
    let answer: Value = send(enroll(csr.clone(), Some("station")))
        .await
        .json()
        .await
        .unwrap();
    let id = answer["device_id"].as_str().unwrap().to_string();
    assert_eq!(answer["key_origin"], "station", "{answer}");
    let stored = |id: &str| {
        s.cli.sql(&format!(
            "SELECT key_origin FROM certificates WHERE device_id = '{id}'"
        ))
    };
    assert_eq!(stored(&id), "station");
    let audited = s.cli.sql(&format!(
        "SELECT json_extract(data, '$.key_origin') FROM audit_log \
         WHERE kind = 'certificate.issued' AND json_extract(data, '$.device_id') = '{id}'"
    ));
    assert_eq!(audited, "station");
    // A retry without the field gets the same certificate and its origin.
    let again: Value = send(enroll(csr, None)).await.json().await.unwrap();
    assert_eq!(
        (again["resumed"].as_bool(), again["key_origin"].as_str()),
        (Some(true), Some("station"))
    );

    // No field, or "device": made on the device.
    for origin in [None, Some("device")] {
        let (_, csr) = rcgen_csr("dev-made");
        let answer: Value = send(enroll(csr, origin)).await.json().await.unwrap();
        assert_eq!(answer["key_origin"], "device", "{answer}");
        assert_eq!(stored(answer["device_id"].as_str().unwrap()), "device");
    }

    // Anything else is a bad request, audit-logged, nothing issued.
    for origin in ["pregenerated", "Station", ""] {
        let (_, csr) = rcgen_csr("odd");
        let body = s
            .expect_refusal(send(enroll(csr, Some(origin))), 400, "bad_request")
            .await;
        assert!(
            body["message"].as_str().unwrap().contains("key_origin"),
            "{body}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn windows_templates_and_rate_limits() {
    let s = setup("station_rate_limit = { per_second = 0.01, burst = 2 }");
    // Not started yet.
    let (_, later) = create_order(
        &s.cli,
        &[
            "--product",
            "p",
            "--quantity",
            "5",
            "--starts",
            "2099-01-01T00:00:00Z",
            "--expires",
            "2099-02-01T00:00:00Z",
        ],
    );
    let (_, csr) = rcgen_csr("st");
    let request = common::serve::client(&s.root, None)
        .post(s.server.url("/api/v1/stations/enroll"))
        .json(&json!({ "token": later[0], "csr": csr }));
    s.expect_refusal(send(request), 403, "order_not_started")
        .await;

    // A template order assigns ids and refuses proposed ones.
    let (order, tokens) = create_order(&s.cli, &["--product", "cam", "--quantity", "5"]);
    let station = Station::enroll(&s.server, &s.root, &tokens[0]).await;
    let (_, csr) = rcgen_csr("whatever");
    let body: Value = s.enroll(&station, &csr, None).await.json().await.unwrap();
    assert_eq!(body["device_id"], format!("cam-{order}-000001"));
    let (_, csr) = rcgen_csr("x");
    s.expect_refusal(
        s.enroll(&station, &csr, Some("cam-1")),
        403,
        "device_id_not_allowed",
    )
    .await;

    // Burst 2, then 429 with Retry-After; nothing consumed.
    let response = s.enroll(&station, &csr, None).await;
    assert_eq!(response.status(), 429);
    let retry: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry >= 1, "{retry}");
    s.expect_refusal(s.enroll(&station, &csr, None), 429, "rate_limited")
        .await;
    assert_eq!(s.order_json(&order)["left"].as_u64(), Some(4));
}
