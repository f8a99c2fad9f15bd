//! What the provisioning server gets from the authority besides issuance:
//! its own TLS certificate and the CA certificates it publishes.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests report failures by panicking

mod common;

use common::{DAY, NOW, fixture, fixture_with};
use hallmark_pki::{CertificateView, SanTemplate};
use hallmark_testkit::tools;
use rcgen::PublicKeyData;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_certificate_is_a_tls_server_certificate_from_the_station_ca() {
    let f = fixture().await;
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let names: Vec<SanTemplate> = vec![
        "DNS:localhost".parse().unwrap(),
        "IP:127.0.0.1".parse().unwrap(),
    ];
    let (cert, chain) = f
        .authority
        .issue_server_certificate(&key.subject_public_key_info(), &names, 7 * DAY)
        .await
        .unwrap();
    assert_eq!((cert.not_before, cert.not_after), (NOW, NOW + 7 * DAY));
    let cas = f.authority.published_cas().await.unwrap();
    assert_eq!(chain, vec![cas.station_ca, cas.root]);
    let view = CertificateView::parse(&cert.der).unwrap();
    assert_eq!(view.spki_der, key.subject_public_key_info());

    // pkilint calls "localhost" an invalid domain name (one label), so
    // this one is judged by OpenSSL only; the FQDN one below is linted too.
    f.openssl_verify("server", &cert.der, &chain, "sslserver")
        .unwrap();
    assert!(
        f.openssl_verify("server-c", &cert.der, &chain, "sslclient")
            .is_err()
    );
    let text = tools::certificate_text(&f.dir.path().join("server.pem"), &[]);
    assert!(text.contains("DNS:localhost"), "{text}");
    assert!(text.contains("IP Address:127.0.0.1"), "{text}");
    assert!(text.contains("TLS Web Server Authentication"), "{text}");
    let last = f.audit().await.pop().unwrap();
    assert_eq!(last.kind, "server.certificate_issued");
    assert_eq!(last.data["serial"], cert.serial.to_hex());

    let fqdn: Vec<SanTemplate> = vec!["DNS:ca.example.com".parse().unwrap()];
    let spki = key.subject_public_key_info();
    let issued = f.authority.issue_server_certificate(&spki, &fqdn, DAY);
    let (cert, chain) = issued.await.unwrap();
    f.verify("server-fqdn", &cert.der, &chain, "sslserver");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn published_cas_are_the_root_the_station_ca_and_every_issuing_ca() {
    let f = fixture_with(&["berlin", "shenzhen"]).await;
    let cas = f.authority.published_cas().await.unwrap();
    let stored = |id: &'static str| {
        let store = f.store.clone();
        async move {
            store
                .authority_key(id)
                .await
                .unwrap()
                .unwrap()
                .certificate_der
                .unwrap()
        }
    };
    assert_eq!(cas.root, stored("root").await);
    assert_eq!(cas.station_ca, stored("station-ca").await);
    let mut issuing = cas.issuing.clone();
    issuing.sort();
    let expected = vec![
        ("berlin".to_string(), stored("berlin").await),
        ("shenzhen".to_string(), stored("shenzhen").await),
    ];
    assert_eq!(issuing, expected);
    for (id, der) in [("station-ca", &cas.station_ca), ("berlin", &issuing[0].1)] {
        f.openssl_verify(id, der, std::slice::from_ref(&cas.root), "any")
            .unwrap_or_else(|e| panic!("{id}: {e}"));
    }
}
