//! The rustls adapter against OpenSSL: `openssl s_server -Verify 1` must
//! accept a client certificate whose key is an encrypted SoftKeyStore key,
//! over TLS 1.3 and TLS 1.2, for every key type the store makes.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Pki, SServer};
use hallmark_pki::KeyAlgorithm;
use hallmark_station::Error;
use hallmark_station::tls::{self, SignerCertResolver};

fn handshake_with_client_key(alg: KeyAlgorithm, version: &str) {
    let pki = Pki::new();
    let keys = tempfile::tempdir().unwrap();
    let signer = common::soft_signer(keys.path(), alg);
    let cert = pki.sign_client_csr(&common::csr_pem(signer.as_ref()), "client", 1);
    let server = SServer::start(&pki, &["-www", version], pki.dir.path());

    let identity = (vec![common::der_of(&cert)], signer);
    let config = tls::client_config(std::slice::from_ref(&pki.ca_der), Some(identity)).unwrap();
    let page = common::https_get(server.port, config).unwrap();

    assert!(page.starts_with("HTTP/1.0 200 ok"), "{page}");
    let expected = if version == "-tls1_3" {
        "TLSv1.3"
    } else {
        "TLSv1.2"
    };
    assert!(page.contains(expected), "{page}");
    assert!(page.contains("Client certificate"), "{page}");
    assert!(
        page.contains("CN=test-station") || page.contains("CN = test-station"),
        "{page}"
    );
}

#[test]
fn p256_key_authenticates_over_tls13() {
    handshake_with_client_key(KeyAlgorithm::EcdsaP256, "-tls1_3");
}

#[test]
fn p256_key_authenticates_over_tls12() {
    handshake_with_client_key(KeyAlgorithm::EcdsaP256, "-tls1_2");
}

#[test]
fn p384_key_authenticates_over_tls13() {
    handshake_with_client_key(KeyAlgorithm::EcdsaP384, "-tls1_3");
}

#[test]
fn p384_key_authenticates_over_tls12() {
    handshake_with_client_key(KeyAlgorithm::EcdsaP384, "-tls1_2");
}

#[test]
fn ed25519_key_authenticates_over_tls13() {
    handshake_with_client_key(KeyAlgorithm::Ed25519, "-tls1_3");
}

#[test]
fn without_a_client_certificate_the_server_refuses() {
    let pki = Pki::new();
    let server = SServer::start(&pki, &["-www"], pki.dir.path());
    let config = tls::client_config(std::slice::from_ref(&pki.ca_der), None).unwrap();
    let err = common::https_get(server.port, config).unwrap_err();
    assert!(err.to_string().contains("alert"), "{err}");
}

#[test]
fn a_server_outside_the_given_roots_is_refused() {
    let pki = Pki::new();
    let other = Pki::new();
    let keys = tempfile::tempdir().unwrap();
    let signer = common::soft_signer(keys.path(), KeyAlgorithm::EcdsaP256);
    let cert = pki.sign_client_csr(&common::csr_pem(signer.as_ref()), "client", 1);
    let server = SServer::start(&pki, &["-www"], pki.dir.path());
    let identity = (vec![common::der_of(&cert)], signer);
    let config = tls::client_config(std::slice::from_ref(&other.ca_der), Some(identity)).unwrap();
    let err = common::https_get(server.port, config).unwrap_err();
    assert!(
        err.to_string().contains("invalid peer certificate"),
        "{err}"
    );
}

#[test]
fn a_certificate_for_another_key_is_refused() {
    let pki = Pki::new();
    let keys = tempfile::tempdir().unwrap();
    let signer = common::soft_signer(keys.path(), KeyAlgorithm::EcdsaP256);
    let other_keys = tempfile::tempdir().unwrap();
    let other = common::soft_signer(other_keys.path(), KeyAlgorithm::EcdsaP256);
    let cert = pki.sign_client_csr(&common::csr_pem(other.as_ref()), "client", 1);
    let err = SignerCertResolver::new(vec![common::der_of(&cert)], signer).unwrap_err();
    assert!(matches!(err, Error::TlsConfig(_)), "{err:?}");
}

#[test]
fn no_roots_and_bad_roots_are_refused() {
    let err = tls::client_config(&[], None).unwrap_err();
    assert!(matches!(err, Error::NoTrustAnchors), "{err:?}");
    let err = tls::client_config(&[b"not a certificate".to_vec()], None).unwrap_err();
    assert!(
        matches!(err, Error::TrustAnchor { index: 0, .. }),
        "{err:?}"
    );
}
