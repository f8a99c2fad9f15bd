//! Checks only the PKCS#11 backend has.

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::object::{Attribute, AttributeInfo, AttributeType, ObjectClass};
use cryptoki::session::UserType;
use cryptoki::types::AuthPin;
use hallmark_keys::{KeyAttributes, KeyError, KeyStore, Pkcs11Config, Pkcs11KeyStore};
use hallmark_pki::KeyAlgorithm;
use hallmark_testkit::softhsm::SoftHsm;
use zeroize::Zeroizing;

use crate::harness::{Pkcs11Harness, assert_signs};

#[test]
fn generated_uri_form() {
    let h = Pkcs11Harness::new();
    let uri = h
        .store()
        .generate("root-ca", KeyAlgorithm::EcdsaP256)
        .unwrap();
    assert_eq!(
        uri.to_string(),
        format!(
            "pkcs11:token={};object=root-ca;type=private",
            h.hsm.token_label()
        )
    );
}

#[test]
fn wrong_pin() {
    let h = Pkcs11Harness::new();
    let wrong = "99999999";
    let err = Pkcs11KeyStore::open(Pkcs11Config {
        pin: Zeroizing::new(wrong.to_owned()),
        ..h.config()
    })
    .unwrap_err();
    match &err {
        KeyError::WrongPin { token, .. } => assert_eq!(token, h.hsm.token_label()),
        other => panic!("expected WrongPin, got {other:?}"),
    }
    let text = format!("{err} {err:?}");
    assert!(
        !text.contains(wrong) && !text.contains(h.hsm.pin().as_str()),
        "{text}"
    );
    // The right PIN still works afterwards.
    h.store();
}

/// PKCS#11 login state is per process: while one store is logged in,
/// `C_Login` answers `CKR_USER_ALREADY_LOGGED_IN` without checking the
/// PIN. A second store with a wrong PIN must still be refused.
#[test]
fn wrong_pin_while_another_store_is_logged_in() {
    let h = Pkcs11Harness::new();
    let first = h.store();
    let err = Pkcs11KeyStore::open(Pkcs11Config {
        pin: Zeroizing::new("99999999".to_owned()),
        ..h.config()
    })
    .unwrap_err();
    assert!(matches!(err, KeyError::WrongPin { .. }), "{err:?}");
    // The right PIN shares the logged-in token.
    let second = h.store();
    let uri = first.generate("ca", KeyAlgorithm::EcdsaP256).unwrap();
    assert_signs(second.signer(&uri).unwrap().as_ref(), b"shared login");
}

#[test]
fn missing_token_label() {
    let h = Pkcs11Harness::new();
    let err = Pkcs11KeyStore::open(Pkcs11Config {
        token_label: "no-such-token".into(),
        ..h.config()
    })
    .unwrap_err();
    match &err {
        KeyError::TokenNotFound { label, available } => {
            assert_eq!(label, "no-such-token");
            assert!(
                available.iter().any(|l| l == h.hsm.token_label()),
                "{available:?}"
            );
        }
        other => panic!("expected TokenNotFound, got {other:?}"),
    }
    let msg = err.to_string();
    assert!(
        msg.contains("no-such-token") && msg.contains(h.hsm.token_label()),
        "{msg}"
    );
}

#[test]
fn missing_module_path() {
    let h = Pkcs11Harness::new();
    let module = std::path::PathBuf::from("/nonexistent/libnothing.so");
    let err = Pkcs11KeyStore::open(Pkcs11Config {
        module: module.clone(),
        ..h.config()
    })
    .unwrap_err();
    match &err {
        KeyError::ModuleLoad { path, .. } => assert_eq!(path, &module),
        other => panic!("expected ModuleLoad, got {other:?}"),
    }
    assert!(err.to_string().contains("/nonexistent/libnothing.so"));
}

#[test]
fn module_that_is_not_a_library() {
    let h = Pkcs11Harness::new();
    let err = Pkcs11KeyStore::open(Pkcs11Config {
        module: h.hsm.conf_path().to_owned(),
        ..h.config()
    })
    .unwrap_err();
    assert!(matches!(err, KeyError::ModuleLoad { .. }), "{err:?}");
}

/// Issue requirement: CA keys on a token are sensitive and have never
/// been extractable.
#[test]
fn generated_keys_are_sensitive_and_never_extractable() {
    let h = Pkcs11Harness::new();
    let store = h.store();
    for (label, alg) in [
        ("p256", KeyAlgorithm::EcdsaP256),
        ("p384", KeyAlgorithm::EcdsaP384),
    ] {
        let uri = store.generate(label, alg).unwrap();
        let p = store.protection(&uri).unwrap();
        assert!(p.sensitive, "{label}: {p:?}");
        assert!(!p.extractable, "{label}: {p:?}");
        assert!(p.never_extractable, "{label}: {p:?}");
        assert!(p.always_sensitive, "{label}: {p:?}");
    }
}

/// Asks the token directly (raw cryptoki, not through the store) for
/// `CKA_VALUE` of the private key: the token must refuse.
#[test]
fn private_value_cannot_be_read() {
    let h = Pkcs11Harness::new();
    let store = h.store();
    store.generate("ca", KeyAlgorithm::EcdsaP256).unwrap();

    let ctx = Pkcs11::new(h.hsm.module_path()).unwrap();
    match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(())
        | Err(cryptoki::error::Error::Pkcs11(
            cryptoki::error::RvError::CryptokiAlreadyInitialized,
            _,
        )) => {}
        Err(e) => panic!("{e}"),
    }
    let slot = ctx
        .get_slots_with_token()
        .unwrap()
        .into_iter()
        .find(|s| ctx.get_token_info(*s).unwrap().label() == h.hsm.token_label())
        .unwrap();
    let session = ctx.open_ro_session(slot).unwrap();
    match session.login(UserType::User, Some(&AuthPin::from(h.hsm.pin().as_str()))) {
        Ok(())
        | Err(cryptoki::error::Error::Pkcs11(cryptoki::error::RvError::UserAlreadyLoggedIn, _)) => {
        }
        Err(e) => panic!("{e}"),
    }
    let keys = session
        .find_objects(&[
            Attribute::Class(ObjectClass::PRIVATE_KEY),
            Attribute::Label(b"ca".to_vec()),
        ])
        .unwrap();
    assert_eq!(keys.len(), 1);
    let info = session
        .get_attribute_info(keys[0], &[AttributeType::Value])
        .unwrap();
    assert!(matches!(info[..], [AttributeInfo::Sensitive]), "{info:?}");
    let values = session
        .get_attributes(keys[0], &[AttributeType::Value])
        .unwrap();
    assert!(values.is_empty(), "CKA_VALUE was returned");
}

/// Two tokens in one process share the module (one `C_Initialize`), and
/// a key of one is not found through the other.
#[test]
fn two_tokens_in_one_process() {
    // Both tokens exist before the module is initialized (SoftHSM2 scans
    // its token directory at C_Initialize).
    let a = Pkcs11Harness::new();
    let b = Pkcs11Harness::new();
    let store_a = a.store();
    let store_b = b.store();
    let uri_a = store_a.generate("ca", KeyAlgorithm::EcdsaP256).unwrap();
    let uri_b = store_b.generate("ca", KeyAlgorithm::EcdsaP256).unwrap();
    assert_ne!(uri_a, uri_b);
    let err = store_b.signer(&uri_a).unwrap_err();
    assert!(matches!(err, KeyError::ForeignUri { .. }), "{err:?}");
    assert_ne!(
        store_a.signer(&uri_a).unwrap().public_key_der(),
        store_b.signer(&uri_b).unwrap().public_key_der()
    );
}

/// SoftHSM2 reads its token directory at `C_Initialize`: a token made
/// afterwards is invisible to this process, so the fixture refuses to
/// make one (rather than letting the test fail with TokenNotFound).
#[test]
#[should_panic(expected = "Create every SoftHsm before opening")]
fn fixture_refuses_tokens_after_the_module_is_loaded() {
    let a = Pkcs11Harness::new();
    let _store = a.store();
    let _too_late = SoftHsm::new();
}
// Keys surviving a new process (a fresh C_Initialize) is covered end to end
// by crates/hallmark/tests/pkcs11_keys.rs: `init` makes the keys in one
// process, `issue` signs with them in another.
