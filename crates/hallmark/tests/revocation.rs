//! Revocation judged by clients nobody here wrote: `openssl ocsp` against
//! the server's `/ocsp` (POST and GET) and the standalone `hallmark ocsp
//! serve`, `openssl verify -crl_check` with the CRL from `/crl/<ca>.crl`,
//! pkilint on both, sqlite3 reading what was recorded.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod revocation_support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use common::serve::curl;
use hallmark_testkit::tools::{self, path_str};
use revocation_support::{Setup, crl_pem, fetch_crl, foreign, revoke};

#[test]
fn openssl_ocsp_sees_good_then_revoked() {
    let s = Setup::new();
    let (_, a) = s.device("ACME-A");
    let (_, b) = s.device("ACME-B");
    let aia = tools::certificate_text(&a, &[]);
    assert!(
        aia.contains(&format!("OCSP - URI:{}/ocsp", s.base)),
        "{aia}"
    );

    // Nonce sent by default, echoed (OpenSSL fails on a mismatch).
    let out = s.ocsp_verified(&a, &["-resp_text"]);
    assert!(out.contains("ACME-A.pem: good"), "{out}");
    assert!(out.contains("OCSP Nonce"), "{out}");

    let printed = revoke(&s.cli, &["--device", "ACME-A", "--reason", "keyCompromise"]);
    assert!(printed.contains("revoked 1 certificate(s)"), "{printed}");
    assert!(printed.contains("ACME-A"), "{printed}");

    let resp = s.cli.path("a.ocsp");
    let out = s.ocsp_verified(&a, &["-respout", path_str(&resp)]);
    assert!(out.contains("ACME-A.pem: revoked"), "{out}");
    assert!(out.contains("Reason: keyCompromise"), "{out}");
    tools::lint_ocsp_response(&resp).unwrap();
    let strict = s.strict_verify(&resp);
    assert!(strict.contains("Cert Status: revoked"), "{strict}");
    let out = s.ocsp_verified(&b, &["-no_nonce"]);
    assert!(out.contains("ACME-B.pem: good"), "{out}");

    // GET with the url-encoded base64 request (RFC 6960 A.1): cacheable.
    let req = s.cli.path("b.req");
    tools::openssl_ok(&[
        "ocsp",
        "-no_nonce",
        "-issuer",
        path_str(&s.ica),
        "-cert",
        path_str(&b),
        "-reqout",
        path_str(&req),
    ]);
    let b64 = tools::openssl_ok(&["base64", "-A", "-in", path_str(&req)]);
    let encoded: String = b64
        .trim()
        .chars()
        .map(|c| match c {
            '+' => "%2B".to_string(),
            '/' => "%2F".to_string(),
            '=' => "%3D".to_string(),
            c => c.to_string(),
        })
        .collect();
    let dir = s.cli.dir.path();
    let url = format!("{}/ocsp/{encoded}", s.base);
    let got = curl(dir, &["-D", "b.headers", &url]);
    assert_eq!(
        (got.status, got.content_type.as_str()),
        (200, "application/ocsp-response")
    );
    let headers = std::fs::read_to_string(dir.join("b.headers"))
        .unwrap()
        .to_lowercase();
    assert!(
        headers.contains("cache-control: public, max-age="),
        "{headers}"
    );
    assert!(headers.contains("last-modified:"), "{headers}");
    let get_resp = s.cli.path("b-get.ocsp");
    std::fs::write(&get_resp, &got.body).unwrap();
    let (ok, out) = revocation_support::run(tools::openssl().args([
        "ocsp",
        "-respin",
        path_str(&get_resp),
        "-no_nonce",
        "-issuer",
        path_str(&s.ica),
        "-cert",
        path_str(&b),
        "-CAfile",
        path_str(&s.root),
        "-verify_other",
        path_str(&s.chain),
    ]));
    assert!(
        ok && out.contains("Response verify OK") && out.contains(": good"),
        "{out}"
    );
    tools::lint_ocsp_response(&get_resp).unwrap();
    let strict = s.strict_verify(&get_resp);
    assert!(strict.contains("Cert Status: good"), "{strict}");

    // Not a request at all: malformedRequest, unsigned, HTTP 200.
    let bad = curl(
        dir,
        &[
            "--data-binary",
            "not DER",
            "-H",
            "Content-Type: application/ocsp-request",
            &format!("{}/ocsp", s.base),
        ],
    );
    assert_eq!(
        (bad.status, bad.body.as_slice()),
        (200, &[0x30, 0x03, 0x0a, 0x01, 0x01][..])
    );

    // A certificate of a CA Hallmark does not have: unauthorized.
    let (ca, _, stranger) = foreign(dir, "stranger", false);
    let (_, out) = revocation_support::run(tools::openssl().args([
        "ocsp",
        "-issuer",
        path_str(&ca),
        "-cert",
        path_str(&stranger),
        "-url",
        &format!("{}/ocsp", s.base),
    ]));
    assert!(out.contains("unauthorized"), "{out}");
}

#[test]
fn served_crl_makes_openssl_refuse_the_revoked_certificate() {
    let s = Setup::new();
    let (_, a) = s.device("ACME-A");
    let (_, b) = s.device("ACME-B");
    let text = tools::certificate_text(&a, &[]);
    assert!(
        text.contains(&format!("URI:{}/crl/berlin.crl", s.base)),
        "{text}"
    );
    revoke(
        &s.cli,
        &["--serial", &serial(&a), "--reason", "cessationOfOperation"],
    );

    let der = fetch_crl(&s, "berlin");
    let dir = s.cli.dir.path();
    let crl = crl_pem(dir, "berlin", &der);
    tools::lint_crl(&dir.join("berlin.crl")).unwrap();
    let check = tools::openssl_ok(&[
        "crl",
        "-in",
        path_str(&crl),
        "-CAfile",
        path_str(&s.chain),
        "-noout",
        "-text",
    ]);
    assert!(
        check.contains("verify OK") && check.contains("Cessation Of Operation"),
        "{check}"
    );

    let verify = |leaf: &std::path::Path| {
        revocation_support::run(tools::openssl().args([
            "verify",
            "-x509_strict",
            "-purpose",
            "sslclient",
            "-crl_check",
            "-CAfile",
            path_str(&s.root),
            "-untrusted",
            path_str(&s.ica),
            "-CRLfile",
            path_str(&crl),
            path_str(leaf),
        ]))
    };
    let (ok, out) = verify(&a);
    assert!(!ok && out.contains("certificate revoked"), "{out}");
    let (ok, out) = verify(&b);
    assert!(ok && out.contains(": OK"), "{out}");

    // The CLI signs a newer one (PEM); shenzhen's lists nothing.
    let cli_crl = s.cli.path("cli.crl.pem");
    let printed = s.cli.ok(&[
        "crl",
        "--ca",
        "berlin",
        "--out",
        path_str(&cli_crl),
        "--pem",
    ]);
    assert!(printed.contains("1 revoked"), "{printed}");
    let number = |path: &std::path::Path| {
        let out = tools::openssl_ok(&["crl", "-in", path_str(path), "-noout", "-crlnumber"]);
        u64::from_str_radix(out.trim().trim_start_matches("crlNumber=0x"), 16).unwrap()
    };
    assert!(number(&cli_crl) > number(&crl));
    let empty = crl_pem(dir, "shenzhen", &fetch_crl(&s, "shenzhen"));
    let listed = tools::openssl_ok(&["crl", "-in", path_str(&empty), "-noout", "-text"]);
    assert!(listed.contains("No Revoked Certificates"), "{listed}");
    assert_eq!(
        curl(dir, &[&format!("{}/crl/root.crl", s.base)]).status,
        404
    );
    assert_eq!(
        curl(dir, &[&format!("{}/crl/nowhere.crl", s.base)]).status,
        404
    );
}

/// `openssl x509 -serial` of a certificate, as hex.
fn serial(cert: &std::path::Path) -> String {
    let out = tools::openssl_ok(&["x509", "-in", path_str(cert), "-noout", "-serial"]);
    out.trim().trim_start_matches("serial=").to_string()
}

#[test]
fn standalone_responder_answers_from_the_store_and_writes_nothing() {
    let s = Setup::offline();
    let (_, a) = s.device("ACME-A");
    let mut child = Running(
        Command::new(env!("CARGO_BIN_EXE_hallmark"))
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs(s.cli.envs.iter().cloned())
            .arg("--home")
            .arg(s.cli.home())
            .args(["ocsp", "serve", "--listen", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap(),
    );
    let mut line = String::new();
    BufReader::new(child.0.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .strip_prefix("listening on http://")
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
        .to_string();
    let url = format!("http://{addr}/ocsp");
    let audit = || s.cli.count("SELECT count(*) FROM audit_log");

    let before = audit();
    let out = s.ocsp_verified_at(&a, &url, &[]);
    assert!(out.contains("ACME-A.pem: good"), "{out}");
    // (OpenSSL 3.0 prints reason codes 9 and 10 as "(UNKNOWN)" in OCSP output.)
    revoke(
        &s.cli,
        &["--device", "ACME-A", "--reason", "affiliationChanged"],
    );
    let revoked = audit();
    assert_eq!(revoked, before + 1, "one revocation event");
    for _ in 0..3 {
        let out = s.ocsp_verified_at(&a, &url, &["-no_nonce"]);
        assert!(
            out.contains("ACME-A.pem: revoked") && out.contains("affiliationChanged"),
            "{out}"
        );
    }
    assert_eq!(audit(), revoked, "the responder wrote nothing");
    assert_eq!(
        s.cli.count("SELECT count(*) FROM crl_numbers"),
        0,
        "no CRL was made"
    );
    let health = curl(s.cli.dir.path(), &[&format!("http://{addr}/healthz")]);
    assert_eq!(health.status, 200);
}

/// A child process killed when the test ends, passed or not.
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
