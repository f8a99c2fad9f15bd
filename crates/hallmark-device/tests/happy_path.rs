#![allow(clippy::unwrap_used, clippy::expect_used)]
#![cfg(feature = "soft-key")]
//! The whole provisioning flow, P-256 and P-384, checked the way the
//! station and the CA will check it.

mod common;

use common::*;
use hallmark_device::protocol::{
    AttributeType, CsrRequest, DeviceState, KeyAlgorithm, Request, Response, SubjectAttribute,
    SubjectAttributes,
};
use hallmark_device::{Link, MemStorage, verify_message};
use p256::pkcs8::DecodePublicKey;
use x509_cert::der::{Decode, Encode};
use x509_cert::request::CertReq;

/// Verifies an ECDSA DER signature over `message` with the key in `spki`.
fn verify(spki: &[u8], message: &[u8], signature: &[u8]) {
    use p256::ecdsa::signature::Verifier;
    if let Ok(key) = p256::ecdsa::VerifyingKey::from_public_key_der(spki) {
        let signature = p256::ecdsa::DerSignature::try_from(signature).unwrap();
        key.verify(message, &signature)
            .expect("P-256 signature verifies");
    } else {
        let key = p384::ecdsa::VerifyingKey::from_public_key_der(spki).unwrap();
        let signature = p384::ecdsa::DerSignature::try_from(signature).unwrap();
        key.verify(message, &signature)
            .expect("P-384 signature verifies");
    }
}

/// The CSR is signed by the device key over its CertificationRequestInfo,
/// with the right algorithm, and Hallmark's CA side accepts it.
fn check_csr(der: &[u8], spki: &[u8], algorithm: KeyAlgorithm, cn: &str) {
    let request = CertReq::from_der(der).unwrap();
    assert_eq!(request.info.public_key.to_der().unwrap(), spki);
    let expected_oid = match algorithm {
        KeyAlgorithm::P256 => "1.2.840.10045.4.3.2",
        KeyAlgorithm::P384 => "1.2.840.10045.4.3.3",
    };
    assert_eq!(request.algorithm.oid.to_string(), expected_oid);
    assert!(request.algorithm.parameters.is_none());
    verify(
        spki,
        &request.info.to_der().unwrap(),
        request.signature.raw_bytes(),
    );
    let verified =
        hallmark_pki::VerifiedCsr::from_der(der).expect("the CA accepts the device's CSR");
    assert_eq!(verified.common_name().as_deref(), Some(cn));
}

fn full_flow(algorithm: KeyAlgorithm) {
    let ca = TestCa::new();
    let mut device = device(MemStorage::new());
    let reply = call(
        &mut device,
        &Request::Hello {
            versions: &[2, 1, 7],
        },
    );
    let Response::HelloOk(info) = reply.response().unwrap() else {
        panic!("no HELLO_OK");
    };
    assert_eq!(
        (info.version, info.state, info.key_algorithm),
        (1, DeviceState::FactoryNew, None)
    );
    assert_eq!(
        (info.model, info.chip_id.len(), info.secure_element),
        ("sensor-x", 8, false)
    );

    let spki = public_key(&call(&mut device, &Request::GenerateKey { algorithm }));
    assert_eq!(device.state(), DeviceState::KeyGenerated);

    let attributes = [
        SubjectAttribute {
            kind: AttributeType::Country,
            value: "DE",
        },
        SubjectAttribute {
            kind: AttributeType::Organization,
            value: "Acme Devices",
        },
        SubjectAttribute {
            kind: AttributeType::SerialNumber,
            value: "C0FFEE0102030405",
        },
    ];
    let request = Request::GetCsr(CsrRequest {
        device_id: "ACME-0001",
        common_name: "ACME-0001",
        attributes: SubjectAttributes::new(&attributes),
    });
    let csr_der = csr(&call(&mut device, &request));
    check_csr(&csr_der, &spki, algorithm, "ACME-0001");
    let subject = CertReq::from_der(&csr_der)
        .unwrap()
        .info
        .subject
        .to_string();
    assert_eq!(
        subject,
        "CN=ACME-0001,SERIALNUMBER=C0FFEE0102030405,O=Acme Devices,C=DE"
    );
    assert_eq!(device.state(), DeviceState::CsrIssued);

    let chain = ca.issue(&spki, "ACME-0001");
    expect_ok(&call(
        &mut device,
        &install(&as_slices(&chain), "ACME-0001"),
    ));
    assert_eq!(device.state(), DeviceState::Installed);
    assert_eq!(device.certificate_chain(), chain.as_slice());
    let stamp = device.stamp().unwrap();
    assert_eq!(
        (stamp.device_id.as_str(), stamp.pop_code.as_deref()),
        ("ACME-0001", Some("claim-7"))
    );

    let nonce = [0x42u8; 32];
    let sig = signature(&call(&mut device, &Request::Verify { nonce: &nonce }));
    verify(&spki, &verify_message(&nonce, &chain[0]).unwrap(), &sig);
    assert_eq!(device.state(), DeviceState::Verified);

    expect_ok(&call(&mut device, &Request::Lock));
    assert_eq!(hello(&mut device), DeviceState::Locked);
    // The firmware keeps using its key in the field.
    verify(
        &spki,
        b"tls handshake",
        &device.sign(b"tls handshake").unwrap(),
    );
}

#[test]
fn p256_flow() {
    full_flow(KeyAlgorithm::P256);
}

#[test]
fn p384_flow() {
    full_flow(KeyAlgorithm::P384);
}

#[test]
fn flow_over_a_byte_stream_with_line_noise() {
    let ca = TestCa::new();
    let mut link = Link::new(device(MemStorage::new()));
    // Boot messages on the UART before the station speaks.
    assert!(
        link.receive(b"ESP-ROM:esp32s3\r\nboot: \xA5\x4D\x00")
            .is_empty()
    );
    link.idle();
    let reply = over_link(&mut link, &Request::Hello { versions: &[1] }, 1);
    let Response::HelloOk(info) = reply.response().unwrap() else {
        panic!("no HELLO_OK");
    };
    assert_eq!(info.state, DeviceState::FactoryNew);
    let spki = public_key(&over_link(
        &mut link,
        &Request::GenerateKey {
            algorithm: KeyAlgorithm::P256,
        },
        2,
    ));
    csr(&over_link(&mut link, &get_csr("", "ACME-7"), 3));
    let chain = ca.issue(&spki, "ACME-7");
    expect_ok(&over_link(
        &mut link,
        &install(&as_slices(&chain), "ACME-7"),
        4,
    ));
    signature(&over_link(
        &mut link,
        &Request::Verify { nonce: &[1; 16] },
        5,
    ));
    expect_ok(&over_link(&mut link, &Request::Lock, 0xFFFF));
    assert_eq!(link.device().state(), DeviceState::Locked);
}

#[test]
fn csr_verifies_with_openssl() {
    let mut device = device(MemStorage::new());
    call(
        &mut device,
        &Request::GenerateKey {
            algorithm: KeyAlgorithm::P384,
        },
    );
    let der = csr(&call(&mut device, &get_csr("", "openssl-check")));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("device.csr");
    std::fs::write(&path, der).unwrap();
    let output = std::process::Command::new("openssl")
        .args(["req", "-inform", "DER", "-noout", "-verify", "-in"])
        .arg(&path)
        .output()
        .expect("openssl runs");
    let text = String::from_utf8_lossy(&output.stderr).to_string()
        + &String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && text.contains("verify OK"),
        "{text}"
    );
}
