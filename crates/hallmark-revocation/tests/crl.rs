//! CRLs judged by OpenSSL (`crl`, `verify -crl_check`) and pkilint (`lint_crl`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Instant;

use common::{Hierarchy, now, ossl, ossl_ok, pkilint};
use der::Decode;
use hallmark_revocation::{CrlIssuer, Reason, RevocationError, RevokedEntry, build_crl};
use x509_cert::certificate::Rfc5280;
use x509_cert::crl::CertificateList;

const REVOKED_SERIAL: &str = "8899aabbccddeeff0011223344556677";

fn entry(serial: &[u8], reason: Option<Reason>) -> RevokedEntry {
    RevokedEntry {
        serial: serial.to_vec(),
        revoked_at: now() - 3600,
        reason,
    }
}

/// Builds a CRL numbered `number` valid for a day, signed by the issuing CA's key.
fn sign_crl(h: &Hierarchy, number: u64, entries: &[RevokedEntry]) -> Vec<u8> {
    let issuer = CrlIssuer::from_certificate(&h.issuing_der).unwrap();
    let t = now();
    build_crl(
        &issuer,
        number,
        t - 60,
        t + 86_400,
        entries,
        &*h.issuing_signer,
    )
    .unwrap()
}

/// Writes `<name>.der` and `<name>.pem`; checks the signature with
/// `openssl crl -CAfile` and, if `lint`, lints the DER with `lint_crl`
/// (PKIX, a CRL, not an ARL); returns the PEM path.
fn publish(h: &Hierarchy, name: &str, der: &[u8], lint: bool) -> String {
    let der_path = h.write(&format!("{name}.der"), der);
    let pem = h.p(&format!("{name}.pem"));
    ossl_ok(&format!("crl -inform DER -in {der_path} -out {pem}"));
    let chain = [h.path("issuing.pem"), h.path("root.pem")]
        .map(|p| std::fs::read(p).unwrap())
        .concat();
    let chain = h.write("chain.pem", &chain);
    let checked = ossl_ok(&format!("crl -in {pem} -CAfile {chain} -noout"));
    assert!(checked.contains("verify OK"), "{checked}");
    if lint {
        pkilint("lint_crl", &["-t", "CRL", "-p", "PKIX"], &der_path);
    }
    pem
}

/// `openssl verify -x509_strict -crl_check` of `leaf` under the test hierarchy.
fn verify_with_crl(h: &Hierarchy, crl_pem: &str, leaf: &str) -> (bool, String) {
    ossl(&format!(
        "verify -x509_strict -crl_check -CAfile {} -untrusted {} -CRLfile {crl_pem} {leaf}",
        h.p("root.pem"),
        h.p("issuing.pem"),
    ))
}

fn assert_revoked(h: &Hierarchy, crl_pem: &str, leaf: &str) {
    let (ok, out) = verify_with_crl(h, crl_pem, leaf);
    assert!(!ok && out.contains("certificate revoked"), "{leaf}: {out}");
}

fn assert_good(h: &Hierarchy, crl_pem: &str, leaf: &str) {
    let (ok, out) = verify_with_crl(h, crl_pem, leaf);
    assert!(ok && out.contains(": OK"), "{leaf}: {out}");
}

/// "AB:CD:…" as OpenSSL prints key identifiers.
fn colon_hex(bytes: &[u8]) -> String {
    let parts: Vec<String> = bytes.iter().map(|b| format!("{b:02X}")).collect();
    parts.join(":")
}

#[test]
fn revoked_leaf_is_refused_and_good_leaf_accepted() {
    let h = Hierarchy::new();
    let revoked = h.leaf("revoked", &format!("0x{REVOKED_SERIAL}"));
    let good = h.leaf("good", "0x1002");
    let entries = [
        entry(
            &hex::decode(REVOKED_SERIAL).unwrap(),
            Some(Reason::KeyCompromise),
        ),
        entry(&[0x10, 0x03], Some(Reason::Superseded)),
        entry(&[0x10, 0x04], Some(Reason::Unspecified)),
        entry(&[0x10, 0x05], None),
        entry(&[0x10, 0x06], Some(Reason::CessationOfOperation)),
    ];
    let pem = publish(&h, "crl", &sign_crl(&h, 42, &entries), true);

    let text = ossl_ok(&format!("crl -in {pem} -noout -text"));
    assert!(text.contains("Version 2 (0x1)"), "{text}");
    assert!(
        text.contains("X509v3 CRL Number: \n                42"),
        "{text}"
    );
    // authorityKeyIdentifier = the issuing CA's subjectKeyIdentifier.
    let ski = ossl_ok(&format!(
        "x509 -in {} -noout -ext subjectKeyIdentifier",
        h.p("issuing.pem")
    ));
    let key_id = CrlIssuer::from_certificate(&h.issuing_der)
        .unwrap()
        .key_id()
        .to_vec();
    let aki = format!(
        "X509v3 Authority Key Identifier: \n                {}",
        colon_hex(&key_id)
    );
    assert!(text.contains(&aki), "want {aki:?}:\n{text}");
    assert!(ski.contains(&colon_hex(&key_id)), "{ski}");

    let serial_line = format!("Serial Number: {}", REVOKED_SERIAL.to_uppercase());
    assert!(text.contains(&serial_line), "{text}");
    assert_eq!(text.matches("Serial Number:").count(), 5, "{text}");
    assert_eq!(text.matches("X509v3 CRL Reason Code").count(), 3, "{text}");
    for reason in ["Key Compromise", "Superseded", "Cessation Of Operation"] {
        assert!(text.contains(reason), "{reason} missing:\n{text}");
    }
    assert!(!text.contains("Unspecified"), "{text}");

    assert_revoked(&h, &pem, &revoked);
    assert_good(&h, &pem, &good);
}

#[test]
fn empty_crl_omits_revoked_certificates() {
    let h = Hierarchy::new();
    let good = h.leaf("good", "0x1002");
    let der = sign_crl(&h, 1, &[]);
    let crl = CertificateList::<Rfc5280>::from_der(&der).unwrap();
    assert!(crl.tbs_cert_list.revoked_certificates.is_none());
    let pem = publish(&h, "empty", &der, true);
    let text = ossl_ok(&format!("crl -in {pem} -noout -text"));
    assert!(text.contains("No Revoked Certificates."), "{text}");
    assert_good(&h, &pem, &good);
}

#[test]
fn hundred_thousand_entries() {
    let h = Hierarchy::new();
    let revoked = h.leaf("revoked", &format!("0x{REVOKED_SERIAL}"));
    let good = h.leaf("good", "0x1002");
    let t = now();
    let mut entries: Vec<RevokedEntry> = (0..100_000u32)
        .map(|i| {
            let mut serial = [0x5a; 16];
            serial[12..].copy_from_slice(&i.to_be_bytes());
            RevokedEntry {
                serial: serial.to_vec(),
                revoked_at: t - i64::from(i),
                reason: Some(Reason::ALL[i as usize % Reason::ALL.len()]),
            }
        })
        .collect();
    entries.push(entry(
        &hex::decode(REVOKED_SERIAL).unwrap(),
        Some(Reason::KeyCompromise),
    ));

    let start = Instant::now();
    let der = sign_crl(&h, 7, &entries);
    eprintln!(
        "{} entries: {} bytes in {:?}",
        entries.len(),
        der.len(),
        start.elapsed()
    );

    let crl = CertificateList::<Rfc5280>::from_der(&der).unwrap();
    let listed = crl.tbs_cert_list.revoked_certificates.unwrap();
    assert_eq!(listed.len(), entries.len());
    // pkilint needs over a minute for 100,000 entries; the other tests lint
    // CRLs from the same encoder.
    let pem = publish(&h, "big", &der, false);
    let number = ossl_ok(&format!("crl -in {pem} -noout -crlnumber"));
    assert!(number.contains("crlNumber=0x07"), "{number}");
    assert_revoked(&h, &pem, &revoked);
    assert_good(&h, &pem, &good);
}

#[test]
fn refuses_wrong_key_bad_times_and_unfit_issuers() {
    let h = Hierarchy::new();
    let issuer = CrlIssuer::from_certificate(&h.issuing_der).unwrap();
    let t = now();
    let build =
        |this: i64, next: i64, entries: &[RevokedEntry], signer: &dyn hallmark_pki::Signer| {
            build_crl(&issuer, 1, this, next, entries, signer)
        };
    assert!(matches!(
        build(t, t + 60, &[], &*h.responder_signer),
        Err(RevocationError::KeyMismatch(_))
    ));
    assert!(matches!(
        build(t, t, &[], &*h.issuing_signer),
        Err(RevocationError::UpdateOrder { .. })
    ));
    assert!(matches!(
        build(t, t + 60, &[entry(&[0], None)], &*h.issuing_signer),
        Err(RevocationError::InvalidSerial(_))
    ));
    assert!(matches!(
        build(-5, t, &[], &*h.issuing_signer),
        Err(RevocationError::TimeOutOfRange(-5))
    ));
    // The responder certificate may not sign CRLs (no cRLSign).
    assert!(matches!(
        CrlIssuer::from_certificate(&h.responder_der),
        Err(RevocationError::KeyUsage {
            usage: "cRLSign",
            ..
        })
    ));
    // A CA certificate without subjectKeyIdentifier gives no AKI to copy.
    let (key, cnf, cert) = (h.p("root.key"), h.p("openssl.cnf"), h.p("noski.der"));
    ossl_ok(&format!(
        "req -x509 -new -key {key} -subj /CN=No-SKI -days 1 -config {cnf} \
         -extensions noski_ext -outform DER -out {cert}"
    ));
    assert!(matches!(
        CrlIssuer::from_certificate(&std::fs::read(cert).unwrap()),
        Err(RevocationError::MissingSubjectKeyIdentifier(_))
    ));
    assert!(matches!(
        CrlIssuer::from_certificate(b"not a certificate"),
        Err(RevocationError::Malformed { .. })
    ));
}
