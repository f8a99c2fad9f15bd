use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair};

use super::*;
use crate::test_support::{openssl, self_signed};

/// Certifies `key` (self-signed, by openssl) and returns the DER certificate.
fn certify(dir: &std::path::Path, key: &EphemeralKey) -> CertificateDer<'static> {
    std::fs::write(dir.join("eph.key.der"), key.private_key.secret_pkcs8_der()).unwrap();
    openssl(
        dir,
        "req -new -x509 -key eph.key.der -keyform DER -subj /CN=server -days 1 \
         -outform DER -out eph.der",
    );
    CertificateDer::from(std::fs::read(dir.join("eph.der")).unwrap())
}

#[test]
fn ephemeral_key_is_p256_and_its_spki_matches() {
    let key = generate_ephemeral_p256().unwrap();
    let pair = EcdsaKeyPair::from_pkcs8(
        &ECDSA_P256_SHA256_ASN1_SIGNING,
        key.private_key.secret_pkcs8_der(),
    )
    .unwrap();
    let point = pair.public_key().as_ref();
    assert_eq!(point.len(), 65, "uncompressed P-256 point");
    assert!(key.spki.as_ref().ends_with(point));
    assert!(!format!("{key:?}").contains(&format!("{:?}", key.private_key.secret_pkcs8_der())));

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("spki.der"), key.spki.as_ref()).unwrap();
    let text = openssl(
        dir.path(),
        "pkey -pubin -inform DER -in spki.der -noout -text",
    );
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("P-256") || text.contains("prime256v1"),
        "{text}"
    );
}

#[test]
fn ephemeral_keys_differ() {
    let a = generate_ephemeral_p256().unwrap();
    let b = generate_ephemeral_p256().unwrap();
    assert_ne!(a.spki.as_ref(), b.spki.as_ref());
}

#[test]
fn server_config_offers_h2_and_http11_with_optional_client_auth() {
    let dir = tempfile::tempdir().unwrap();
    let key = generate_ephemeral_p256().unwrap();
    let cert = certify(dir.path(), &key);
    let (ca, _) = self_signed(dir.path(), "client-ca");
    let config = server_config(
        vec![cert],
        PrivateKeyDer::Pkcs8(key.private_key),
        &[CertificateDer::from(ca)],
    )
    .unwrap();
    assert_eq!(
        config.alpn_protocols,
        vec![b"h2".to_vec(), b"http/1.1".to_vec()]
    );
}

#[test]
fn client_certificates_are_requested_but_optional() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, _) = self_signed(dir.path(), "client-ca");
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let verifier = client_verifier(&[CertificateDer::from(ca)], &provider).unwrap();
    assert!(verifier.offer_client_auth());
    assert!(!verifier.client_auth_mandatory());
}

#[test]
fn no_trust_anchors_means_no_client_auth() {
    let dir = tempfile::tempdir().unwrap();
    let key = generate_ephemeral_p256().unwrap();
    let cert = certify(dir.path(), &key);
    server_config(vec![cert], PrivateKeyDer::Pkcs8(key.private_key), &[]).unwrap();
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let verifier = client_verifier(&[], &provider).unwrap();
    assert!(!verifier.offer_client_auth());
}

#[test]
fn garbage_trust_anchor_is_refused_with_its_index() {
    let dir = tempfile::tempdir().unwrap();
    let key = generate_ephemeral_p256().unwrap();
    let cert = certify(dir.path(), &key);
    let (ca, _) = self_signed(dir.path(), "ca");
    let anchors = [
        CertificateDer::from(ca),
        CertificateDer::from(vec![0x30, 0x00]),
    ];
    let err =
        server_config(vec![cert], PrivateKeyDer::Pkcs8(key.private_key), &anchors).unwrap_err();
    assert!(matches!(err, Error::TrustAnchor { index: 1, .. }), "{err}");
}

#[test]
fn key_not_matching_the_certificate_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, _) = self_signed(dir.path(), "server");
    let other = generate_ephemeral_p256().unwrap();
    let err = server_config(
        vec![CertificateDer::from(cert)],
        PrivateKeyDer::Pkcs8(other.private_key),
        &[],
    )
    .unwrap_err();
    assert!(matches!(err, Error::Tls(_)), "{err}");
}
