//! A station home whose key is on a PKCS#11 token (SoftHSM2): created,
//! certified, and authenticating to `openssl s_server -Verify 1` through
//! the token's signer.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Pki, SServer};
use hallmark_station::home::STATION_TOML;
use hallmark_station::{KeysConfig, SecretSource, StationHome};

#[test]
fn a_pkcs11_station_key_authenticates() {
    let hsm = hallmark_testkit::softhsm::SoftHsm::new();
    let (pki, secrets, dir) = (
        Pki::new(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let pin = secrets.path().join("pin");
    std::fs::write(&pin, hsm.pin().as_str()).unwrap();
    let keys = KeysConfig::Pkcs11 {
        module: hsm.module_path().to_owned(),
        token: hsm.token_label().to_owned(),
        pin: SecretSource::File(pin),
    };
    let server = SServer::start(&pki, &["-www"], pki.dir.path());
    let mut home =
        StationHome::create(dir.path(), &server.url(), &common::root_pem(&pki), keys).unwrap();
    assert!(
        home.config().key_uri.starts_with("pkcs11:"),
        "{}",
        home.config().key_uri
    );
    home.save_certificate(&common::enrollment(&pki, &home, 1))
        .unwrap();
    let toml = std::fs::read_to_string(dir.path().join(STATION_TOML)).unwrap();
    assert!(!toml.contains(hsm.pin().as_str()), "{toml}");

    // The home's TLS identity, used directly against s_server -www.
    let home = StationHome::open(dir.path()).unwrap();
    let identity = (
        home.certificate_chain().unwrap().to_vec(),
        home.signer().clone(),
    );
    let config =
        hallmark_station::tls::client_config(std::slice::from_ref(&pki.ca_der), Some(identity))
            .unwrap();
    let page = common::https_get(server.port, config).unwrap();
    assert!(
        page.starts_with("HTTP/1.0 200 ok") && page.contains("Client certificate"),
        "{page}"
    );
}
