//! Unit tests of request parsing, nonces and error responses. Responses are
//! judged by OpenSSL and pkilint in `tests/ocsp.rs`.

use const_oid::ObjectIdentifier;
use const_oid::db::{rfc5912, rfc6960};
use der::asn1::{AnyRef, OctetStringRef, UintRef};
use der::{Decode, Encode};
use spki::AlgorithmIdentifierRef;

use super::asn1::{
    CertIdDer, ExtensionRef, OcspRequestDer, OcspResponseDer, RequestDer, ResponseStatusDer,
    TbsRequestDer,
};
use super::*;
use crate::RevocationError;

const NAME_HASH: [u8; 20] = [1; 20];
const KEY_HASH: [u8; 20] = [2; 20];

fn cert_id<'a>(oid: ObjectIdentifier, serial: &'a [u8]) -> CertIdDer<'a> {
    CertIdDer {
        hash_algorithm: AlgorithmIdentifierRef {
            oid,
            parameters: Some(AnyRef::NULL),
        },
        issuer_name_hash: OctetStringRef::new(&NAME_HASH).unwrap(),
        issuer_key_hash: OctetStringRef::new(&KEY_HASH).unwrap(),
        serial_number: UintRef::new(serial).unwrap(),
    }
}

fn request(ids: Vec<CertIdDer<'_>>, extensions: Option<Vec<ExtensionRef<'_>>>) -> Vec<u8> {
    OcspRequestDer {
        tbs_request: TbsRequestDer {
            version: None,
            requestor_name: None,
            request_list: ids
                .into_iter()
                .map(|req_cert| RequestDer {
                    req_cert,
                    single_request_extensions: None,
                })
                .collect(),
            request_extensions: extensions,
        },
        optional_signature: None,
    }
    .to_der()
    .unwrap()
}

fn nonce_ext(value: &[u8]) -> ExtensionRef<'_> {
    ExtensionRef {
        extn_id: rfc6960::ID_PKIX_OCSP_NONCE,
        critical: false,
        extn_value: OctetStringRef::new(value).unwrap(),
    }
}

#[test]
fn parses_cert_ids_and_the_rfc_8954_nonce() {
    let wrapped = [&[0x04, 0x10][..], &[7; 16]].concat();
    let der = request(
        vec![
            cert_id(rfc5912::ID_SHA_1, &[0x00, 0x88, 0x99]),
            cert_id(rfc5912::ID_SHA_1, &[0x10, 0x01]),
        ],
        Some(vec![nonce_ext(&wrapped)]),
    );
    let req = parse_request(&der).unwrap();
    assert_eq!(req.cert_ids.len(), 2);
    assert_eq!(req.cert_ids[0].hash_algorithm, HashAlgorithm::Sha1);
    assert_eq!(req.cert_ids[0].serial, [0x88, 0x99]);
    assert_eq!(req.cert_ids[1].serial, [0x10, 0x01]);
    assert_eq!(req.cert_ids[0].issuer_name_hash, NAME_HASH);
    let nonce = req.nonce.unwrap();
    assert_eq!(nonce.value(), [7; 16]);
    assert_eq!(nonce.extension_value(), wrapped);
    assert_eq!(nonce, Nonce::new(&[7; 16]).unwrap());
}

#[test]
fn raw_nonces_are_kept_verbatim() {
    let raw = [0x55; 8];
    let der = request(
        vec![cert_id(rfc5912::ID_SHA_1, &[1])],
        Some(vec![nonce_ext(&raw)]),
    );
    let nonce = parse_request(&der).unwrap().nonce.unwrap();
    assert_eq!(nonce.value(), raw);
    assert_eq!(nonce.extension_value(), raw);
}

#[test]
fn nonce_lengths_outside_1_to_32_are_malformed() {
    for len in [0usize, 33] {
        let wrapped = OctetStringRef::new(&vec![9; len])
            .unwrap()
            .to_der()
            .unwrap();
        let der = request(
            vec![cert_id(rfc5912::ID_SHA_1, &[1])],
            Some(vec![nonce_ext(&wrapped)]),
        );
        let err = parse_request(&der).unwrap_err();
        assert!(
            matches!(err, RevocationError::NonceLength(l) if l == len),
            "{err}"
        );
        assert_eq!(err.ocsp_status(), OcspResponseStatus::MalformedRequest);
        assert!(Nonce::new(&vec![9; len]).is_err());
    }
    assert!(Nonce::new(&[9; 32]).is_ok());
}

#[test]
fn refuses_what_it_cannot_answer() {
    let sha512 = request(vec![cert_id(rfc5912::ID_SHA_512, &[1])], None);
    assert!(matches!(
        parse_request(&sha512),
        Err(RevocationError::UnsupportedHashAlgorithm(_))
    ));
    // SHA-256 named, but 20-octet hashes.
    let short = request(vec![cert_id(rfc5912::ID_SHA_256, &[1])], None);
    assert!(matches!(
        parse_request(&short),
        Err(RevocationError::HashLength { .. })
    ));
    let zero = request(vec![cert_id(rfc5912::ID_SHA_1, &[0])], None);
    assert!(matches!(
        parse_request(&zero),
        Err(RevocationError::InvalidSerial(_))
    ));
    let empty = request(vec![], None);
    assert!(matches!(
        parse_request(&empty),
        Err(RevocationError::EmptyRequest)
    ));
    let critical = ExtensionRef {
        extn_id: rfc6960::ID_PKIX_OCSP_SERVICE_LOCATOR,
        critical: true,
        extn_value: OctetStringRef::new(&[0x05, 0x00]).unwrap(),
    };
    let der = request(vec![cert_id(rfc5912::ID_SHA_1, &[1])], Some(vec![critical]));
    assert!(matches!(
        parse_request(&der),
        Err(RevocationError::UnsupportedCriticalExtension(_))
    ));
    for garbage in [&b""[..], b"\x30\x00", b"not DER at all"] {
        let err = parse_request(garbage).unwrap_err();
        assert_eq!(err.ocsp_status(), OcspResponseStatus::MalformedRequest);
    }
}

#[test]
fn error_responses_are_the_bare_status() {
    let cases = [
        (
            OcspResponseStatus::MalformedRequest,
            ResponseStatusDer::MalformedRequest,
        ),
        (
            OcspResponseStatus::InternalError,
            ResponseStatusDer::InternalError,
        ),
        (OcspResponseStatus::TryLater, ResponseStatusDer::TryLater),
        (
            OcspResponseStatus::SigRequired,
            ResponseStatusDer::SigRequired,
        ),
        (
            OcspResponseStatus::Unauthorized,
            ResponseStatusDer::Unauthorized,
        ),
    ];
    for (status, der_status) in cases {
        let bytes = error_response(status);
        let expected = OcspResponseDer {
            response_status: der_status,
            response_bytes: None,
        };
        assert_eq!(bytes, expected.to_der().unwrap());
        assert_eq!(OcspResponseDer::from_der(&bytes).unwrap(), expected);
    }
}
