//! Re-enrollment with the device's current certificate, and what a signing
//! failure after the reservation gives back.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests report failures by panicking

mod common;

use std::sync::atomic::Ordering;

use common::checks::Before;
use common::{NOW, csr_for, fixture, pattern_order, rcgen_csr, rcgen_key_and_csr, template_order};
use hallmark_authority::{AuthorityError, Issued};
use hallmark_pki::profile::YEAR;
use hallmark_store::IssuanceStatus;

fn serial(issued: &Issued) -> Vec<u8> {
    issued.certificate.serial.as_bytes().to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_reenrolls_with_its_current_certificate_only() {
    let f = fixture().await;
    let (_, station_cert, station) = f.enrolled_station(template_order(5)).await;
    let first = f.enroll(&station, &rcgen_csr(None), None).await.unwrap();
    let device_id = first.device_id.clone();

    f.clock.set(NOW + YEAR);
    let (key, csr) = rcgen_key_and_csr(Some(&device_id));
    let second = f.reenroll(&first, &csr).await.unwrap();
    assert_eq!(second.device_id, device_id);
    assert_ne!(serial(&second), serial(&first));
    assert_eq!(second.certificate.not_before, NOW + YEAR);
    f.verify(
        "renewed",
        &second.certificate.der,
        &second.chain,
        "sslclient",
    );
    let old = serial(&first);
    let old = f.store.certificate_by_serial("berlin", &old).await.unwrap();
    assert_eq!(old.unwrap().status, IssuanceStatus::Superseded);
    let new = f.authority.device(&device_id).await.unwrap().unwrap();
    assert_eq!(new.status, IssuanceStatus::Issued);
    assert_eq!(new.intent.renews, Some(serial(&first)));
    assert_eq!(new.intent.order_id.as_ref(), Some(&station.order_id));
    let order = f.authority.order(&station.order_id).await.unwrap();
    assert_eq!(
        (order.issued, order.left()),
        (1, 4),
        "renewals take no quota"
    );

    // The superseded certificate is refused, and the refusal logged once.
    let events = f.audit().await.len();
    let err = f.reenroll(&first, &rcgen_csr(None)).await.unwrap_err();
    assert!(
        matches!(err, AuthorityError::UnknownDeviceCertificate(_)),
        "{err}"
    );
    assert_eq!(err.refusal_reason(), Some("unknown_device_certificate"));
    let log = f.audit().await;
    assert_eq!(log.len(), events + 1);
    let last = log.last().unwrap();
    assert_eq!(last.kind, "request.refused");
    assert_eq!(last.data["reason"], "unknown_device_certificate");
    assert_eq!(last.data["device_id"], device_id.as_str());

    // A new CN is not a re-enrollment; a station certificate is no device's.
    let renamed = f.reenroll(&second, &rcgen_csr(Some("other"))).await;
    let err = renamed.unwrap_err();
    assert!(
        matches!(err, AuthorityError::DeviceIdNotAllowed { .. }),
        "{err}"
    );
    let as_device = Issued {
        certificate: station_cert.certificate.clone(),
        ..second.clone()
    };
    let err = f.reenroll(&as_device, &rcgen_csr(None)).await.unwrap_err();
    assert!(
        matches!(err, AuthorityError::UnknownDeviceCertificate(_)),
        "{err}"
    );
    let current = f.authority.device(&device_id).await.unwrap().unwrap();
    assert_eq!(
        current.intent.serial,
        serial(&second),
        "refusals changed nothing"
    );

    // The device may keep its key; an expired certificate no longer counts.
    let third = f.reenroll(&second, &csr_for(&key, None)).await.unwrap();
    f.clock.set(third.certificate.not_after);
    let expired = f.reenroll(&third, &rcgen_csr(None)).await;
    assert!(
        matches!(
            expired,
            Err(AuthorityError::UnknownDeviceCertificate("expired"))
        ),
        "{expired:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signing_failure_gives_the_quota_unit_and_the_device_id_back() {
    let f = fixture().await;
    let (_, _, station) = f.enrolled_station(pattern_order(2, "dev-[0-9]{4}")).await;
    let csr = rcgen_csr(Some("dev-0001"));
    let before = Before::take(&f, &station.order_id).await;
    f.broken.store(true, Ordering::SeqCst);
    let err = f.enroll(&station, &csr, None).await.unwrap_err();
    assert!(matches!(err, AuthorityError::Pki(_)), "{err}");
    assert_eq!(err.refusal_reason(), None, "our failure, not a refusal");

    let order = f.authority.order(&station.order_id).await.unwrap();
    assert_eq!(order, before.order);
    assert_eq!(order.left(), 2);
    assert!(f.authority.device("dev-0001").await.unwrap().is_none());
    let events = f.audit().await;
    let kinds: Vec<&str> = events[before.audit..]
        .iter()
        .map(|e| e.kind.as_str())
        .collect();
    assert_eq!(kinds, ["issuance.intent", "issuance.failed"]);

    f.broken.store(false, Ordering::SeqCst);
    let issued = f.enroll(&station, &csr, None).await.unwrap();
    assert_eq!(issued.device_id, "dev-0001");
    let order = f.authority.order(&station.order_id).await.unwrap();
    assert_eq!((order.issued, order.left(), order.refused), (1, 1, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_issuance_under_a_template_returns_the_unit_but_not_the_number() {
    let f = fixture().await;
    let (_, _, station) = f.enrolled_station(template_order(2)).await;
    f.broken.store(true, Ordering::SeqCst);
    let failed = f.enroll(&station, &rcgen_csr(None), None).await;
    assert!(matches!(failed, Err(AuthorityError::Pki(_))), "{failed:?}");
    assert_eq!(
        f.authority.order(&station.order_id).await.unwrap().left(),
        2
    );

    f.broken.store(false, Ordering::SeqCst);
    for expected in ["ACME-sensor-000002", "ACME-sensor-000003"] {
        let issued = f.enroll(&station, &rcgen_csr(None), None).await.unwrap();
        assert_eq!(issued.device_id, expected);
    }
    let quota = f.enroll(&station, &rcgen_csr(None), None).await;
    assert!(
        matches!(quota, Err(AuthorityError::QuotaExhausted(_))),
        "{quota:?}"
    );
}
