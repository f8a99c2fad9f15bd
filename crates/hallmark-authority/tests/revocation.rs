//! Revocation through the authority: plans and revocations by station and
//! time window (credential stopped at once), CRLs re-signed on revocation
//! and on schedule (OCSP is in `revocation_ocsp.rs`).

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests report failures by panicking

mod common;

use std::sync::Arc;

use common::revocation::{service, write};
use common::{HOUR, NOW, fixture, rcgen_csr, template_order};
use hallmark_authority::revocation::CertificateSelection;
use hallmark_authority::{AuthorityError, Reason};
use hallmark_testkit::tools::{self, path_str};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoking_a_station_window_revokes_its_devices_and_its_credential() {
    let f = fixture().await;
    let (created, issued, station) = f.enrolled_station(template_order(10)).await;
    let mut devices = Vec::new();
    for _ in 0..3 {
        devices.push(f.enroll(&station, &rcgen_csr(None), None).await.unwrap());
        f.clock.advance(100);
    }
    let selection = CertificateSelection::Station {
        station_id: issued.station_id.clone(),
        since: Some(NOW + 50),
        until: None,
    };
    let before = f.audit().await.len();
    let plan = f.authority.plan_revocation(&selection).await.unwrap();
    assert_eq!(plan.to_revoke.len(), 2, "issued at NOW+100 and NOW+200");
    assert_eq!(plan.station.as_ref().unwrap().id, issued.station_id);
    assert_eq!(f.audit().await.len(), before, "planning writes nothing");
    f.authority
        .authenticate_station(&issued.certificate.der)
        .await
        .unwrap();

    let report = f
        .authority
        .revoke(&selection, Reason::KeyCompromise)
        .await
        .unwrap();
    assert_eq!(report.revoked.len(), 2);
    assert!(report.station_revoked);
    let revoked: Vec<_> = report.revoked.iter().map(|c| c.device_id.clone()).collect();
    assert_eq!(
        revoked,
        vec![devices[1].device_id.clone(), devices[2].device_id.clone()]
    );
    let err = f
        .authority
        .authenticate_station(&issued.certificate.der)
        .await
        .unwrap_err();
    assert!(matches!(err, AuthorityError::StationRevoked(_)), "{err:?}");
    let event = f.audit().await.pop().unwrap();
    assert_eq!(event.kind, "revocation");
    assert_eq!(event.data["reason"], "keyCompromise");
    assert_eq!(event.data["revoked"].as_array().unwrap().len(), 2);
    assert_eq!(event.data["station_revoked"], true);

    let again = f
        .authority
        .revoke(&selection, Reason::Superseded)
        .await
        .unwrap();
    assert!(again.revoked.is_empty() && !again.station_revoked);
    assert_eq!((again.already_revoked, again.audit_seqs.len()), (2, 0));

    let order = CertificateSelection::Order(created.order.order.id.clone());
    let plan = f.authority.plan_revocation(&order).await.unwrap();
    assert_eq!((plan.to_revoke.len(), plan.already_revoked.len()), (1, 2));
    for missing in [
        CertificateSelection::Device("nobody".into()),
        CertificateSelection::Serial(vec![0x42; 16]),
    ] {
        let err = f.authority.plan_revocation(&missing).await.unwrap_err();
        assert!(matches!(err, AuthorityError::NothingToRevoke(_)), "{err:?}");
    }
    let err = f
        .authority
        .plan_revocation(&CertificateSelection::Station {
            station_id: "st-none".into(),
            since: None,
            until: None,
        })
        .await
        .unwrap_err();
    assert!(
        matches!(err, AuthorityError::UnknownStationId(_)),
        "{err:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crls_are_signed_anew_on_revocation_and_on_schedule() {
    let f = fixture().await;
    let (_, _, station) = f.enrolled_station(template_order(10)).await;
    let device = f.enroll(&station, &rcgen_csr(None), None).await.unwrap();
    let (_, ica, root) = write(&f, "dev", &device);
    let service = service(&f);

    let first = service.crl("berlin").await.unwrap();
    assert_eq!((first.number, first.entries), (1, 0));
    assert_eq!(
        (first.this_update, first.next_update, first.refresh_at),
        (NOW, NOW + 24 * HOUR, NOW + 12 * HOUR)
    );
    assert!(
        Arc::ptr_eq(&first, &service.crl("berlin").await.unwrap()),
        "cached"
    );

    f.authority
        .revoke(
            &CertificateSelection::Device(device.device_id.clone()),
            Reason::CessationOfOperation,
        )
        .await
        .unwrap();
    let second = service.crl("berlin").await.unwrap();
    assert_eq!((second.number, second.entries), (2, 1));
    let crl = f.dir.path().join("berlin.crl");
    std::fs::write(&crl, &second.der).unwrap();
    let chain = f.dir.path().join("chain.pem");
    std::fs::write(
        &chain,
        [std::fs::read(&ica).unwrap(), std::fs::read(&root).unwrap()].concat(),
    )
    .unwrap();
    let text = tools::openssl_ok(&[
        "crl",
        "-inform",
        "DER",
        "-in",
        path_str(&crl),
        "-CAfile",
        path_str(&chain),
        "-text",
        "-noout",
    ]);
    assert!(text.contains("verify OK"), "{text}");
    assert!(
        text.contains(&device.certificate.serial.to_hex().to_uppercase()),
        "{text}"
    );
    assert!(text.contains("Cessation Of Operation"), "{text}");
    let number = text
        .lines()
        .skip_while(|l| !l.contains("CRL Number"))
        .nth(1);
    assert_eq!(number.map(str::trim), Some("2"), "{text}");

    f.clock.advance(12 * HOUR);
    let third = service.crl("berlin").await.unwrap();
    assert_eq!((third.number, third.this_update), (3, NOW + 12 * HOUR));
    let issued: Vec<_> = f
        .audit()
        .await
        .into_iter()
        .filter(|e| e.kind == "crl.issued")
        .map(|e| e.data["crl_number"].as_u64().unwrap())
        .collect();
    assert_eq!(issued, vec![1, 2, 3]);
    let err = service.crl("root").await.unwrap_err();
    assert!(
        matches!(err, AuthorityError::NotAnIssuingCa { .. }),
        "{err:?}"
    );
}
