#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Every message survives encode → frame → decode, and malformed payloads
//! are refused with the right error.

use hallmark_protocol::*;

const CERTS: [&[u8]; 3] = [&[0x30, 0x01, 0x00], &[0x30; 700], &[0x31; 1200]];
const ATTRS: [SubjectAttribute<'static>; 3] = [
    SubjectAttribute {
        kind: AttributeType::Country,
        value: "DE",
    },
    SubjectAttribute {
        kind: AttributeType::Organization,
        value: "Acme Devices GmbH — Berlin",
    },
    SubjectAttribute {
        kind: AttributeType::SerialNumber,
        value: "0123-ABCD",
    },
];

fn requests() -> Vec<Request<'static>> {
    vec![
        Request::Hello { versions: &[1] },
        Request::Hello {
            versions: &[3, 1, 2],
        },
        Request::GenerateKey {
            algorithm: KeyAlgorithm::P256,
        },
        Request::GenerateKey {
            algorithm: KeyAlgorithm::P384,
        },
        Request::GetCsr(CsrRequest {
            device_id: "",
            common_name: "pending",
            attributes: SubjectAttributes::none(),
        }),
        Request::GetCsr(CsrRequest {
            device_id: "ACME-0001",
            common_name: "ACME-0001",
            attributes: SubjectAttributes::new(&ATTRS),
        }),
        Request::Install(Install {
            chain: CertChain::new(&CERTS),
            stamp: Stamp {
                device_id: "ACME-0001",
                endpoint: "mqtts://iot.example:8883",
                pop_code: Some("claim-42"),
            },
        }),
        Request::Install(Install {
            chain: CertChain::new(&CERTS[..1]),
            stamp: Stamp {
                device_id: "x",
                endpoint: "u",
                pop_code: None,
            },
        }),
        Request::Verify { nonce: &[0xAB; 16] },
        Request::Verify { nonce: &[0xCD; 64] },
        Request::Lock,
        Request::FactoryReset,
        Request::ImportKey {
            algorithm: KeyAlgorithm::P256,
            private_key: PrivateKey::new(&[0x11; 32]),
        },
        Request::ImportKey {
            algorithm: KeyAlgorithm::P384,
            private_key: PrivateKey::new(&[0x22; 48]),
        },
    ]
}

fn responses() -> Vec<Response<'static>> {
    let info = DeviceInfo {
        version: 1,
        state: DeviceState::CsrIssued,
        key_algorithm: Some(KeyAlgorithm::P384),
        model: "sensor-x",
        hardware_revision: "rev C",
        firmware_version: SemVer::new(1, 4, 2),
        bootloader_version: SemVer::new(0, 9, 65535),
        chip_id: &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
        secure_element: true,
    };
    let mut responses = vec![
        Response::Ok,
        Response::HelloOk(info),
        Response::HelloOk(DeviceInfo {
            key_algorithm: None,
            secure_element: false,
            state: DeviceState::FactoryNew,
            ..info
        }),
        Response::PublicKey { spki: &[0x30; 91] },
        Response::Csr { der: &[0x30; 4094] },
        Response::Signature { der: &[0x30; 72] },
        Response::Error {
            code: ErrorCode::Other(200),
            message: "",
        },
    ];
    for state in DeviceState::ALL {
        responses.push(Response::HelloOk(DeviceInfo {
            state: *state,
            ..info
        }));
    }
    for code in 1..=11 {
        responses.push(Response::Error {
            code: ErrorCode::from_code(code),
            message: "why it failed",
        });
    }
    responses
}

#[test]
fn every_request_round_trips_through_a_frame() {
    for (seq, request) in requests().into_iter().enumerate() {
        let mut out = [0u8; MAX_FRAME_LEN];
        let n = request
            .encode_frame(PROTOCOL_VERSION, seq as u16, &mut out)
            .unwrap();
        let (frame, used) = Frame::decode(&out[..n]).unwrap();
        assert_eq!(used, n);
        assert_eq!(
            (frame.version, frame.seq, frame.msg_type),
            (1, seq as u16, request.message_type().code())
        );
        assert_eq!(Request::from_frame(&frame).unwrap(), request);
        assert_eq!(request.encoded_len().unwrap(), frame.payload.len());
        assert!(
            Response::from_frame(&frame).is_err(),
            "a request type is no response"
        );
    }
}

#[test]
fn every_response_round_trips_through_a_frame() {
    for (seq, response) in responses().into_iter().enumerate() {
        let mut out = [0u8; MAX_FRAME_LEN];
        let n = response
            .encode_frame(PROTOCOL_VERSION, seq as u16, &mut out)
            .unwrap();
        let (frame, _) = Frame::decode(&out[..n]).unwrap();
        assert_eq!(Response::from_frame(&frame).unwrap(), response);
        assert!(
            Request::from_frame(&frame).is_err(),
            "a response type is no request"
        );
    }
}

#[test]
fn decoded_lists_iterate_in_order() {
    let mut out = [0u8; MAX_PAYLOAD_LEN];
    let install = Request::Install(Install {
        chain: CertChain::new(&CERTS),
        stamp: Stamp {
            device_id: "d",
            endpoint: "e",
            pop_code: None,
        },
    });
    let n = install.encode(&mut out).unwrap();
    let Request::Install(decoded) =
        Request::decode(MessageType::Install.code(), &out[..n]).unwrap()
    else {
        panic!("not an install");
    };
    assert_eq!(decoded.chain.len(), 3);
    assert_eq!(decoded.chain.leaf(), Some(CERTS[0]));
    assert_eq!(decoded.chain.iter().collect::<Vec<_>>(), CERTS);
}

#[test]
fn every_truncation_of_every_payload_is_refused() {
    for request in requests() {
        let mut out = [0u8; MAX_PAYLOAD_LEN];
        let n = request.encode(&mut out).unwrap();
        for cut in 0..n {
            assert!(
                Request::decode(request.message_type().code(), &out[..cut]).is_err(),
                "{request:?} cut at {cut}"
            );
        }
        let mut long = out[..n].to_vec();
        long.push(0);
        assert_eq!(
            Request::decode(request.message_type().code(), &long),
            Err(ProtocolError::TrailingBytes)
        );
    }
}

#[test]
fn out_of_bounds_fields_are_refused_both_ways() {
    let mut out = [0u8; MAX_FRAME_LEN];
    let too_many_certs = [CERTS[0]; 5];
    let bad = [
        Request::Hello { versions: &[] },
        Request::Hello { versions: &[0] },
        Request::Verify { nonce: &[0; 15] },
        Request::Verify { nonce: &[0; 65] },
        Request::GetCsr(CsrRequest {
            device_id: "",
            common_name: "",
            attributes: SubjectAttributes::none(),
        }),
        Request::Install(Install {
            chain: CertChain::new(&too_many_certs),
            stamp: Stamp {
                device_id: "d",
                endpoint: "e",
                pop_code: None,
            },
        }),
        Request::Install(Install {
            chain: CertChain::new(&[]),
            stamp: Stamp {
                device_id: "d",
                endpoint: "e",
                pop_code: None,
            },
        }),
        Request::Install(Install {
            chain: CertChain::new(&CERTS),
            stamp: Stamp {
                device_id: "d",
                endpoint: "e",
                pop_code: Some(""),
            },
        }),
    ];
    for request in bad {
        assert!(request.encode_frame(1, 0, &mut out).is_err(), "{request:?}");
    }
    let country = [SubjectAttribute {
        kind: AttributeType::Country,
        value: "DEU",
    }];
    let serial = [SubjectAttribute {
        kind: AttributeType::SerialNumber,
        value: "a_b",
    }];
    for attrs in [&country, &serial] {
        let csr = CsrRequest {
            device_id: "",
            common_name: "cn",
            attributes: SubjectAttributes::new(attrs),
        };
        assert!(Request::GetCsr(csr).encode(&mut out).is_err());
    }
    // Hand-made payloads: an unknown algorithm, a country of 3 letters, a bad bool.
    let ty = MessageType::GenerateKey.code();
    assert_eq!(
        Request::decode(ty, &[3]),
        Err(ProtocolError::InvalidValue { field: "algorithm" })
    );
    let ty = MessageType::GetCsr.code();
    assert!(Request::decode(ty, &[0, 1, b'c', 1, 1, 3, b'D', b'E', b'U']).is_err());
    assert!(Request::decode(ty, &[0, 1, b'c', 1, 1, 2, b'D', b'E']).is_ok());
    assert_eq!(
        Request::decode(0x42, &[]),
        Err(ProtocolError::UnknownMessageType(0x42))
    );
    // A payload over the maximum.
    let certs = [&[0u8; 4000][..], &[0u8; 4000][..]];
    let big = Request::Install(Install {
        chain: CertChain::new(&certs),
        stamp: Stamp {
            device_id: "d",
            endpoint: "e",
            pop_code: None,
        },
    });
    assert!(matches!(
        big.encoded_len(),
        Err(ProtocolError::PayloadTooLarge { .. })
    ));
}

#[test]
fn import_key_is_checked_against_its_algorithm_and_never_shown() {
    let mut out = [0u8; MAX_FRAME_LEN];
    // Wrong lengths are refused when encoding...
    for (algorithm, len) in [
        (KeyAlgorithm::P256, 48),
        (KeyAlgorithm::P384, 32),
        (KeyAlgorithm::P256, 31),
    ] {
        let key = vec![7u8; len];
        let request = Request::ImportKey {
            algorithm,
            private_key: PrivateKey::new(&key),
        };
        assert_eq!(
            request.encode(&mut out),
            Err(ProtocolError::KeyLength {
                expected: algorithm.private_key_len(),
                found: len
            })
        );
    }
    // ... and when decoding, with a message naming both lengths.
    let ty = MessageType::ImportKey.code();
    let mut payload = vec![KeyAlgorithm::P384.code(), 32];
    payload.extend_from_slice(&[9; 32]);
    let err = Request::decode(ty, &payload).unwrap_err();
    assert_eq!(
        err,
        ProtocolError::KeyLength {
            expected: 48,
            found: 32
        }
    );
    assert_eq!(
        err.to_string(),
        "private_key is 32 bytes; this algorithm's private key is 48"
    );
    assert_eq!(
        Request::decode(ty, &[3, 32]),
        Err(ProtocolError::InvalidValue { field: "algorithm" })
    );
    // The scalar never appears in Debug output.
    let request = Request::ImportKey {
        algorithm: KeyAlgorithm::P256,
        private_key: PrivateKey::new(&[0xAB; 32]),
    };
    let shown = format!("{request:?}");
    assert!(shown.contains("32 bytes redacted"), "{shown}");
    assert!(
        !shown.contains("171") && !shown.to_lowercase().contains("ab, "),
        "{shown}"
    );
    assert_eq!(MessageType::ImportKey.code(), 0x08);
    assert_eq!(ErrorCode::from_code(12), ErrorCode::ImportUnsupported);
    assert_eq!(ErrorCode::ImportUnsupported.name(), "IMPORT_UNSUPPORTED");
}

#[test]
fn small_output_buffers_are_reported() {
    let mut out = [0u8; 20];
    let r = Request::Verify { nonce: &[1; 32] };
    assert_eq!(
        r.encode_frame(1, 0, &mut out),
        Err(ProtocolError::BufferTooSmall { needed: 8 + 33 + 4 })
    );
    assert_eq!(
        r.encode(&mut out),
        Err(ProtocolError::BufferTooSmall { needed: 33 })
    );
}

/// The example frames of docs/device-protocol.md §3.3, byte for byte.
#[test]
fn documented_example_frames() {
    fn hex(bytes: &[u8]) -> String {
        bytes
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect::<Vec<_>>()
            .join(" ")
    }
    let mut out = [0u8; 64];
    let cases: [(Request<'_>, u16, &str); 3] = [
        (
            Request::Hello { versions: &[1] },
            1,
            "A5 4D 01 01 00 01 00 02 01 01 9B B6 E7 FF",
        ),
        (
            Request::GenerateKey {
                algorithm: KeyAlgorithm::P256,
            },
            2,
            "A5 4D 01 02 00 02 00 01 01 00 50 DA D1",
        ),
        (Request::Lock, 7, "A5 4D 01 06 00 07 00 00 2F D6 C3 95"),
    ];
    for (request, seq, expected) in cases {
        let n = request.encode_frame(1, seq, &mut out).unwrap();
        assert_eq!(hex(&out[..n]), expected);
    }
    let n = Response::Ok.encode_frame(1, 7, &mut out).unwrap();
    assert_eq!(hex(&out[..n]), "A5 4D 01 80 00 07 00 00 D1 13 77 21");
}
