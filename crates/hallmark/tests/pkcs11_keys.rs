//! The foundation walkthrough with CA keys in a fresh SoftHSM2 token.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests report failures by panicking

mod common;

use common::{Cli, text};
use hallmark_keys::{KeyAttributes, KeyUri, Pkcs11Config, Pkcs11KeyStore};
use hallmark_testkit::softhsm::SoftHsm;

fn pkcs11_cli(hsm: &SoftHsm) -> Cli {
    let mut cli = Cli::new();
    cli.envs = vec![
        (
            "SOFTHSM2_CONF".into(),
            hsm.conf_path().to_str().unwrap().into(),
        ),
        ("HALLMARK_PKCS11_PIN".into(), hsm.pin().to_string()),
    ];
    cli
}

fn init_args<'a>(hsm: &'a SoftHsm, token: &'a str) -> Vec<&'a str> {
    vec![
        "init",
        "--org",
        "Acme Devices",
        "--factory",
        "berlin",
        "--keys",
        "pkcs11",
        "--pkcs11-module",
        hsm.module_path().to_str().unwrap(),
        "--pkcs11-token",
        token,
    ]
}

#[test]
fn hierarchy_in_softhsm_with_never_extractable_keys() {
    let hsm = SoftHsm::new();
    let cli = pkcs11_cli(&hsm);
    cli.ok(&init_args(&hsm, hsm.token_label()));

    let json: serde_json::Value = serde_json::from_str(&cli.ok(&["ca", "list", "--json"])).unwrap();
    let uris: Vec<String> = json
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["key_uri"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        uris.len(),
        6,
        "root, berlin, ocsp-berlin, offline-berlin, station-ca, audit: {uris:?}"
    );
    assert!(
        uris.iter().all(
            |u| u.starts_with("pkcs11:") && u.contains(&format!("token={}", hsm.token_label()))
        ),
        "{uris:?}"
    );
    // No key file anywhere in the home.
    assert!(!cli.home().join("keys").exists());

    // Every CA certificate and a device certificate per accepted key type, signed inside the token.
    common::check_ca_certificates(
        &cli,
        &["berlin", "station-ca", "ocsp-berlin", "offline-berlin"],
    );
    common::issue_every_key_type(&cli, &["berlin"]);

    // The session cap is configuration: one session is enough, zero is refused.
    let config = cli.home().join("hallmark.toml");
    let original = std::fs::read_to_string(&config).unwrap();
    let pin_line = "pin = { env = \"HALLMARK_PKCS11_PIN\" }\n";
    assert!(original.contains(pin_line), "{original}");
    std::fs::write(
        &config,
        original.replacen(pin_line, &format!("{pin_line}max_sessions = 0\n"), 1),
    )
    .unwrap();
    let err = cli.fails(&["ca", "list"]);
    assert!(err.contains("max_sessions"), "{err}");
    std::fs::write(
        &config,
        original.replacen(pin_line, &format!("{pin_line}max_sessions = 1\n"), 1),
    )
    .unwrap();
    let (_, csr) = cli.csr(
        "one-session",
        hallmark_testkit::tools::KeySpec::Ec("prime256v1"),
        Some("sha256"),
        false,
    );
    let out = cli.path("one-session.pem");
    assert!(
        cli.issue("berlin", &csr, "ACME-1000", &out)
            .status
            .success()
    );
    common::verify_device_cert(&cli, "berlin", &out);

    // Every CA key is sensitive and has never been extractable: asked through PKCS#11 …
    let store = Pkcs11KeyStore::open(Pkcs11Config {
        module: hsm.module_path().to_path_buf(),
        token_label: hsm.token_label().to_string(),
        pin: hsm.pin(),
    })
    .unwrap();
    for uri in &uris {
        let p = store.protection(&uri.parse::<KeyUri>().unwrap()).unwrap();
        assert!(
            p.sensitive && !p.extractable && p.never_extractable && p.always_sensitive,
            "{uri}: {p:?}"
        );
    }
    // … and as OpenSC's pkcs11-tool, an independent reader, sees them.
    let listing = std::process::Command::new("pkcs11-tool")
        .env("SOFTHSM2_CONF", hsm.conf_path())
        .args([
            "--module",
            hsm.module_path().to_str().unwrap(),
            "--token-label",
            hsm.token_label(),
            "--login",
            "--pin",
            &hsm.pin(),
            "--list-objects",
            "--type",
            "privkey",
        ])
        .output()
        .expect("pkcs11-tool missing: apt-get install opensc");
    let listing = text(&listing);
    assert_eq!(
        listing.matches("Private Key Object").count(),
        6,
        "{listing}"
    );
    assert_eq!(listing.matches("never extractable").count(), 6, "{listing}");
}

#[test]
fn wrong_pin_missing_token_and_missing_module_are_clear_errors() {
    let hsm = SoftHsm::new();
    let mut cli = pkcs11_cli(&hsm);

    let err = cli.fails(&init_args(&hsm, "no-such-token"));
    assert!(err.contains("no-such-token"), "{err}");
    assert!(!cli.home().exists());

    let mut args = init_args(&hsm, hsm.token_label());
    args[8] = "/nonexistent/libpkcs11.so";
    let err = cli.fails(&args);
    assert!(err.contains("/nonexistent/libpkcs11.so"), "{err}");
    assert!(!cli.home().exists());

    cli.envs[1].1 = "99999999".into();
    let err = cli.fails(&init_args(&hsm, hsm.token_label()));
    assert!(err.to_lowercase().contains("pin"), "{err}");
    assert!(!err.contains("99999999"), "the PIN leaked: {err}");
    assert!(!cli.home().exists());

    cli.envs.pop();
    let err = cli.fails(&init_args(&hsm, hsm.token_label()));
    assert!(err.contains("HALLMARK_PKCS11_PIN"), "{err}");
}
