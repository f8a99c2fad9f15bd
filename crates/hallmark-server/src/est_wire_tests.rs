use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use const_oid::db::rfc2985::PKCS_9_AT_CHALLENGE_PASSWORD;
use const_oid::db::rfc5912::ECDSA_WITH_SHA_256;

use super::*;
use crate::test_support::{openssl, openssl_with_stdin, self_signed};

#[test]
fn base64_round_trip_with_and_without_line_breaks() {
    let der: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
    let body = encode_base64_body(&der);
    assert!(body.lines().all(|l| l.trim_end_matches('\r').len() <= 64));
    assert!(body.ends_with("\r\n") && body.contains("\r\n"));
    assert_eq!(decode_base64_body(body.as_bytes()).unwrap(), der);
    assert_eq!(
        decode_base64_body(STANDARD.encode(&der).as_bytes()).unwrap(),
        der
    );
    let spaced = " \tMIIB\nAAEC\r\n";
    assert_eq!(
        decode_base64_body(spaced.as_bytes()).unwrap(),
        [0x30, 0x82, 0x01, 0x00, 0x01, 0x02]
    );
}

#[test]
fn encoded_lines_are_64_wide_and_crlf_terminated() {
    let body = encode_base64_body(&[0u8; 96]);
    assert_eq!(
        body,
        format!("{}\r\n{}\r\n", "A".repeat(64), "A".repeat(64))
    );
    assert_eq!(encode_base64_body(&[]), "");
}

#[test]
fn openssl_base64_output_is_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let der: Vec<u8> = (0..200u8).collect();
    let out = openssl_with_stdin(dir.path(), "base64 -e", Some(&der));
    assert_eq!(decode_base64_body(&out.stdout).unwrap(), der);
}

#[test]
fn empty_or_blank_body_is_refused() {
    assert!(matches!(decode_base64_body(b""), Err(Error::EmptyBody)));
    assert!(matches!(
        decode_base64_body(b" \r\n\t"),
        Err(Error::EmptyBody)
    ));
}

#[test]
fn foreign_bytes_are_named_with_their_offset() {
    let err = decode_base64_body(b"MIIB\nAA-C").unwrap_err();
    assert!(
        matches!(
            err,
            Error::Base64Byte {
                byte: b'-',
                offset: 7
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("0x2d") && err.to_string().contains("offset 7"));
    let pem = b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
    assert!(matches!(
        decode_base64_body(pem),
        Err(Error::Base64Byte { offset: 0, .. })
    ));
    assert!(matches!(
        decode_base64_body("MIIBé===".as_bytes()),
        Err(Error::Base64Byte { .. })
    ));
}

#[test]
fn padding_is_required_and_checked() {
    let missing = decode_base64_body(b"MIIBAA").unwrap_err();
    assert!(matches!(missing, Error::Base64(_)), "{missing}");
    assert!(missing.to_string().contains("padding"), "{missing}");
    let inner = decode_base64_body(b"MI==IBAA").unwrap_err();
    assert!(inner.to_string().contains("middle"), "{inner}");
    let trailing_bits = decode_base64_body(b"MIIBAB==").unwrap_err();
    assert!(
        trailing_bits.to_string().contains("trailing bits"),
        "{trailing_bits}"
    );
    let length = decode_base64_body(b"MIIBA").unwrap_err();
    assert!(matches!(length, Error::Base64(_)), "{length}");
}

/// Splits openssl's PEM output into the DER of each certificate.
fn pem_certificates(pem: &str) -> Vec<Vec<u8>> {
    pem.split("-----BEGIN CERTIFICATE-----")
        .skip(1)
        .map(|block| {
            let b64 = block.split("-----END CERTIFICATE-----").next().unwrap();
            let b64: String = b64.chars().filter(|c| !c.is_whitespace()).collect();
            STANDARD.decode(b64).unwrap()
        })
        .collect()
}

#[test]
fn certs_only_is_read_back_by_openssl() {
    let dir = tempfile::tempdir().unwrap();
    let certs: Vec<Vec<u8>> = ["root", "issuing", "device"]
        .iter()
        .map(|cn| self_signed(dir.path(), cn).0)
        .collect();
    let message = certs_only(&certs).unwrap();
    std::fs::write(dir.path().join("certs.p7"), &message).unwrap();
    let out = openssl(dir.path(), "pkcs7 -inform DER -in certs.p7 -print_certs");
    let mut back = pem_certificates(&String::from_utf8(out.stdout).unwrap());
    let mut expected = certs.clone();
    back.sort();
    expected.sort();
    assert_eq!(back, expected);
}

#[test]
fn certs_only_has_the_degenerate_signed_data_shape() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, _) = self_signed(dir.path(), "only");
    let message = certs_only(&[cert.clone(), cert]).unwrap();
    std::fs::write(dir.path().join("one.p7"), &message).unwrap();
    let out = openssl(
        dir.path(),
        "cms -cmsout -print -inform DER -in one.p7 -noout",
    );
    let text = String::from_utf8(out.stdout).unwrap();
    for expected in [
        "contentType: pkcs7-signedData",
        "version: 1",
        "digestAlgorithms:\n      <EMPTY>",
        "eContentType: pkcs7-data",
        "eContent: <ABSENT>",
        "crls:\n      <ABSENT>",
        "signerInfos:\n      <EMPTY>",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in\n{text}");
    }
    assert_eq!(
        text.matches("cert_info:").count(),
        1,
        "duplicate kept:\n{text}"
    );
}

#[test]
fn certs_only_refuses_empty_lists_and_non_certificates() {
    assert!(matches!(certs_only(&[]), Err(Error::NoCertificates)));
    let dir = tempfile::tempdir().unwrap();
    let (cert, _) = self_signed(dir.path(), "good");
    let mut trailing = cert.clone();
    trailing.push(0);
    for bad in [vec![0x30, 0x00], vec![0x04, 0x01, 0x00], trailing] {
        let err = certs_only(&[cert.clone(), bad]).unwrap_err();
        assert!(
            matches!(err, Error::NotACertificate { index: 1, .. }),
            "{err}"
        );
    }
}

#[test]
fn csr_attributes_are_a_sequence_of_oids() {
    let der = csr_attributes(&[ECDSA_WITH_SHA_256, PKCS_9_AT_CHALLENGE_PASSWORD]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("attrs.der"), &der).unwrap();
    let out = openssl(dir.path(), "asn1parse -inform DER -in attrs.der");
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(
        lines[0].contains("d=0") && lines[0].contains("cons: SEQUENCE"),
        "{text}"
    );
    assert!(
        lines[1].contains("d=1") && lines[1].contains(":ecdsa-with-SHA256"),
        "{text}"
    );
    assert!(
        lines[2].contains("d=1") && lines[2].contains(":challengePassword"),
        "{text}"
    );
}

#[test]
fn empty_csr_attributes_are_an_empty_sequence() {
    assert_eq!(csr_attributes(&[]).unwrap(), [0x30, 0x00]);
}
