//! Device enrollment under production orders on a station's behalf:
//! template and pattern orders, quota (also under concurrency), refusals
//! (audit-logged, counted, consuming nothing).

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests report failures by panicking

mod common;

use std::collections::HashSet;

use common::checks::Before;
use common::{NOW, csr_for, fixture, pattern_order, rcgen_csr, rcgen_key_and_csr, template_order};
use hallmark_authority::AuthorityError;
use hallmark_pki::profile::YEAR;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_template_order_assigns_ids_in_sequence_until_its_quota_is_used() {
    template_order_until_quota_is_used(false).await;
}

/// The same with a key that signs in memory: the id the order assigns
/// inside the store's one transaction is the one in the certificate.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_template_order_under_an_in_memory_key_assigns_ids_until_its_quota_is_used() {
    template_order_until_quota_is_used(true).await;
}

async fn template_order_until_quota_is_used(in_memory: bool) {
    let f = fixture().await;
    f.in_memory
        .store(in_memory, std::sync::atomic::Ordering::SeqCst);
    let (_, _, station) = f.enrolled_station(template_order(3)).await;
    let order_id = &station.order_id;

    let (key1, csr1) = rcgen_key_and_csr(Some("ignored"));
    let first = f.enroll(&station, &csr1, None).await.unwrap();
    assert_eq!(first.device_id, "ACME-sensor-000001");
    assert_eq!(first.certificate.not_after, NOW + 3 * YEAR);
    f.verify("device", &first.certificate.der, &first.chain, "sslclient");
    let view = hallmark_pki::CertificateView::parse(&first.certificate.der).unwrap();
    assert_eq!(view.common_name.as_deref(), Some("ACME-sensor-000001"));
    let record = f.authority.device(&first.device_id).await.unwrap().unwrap();
    assert_eq!(record.intent.order_id.as_ref(), Some(order_id));
    assert_eq!(record.intent.station_id.as_ref(), Some(&station.station_id));

    // Refusals take neither quota nor a sequence number.
    let before = Before::take(&f, order_id).await;
    let csr = rcgen_csr(None);
    let proposed = f.enroll(&station, &csr, Some("ACME-sensor-000002")).await;
    let err = before
        .refused(&f, &station, proposed, "device_id_not_allowed")
        .await;
    assert!(matches!(err, AuthorityError::DeviceIdNotAllowed { .. }));
    // The same key again under the same order is a retry: the same
    // certificate comes back, nothing more is consumed.
    let left = f.authority.order(order_id).await.unwrap().left();
    let again = f
        .enroll(&station, &csr_for(&key1, None), None)
        .await
        .unwrap();
    assert!(again.resumed);
    assert_eq!(again.certificate, first.certificate);
    assert_eq!(f.authority.order(order_id).await.unwrap().left(), left);
    // Under another order, the key is refused.
    let (_, _, other) = f.enrolled_station(pattern_order(3, "X-[0-9]+")).await;
    let before = Before::take(&f, &other.order_id).await;
    let same_key = f.enroll(&other, &csr_for(&key1, None), Some("X-1")).await;
    let err = before
        .refused(&f, &other, same_key, "public_key_taken")
        .await;
    assert!(matches!(&err, AuthorityError::PublicKeyTaken(d) if *d == first.device_id));
    let before = Before::take(&f, order_id).await;
    let garbage = f.enroll(&station, b"garbage", None).await;
    before.refused(&f, &station, garbage, "bad_csr").await;

    for expected in ["ACME-sensor-000002", "ACME-sensor-000003"] {
        let issued = f.enroll(&station, &rcgen_csr(None), None).await.unwrap();
        assert_eq!(issued.device_id, expected);
    }

    let before = Before::take(&f, order_id).await;
    assert_eq!((before.order.issued, before.order.left()), (3, 0));
    let fourth = f.enroll(&station, &rcgen_csr(None), None).await;
    let err = before
        .refused(&f, &station, fourth, "quota_exhausted")
        .await;
    assert!(matches!(err, AuthorityError::QuotaExhausted(_)), "{err}");
    let order = f.authority.order(order_id).await.unwrap();
    assert_eq!((order.issued, order.pending, order.refused), (3, 0, 3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pattern_order_takes_ids_that_match_its_pattern() {
    let f = fixture().await;
    let spec = pattern_order(10, "dev-[0-9]{4}");
    let (_, _, station) = f.enrolled_station(spec).await;

    let by_cn = f.enroll(&station, &rcgen_csr(Some("dev-0001")), None).await;
    assert_eq!(by_cn.unwrap().device_id, "dev-0001");
    let csr = rcgen_csr(Some("other"));
    let given = f.enroll(&station, &csr, Some("dev-0002")).await.unwrap();
    assert_eq!(given.device_id, "dev-0002", "a given id wins over the CN");
    f.verify("dev", &given.certificate.der, &given.chain, "sslclient");

    let cases = [
        (Some("dev-0003"), Some("dev-12345"), "device_id_not_allowed"),
        (Some("xdev-0003"), None, "device_id_not_allowed"),
        (None, None, "device_id_missing"),
        (Some("dev-0001"), None, "device_id_taken"),
    ];
    for (cn, id, reason) in cases {
        let before = Before::take(&f, &station.order_id).await;
        let outcome = f.enroll(&station, &rcgen_csr(cn), id).await;
        let err = before.refused(&f, &station, outcome, reason).await;
        match (reason, &err) {
            ("device_id_not_allowed", AuthorityError::DeviceIdNotAllowed { .. })
            | ("device_id_taken", AuthorityError::DeviceIdTaken(_)) => {}
            ("device_id_missing", AuthorityError::DeviceIdMissing(o)) => {
                assert_eq!(o, &station.order_id);
            }
            _ => panic!("{reason}: {err:?}"),
        }
    }
    let order = f.authority.order(&station.order_id).await.unwrap();
    assert_eq!((order.issued, order.left(), order.refused), (2, 8, 4));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_and_expired_orders_issue_nothing() {
    let f = fixture().await;
    let (created, _, station) = f.enrolled_station(template_order(5)).await;
    f.clock.set(created.order.order.expires_at);
    let before = Before::take(&f, &station.order_id).await;
    let outcome = f.enroll(&station, &rcgen_csr(None), None).await;
    before.refused(&f, &station, outcome, "order_expired").await;

    f.clock.set(NOW);
    f.authority.close_order(&station.order_id).await.unwrap();
    let before = Before::take(&f, &station.order_id).await;
    let outcome = f.enroll(&station, &rcgen_csr(None), None).await;
    before.refused(&f, &station, outcome, "order_closed").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn forty_concurrent_requests_against_twenty_five_units() {
    let f = fixture().await;
    let (_, _, station) = f.enrolled_station(template_order(25)).await;
    let tasks: Vec<_> = (0..40)
        .map(|_| {
            let (authority, station) = (f.authority.clone(), station.clone());
            let csr = rcgen_csr(None);
            tokio::spawn(async move { authority.enroll_device(&station, &csr, None, None).await })
        })
        .collect();
    let (mut ids, mut serials, mut exhausted) = (HashSet::new(), HashSet::new(), 0);
    for task in tasks {
        match task.await.unwrap() {
            Ok(issued) => {
                assert!(ids.insert(issued.device_id));
                assert!(serials.insert(issued.certificate.serial));
            }
            Err(AuthorityError::QuotaExhausted(_)) => exhausted += 1,
            Err(err) => panic!("unexpected: {err}"),
        }
    }
    assert_eq!((ids.len(), serials.len(), exhausted), (25, 25, 15));
    let all: HashSet<String> = (1..=25).map(|i| format!("ACME-sensor-{i:06}")).collect();
    assert_eq!(ids, all);
    let order = f.authority.order(&station.order_id).await.unwrap();
    let counters = (order.issued, order.pending, order.left(), order.refused);
    assert_eq!(counters, (25, 0, 0, 15));
    assert_eq!(f.store.count_issued(Some("berlin")).await.unwrap(), 25);
    let events = f.audit().await;
    let refused = events.iter().filter(|e| e.kind == "request.refused");
    assert!(
        refused
            .clone()
            .all(|e| e.data["reason"] == "quota_exhausted")
    );
    assert_eq!(refused.count(), 15);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_key_origin_is_recorded_with_the_certificate_and_in_the_audit_log() {
    use hallmark_store::KeyOrigin;
    let f = fixture().await;
    let (_, _, station) = f.enrolled_station(template_order(3)).await;
    let peer = Some(common::PEER.to_string());

    let (key, csr) = rcgen_key_and_csr(None);
    let issued = f
        .authority
        .enroll_device_with_origin(&station, &csr, None, KeyOrigin::Station, peer.clone())
        .await
        .unwrap();
    assert_eq!(issued.key_origin, KeyOrigin::Station);
    let record = f
        .authority
        .device(&issued.device_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.intent.key_origin, KeyOrigin::Station);
    let log = f.audit().await;
    let event = log
        .iter()
        .rev()
        .find(|e| e.kind == "certificate.issued")
        .unwrap();
    assert_eq!(event.data["key_origin"], "station");
    assert_eq!(event.data["device_id"], issued.device_id.as_str());

    // A retry gets the same certificate and the origin recorded then.
    let again = f
        .enroll(&station, &csr_for(&key, None), None)
        .await
        .unwrap();
    assert!(again.resumed);
    assert_eq!(again.key_origin, KeyOrigin::Station);

    // The default is a key made on the device.
    let device = f.enroll(&station, &rcgen_csr(None), None).await.unwrap();
    assert_eq!(device.key_origin, KeyOrigin::Device);
    let record = f
        .authority
        .device(&device.device_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.intent.key_origin, KeyOrigin::Device);
}
