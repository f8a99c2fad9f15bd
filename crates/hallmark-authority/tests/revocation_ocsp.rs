//! OCSP through the authority's revocation service: good, revoked, unknown,
//! unauthorized and malformed answers, nonces, SHA-256 CertIDs and the
//! response cache, judged by `openssl ocsp`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests report failures by panicking

mod common;

use std::path::{Path, PathBuf};

use common::revocation::{service, write};
use common::{fixture_with, rcgen_csr, template_order};
use hallmark_authority::Reason;
use hallmark_authority::revocation::{CertificateSelection, OcspResponseStatus};
use hallmark_testkit::tools::{self, path_str};

/// `openssl ocsp -issuer ISSUER -cert LEAF … -reqout FILE` with `opts`.
fn request(dir: &Path, name: &str, pairs: &[(&Path, &Path)], opts: &[&str]) -> Vec<u8> {
    let out = dir.join(format!("{name}.req"));
    let mut args = vec!["ocsp"];
    args.extend_from_slice(opts);
    for (issuer, leaf) in pairs {
        args.extend(["-issuer", path_str(issuer), "-cert", path_str(leaf)]);
    }
    args.extend(["-reqout", path_str(&out)]);
    tools::openssl_ok(&args);
    std::fs::read(out).unwrap()
}

/// `openssl ocsp -respin` through the chain (root trusted, issuing CA
/// untrusted): (verified, text).
fn judge(dir: &Path, name: &str, der: &[u8], query: &[&str]) -> (bool, String) {
    let resp = dir.join(format!("{name}.resp"));
    std::fs::write(&resp, der).unwrap();
    let (root, ica) = (dir.join("root.pem"), dir.join("berlin.pem"));
    let mut args = vec![
        "ocsp",
        "-respin",
        path_str(&resp),
        "-resp_text",
        "-CAfile",
        path_str(&root),
        "-verify_other",
        path_str(&ica),
    ];
    args.extend_from_slice(query);
    let out = tools::openssl().args(&args).output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (
        out.status.success() && text.contains("Response verify OK"),
        text,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ocsp_answers_good_revoked_unknown_and_refuses_what_it_cannot_answer() {
    let f = fixture_with(&["berlin", "shenzhen"]).await;
    f.clock.set(tools_now());
    let (_, _, station) = f.enrolled_station(template_order(10)).await;
    let device = f.enroll(&station, &rcgen_csr(None), None).await.unwrap();
    let other = f.enroll(&station, &rcgen_csr(None), None).await.unwrap();
    let (leaf, ica, _) = write(&f, "dev", &device);
    let (other_leaf, _, _) = write(&f, "other", &other);
    let dir = f.dir.path();
    let service = service(&f);

    // Nonce-less: cached, the same bytes twice.
    let plain = request(dir, "plain", &[(&ica, &leaf)], &["-no_nonce"]);
    let first = service.ocsp(&plain).await;
    assert!(first.error.is_none() && first.cacheable.is_some());
    assert_eq!(service.ocsp(&plain).await.der, first.der);
    let query = [
        "-no_nonce",
        "-issuer",
        path_str(&ica),
        "-cert",
        path_str(&leaf),
    ];
    let (ok, text) = judge(dir, "plain", &first.der, &query);
    assert!(ok && text.contains(": good"), "{text}");

    // With a nonce: echoed (OpenSSL compares it with -reqin).
    let nonced = request(dir, "nonced", &[(&ica, &leaf)], &["-nonce"]);
    let reply = service.ocsp(&nonced).await;
    assert!(reply.cacheable.is_none());
    let reqin = dir.join("nonced.req");
    let (ok, text) = judge(dir, "nonced", &reply.der, &["-reqin", path_str(&reqin)]);
    assert!(
        ok && !text.contains("WARNING") && text.contains("Cert Status: good"),
        "{text}"
    );

    // SHA-256 CertIDs name the CA as well as SHA-1 ones.
    let sha256 = request(dir, "sha256", &[(&ica, &leaf)], &["-sha256", "-no_nonce"]);
    let (ok, text) = judge(dir, "sha256", &service.ocsp(&sha256).await.der, &[]);
    assert!(ok && text.contains("Hash Algorithm: sha256"), "{text}");
    assert!(text.contains("Cert Status: good"), "{text}");

    f.authority
        .revoke(
            &CertificateSelection::Serial(device.certificate.serial.as_bytes().to_vec()),
            Reason::KeyCompromise,
        )
        .await
        .unwrap();
    let reply = service.ocsp(&nonced).await;
    let (ok, text) = judge(dir, "revoked", &reply.der, &["-reqin", path_str(&reqin)]);
    assert!(ok && text.contains("Cert Status: revoked"), "{text}");
    assert!(text.contains("Revocation Reason: keyCompromise"), "{text}");
    // The cached good answer is dropped once the new revocation version is read.
    let mut cached = service.ocsp(&plain).await;
    for _ in 0..50 {
        if cached.der != first.der {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        cached = service.ocsp(&plain).await;
    }
    let (ok, text) = judge(dir, "recached", &cached.der, &query);
    assert!(ok && text.contains(": revoked"), "{text}");

    // Two certificates of one CA in one request: both answered.
    let both = request(
        dir,
        "both",
        &[(&ica, &leaf), (&ica, &other_leaf)],
        &["-nonce"],
    );
    let (ok, text) = judge(dir, "both", &service.ocsp(&both).await.der, &[]);
    assert!(
        ok && text.contains("Cert Status: revoked") && text.contains("Cert Status: good"),
        "{text}"
    );

    // A serial the CA never issued: unknown, signed, not cached.
    let stranger = foreign_leaf(dir);
    let unknown = request(dir, "unknown", &[(&ica, &stranger)], &["-no_nonce"]);
    let reply = service.ocsp(&unknown).await;
    assert!(reply.error.is_none() && reply.cacheable.is_none());
    let (ok, text) = judge(dir, "unknown", &reply.der, &[]);
    assert!(ok && text.contains("Cert Status: unknown"), "{text}");

    // Another CA's certificate, and a request mixing CAs: unauthorized.
    let shenzhen = f
        .store
        .authority_key("shenzhen")
        .await
        .unwrap()
        .unwrap()
        .certificate_der
        .unwrap();
    let shenzhen = tools::write_cert_pem(dir, "shenzhen.pem", &shenzhen);
    let foreign = request(dir, "foreign", &[(&shenzhen, &leaf)], &[]);
    assert_eq!(
        service.ocsp(&foreign).await.error,
        Some(OcspResponseStatus::Unauthorized)
    );
    let mixed = request(dir, "mixed", &[(&ica, &leaf), (&shenzhen, &leaf)], &[]);
    assert_eq!(
        service.ocsp(&mixed).await.error,
        Some(OcspResponseStatus::Unauthorized)
    );
    let garbage = service.ocsp(b"\x30\x03\x02\x01\x01").await;
    assert_eq!(garbage.error, Some(OcspResponseStatus::MalformedRequest));
    assert_eq!(&*garbage.der, &[0x30, 0x03, 0x0a, 0x01, 0x01]);
}

/// The real time: OpenSSL checks OCSP response times against its own clock.
fn tools_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A certificate berlin never issued, with berlin's name as its issuer
/// (OpenSSL hashes the `-cert`'s issuer name and the `-issuer`'s key): a
/// self-signed one with berlin's subject.
fn foreign_leaf(dir: &Path) -> PathBuf {
    let key = tools::make_key(dir, "stranger", tools::KeySpec::Ec("prime256v1"));
    let out = dir.join("stranger.pem");
    tools::openssl_ok(&[
        "req",
        "-x509",
        "-new",
        "-key",
        path_str(&key),
        "-subj",
        "/O=Acme Devices/OU=Factory berlin/CN=Acme Devices berlin Issuing CA",
        "-days",
        "1",
        "-set_serial",
        "0x1234567890",
        "-out",
        path_str(&out),
    ]);
    out
}
