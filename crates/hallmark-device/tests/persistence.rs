#![allow(clippy::unwrap_used, clippy::expect_used)]
#![cfg(feature = "soft-key")]
//! A device that reboots after any step resumes in its persisted state; a
//! storage failure leaves the state unchanged, in memory and in flash.

mod common;

use common::*;
use hallmark_device::protocol::{DeviceState, ErrorCode, KeyAlgorithm, Request};
use hallmark_device::{DeviceError, MemStorage, persist};

#[test]
fn every_step_survives_a_reboot() {
    let ca = TestCa::new();
    let mut storage = MemStorage::new();
    let mut spki = Vec::new();
    let mut chain = Vec::new();
    let nonce = [3u8; 20];
    let steps: [(&str, DeviceState); 6] = [
        ("generate", DeviceState::KeyGenerated),
        ("csr", DeviceState::CsrIssued),
        ("install", DeviceState::Installed),
        ("verify", DeviceState::Verified),
        ("lock", DeviceState::Locked),
        ("hello", DeviceState::Locked),
    ];
    assert_eq!(hello(&mut device(&mut storage)), DeviceState::FactoryNew);
    for (step, expected) in steps {
        // A fresh Device on the same storage: a reboot before every step.
        let mut d = device(&mut storage);
        match step {
            "generate" => {
                spki = public_key(&call(
                    &mut d,
                    &Request::GenerateKey {
                        algorithm: KeyAlgorithm::P256,
                    },
                ))
            }
            "csr" => {
                csr(&call(&mut d, &get_csr("dev-9", "dev-9")));
                chain = ca.issue(&spki, "dev-9");
            }
            "install" => expect_ok(&call(&mut d, &install(&as_slices(&chain), "dev-9"))),
            "verify" => {
                let sig = signature(&call(&mut d, &Request::Verify { nonce: &nonce }));
                assert!(!sig.is_empty());
            }
            "lock" => expect_ok(&call(&mut d, &Request::Lock)),
            _ => {}
        }
        drop(d);
        let mut rebooted = device(&mut storage);
        assert_eq!(hello(&mut rebooted), expected, "after {step}");
        if expected != DeviceState::Locked {
            // The key survived: GENERATE_KEY returns the same public key.
            assert_eq!(
                public_key(&call(
                    &mut rebooted,
                    &Request::GenerateKey {
                        algorithm: KeyAlgorithm::P256
                    }
                )),
                spki
            );
        }
    }
    let d = device(&mut storage);
    assert_eq!(d.certificate_chain(), chain.as_slice());
    assert_eq!(d.stamp().unwrap().endpoint, "mqtts://iot.example.com:8883");
}

/// Runs `request` with writes failing: STORAGE, and the state (live and
/// after a reboot) is what it was.
fn fails_cleanly(storage: &mut MemStorage, request: &Request<'_>) {
    let before = hello(&mut device(&mut *storage));
    let snapshot = storage.clone();
    storage.fail_after_writes(Some(0));
    let mut d = device(&mut *storage);
    expect_error(&call(&mut d, request), ErrorCode::Storage);
    assert_eq!(d.state(), before, "live state unchanged after {request:?}");
    drop(d);
    storage.fail_after_writes(None);
    assert_eq!(
        hello(&mut device(&mut *storage)),
        before,
        "persisted state unchanged"
    );
    for name in snapshot.names() {
        assert_eq!(storage.record(name), snapshot.record(name));
    }
}

#[test]
fn storage_failures_change_nothing() {
    let ca = TestCa::new();
    let mut storage = MemStorage::new();
    let generate = Request::GenerateKey {
        algorithm: KeyAlgorithm::P384,
    };
    fails_cleanly(&mut storage, &generate);
    let spki = public_key(&call(&mut device(&mut storage), &generate));
    fails_cleanly(&mut storage, &get_csr("dev-s", "dev-s"));
    csr(&call(&mut device(&mut storage), &get_csr("dev-s", "dev-s")));
    let chain = ca.issue(&spki, "dev-s");
    let slices = as_slices(&chain);
    let install = install(&slices, "dev-s");
    fails_cleanly(&mut storage, &install);
    expect_ok(&call(&mut device(&mut storage), &install));
    let verify = Request::Verify { nonce: &[1; 16] };
    fails_cleanly(&mut storage, &verify);
    signature(&call(&mut device(&mut storage), &verify));
    fails_cleanly(&mut storage, &Request::Lock);
    fails_cleanly(&mut storage, &Request::FactoryReset);
    expect_ok(&call(&mut device(&mut storage), &Request::Lock));
}

#[test]
fn unreadable_or_corrupt_storage_is_reported_at_boot() {
    let mut storage = MemStorage::new();
    storage.fail_reads(true);
    let err = hallmark_device::Device::new(
        identity(),
        hallmark_device::SoftKey::new(TestRng(1)),
        &mut storage,
    )
    .unwrap_err();
    assert!(matches!(err, DeviceError::Storage(_)));
    storage.fail_reads(false);
    storage.insert(persist::RECORD_PROVISIONING, &[1, 9]);
    let err = hallmark_device::Device::new(
        identity(),
        hallmark_device::SoftKey::new(TestRng(1)),
        &mut storage,
    )
    .unwrap_err();
    assert!(matches!(err, DeviceError::Corrupt(_)));
    storage.insert(persist::RECORD_PROVISIONING, &[1, 0, 0, 0, 0, 0, 0, 0]);
    storage.insert(persist::RECORD_LOCK, &[7]);
    assert!(
        hallmark_device::Device::new(
            identity(),
            hallmark_device::SoftKey::new(TestRng(1)),
            &mut storage
        )
        .is_err()
    );
    let mut long = identity();
    long.model = "m".repeat(65);
    let mut fresh = MemStorage::new();
    assert!(
        hallmark_device::Device::new(long, hallmark_device::SoftKey::new(TestRng(1)), &mut fresh)
            .is_err()
    );
}
