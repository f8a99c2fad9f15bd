//! The station home: creation, refusals, `station.toml` strictness, saving a
//! certificate, renewal timing, and mTLS from the home with a software key.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{Pki, SServer};
use hallmark_pki::VerifiedCsr;
use hallmark_station::home::{ROOT_PEM, STATION_PEM, STATION_TOML};
use hallmark_station::{Error, KeysConfig, SecretSource, StationConfig, StationHome};
use tempfile::TempDir;

/// A passphrase file outside the home (the home must start empty).
fn passphrase_file(secrets: &TempDir, text: &str) -> PathBuf {
    let path = secrets.path().join("passphrase");
    std::fs::write(&path, format!("{text}\n")).unwrap();
    path
}

fn soft_keys(secrets: &TempDir) -> KeysConfig {
    KeysConfig::Soft {
        dir: "keys".into(),
        passphrase: SecretSource::File(passphrase_file(secrets, common::PASSPHRASE)),
    }
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

#[test]
fn create_writes_a_home_that_opens() {
    let (pki, secrets, dir) = (
        Pki::new(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let home_dir = dir.path().join("station");
    let home = StationHome::create(
        &home_dir,
        "https://ca.example:8443",
        &common::root_pem(&pki),
        soft_keys(&secrets),
    )
    .unwrap();
    let key_uri = home.config().key_uri.clone();
    assert!(key_uri.starts_with("soft:station-"), "{key_uri}");
    assert!(home_dir.join(ROOT_PEM).is_file());
    let toml = std::fs::read_to_string(home_dir.join(STATION_TOML)).unwrap();
    assert!(!toml.contains(common::PASSPHRASE), "{toml}");
    assert!(
        toml.contains("[keys]") && toml.contains("backend = \"soft\""),
        "{toml}"
    );

    let home = StationHome::open(&home_dir).unwrap();
    assert_eq!(home.config().key_uri, key_uri);
    assert!(home.certificate_chain().is_none());
    assert!(matches!(home.client(), Err(Error::NotEnrolled { .. })));
    let csr = VerifiedCsr::from_pem_or_der(home.csr_pem().unwrap().as_bytes()).unwrap();
    assert_eq!(csr.public_key().spki_der(), home.signer().public_key_der());
    assert_eq!(csr.common_name().as_deref(), Some("pending"));
}

#[test]
fn create_refuses_an_existing_home() {
    let (pki, secrets, dir) = (
        Pki::new(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let root = common::root_pem(&pki);
    let server = "https://ca.example:8443";
    StationHome::create(dir.path(), server, &root, soft_keys(&secrets)).unwrap();
    let before = std::fs::read(dir.path().join(STATION_TOML)).unwrap();
    let err = StationHome::create(dir.path(), server, &root, soft_keys(&secrets)).unwrap_err();
    assert!(matches!(err, Error::HomeExists { .. }), "{err:?}");
    assert_eq!(
        std::fs::read(dir.path().join(STATION_TOML)).unwrap(),
        before
    );

    let other = tempfile::tempdir().unwrap();
    std::fs::write(other.path().join("notes.txt"), "mine").unwrap();
    let err = StationHome::create(other.path(), server, &root, soft_keys(&secrets)).unwrap_err();
    assert!(matches!(err, Error::HomeExists { .. }), "{err:?}");
    assert_eq!(std::fs::read_dir(other.path()).unwrap().count(), 1);
}

#[test]
fn create_refuses_bad_input_before_writing() {
    let (pki, secrets, dir) = (
        Pki::new(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let home = dir.path().join("h");
    let err = StationHome::create(
        &home,
        "http://ca.example",
        &common::root_pem(&pki),
        soft_keys(&secrets),
    )
    .unwrap_err();
    assert!(matches!(err, Error::InvalidUrl { .. }), "{err:?}");
    let err = StationHome::create(&home, "https://ca.example", b"no PEM", soft_keys(&secrets))
        .unwrap_err();
    assert!(matches!(err, Error::BadCertificate { .. }), "{err:?}");
    assert!(!home.exists());
}

const VALID: &str = r#"
server = "https://ca.example:8443"
root = "root.pem"
key_uri = "soft:station-1"

[keys]
backend = "soft"
dir = "keys"
passphrase = { env = "HALLMARK_PASSPHRASE" }
"#;

fn parse(text: &str) -> Result<StationConfig, Error> {
    StationConfig::parse(text, Path::new("station.toml"))
}

#[test]
fn station_toml_refuses_inline_secrets_and_unknown_fields() {
    let config = parse(VALID).unwrap();
    assert_eq!(
        config.keys,
        KeysConfig::Soft {
            dir: "keys".into(),
            passphrase: SecretSource::Env("HALLMARK_PASSPHRASE".into())
        }
    );

    let inline = VALID.replace(r#"{ env = "HALLMARK_PASSPHRASE" }"#, r#""hunter2-secret""#);
    let err = parse(&inline).unwrap_err().to_string();
    assert!(err.contains("secrets must not be written"), "{err}");
    assert!(!err.contains("hunter2"), "the secret is repeated: {err}");

    let wrong_key = VALID.replace("env =", "value =");
    let err = parse(&wrong_key).unwrap_err().to_string();
    assert!(err.contains("unknown field `value`"), "{err}");

    let both = VALID.replace(
        r#"{ env = "HALLMARK_PASSPHRASE" }"#,
        r#"{ env = "A", file = "b" }"#,
    );
    assert!(parse(&both).is_err());

    let unknown_top = format!("colour = \"blue\"\n{VALID}");
    let err = parse(&unknown_top).unwrap_err().to_string();
    assert!(
        err.contains("unknown field `colour`") && err.contains("line 1"),
        "{err}"
    );

    let unknown_in_keys = VALID.replace("dir = \"keys\"", "dir = \"keys\"\npin = { env = \"P\" }");
    let err = parse(&unknown_in_keys).unwrap_err().to_string();
    assert!(err.contains("unknown field `pin`"), "{err}");
}

#[test]
fn a_wrong_passphrase_is_reported_on_open() {
    let (pki, secrets, dir) = (
        Pki::new(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    StationHome::create(
        dir.path(),
        "https://ca.example",
        &common::root_pem(&pki),
        soft_keys(&secrets),
    )
    .unwrap();
    passphrase_file(&secrets, "not the passphrase");
    let err = StationHome::open(dir.path()).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Keys(hallmark_keys::KeyError::WrongPassphrase { .. })
        ),
        "{err:?}"
    );
}

#[test]
fn a_certificate_for_another_key_is_not_saved() {
    let (pki, secrets, dir) = (
        Pki::new(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let mut home = StationHome::create(
        dir.path(),
        "https://ca.example",
        &common::root_pem(&pki),
        soft_keys(&secrets),
    )
    .unwrap();
    let keys = tempfile::tempdir().unwrap();
    let other = common::soft_signer(keys.path(), hallmark_pki::KeyAlgorithm::EcdsaP256);
    let mut e = common::enrollment(&pki, &home, 1);
    e.certificate = pki.sign_client_csr(&common::csr_pem(other.as_ref()), "other", 1);
    let err = home.save_certificate(&e).unwrap_err();
    assert!(matches!(err, Error::BadCertificate { .. }), "{err:?}");
    assert!(!dir.path().join(STATION_PEM).exists());
}

#[tokio::test]
async fn a_saved_certificate_authenticates_and_renewal_is_timed() {
    let (pki, secrets, dir) = (
        Pki::new(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let www = tempfile::tempdir().unwrap();
    let body =
        r#"{"station_id":"st-9c1d0e77","order_id":"ord-3f9a2c1b","not_after":1,"enrolled_at":1}"#;
    let page = format!(
        "HTTP/1.0 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    std::fs::create_dir_all(www.path().join("api/v1/stations")).unwrap();
    std::fs::write(www.path().join("api/v1/stations/self"), page).unwrap();
    let server = SServer::start(&pki, &["-HTTP"], www.path());

    let mut home = StationHome::create(
        dir.path(),
        &server.url(),
        &common::root_pem(&pki),
        soft_keys(&secrets),
    )
    .unwrap();
    home.save_certificate(&common::enrollment(&pki, &home, 3))
        .unwrap();
    let pem = dir.path().join(STATION_PEM);
    assert_eq!(
        std::fs::metadata(&pem).unwrap().permissions().mode() & 0o777,
        0o644
    );

    let home = StationHome::open(dir.path()).unwrap();
    assert_eq!(home.certificate_chain().unwrap().len(), 2);
    let config = home.config();
    assert_eq!(config.station_id.as_deref(), Some("st-9c1d0e77"));
    assert_eq!(config.order_id.as_deref(), Some("ord-3f9a2c1b"));
    let not_after = config.not_after.unwrap();
    assert!((not_after - now() - 3 * 86_400).abs() < 120, "{not_after}");

    let me = home.client().unwrap().whoami().await.unwrap();
    assert_eq!(me.station_id, "st-9c1d0e77");

    assert!(!home.renewal_due(None, now()).unwrap());
    assert!(home.renewal_due(None, not_after - 86_400 + 60).unwrap());
    assert!(
        home.renewal_due(Some(Duration::from_secs(4 * 86_400)), now())
            .unwrap()
    );
}

#[tokio::test]
async fn renew_if_due_renews_only_when_due() {
    let (pki, secrets, dir) = (
        Pki::new(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let dead = format!("https://127.0.0.1:{}", common::free_port());
    let mut home = StationHome::create(
        dir.path(),
        &dead,
        &common::root_pem(&pki),
        soft_keys(&secrets),
    )
    .unwrap();
    home.save_certificate(&common::enrollment(&pki, &home, 3))
        .unwrap();
    assert!(home.renew_if_due(None).await.unwrap().is_none());
    let err = home
        .renew_if_due(Some(Duration::from_secs(4 * 86_400)))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Unreachable { .. }), "{err:?}");
}
