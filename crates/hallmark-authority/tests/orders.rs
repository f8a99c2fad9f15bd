//! Production orders: creation (defaults, station tokens stored only as
//! hashes, refused specifications), closing and adding tokens.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests report failures by panicking

mod common;

use std::collections::HashSet;

use common::{DAY, Fixture, HOUR, NOW, fixture, rcgen_csr, template_order};
use hallmark_authority::orders::{DEFAULT_TEMPLATE, token_hash};
use hallmark_authority::{AuthorityError, DeviceIdSpec, OrderSpec};
use hallmark_store::{DeviceIdRule, DeviceIdTemplate, OrderStatus};
use sha2::{Digest, Sha256};

fn plain_spec() -> OrderSpec {
    OrderSpec {
        factory: "berlin".into(),
        product: "sensor".into(),
        quantity: 100,
        starts_at: None,
        expires_at: None,
        device_ids: None,
        stations: 3,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_runs_thirty_days_from_now_with_the_default_template() {
    let f = fixture().await;
    let created = f.authority.create_order(plain_spec()).await.unwrap();
    let record = &created.order;
    let id = record.order.id.clone();
    assert!(id.starts_with("ord-") && id.len() == 12, "{id}");
    assert_eq!(
        (record.order.factory.as_str(), record.order.product.as_str()),
        ("berlin", "sensor")
    );
    assert_eq!(record.order.quantity, 100);
    assert_eq!(record.order.starts_at, NOW);
    assert_eq!(record.order.expires_at, NOW + 30 * DAY);
    assert_eq!(record.order.created_at, NOW);
    assert_eq!(DEFAULT_TEMPLATE, "{product}-{order}-{seq:06}");
    assert_eq!(
        record.order.device_ids,
        DeviceIdRule::Template(DeviceIdTemplate::parse(DEFAULT_TEMPLATE).unwrap())
    );
    assert_eq!(record.status, OrderStatus::Open);
    assert_eq!(record.closed_at, None);
    let counters = (
        record.issued,
        record.pending,
        record.refused,
        record.stations,
    );
    assert_eq!(counters, (0, 0, 0, 0));
    assert_eq!(record.left(), 100);
    assert_eq!(f.authority.orders().await.unwrap(), vec![record.clone()]);
    assert_eq!(&f.authority.order(&id).await.unwrap(), record);

    // The default template names product and order.
    let station = f
        .authority
        .enroll_station(&created.station_tokens[0], &rcgen_csr(Some("st")))
        .await
        .unwrap();
    let station = f
        .authority
        .authenticate_station(&station.certificate.der)
        .await
        .unwrap();
    let device = f
        .authority
        .enroll_device(&station, &rcgen_csr(None), None, None)
        .await
        .unwrap();
    assert_eq!(device.device_id, format!("sensor-{id}-000001"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn station_tokens_are_shown_once_and_stored_only_as_hashes() {
    let f = fixture().await;
    let created = f.authority.create_order(plain_spec()).await.unwrap();
    let id = &created.order.order.id;
    let tokens = &created.station_tokens;
    assert_eq!(tokens.len(), 3);
    assert_eq!(tokens.iter().collect::<HashSet<_>>().len(), 3, "distinct");
    for token in tokens {
        assert!(token.starts_with("hst_") && token.len() >= 36, "{token}");
    }

    let events = f.audit().await;
    let created_events: Vec<_> = events
        .iter()
        .filter(|e| e.kind == "order.created")
        .collect();
    assert_eq!(created_events.len(), 1);
    let event = created_events[0];
    assert_eq!(event.subject.as_deref(), Some(id.as_str()));
    let hashes: Vec<String> = tokens
        .iter()
        .map(|t| hex::encode(Sha256::digest(t.as_bytes())))
        .collect();
    assert_eq!(
        event.data["station_token_sha256"],
        serde_json::json!(hashes)
    );
    // The hash is in the data bytes (the search works), the token never is.
    assert!(contains(&event.data_json, hashes[0].as_bytes()));
    for token in tokens {
        for record in &events {
            assert!(
                !contains(&record.data_json, token.as_bytes()),
                "token in audit event {}",
                record.kind
            );
        }
        let secret = &token["hst_".len()..];
        for file in ["db.sqlite", "db.sqlite-wal"] {
            let bytes = std::fs::read(f.dir.path().join(file)).unwrap_or_default();
            assert!(!contains(&bytes, secret.as_bytes()), "token in {file}");
        }
        let stored = f.store.station_token(&token_hash(token)).await.unwrap();
        let stored = stored.expect("token hash stored");
        assert_eq!((&stored.order_id, &stored.used_by), (id, &None));
    }
}

/// [`plain_spec`], edited.
fn spec(edit: impl FnOnce(&mut OrderSpec)) -> OrderSpec {
    let mut spec = plain_spec();
    edit(&mut spec);
    spec
}

fn template(text: String) -> Option<DeviceIdSpec> {
    Some(DeviceIdSpec::Template(text))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_orders_are_refused_and_store_nothing() {
    let f = fixture().await;
    let before = f.audit().await.len();
    let window = |start, end| spec(|s| (s.starts_at, s.expires_at) = (Some(start), Some(end)));
    let cases = [
        ("empty product", spec(|s| s.product = String::new())),
        ("space in product", spec(|s| s.product = "a b".into())),
        ("33-char product", spec(|s| s.product = "p".repeat(33))),
        ("quantity 0", spec(|s| s.quantity = 0)),
        ("expires before start", window(NOW + DAY, NOW + HOUR)),
        ("empty window", window(NOW + DAY, NOW + DAY)),
        ("already expired", window(NOW - 2 * DAY, NOW)),
        (
            "bad regex",
            spec(|s| s.device_ids = Some(DeviceIdSpec::Pattern("([a-z".into()))),
        ),
        (
            "no {seq}",
            spec(|s| s.device_ids = template("ACME-{product}".into())),
        ),
        (
            "unknown {x}",
            spec(|s| s.device_ids = template("{serial}-{seq}".into())),
        ),
        (
            "starts with -",
            spec(|s| s.device_ids = template("-{seq}".into())),
        ),
        (
            "70-char ids",
            spec(|s| s.device_ids = template(format!("{}{{seq:02}}", "x".repeat(68)))),
        ),
        // 63 characters for seq 1, 65 for seq 100: only the last id is too long.
        (
            "too long at the end",
            spec(|s| s.device_ids = template(format!("{}{{seq}}", "x".repeat(62)))),
        ),
    ];
    for (name, spec) in cases {
        match f.authority.create_order(spec).await {
            Err(err @ AuthorityError::InvalidOrder(_)) => {
                assert_eq!(err.refusal_reason(), Some("invalid_order"), "{name}");
            }
            other => panic!("{name}: expected InvalidOrder, got {other:?}"),
        }
    }
    assert_nothing_stored(&f, before).await;

    // The boundary: 9 devices keep the long template at 63 characters.
    let nine = spec(|s| {
        s.quantity = 9;
        s.device_ids = template(format!("{}{{seq}}", "x".repeat(62)));
    });
    f.authority.create_order(nine).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_needs_an_issuing_ca() {
    let f = fixture().await;
    let before = f.audit().await.len();
    let unknown = spec(|s| s.factory = "paris".into());
    let err = f.authority.create_order(unknown).await.unwrap_err();
    assert!(
        matches!(&err, AuthorityError::UnknownCa(id) if id == "paris"),
        "{err}"
    );
    for not_issuing in ["root", "station-ca"] {
        let not_issuing = spec(|s| s.factory = not_issuing.into());
        let err = f.authority.create_order(not_issuing).await.unwrap_err();
        assert!(
            matches!(err, AuthorityError::NotAnIssuingCa { .. }),
            "{err}"
        );
    }
    assert_nothing_stored(&f, before).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_order_stays_closed() {
    let f = fixture().await;
    let id = f
        .authority
        .create_order(plain_spec())
        .await
        .unwrap()
        .order
        .order
        .id;
    f.clock.set(NOW + HOUR);
    let closed = f.authority.close_order(&id).await.unwrap();
    assert_eq!(
        (closed.status, closed.closed_at),
        (OrderStatus::Closed, Some(NOW + HOUR))
    );
    let last = f.audit().await.pop().unwrap();
    assert_eq!((last.kind.as_str(), last.at), ("order.closed", NOW + HOUR));
    let events = f.audit().await.len();

    let again = f.authority.close_order(&id).await.unwrap_err();
    assert!(
        matches!(again, AuthorityError::OrderUnavailable(_)),
        "{again}"
    );
    assert_eq!(again.refusal_reason(), Some("order_closed"));
    let tokens = f.authority.add_station_tokens(&id, 1).await.unwrap_err();
    assert_eq!(tokens.refusal_reason(), Some("order_closed"), "{tokens}");
    assert_eq!(
        f.authority.order(&id).await.unwrap().closed_at,
        Some(NOW + HOUR)
    );
    assert_eq!(f.audit().await.len(), events, "refusals wrote nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn more_station_tokens_for_an_open_order() {
    let f = fixture().await;
    let created = f.authority.create_order(template_order(5)).await.unwrap();
    let id = &created.order.order.id;
    let tokens = f.authority.add_station_tokens(id, 2).await.unwrap();
    assert_eq!(tokens.len(), 2);
    assert!(
        tokens
            .iter()
            .all(|t| t.starts_with("hst_") && !created.station_tokens.contains(t))
    );
    let last = f.audit().await.pop().unwrap();
    assert_eq!(last.kind, "order.tokens_added");
    assert!(!contains(&last.data_json, tokens[0].as_bytes()));
    let station = f
        .authority
        .enroll_station(&tokens[1], &rcgen_csr(None))
        .await
        .unwrap();
    assert_eq!(&station.order_id, id);

    let events = f.audit().await.len();
    let err = f
        .authority
        .add_station_tokens("ord-00000000", 1)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, AuthorityError::UnknownOrder(o) if o == "ord-00000000"),
        "{err}"
    );
    let err = f.authority.close_order("ord-00000000").await.unwrap_err();
    assert!(matches!(err, AuthorityError::UnknownOrder(_)), "{err}");
    let err = f.authority.order("ord-00000000").await.unwrap_err();
    assert_eq!(err.refusal_reason(), Some("unknown_order"));
    assert_eq!(f.audit().await.len(), events);
}

async fn assert_nothing_stored(f: &Fixture, audit_before: usize) {
    assert!(f.authority.orders().await.unwrap().is_empty());
    assert_eq!(f.audit().await.len(), audit_before, "no audit event");
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}
