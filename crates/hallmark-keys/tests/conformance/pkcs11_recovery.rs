//! Losing the login, stale handles, mismatched halves, a tight session cap.
//!
//! `C_Logout` by another component of the process logs every session out
//! (login state is per process), as an HSM restart would, and SoftHSM2
//! forgets the handles of private objects on logout.

use std::num::NonZeroUsize;

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::Session;
use hallmark_keys::{KeyAttributes, KeyError, KeyStore, KeyUri, Pkcs11KeyStore, Pkcs11Options};
use hallmark_pki::KeyAlgorithm;

use crate::harness::{Pkcs11Harness, assert_signs, other_component};

/// The one object of `class` labelled `label`.
fn object(s: &Session, class: ObjectClass, label: &str) -> ObjectHandle {
    let found = s
        .find_objects(&[
            Attribute::Class(class),
            Attribute::Label(label.as_bytes().to_vec()),
        ])
        .unwrap();
    assert_eq!(found.len(), 1, "{label}");
    found[0]
}

fn id_of(s: &Session, object: ObjectHandle) -> Vec<u8> {
    match &s.get_attributes(object, &[AttributeType::Id]).unwrap()[..] {
        [Attribute::Id(id)] => id.clone(),
        other => panic!("{other:?}"),
    }
}

/// The KeyError inside a signing failure.
fn key_error(err: &hallmark_pki::SignError) -> &KeyError {
    err.0.downcast_ref::<KeyError>().expect("a KeyError")
}

/// The signer's cached key handle dies with the login; it is looked up
/// again (after logging back in) and signing goes on with the same key.
#[test]
fn signer_survives_a_lost_login() {
    let h = Pkcs11Harness::new();
    let store = h.store();
    let other = other_component(&h.hsm, h.hsm.module_path());
    let uri = store.generate("ca", KeyAlgorithm::EcdsaP256).unwrap();
    let signer = store.signer(&uri).unwrap();
    let spki = signer.public_key_der().to_vec();
    assert_signs(signer.as_ref(), b"before");
    for round in 0..3 {
        other.logout().unwrap();
        assert_signs(signer.as_ref(), format!("after logout {round}").as_bytes());
        assert_signs(signer.as_ref(), b"again");
    }
    assert_eq!(signer.public_key_der(), spki);
}

/// The module restarts under the store (another component of the process
/// calls `C_Finalize` and `C_Initialize`, as an HSM restart would): every
/// session, the login and all object handles are gone. Broken sessions are
/// replaced, the login restored and the key found again.
#[test]
fn store_survives_a_module_restart() {
    let h = Pkcs11Harness::new();
    let store = h.store();
    let uri = store.generate("ca", KeyAlgorithm::EcdsaP256).unwrap();
    let signer = store.signer(&uri).unwrap();
    // Several idle sessions in the pool, all to be lost.
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| assert_signs(signer.as_ref(), b"warm up"));
        }
    });
    for round in 0..2 {
        restart_module(&h);
        assert_signs(signer.as_ref(), format!("after restart {round}").as_bytes());
        assert!(store.protection(&uri).unwrap().sensitive);
        let label = format!("after-restart-{round}");
        let new = store.generate(&label, KeyAlgorithm::EcdsaP384).unwrap();
        assert_signs(store.signer(&new).unwrap().as_ref(), b"new key");
    }
}

/// After a restart the token numbers objects afresh: a signer's old handle
/// may now name another private key. The signer must notice the lost login
/// and look its key up again rather than sign with that key.
#[test]
fn signer_never_signs_with_a_reassigned_handle() {
    let h = Pkcs11Harness::new();
    let store = h.store();
    let a = store.generate("a", KeyAlgorithm::EcdsaP256).unwrap();
    let others: Vec<KeyUri> = (0..10)
        .map(|i| {
            store
                .generate(&format!("k{i}"), KeyAlgorithm::EcdsaP256)
                .unwrap()
        })
        .collect();
    let signer_a = store.signer(&a).unwrap();
    restart_module(&h);
    // SoftHSM2 hands out handles from 1 again, in lookup order: the other
    // private keys now hold the small numbers, `a`'s old one among them.
    for uri in &others {
        store.protection(uri).unwrap();
    }
    assert_signs(signer_a.as_ref(), b"a, not another key");
}

fn restart_module(h: &Pkcs11Harness) {
    Pkcs11::new(h.hsm.module_path())
        .unwrap()
        .finalize()
        .unwrap();
    Pkcs11::new(h.hsm.module_path())
        .unwrap()
        .initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK))
        .unwrap();
}

/// A key deleted behind the signer's back is NotFound; a new key under the
/// same label is not silently signed with.
#[test]
fn signer_refuses_a_deleted_or_replaced_key() {
    let h = Pkcs11Harness::new();
    let store = h.store();
    let other = other_component(&h.hsm, h.hsm.module_path());
    let uri = store.generate("ca", KeyAlgorithm::EcdsaP256).unwrap();
    let signer = store.signer(&uri).unwrap();
    for class in [ObjectClass::PRIVATE_KEY, ObjectClass::PUBLIC_KEY] {
        other.destroy_object(object(&other, class, "ca")).unwrap();
    }
    let err = signer.sign(b"deleted").unwrap_err();
    assert!(
        matches!(key_error(&err), KeyError::NotFound { uri: u } if *u == uri),
        "{err:?}"
    );

    store.generate("ca", KeyAlgorithm::EcdsaP256).unwrap();
    let err = signer.sign(b"replaced").unwrap_err();
    assert!(
        matches!(key_error(&err), KeyError::KeyReplaced { uri: u } if *u == uri),
        "{err:?}"
    );
    // A new signer takes the new key.
    assert_signs(store.signer(&uri).unwrap().as_ref(), b"new key");
}

/// Opening signers, reading protection and generating restore a lost
/// login too (private objects are invisible to a logged-out session).
#[test]
fn every_operation_restores_a_lost_login() {
    let h = Pkcs11Harness::new();
    let store = h.store();
    let other = other_component(&h.hsm, h.hsm.module_path());
    let uri = store.generate("a", KeyAlgorithm::EcdsaP256).unwrap();

    other.logout().unwrap();
    assert_signs(store.signer(&uri).unwrap().as_ref(), b"signer");

    other.logout().unwrap();
    assert!(store.protection(&uri).unwrap().sensitive);

    other.logout().unwrap();
    let b = store.generate("b", KeyAlgorithm::EcdsaP384).unwrap();
    assert_signs(store.signer(&b).unwrap().as_ref(), b"generated");

    other.logout().unwrap();
    let err = store.generate("a", KeyAlgorithm::EcdsaP256).unwrap_err();
    assert!(matches!(err, KeyError::AlreadyExists { .. }), "{err:?}");
}

/// The public key object sharing the private key's CKA_ID is another key's:
/// the signer is refused rather than publishing the wrong public key.
#[test]
fn mismatched_public_key_refused() {
    let h = Pkcs11Harness::new();
    let store = h.store();
    let other = other_component(&h.hsm, h.hsm.module_path());
    let a = store.generate("a", KeyAlgorithm::EcdsaP256).unwrap();
    let b = store.generate("b", KeyAlgorithm::EcdsaP256).unwrap();
    let (pub_a, pub_b) = (
        object(&other, ObjectClass::PUBLIC_KEY, "a"),
        object(&other, ObjectClass::PUBLIC_KEY, "b"),
    );
    let (id_a, id_b) = (id_of(&other, pub_a), id_of(&other, pub_b));
    other
        .update_attributes(pub_a, &[Attribute::Id(id_b)])
        .unwrap();
    other
        .update_attributes(pub_b, &[Attribute::Id(id_a)])
        .unwrap();

    for uri in [&a, &b] {
        let err = store.signer(uri).unwrap_err();
        match &err {
            KeyError::KeyPairMismatch { uri: u } => assert_eq!(u, uri),
            other => panic!("expected KeyPairMismatch, got {other:?}"),
        }
        assert!(err.to_string().contains("does not belong"), "{err}");
    }
}

/// A public key object whose point is not on the curve is refused with a
/// clear error.
#[test]
fn public_point_off_the_curve_refused() {
    let h = Pkcs11Harness::new();
    let store = h.store();
    let other = other_component(&h.hsm, h.hsm.module_path());
    let uri = store.generate("ca", KeyAlgorithm::EcdsaP256).unwrap();
    let public = object(&other, ObjectClass::PUBLIC_KEY, "ca");
    let id = id_of(&other, public);
    let params = match &other
        .get_attributes(public, &[AttributeType::EcParams])
        .unwrap()[..]
    {
        [Attribute::EcParams(p)] => p.clone(),
        other => panic!("{other:?}"),
    };
    other.destroy_object(public).unwrap();
    // DER OCTET STRING of an uncompressed "point" (1, 1) — not on P-256.
    let mut point = vec![0x04, 0x41, 0x04];
    point.extend([0u8; 31]);
    point.push(1);
    point.extend([0u8; 31]);
    point.push(1);
    other
        .create_object(&[
            Attribute::Class(ObjectClass::PUBLIC_KEY),
            Attribute::KeyType(KeyType::EC),
            Attribute::Token(true),
            Attribute::Label(b"ca".to_vec()),
            Attribute::Id(id),
            Attribute::EcParams(params),
            Attribute::EcPoint(point),
        ])
        .unwrap();

    let err = store.signer(&uri).unwrap_err();
    match &err {
        KeyError::PublicKeyRejected { uri: u, .. } => assert_eq!(*u, uri),
        other => panic!("expected PublicKeyRejected, got {other:?}"),
    }
    assert!(err.to_string().contains("not a valid point"), "{err}");
}

/// With a single session allowed, every operation still works (none holds
/// two sessions at once) and concurrent signers take turns.
#[test]
fn one_session_is_enough() {
    let h = Pkcs11Harness::new();
    let options = Pkcs11Options::default().with_max_sessions(NonZeroUsize::MIN);
    let store = Pkcs11KeyStore::open_with(h.config(), options).unwrap();
    let uri = store.generate("ca", KeyAlgorithm::EcdsaP384).unwrap();
    let signer = store.signer(&uri).unwrap();
    assert!(store.protection(&uri).unwrap().sensitive);
    std::thread::scope(|scope| {
        for t in 0..6 {
            let (signer, store) = (&signer, &store);
            scope.spawn(move || {
                for i in 0..10 {
                    assert_signs(signer.as_ref(), format!("{t}/{i}").as_bytes());
                    if i == 5 {
                        let label = format!("k{t}");
                        let uri: KeyUri = store.generate(&label, KeyAlgorithm::EcdsaP256).unwrap();
                        store.signer(&uri).unwrap();
                    }
                }
            });
        }
    });
}
