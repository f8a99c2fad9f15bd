#![allow(clippy::unwrap_used, clippy::expect_used)]
#![cfg(feature = "soft-key")]
//! Every refusal: wrong state, after LOCK, key conflicts, foreign
//! certificates, malformed requests, unknown versions and commands.

mod common;

use common::*;
use hallmark_device::protocol::{DeviceState, ErrorCode, KeyAlgorithm, MessageType, Request};
use hallmark_device::{Device, Link, MemStorage};

const NONCE: Request<'static> = Request::Verify { nonce: &[7; 16] };

#[test]
fn commands_in_the_wrong_state() {
    let ca = TestCa::new();
    let mut d = device(MemStorage::new());
    // FACTORY_NEW: everything that needs a key says NO_KEY; LOCK is BAD_STATE.
    expect_error(&call(&mut d, &get_csr("", "x")), ErrorCode::NoKey);
    expect_error(
        &call(&mut d, &install(&[&[0x30, 0]], "x")),
        ErrorCode::NoKey,
    );
    expect_error(&call(&mut d, &NONCE), ErrorCode::NoKey);
    expect_error(&call(&mut d, &Request::Lock), ErrorCode::BadState);
    // KEY_GENERATED: no INSTALL before GET_CSR, no VERIFY, no LOCK.
    let spki = public_key(&call(
        &mut d,
        &Request::GenerateKey {
            algorithm: KeyAlgorithm::P256,
        },
    ));
    let chain = ca.issue(&spki, "dev-1");
    expect_error(
        &call(&mut d, &install(&as_slices(&chain), "dev-1")),
        ErrorCode::BadState,
    );
    expect_error(&call(&mut d, &NONCE), ErrorCode::BadState);
    expect_error(&call(&mut d, &Request::Lock), ErrorCode::BadState);
    // CSR_ISSUED: GET_CSR may be repeated (a retry); no VERIFY, no LOCK.
    csr(&call(&mut d, &get_csr("dev-1", "dev-1")));
    csr(&call(&mut d, &get_csr("dev-1", "dev-1")));
    expect_error(&call(&mut d, &NONCE), ErrorCode::BadState);
    expect_error(&call(&mut d, &Request::Lock), ErrorCode::BadState);
    // INSTALLED: no new CSR, no LOCK before VERIFY; INSTALL again is a retry.
    expect_ok(&call(&mut d, &install(&as_slices(&chain), "dev-1")));
    expect_error(
        &call(&mut d, &get_csr("dev-1", "dev-1")),
        ErrorCode::BadState,
    );
    expect_error(&call(&mut d, &Request::Lock), ErrorCode::BadState);
    expect_ok(&call(&mut d, &install(&as_slices(&chain), "dev-1")));
    // VERIFIED: VERIFY again is fine; INSTALL again goes back to INSTALLED.
    signature(&call(&mut d, &NONCE));
    signature(&call(&mut d, &NONCE));
    assert_eq!(d.state(), DeviceState::Verified);
    expect_ok(&call(&mut d, &install(&as_slices(&chain), "dev-1")));
    assert_eq!(d.state(), DeviceState::Installed);
    expect_error(&call(&mut d, &Request::Lock), ErrorCode::BadState);
}

#[test]
fn after_lock_only_hello_answers() {
    let ca = TestCa::new();
    let mut storage = MemStorage::new();
    let mut d = device(&mut storage);
    let chain = provision_to_installed(&mut d, &ca, "dev-2");
    signature(&call(&mut d, &NONCE));
    expect_ok(&call(&mut d, &Request::Lock));
    drop(d);
    // Also after a reboot.
    let mut d = device(&mut storage);
    assert_eq!(hello(&mut d), DeviceState::Locked);
    let slices = as_slices(&chain);
    let refused = [
        Request::GenerateKey {
            algorithm: KeyAlgorithm::P256,
        },
        get_csr("dev-2", "dev-2"),
        install(&slices, "dev-2"),
        NONCE,
        Request::Lock,
        Request::FactoryReset,
    ];
    for request in &refused {
        expect_error(&call(&mut d, request), ErrorCode::Locked);
    }
    // Even a malformed manufacturing command gets LOCKED, not BAD_REQUEST.
    expect_error(
        &d.handle(1, MessageType::GenerateKey.code(), &[9, 9]),
        ErrorCode::Locked,
    );
    assert_eq!(d.certificate_chain(), chain.as_slice());
}

#[test]
fn factory_reset_wipes_before_lock() {
    let ca = TestCa::new();
    let mut storage = MemStorage::new();
    let mut d = device(&mut storage);
    let spki = public_key(&call(
        &mut d,
        &Request::GenerateKey {
            algorithm: KeyAlgorithm::P256,
        },
    ));
    provision_to_installed(&mut d, &ca, "dev-3");
    expect_ok(&call(&mut d, &Request::FactoryReset));
    assert_eq!(hello(&mut d), DeviceState::FactoryNew);
    assert!(d.certificate_chain().is_empty() && d.stamp().is_none() && d.key_ref().is_none());
    drop(d);
    assert_eq!(storage.names().count(), 0, "no record left");
    // A new key after the reset, of another algorithm even.
    let mut d = device(&mut storage);
    let new_spki = public_key(&call(
        &mut d,
        &Request::GenerateKey {
            algorithm: KeyAlgorithm::P384,
        },
    ));
    assert_ne!(spki, new_spki);
    expect_ok(&call(&mut d, &Request::FactoryReset));
    expect_ok(&call(&mut d, &Request::FactoryReset));
}

#[test]
fn generate_key_is_idempotent_for_one_algorithm() {
    let mut d = device(MemStorage::new());
    let first = public_key(&call(
        &mut d,
        &Request::GenerateKey {
            algorithm: KeyAlgorithm::P384,
        },
    ));
    let writes = d.storage().writes();
    let again = public_key(&call(
        &mut d,
        &Request::GenerateKey {
            algorithm: KeyAlgorithm::P384,
        },
    ));
    assert_eq!(first, again);
    assert_eq!(d.storage().writes(), writes, "a retry writes nothing");
    csr(&call(&mut d, &get_csr("", "x")));
    assert_eq!(
        public_key(&call(
            &mut d,
            &Request::GenerateKey {
                algorithm: KeyAlgorithm::P384
            }
        )),
        first
    );
    assert_eq!(
        d.state(),
        DeviceState::CsrIssued,
        "a retry does not go back"
    );
    expect_error(
        &call(
            &mut d,
            &Request::GenerateKey {
                algorithm: KeyAlgorithm::P256,
            },
        ),
        ErrorCode::KeyExists,
    );
}

#[test]
fn foreign_or_mislabelled_certificates_are_refused() {
    let ca = TestCa::new();
    let mut other = device(MemStorage::new());
    other.handle(1, 0, &[]); // an unknown command changes nothing
    let mut d = Device::new(
        identity(),
        hallmark_device::SoftKey::new(TestRng(99)),
        MemStorage::new(),
    )
    .unwrap();
    let spki = public_key(&call(
        &mut d,
        &Request::GenerateKey {
            algorithm: KeyAlgorithm::P256,
        },
    ));
    let other_spki = public_key(&call(
        &mut other,
        &Request::GenerateKey {
            algorithm: KeyAlgorithm::P256,
        },
    ));
    assert_ne!(spki, other_spki);
    csr(&call(&mut d, &get_csr("", "dev-4")));

    let foreign = ca.issue(&other_spki, "dev-4");
    expect_error(
        &call(&mut d, &install(&as_slices(&foreign), "dev-4")),
        ErrorCode::CertMismatch,
    );
    let wrong_cn = ca.issue(&spki, "dev-5");
    expect_error(
        &call(&mut d, &install(&as_slices(&wrong_cn), "dev-4")),
        ErrorCode::CertMismatch,
    );
    let good = ca.issue(&spki, "dev-4");
    let mut reversed = as_slices(&good);
    reversed.reverse();
    expect_error(
        &call(&mut d, &install(&reversed, "dev-4")),
        ErrorCode::BadRequest,
    );
    expect_error(
        &call(&mut d, &install(&[b"not a certificate"], "dev-4")),
        ErrorCode::BadRequest,
    );
    assert_eq!(d.state(), DeviceState::CsrIssued);
    // GET_CSR named the id: the stamp must carry the same one.
    csr(&call(&mut d, &get_csr("dev-4", "dev-4")));
    let dev5 = ca.issue(&spki, "dev-5");
    expect_error(
        &call(&mut d, &install(&as_slices(&dev5), "dev-5")),
        ErrorCode::CertMismatch,
    );
    expect_ok(&call(&mut d, &install(&as_slices(&good), "dev-4")));
}

#[test]
fn malformed_frames_versions_and_commands() {
    let mut d = device(MemStorage::new());
    expect_error(
        &d.handle(1, MessageType::GenerateKey.code(), &[3]),
        ErrorCode::BadRequest,
    );
    expect_error(
        &d.handle(1, MessageType::GenerateKey.code(), &[1, 0]),
        ErrorCode::BadRequest,
    );
    expect_error(
        &d.handle(1, MessageType::Verify.code(), &[4, 1, 2, 3, 4]),
        ErrorCode::BadRequest,
    );
    expect_error(
        &d.handle(1, MessageType::Hello.code(), &[]),
        ErrorCode::BadRequest,
    );
    expect_error(&d.handle(1, 0x42, &[]), ErrorCode::UnknownCommand);
    expect_error(
        &d.handle(1, MessageType::Ok.code(), &[]),
        ErrorCode::UnknownCommand,
    );
    expect_error(
        &d.handle(2, MessageType::Lock.code(), &[]),
        ErrorCode::UnsupportedVersion,
    );
    expect_error(
        &call(&mut d, &Request::Hello { versions: &[2, 3] }),
        ErrorCode::UnsupportedVersion,
    );
    // HELLO is understood whatever the frame's version byte.
    assert!(matches!(
        d.handle(9, MessageType::Hello.code(), &[1, 1])
            .response()
            .unwrap(),
        hallmark_device::protocol::Response::HelloOk(_)
    ));
    assert_eq!(d.state(), DeviceState::FactoryNew);
}

#[test]
fn corrupted_frames_get_bad_frame_with_their_seq() {
    let mut link = Link::new(device(MemStorage::new()));
    let mut frame = vec![0u8; 64];
    let n = Request::Lock.encode_frame(1, 0x0102, &mut frame).unwrap();
    frame[n - 1] ^= 0xFF;
    let out = link.receive(&frame[..n]);
    let (response, used) = hallmark_device::protocol::Frame::decode(&out).unwrap();
    assert_eq!((used, response.seq), (out.len(), 0x0102));
    let reply = hallmark_device::Reply {
        message_type: MessageType::from_code(response.msg_type).unwrap(),
        payload: response.payload.to_vec(),
    };
    expect_error(&reply, ErrorCode::BadFrame);
    // The link still works.
    assert_eq!(link.device().state(), DeviceState::FactoryNew);
    expect_error(
        &over_link(&mut link, &Request::Lock, 5),
        ErrorCode::BadState,
    );
}
