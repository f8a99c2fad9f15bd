//! The foundation walkthrough on encrypted software keys, judged by OpenSSL,
//! pkilint and sqlite3.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests report failures by panicking

mod common;

use common::{Cli, PASSPHRASE, split_pem, text};
use hallmark_testkit::tools::{self, KeySpec};

#[test]
fn init_builds_a_verifiable_lint_clean_hierarchy() {
    let cli = Cli::new();
    cli.init_soft();

    let table = cli.ok(&["ca", "list"]);
    for id in [
        "root",
        "berlin",
        "shenzhen",
        "station-ca",
        "audit",
        "ocsp-berlin",
        "ocsp-shenzhen",
    ] {
        assert!(
            table.lines().any(|l| l.starts_with(&format!("{id} "))),
            "{id} missing:\n{table}"
        );
    }
    for header in ["ID", "ROLE", "SUBJECT", "ALGORITHM", "KEY", "NOT AFTER"] {
        assert!(table.contains(header), "{table}");
    }
    let json: serde_json::Value = serde_json::from_str(&cli.ok(&["ca", "list", "--json"])).unwrap();
    let rows = json.as_array().unwrap();
    let role = |id: &str| {
        rows.iter().find(|r| r["id"] == id).map(|r| {
            (
                r["role"].as_str().unwrap().to_string(),
                r["algorithm"].as_str().unwrap().to_string(),
            )
        })
    };
    assert_eq!(role("root"), Some(("root".into(), "p384".into())));
    assert_eq!(role("berlin"), Some(("issuing".into(), "p256".into())));
    assert_eq!(role("shenzhen"), Some(("issuing".into(), "p256".into())));
    assert_eq!(
        role("station-ca"),
        Some(("station_ca".into(), "p256".into()))
    );
    assert_eq!(
        role("ocsp-berlin"),
        Some(("ocsp_responder".into(), "p256".into()))
    );
    assert_eq!(role("audit"), Some(("audit".into(), "p256".into())));
    assert!(
        rows.iter()
            .all(|r| r["key_uri"].as_str().unwrap().starts_with("soft:"))
    );

    // `ca chain --ca root` prints the root alone; a factory's chain is that CA then the root.
    let root_pem = cli.ok(&["ca", "chain", "--ca", "root"]);
    assert_eq!(root_pem.matches("BEGIN CERTIFICATE").count(), 1);
    let root = cli.path("root.pem");
    std::fs::write(&root, &root_pem).unwrap();
    tools::lint_certificate(&root).unwrap();
    let root_text = tools::certificate_text(&root, &["-dates"]);
    assert!(
        root_text.contains("NIST CURVE: P-384") || root_text.contains("secp384r1"),
        "{root_text}"
    );

    common::check_ca_certificates(
        &cli,
        &[
            "berlin",
            "shenzhen",
            "station-ca",
            "ocsp-berlin",
            "ocsp-shenzhen",
        ],
    );
    let ica = split_pem(
        cli.dir.path(),
        &cli.ok(&["ca", "chain", "--ca", "berlin"]),
        "b",
    );
    let ica_text = tools::certificate_text(&ica[0], &[]);
    assert!(ica_text.contains("CA:TRUE, pathlen:0"), "{ica_text}");
    let ocsp = split_pem(
        cli.dir.path(),
        &cli.ok(&["ca", "chain", "--ca", "ocsp-berlin"]),
        "o",
    );
    let ocsp_text = tools::certificate_text(&ocsp[0], &[]);
    assert!(
        ocsp_text.contains("OCSP Signing") && ocsp_text.contains("OCSP No Check"),
        "{ocsp_text}"
    );

    // Audit key has no certificate.
    assert!(
        cli.fails(&["ca", "chain", "--ca", "audit"])
            .contains("no certificate")
    );
    assert!(
        cli.fails(&["ca", "chain", "--ca", "nowhere"])
            .contains("unknown CA")
    );
}

#[test]
fn issuing_cas_can_be_p384() {
    let cli = Cli::new();
    cli.ok(&[
        "init",
        "--org",
        "Acme Devices",
        "--factory",
        "berlin",
        "--issuing-key",
        "p384",
    ]);
    let json: serde_json::Value = serde_json::from_str(&cli.ok(&["ca", "list", "--json"])).unwrap();
    let berlin = json
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "berlin")
        .unwrap();
    assert_eq!(berlin["algorithm"], "p384");
    common::check_ca_certificates(&cli, &["berlin", "ocsp-berlin"]);
    let (_, csr) = cli.csr("dev", KeySpec::Ec("prime256v1"), Some("sha256"), false);
    let out = cli.path("dev.pem");
    assert!(cli.issue("berlin", &csr, "ACME-1", &out).status.success());
    common::verify_device_cert(&cli, "berlin", &out);
    let text = tools::certificate_text(&out, &[]);
    assert!(
        text.contains("Signature Algorithm: ecdsa-with-SHA384"),
        "{text}"
    );
}

#[test]
fn profiles_come_from_the_configuration() {
    let cli = Cli::new();
    cli.init_soft();
    let config = cli.home().join("hallmark.toml");
    let mut toml_text = std::fs::read_to_string(&config).unwrap();
    toml_text.push_str(
        r#"
[profiles.gateway]
validity_days = 30
key_usage = ["digitalSignature", "keyAgreement"]
extended_key_usage = ["clientAuth", "serverAuth"]
subject_alt_names = ["DNS:{device_id}.gw.example.net", "URI:https://devices.example.com/{factory}/{device_id}"]
crl_distribution_point = false
ocsp = false
"#,
    );
    std::fs::write(&config, &toml_text).unwrap();
    assert!(cli.ok(&["config", "check"]).contains("valid, 2 profile(s)"));

    let (_, csr) = cli.csr("gw", KeySpec::Ec("prime256v1"), Some("sha256"), false);
    let out = cli.path("gw.pem");
    let run = cli.issue_with_profile("berlin", &csr, "gw-7", "gateway", &out);
    assert!(run.status.success(), "{}", text(&run));
    common::verify_device_cert(&cli, "berlin", &out);
    let cert = tools::certificate_text(&out, &["-startdate", "-enddate"]);
    assert!(cert.contains("Digital Signature, Key Agreement"), "{cert}");
    assert!(
        cert.contains("TLS Web Client Authentication, TLS Web Server Authentication"),
        "{cert}"
    );
    assert!(
        cert.contains("DNS:gw-7.gw.example.net, URI:https://devices.example.com/berlin/gw-7"),
        "{cert}"
    );
    assert!(
        !cert.contains("CRL Distribution") && !cert.contains("OCSP"),
        "{cert}"
    );
    let date = |prefix: &str| {
        let line = cert
            .lines()
            .find_map(|l| l.strip_prefix(prefix))
            .unwrap()
            .to_string();
        let out = std::process::Command::new("date")
            .args(["-u", "-d", &line, "+%s"])
            .output()
            .unwrap();
        String::from_utf8(out.stdout)
            .unwrap()
            .trim()
            .parse::<i64>()
            .unwrap()
    };
    assert_eq!(date("notAfter=") - date("notBefore="), 30 * 86_400);

    // A key usage the key cannot have is refused before anything is recorded.
    let before = cli.counts();
    let (_, ed) = cli.csr("ed", KeySpec::Ed25519, None, false);
    let run = cli.issue_with_profile("berlin", &ed, "gw-8", "gateway", &out);
    assert!(!run.status.success());
    let err = text(&run);
    assert!(err.contains("keyAgreement requires an EC key"), "{err}");
    assert_eq!(cli.counts(), before);

    // A broken profile stops every command with a message naming it.
    std::fs::write(
        &config,
        toml_text.replace("\"serverAuth\"]", "\"serverAuthh\"]"),
    )
    .unwrap();
    let err = cli.fails(&["ca", "list"]);
    assert!(
        err.contains("profile \"gateway\"") && err.contains("serverAuthh"),
        "{err}"
    );
}

#[test]
fn secrets_stay_out_of_files_and_keys_are_encrypted() {
    let cli = Cli::new();
    cli.init_soft();
    let config = std::fs::read_to_string(cli.home().join("hallmark.toml")).unwrap();
    assert!(!config.contains(PASSPHRASE));
    assert!(config.contains("HALLMARK_PASSPHRASE"));
    let keys: Vec<_> = std::fs::read_dir(cli.home().join("keys"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(keys.len(), 9, "{keys:?}"); // root, 2 issuing, 2 OCSP, 2 offline, station CA, audit
    for key in keys {
        use std::os::unix::fs::PermissionsExt;
        let text = std::fs::read_to_string(&key).unwrap();
        assert!(
            text.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"),
            "{}",
            key.display()
        );
        assert_eq!(
            std::fs::metadata(&key).unwrap().permissions().mode() & 0o077,
            0,
            "{}",
            key.display()
        );
        // OpenSSL, an independent reader, can open it with the passphrase and not without.
        let pass = format!("pass:{PASSPHRASE}");
        tools::openssl_ok(&[
            "pkey",
            "-in",
            key.to_str().unwrap(),
            "-passin",
            &pass,
            "-noout",
        ]);
        let wrong = tools::openssl()
            .args([
                "pkey",
                "-in",
                key.to_str().unwrap(),
                "-passin",
                "pass:wrong",
                "-noout",
            ])
            .output()
            .unwrap();
        assert!(!wrong.status.success());
    }
}

#[test]
fn every_accepted_key_type_is_issued_and_verifies() {
    let cli = Cli::new();
    cli.init_soft();
    common::issue_every_key_type(&cli, &["berlin", "shenzhen"]);
}

#[test]
fn refusals_name_the_problem_and_record_nothing() {
    let cli = Cli::new();
    cli.init_soft();
    let (_, good) = cli.csr("good", KeySpec::Ec("prime256v1"), Some("sha256"), false);
    assert!(
        cli.issue("berlin", &good, "ACME-1", &cli.path("good.pem"))
            .status
            .success()
    );
    let before = cli.counts();

    let mut bad_sig = std::fs::read(
        cli.csr("badsig", KeySpec::Ec("prime256v1"), Some("sha256"), true)
            .1,
    )
    .unwrap();
    let pos = bad_sig.windows(6).position(|w| w == b"badsig").unwrap();
    bad_sig[pos] = b'B';
    std::fs::write(cli.path("badsig-altered.der"), &bad_sig).unwrap();
    std::fs::write(
        cli.path("garbage.csr"),
        b"this is not a certificate request",
    )
    .unwrap();

    let cases: Vec<(std::path::PathBuf, &str, &str)> = vec![
        (
            cli.csr("rsa1024", KeySpec::Rsa(1024), Some("sha256"), false)
                .1,
            "ACME-2",
            "RSA key of 1024 bits refused",
        ),
        (
            cli.csr("p521", KeySpec::Ec("secp521r1"), Some("sha256"), false)
                .1,
            "ACME-3",
            "unsupported elliptic curve",
        ),
        (
            cli.csr("k256", KeySpec::Ec("secp256k1"), Some("sha256"), false)
                .1,
            "ACME-3",
            "unsupported elliptic curve",
        ),
        (
            cli.csr("sha1", KeySpec::Ec("prime256v1"), Some("sha1"), false)
                .1,
            "ACME-4",
            "weak signature algorithm ecdsa-with-SHA1",
        ),
        (
            cli.csr("md5", KeySpec::Rsa(2048), Some("md5"), false).1,
            "ACME-5",
            "weak signature algorithm md5WithRSAEncryption",
        ),
        (
            cli.path("badsig-altered.der"),
            "ACME-6",
            "signature does not verify",
        ),
        (
            cli.path("garbage.csr"),
            "ACME-7",
            "malformed certificate request",
        ),
        // The device id already has a certificate (fresh key).
        (
            cli.csr("again", KeySpec::Ec("prime256v1"), Some("sha256"), false)
                .1,
            "ACME-1",
            "device id \"ACME-1\" already has a certificate",
        ),
        // The key is already certified for ACME-1.
        (
            good.clone(),
            "ACME-8",
            "already certified for device \"ACME-1\"",
        ),
        (
            cli.csr("badid", KeySpec::Ec("prime256v1"), Some("sha256"), false)
                .1,
            "bad id!",
            "invalid device id",
        ),
    ];
    for (csr, device, expected) in cases {
        let out = cli.path("refused.pem");
        let run = cli.issue("berlin", &csr, device, &out);
        assert!(!run.status.success(), "{} accepted", csr.display());
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert!(
            stderr.contains(expected),
            "{}: expected {expected:?} in:\n{stderr}",
            csr.display()
        );
        assert!(
            !out.exists(),
            "a certificate file was written for a refusal"
        );
        assert_eq!(
            cli.counts(),
            before,
            "{}: something was recorded",
            csr.display()
        );
    }

    let (_, csr) = cli.csr("other", KeySpec::Ec("prime256v1"), Some("sha256"), false);
    let out = cli.path("x.pem");
    for (ca, profile, expected) in [
        ("atlantis", "device", "unknown CA \"atlantis\""),
        ("root", "device", "is a root key, not an issuing CA"),
        ("station-ca", "device", "not an issuing CA"),
        ("berlin", "gadget", "unknown certificate profile \"gadget\""),
    ] {
        let run = cli.issue_with_profile(ca, &csr, "ACME-9", profile, &out);
        assert!(!run.status.success(), "{ca}/{profile} accepted");
        let err = text(&run);
        assert!(err.contains(expected), "{ca}/{profile}: {err}");
        assert_eq!(cli.counts(), before);
    }
}

#[test]
fn init_refuses_an_existing_home_and_touches_nothing() {
    let cli = Cli::new();
    cli.init_soft();
    let config = std::fs::read(cli.home().join("hallmark.toml")).unwrap();
    let counts = cli.counts();
    let err = cli.fails(&["init", "--org", "Other", "--factory", "x"]);
    assert!(err.contains("already exists"), "{err}");
    assert_eq!(
        std::fs::read(cli.home().join("hallmark.toml")).unwrap(),
        config
    );
    assert_eq!(cli.counts(), counts);

    // A non-empty directory that is not a home is refused too.
    let other = Cli::new();
    std::fs::create_dir(other.home()).unwrap();
    std::fs::write(other.home().join("notes.txt"), b"mine").unwrap();
    assert!(
        other
            .fails(&["init", "--org", "A", "--factory", "x"])
            .contains("already exists")
    );
    assert_eq!(std::fs::read_dir(other.home()).unwrap().count(), 1);
}

#[test]
fn missing_or_wrong_passphrase_is_a_clear_error() {
    let mut cli = Cli::new();
    cli.envs.clear();
    let err = cli.fails(&["init", "--org", "A", "--factory", "x"]);
    assert!(err.contains("HALLMARK_PASSPHRASE"), "{err}");
    assert!(!cli.home().exists(), "a failed init left a home behind");
    assert_eq!(
        std::fs::read_dir(cli.dir.path()).unwrap().count(),
        0,
        "a failed init left files behind"
    );

    cli.envs
        .push(("HALLMARK_PASSPHRASE".into(), PASSPHRASE.into()));
    cli.init_soft();
    let (_, csr) = cli.csr("d", KeySpec::Ec("prime256v1"), Some("sha256"), false);
    cli.envs = vec![("HALLMARK_PASSPHRASE".into(), "not the passphrase".into())];
    let run = cli.issue("berlin", &csr, "ACME-1", &cli.path("d.pem"));
    let err = text(&run);
    assert!(!run.status.success());
    assert!(err.contains("wrong passphrase"), "{err}");
    assert!(
        !err.contains("not the passphrase"),
        "the secret leaked into an error: {err}"
    );
    cli.envs = vec![("HALLMARK_PASSPHRASE".into(), PASSPHRASE.into())];
    assert_eq!(cli.counts().0, 0);
}

#[test]
fn bad_arguments_are_refused_before_anything_is_made() {
    let cli = Cli::new();
    for (args, expected) in [
        (vec!["init", "--org", "A", "--factory", "root"], "reserved"),
        (
            vec!["init", "--org", "A", "--factory", "x", "--factory", "x"],
            "given twice",
        ),
        (
            vec!["init", "--org", "A", "--factory", "no spaces"],
            "factory id",
        ),
        (vec!["init", "--org", "", "--factory", "x"], "organization"),
        (
            vec!["init", "--org", "A", "--factory", "x", "--keys", "pkcs11"],
            "--pkcs11-module",
        ),
    ] {
        let err = cli.fails(&args);
        assert!(err.contains(expected), "{args:?}: {err}");
        assert!(!cli.home().exists());
    }
}
