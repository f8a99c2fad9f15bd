//! Station credentials: enrollment with one-time tokens, validity bounded
//! by the order, authentication, renewal and revocation.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests report failures by panicking

mod common;

use common::{DAY, HOUR, NOW, fixture, rcgen_csr, template_order};
use hallmark_authority::orders::token_hash;
use hallmark_authority::{AuthorityError, OrderSpec};
use hallmark_pki::{CertificateView, SanTemplate};
use hallmark_store::StoreError;
use hallmark_testkit::tools;
use rcgen::PublicKeyData;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_buys_a_day_long_client_certificate_from_the_station_ca() {
    let f = fixture().await;
    let (created, issued, identity) = f.enrolled_station(template_order(10)).await;
    let order_id = &created.order.order.id;
    let station_id = &issued.station_id;
    assert!(station_id.starts_with("st-"), "{station_id}");
    assert_eq!(&issued.order_id, order_id);
    assert_eq!(
        (&identity.station_id, &identity.order_id, identity.not_after),
        (station_id, order_id, NOW + DAY)
    );
    let cert = &issued.certificate;
    assert_eq!((cert.not_before, cert.not_after), (NOW, NOW + DAY));
    let cas = f.authority.published_cas().await.unwrap();
    assert_eq!(issued.chain, vec![cas.station_ca.clone(), cas.root.clone()]);

    f.verify("station", &cert.der, &issued.chain, "sslclient");
    assert!(
        f.openssl_verify("station-srv", &cert.der, &issued.chain, "sslserver")
            .is_err()
    );
    let text = tools::certificate_text(&f.dir.path().join("station.pem"), &[]);
    assert!(text.contains(&format!("OU = {order_id}")), "{text}");
    assert!(text.contains(&format!("CN = {station_id}")), "{text}");
    assert!(text.contains("O = Acme Devices"), "{text}");
    let view = CertificateView::parse(&cert.der).unwrap();
    assert_eq!(view.common_name.as_deref(), Some(station_id.as_str()));

    let stored = f.store.station(station_id).await.unwrap().unwrap();
    assert_eq!((&stored.order_id, stored.enrolled_at), (order_id, NOW));
    assert_eq!(stored.revoked_at, None);
    assert_eq!(stored.current.serial, cert.serial.as_bytes());
    let hash = token_hash(&created.station_tokens[0]);
    let token = f.store.station_token(&hash).await.unwrap().unwrap();
    assert_eq!(token.used_by.as_ref(), Some(station_id));
    assert_eq!(f.authority.order(order_id).await.unwrap().stations, 1);
    let last = f.audit().await.pop().unwrap();
    assert_eq!(
        (last.kind.as_str(), last.subject.as_ref()),
        ("station.enrolled", Some(station_id))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_station_certificate_never_outlives_its_order() {
    let f = fixture().await;
    let spec = OrderSpec {
        expires_at: Some(NOW + 2 * HOUR),
        ..template_order(10)
    };
    let (_, issued, identity) = f.enrolled_station(spec).await;
    assert_eq!(issued.certificate.not_after, NOW + 2 * HOUR);
    f.verify("short", &issued.certificate.der, &issued.chain, "sslclient");

    f.clock.set(NOW + HOUR);
    let renewed = f
        .authority
        .renew_station(&identity, &rcgen_csr(None))
        .await
        .unwrap();
    let cert = &renewed.certificate;
    assert_eq!(
        (cert.not_before, cert.not_after),
        (NOW + HOUR, NOW + 2 * HOUR)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_works_once_and_unknown_tokens_not_at_all() {
    let f = fixture().await;
    let (created, _, _) = f.enrolled_station(template_order(10)).await;
    let order_id = &created.order.order.id;
    let token = &created.station_tokens[0];
    let events = f.audit().await.len();

    let reused = f
        .authority
        .enroll_station(token, &rcgen_csr(None))
        .await
        .unwrap_err();
    let used = |o: &String| o == order_id;
    assert!(
        matches!(&reused, AuthorityError::Token(StoreError::TokenUsed { order_id: o }) if used(o)),
        "{reused}"
    );
    assert_eq!(reused.refusal_reason(), Some("token_used"));
    let unknown = f
        .authority
        .enroll_station("hst_nope", &rcgen_csr(None))
        .await
        .unwrap_err();
    assert!(
        matches!(unknown, AuthorityError::Token(StoreError::TokenUnknown)),
        "{unknown}"
    );
    assert_eq!(unknown.refusal_reason(), Some("token_unknown"));
    assert_eq!(f.authority.stations(order_id).await.unwrap().len(), 1);
    assert_eq!(f.audit().await.len(), events, "nothing written");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_of_an_order_outside_its_window_wait_for_it() {
    let f = fixture().await;
    let later = OrderSpec {
        starts_at: Some(NOW + HOUR),
        expires_at: Some(NOW + 3 * HOUR),
        stations: 2,
        ..template_order(10)
    };
    let created = f.authority.create_order(later).await.unwrap();
    let [early, late] = [&created.station_tokens[0], &created.station_tokens[1]];
    let err = f
        .authority
        .enroll_station(early, &rcgen_csr(None))
        .await
        .unwrap_err();
    assert!(matches!(err, AuthorityError::OrderUnavailable(_)), "{err}");
    assert_eq!(err.refusal_reason(), Some("order_not_started"));
    let record = f
        .store
        .station_token(&token_hash(early))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.used_by, None, "the refused token is still unused");

    f.clock.set(NOW + HOUR);
    let station = f
        .authority
        .enroll_station(early, &rcgen_csr(None))
        .await
        .unwrap();
    assert_eq!(station.certificate.not_before, NOW + HOUR);
    assert_eq!(station.certificate.not_after, NOW + 3 * HOUR);

    f.clock.set(NOW + 3 * HOUR);
    let err = f
        .authority
        .enroll_station(late, &rcgen_csr(None))
        .await
        .unwrap_err();
    assert_eq!(err.refusal_reason(), Some("order_expired"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_order_enrolls_no_station() {
    let f = fixture().await;
    let created = f.authority.create_order(template_order(10)).await.unwrap();
    f.authority
        .close_order(&created.order.order.id)
        .await
        .unwrap();
    let token = &created.station_tokens[0];
    let err = f
        .authority
        .enroll_station(token, &rcgen_csr(None))
        .await
        .unwrap_err();
    assert!(matches!(err, AuthorityError::OrderUnavailable(_)), "{err}");
    assert_eq!(err.refusal_reason(), Some("order_closed"));
    assert!(
        f.authority
            .stations(&created.order.order.id)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_current_station_certificates_authenticate() {
    let f = fixture().await;
    let (_, issued, station) = f.enrolled_station(template_order(10)).await;
    let unknown = |r: Result<_, AuthorityError>| matches!(r, Err(AuthorityError::UnknownStation));

    // A device certificate (same root, an issuing CA) is not a station's.
    let device = f
        .authority
        .enroll_device(&station, &rcgen_csr(None), None, None)
        .await
        .unwrap();
    assert!(unknown(
        f.authority
            .authenticate_station(&device.certificate.der)
            .await
    ));
    // Nor is another certificate of the station CA, nor garbage.
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let names: Vec<SanTemplate> = vec!["DNS:localhost".parse().unwrap()];
    let (server, _) = f
        .authority
        .issue_server_certificate(&key.subject_public_key_info(), &names, DAY)
        .await
        .unwrap();
    assert!(unknown(f.authority.authenticate_station(&server.der).await));
    assert!(unknown(
        f.authority.authenticate_station(b"not a certificate").await
    ));

    // After renewal both certificates authenticate, until the first expires.
    f.clock.set(NOW + 12 * HOUR);
    let renewed = f
        .authority
        .renew_station(&station, &rcgen_csr(None))
        .await
        .unwrap();
    assert_eq!(renewed.station_id, station.station_id);
    assert_ne!(renewed.certificate.serial, issued.certificate.serial);
    let old = f
        .authority
        .authenticate_station(&issued.certificate.der)
        .await
        .unwrap();
    let new = f
        .authority
        .authenticate_station(&renewed.certificate.der)
        .await
        .unwrap();
    assert_eq!(old, station);
    assert_eq!(
        (&new.station_id, &new.order_id),
        (&station.station_id, &station.order_id)
    );
    assert_eq!(new.not_after, NOW + 36 * HOUR);
    let stored = f.store.station(&station.station_id).await.unwrap().unwrap();
    assert_eq!(stored.current.serial, renewed.certificate.serial.as_bytes());
    assert_eq!(f.audit().await.pop().unwrap().kind, "station.renewed");

    f.clock.set(NOW + DAY);
    assert!(unknown(
        f.authority
            .authenticate_station(&issued.certificate.der)
            .await
    ));
    assert!(
        f.authority
            .authenticate_station(&renewed.certificate.der)
            .await
            .is_ok()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_station_is_refused() {
    let f = fixture().await;
    let (_, issued, station) = f.enrolled_station(template_order(10)).await;
    let renewed = f
        .authority
        .renew_station(&station, &rcgen_csr(None))
        .await
        .unwrap();

    let db = rusqlite::Connection::open(f.db_path()).unwrap();
    db.busy_timeout(std::time::Duration::from_secs(10)).unwrap();
    let changed = db
        .execute(
            "UPDATE stations SET revoked_at = ?1 WHERE id = ?2",
            rusqlite::params![NOW, station.station_id],
        )
        .unwrap();
    assert_eq!(changed, 1);
    drop(db);

    for der in [&issued.certificate.der, &renewed.certificate.der] {
        let err = f.authority.authenticate_station(der).await.unwrap_err();
        assert!(
            matches!(&err, AuthorityError::StationRevoked(id) if *id == station.station_id),
            "{err}"
        );
        assert_eq!(err.refusal_reason(), Some("station_revoked"));
    }
    let err = f
        .authority
        .renew_station(&station, &rcgen_csr(None))
        .await
        .unwrap_err();
    assert!(matches!(err, AuthorityError::StationRevoked(_)), "{err}");
    let stored = f.store.station(&station.station_id).await.unwrap().unwrap();
    assert_eq!(stored.current.serial, renewed.certificate.serial.as_bytes());
}
