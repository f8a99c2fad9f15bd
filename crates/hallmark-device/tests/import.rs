#![allow(clippy::unwrap_used, clippy::expect_used)]
//! IMPORT_KEY: a station-made key is installed, used for the CSR and
//! VERIFY, and survives a reboot; it is refused once a key exists, after
//! LOCK, on a backend without import power, and with a wrong length.

mod common;

use common::*;
use hallmark_device::protocol::{
    DeviceState, ErrorCode, KeyAlgorithm, MessageType, PrivateKey, Request,
};
use hallmark_device::{Device, DeviceError, DeviceKey, GeneratedKey, KeyRef, MemStorage, SoftKey};
use p256::pkcs8::EncodePublicKey;

const NONCE: Request<'static> = Request::Verify { nonce: &[0x42; 32] };

/// A fixed P-256 scalar and its SPKI, as the station would make them.
fn station_key() -> (Vec<u8>, Vec<u8>) {
    let scalar = [0x3Cu8; 32];
    let key = p256::ecdsa::SigningKey::from_slice(&scalar).unwrap();
    let spki = key.verifying_key().to_public_key_der().unwrap().into_vec();
    (scalar.to_vec(), spki)
}

fn import(scalar: &[u8]) -> Request<'_> {
    Request::ImportKey {
        algorithm: KeyAlgorithm::P256,
        private_key: PrivateKey::new(scalar),
    }
}

#[test]
fn an_imported_key_is_the_device_key_from_csr_to_lock() {
    let ca = TestCa::new();
    let (scalar, spki) = station_key();
    let mut storage = MemStorage::new();
    let mut d = device(&mut storage);
    assert_eq!(public_key(&call(&mut d, &import(&scalar))), spki);
    assert_eq!(hello(&mut d), DeviceState::KeyGenerated);
    assert_eq!(d.key_algorithm(), Some(KeyAlgorithm::P256));
    // A repeat finds the key: KEY_EXISTS, and GENERATE_KEY reads it back.
    expect_error(&call(&mut d, &import(&scalar)), ErrorCode::KeyExists);
    let generate = Request::GenerateKey {
        algorithm: KeyAlgorithm::P256,
    };
    assert_eq!(public_key(&call(&mut d, &generate)), spki);
    drop(d);

    // After a reboot: same key; the CSR is signed with it.
    let mut d = device(&mut storage);
    let der = csr(&call(&mut d, &get_csr("dev-i", "dev-i")));
    let verified = hallmark_pki::VerifiedCsr::from_der(&der).unwrap();
    assert_eq!(verified.public_key().spki_der(), spki.as_slice());
    let chain = ca.issue(&spki, "dev-i");
    expect_ok(&call(&mut d, &install(&as_slices(&chain), "dev-i")));
    let signature = signature(&call(&mut d, &NONCE));
    let message = hallmark_device::verify_message(&[0x42; 32], &chain[0]).unwrap();
    let verifying = p256::ecdsa::VerifyingKey::from_sec1_bytes(
        p256::ecdsa::SigningKey::from_slice(&scalar)
            .unwrap()
            .verifying_key()
            .to_sec1_point(false)
            .as_bytes(),
    )
    .unwrap();
    use p256::ecdsa::signature::Verifier;
    let signature = p256::ecdsa::DerSignature::try_from(signature.as_slice()).unwrap();
    verifying.verify(&message, &signature).unwrap();
    expect_ok(&call(&mut d, &Request::Lock));

    // After LOCK: refused like every manufacturing command, whatever the payload.
    expect_error(&call(&mut d, &import(&scalar)), ErrorCode::Locked);
    expect_error(
        &d.handle(1, MessageType::ImportKey.code(), &[1, 3, 0, 0, 0]),
        ErrorCode::Locked,
    );
}

#[test]
fn import_is_refused_once_a_generated_key_exists() {
    let (scalar, _) = station_key();
    let mut d = device(MemStorage::new());
    let generated = public_key(&call(
        &mut d,
        &Request::GenerateKey {
            algorithm: KeyAlgorithm::P256,
        },
    ));
    let reply = call(&mut d, &import(&scalar));
    expect_error(&reply, ErrorCode::KeyExists);
    assert!(reply.error_message().unwrap().contains("FACTORY_RESET"));
    // Nothing changed: the generated key is still the key.
    let again = call(
        &mut d,
        &Request::GenerateKey {
            algorithm: KeyAlgorithm::P256,
        },
    );
    assert_eq!(public_key(&again), generated);
    // After FACTORY_RESET the import is accepted.
    expect_ok(&call(&mut d, &Request::FactoryReset));
    assert_eq!(public_key(&call(&mut d, &import(&scalar))), station_key().1);
}

#[test]
fn wrong_lengths_and_invalid_scalars_are_bad_requests_that_change_nothing() {
    let mut d = device(MemStorage::new());
    // A P-384 key of 32 bytes, hand-encoded (the encoder refuses it).
    let mut payload = vec![KeyAlgorithm::P384.code(), 32];
    payload.extend_from_slice(&[0x3C; 32]);
    let reply = d.handle(1, MessageType::ImportKey.code(), &payload);
    expect_error(&reply, ErrorCode::BadRequest);
    assert_eq!(
        reply.error_message().unwrap(),
        "private_key is 32 bytes; this algorithm's private key is 48"
    );
    // Zero, and the all-ones value (above the order), are not keys.
    for scalar in [[0u8; 32], [0xFF; 32]] {
        let reply = call(&mut d, &import(&scalar));
        expect_error(&reply, ErrorCode::BadRequest);
        assert!(
            reply.error_message().unwrap().contains("not a private key"),
            "{:?}",
            reply.error_message()
        );
    }
    assert_eq!(hello(&mut d), DeviceState::FactoryNew);
    assert_eq!(d.key_algorithm(), None);
    assert_eq!(d.storage().writes(), 0, "nothing was written");
    // A valid P-384 key is accepted.
    let scalar = [0x11u8; 48];
    let reply = call(
        &mut d,
        &Request::ImportKey {
            algorithm: KeyAlgorithm::P384,
            private_key: PrivateKey::new(&scalar),
        },
    );
    assert_eq!(public_key(&reply).len(), 120);
    assert_eq!(d.key_algorithm(), Some(KeyAlgorithm::P384));
}

/// A key backend that can generate but not import (a typical secure element).
#[derive(Debug)]
struct NoImport(SoftKey<TestRng>);

impl DeviceKey for NoImport {
    fn generate(&mut self, algorithm: KeyAlgorithm) -> Result<GeneratedKey, DeviceError> {
        self.0.generate(algorithm)
    }
    fn public_key(&mut self, key: KeyRef<'_>) -> Result<Vec<u8>, DeviceError> {
        self.0.public_key(key)
    }
    fn sign(&mut self, key: KeyRef<'_>, message: &[u8]) -> Result<Vec<u8>, DeviceError> {
        self.0.sign(key, message)
    }
}

#[test]
fn a_backend_without_import_power_answers_import_unsupported() {
    let (scalar, _) = station_key();
    let key = NoImport(SoftKey::new(TestRng(7)));
    let mut d = Device::new(identity(), key, MemStorage::new()).unwrap();
    let mut payload = vec![0u8; import(&scalar).encoded_len().unwrap()];
    import(&scalar).encode(&mut payload).unwrap();
    let reply = d.handle(1, MessageType::ImportKey.code(), &payload);
    expect_error(&reply, ErrorCode::ImportUnsupported);
    assert!(reply.error_message().unwrap().contains("cannot import"));
    assert_eq!(d.state(), DeviceState::FactoryNew);
    assert_eq!(d.storage().writes(), 0);
    // GENERATE_KEY still works.
    let reply = d.handle(1, MessageType::GenerateKey.code(), &[1]);
    assert_eq!(public_key(&reply).len(), 91);
}
