//! Logging in: a PIN the token did not check is never accepted.
//!
//! PKCS#11 login state is per process and token: while *anything* in the
//! process is logged in, `C_Login` answers `CKR_USER_ALREADY_LOGGED_IN`
//! without looking at the PIN. The store's cache of logged-in tokens is
//! keyed by module path, so a login through another path to the same module
//! (a proxy such as OpenSC's pkcs11-spy) or by another component is
//! invisible to it: such an open must be refused, not taken as proof of the
//! PIN.

use cryptoki::session::UserType;
use cryptoki::types::AuthPin;
use hallmark_keys::{KeyError, KeyStore, Pkcs11Config, Pkcs11KeyStore};
use hallmark_pki::KeyAlgorithm;
use zeroize::Zeroizing;

use crate::harness::{Pkcs11Harness, assert_signs, other_component};

const WRONG_PIN: &str = "99999999";

fn open(config: Pkcs11Config, pin: &str) -> Result<Pkcs11KeyStore, KeyError> {
    Pkcs11KeyStore::open(Pkcs11Config {
        pin: Zeroizing::new(pin.to_owned()),
        ..config
    })
}

fn assert_unverifiable(h: &Pkcs11Harness, result: Result<Pkcs11KeyStore, KeyError>) {
    let err = result.expect_err("a PIN the token did not check was accepted");
    match &err {
        KeyError::PinUnverifiable { token } => assert_eq!(token, h.hsm.token_label()),
        other => panic!("expected PinUnverifiable, got {other:?}"),
    }
    let text = format!("{err} {err:?}");
    assert!(text.contains("already logged in"), "{text}");
    assert!(
        !text.contains(WRONG_PIN) && !text.contains(h.hsm.pin().as_str()),
        "{text}"
    );
}

/// Another component of the process logged in with its own context on the
/// same module: C_Login does not check our PIN, so the store refuses it,
/// wrong or right. Once that login ends, PINs are checked again.
#[test]
fn pin_refused_while_another_component_is_logged_in() {
    let h = Pkcs11Harness::new();
    let other = other_component(&h.hsm, h.hsm.module_path());
    other
        .login(UserType::User, Some(&AuthPin::from(h.hsm.pin().as_str())))
        .unwrap();

    assert_unverifiable(&h, open(h.config(), WRONG_PIN));
    assert_unverifiable(&h, open(h.config(), h.hsm.pin().as_str()));

    // Its last session closes: the process is logged out.
    drop(other);
    let err = open(h.config(), WRONG_PIN).unwrap_err();
    assert!(matches!(err, KeyError::WrongPin { .. }), "{err:?}");
    let store = h.store();
    let uri = store.generate("ca", KeyAlgorithm::EcdsaP256).unwrap();
    assert_signs(store.signer(&uri).unwrap().as_ref(), b"checked PIN");
}

/// The reviewer's reproduction: the same SoftHSM2 instance reached through
/// OpenSC's pkcs11-spy.so (another path, so another cache entry) while a
/// store on the real path is logged in. The wrong PIN used to be accepted,
/// cached as "the PIN that worked", and the right one refused after.
#[test]
fn pin_refused_through_a_second_path_to_the_module() {
    let h = Pkcs11Harness::new();
    let spy = h.hsm.spy_module_path();
    let via_spy = || Pkcs11Config {
        module: spy.clone(),
        ..h.config()
    };

    let direct = h.store();
    let uri = direct.generate("ca", KeyAlgorithm::EcdsaP256).unwrap();
    assert_unverifiable(&h, open(via_spy(), WRONG_PIN));
    // Nothing was cached: the right PIN gets the same answer, not WrongPin.
    assert_unverifiable(&h, open(via_spy(), h.hsm.pin().as_str()));

    // Once the direct store is gone, PINs are checked through the spy.
    drop(direct);
    let err = open(via_spy(), WRONG_PIN).unwrap_err();
    assert!(matches!(err, KeyError::WrongPin { .. }), "{err:?}");
    let spied = open(via_spy(), h.hsm.pin().as_str()).unwrap();
    assert_signs(spied.signer(&uri).unwrap().as_ref(), b"through the spy");
    // And now the direct path is the one that cannot check.
    assert_unverifiable(&h, open(h.config(), WRONG_PIN));
}

/// Dropping the last store ends the login; the next open checks the PIN.
#[test]
fn pin_checked_again_after_the_last_store_is_dropped() {
    let h = Pkcs11Harness::new();
    let store = h.store();
    let clone = store.clone();
    drop(store);
    // A clone keeps the token: the PIN is compared with the verified one.
    let err = open(h.config(), WRONG_PIN).unwrap_err();
    assert!(matches!(err, KeyError::WrongPin { .. }), "{err:?}");
    drop(clone);
    let err = open(h.config(), WRONG_PIN).unwrap_err();
    assert!(matches!(err, KeyError::WrongPin { .. }), "{err:?}");
    h.store();
}

/// Stores opened and dropped concurrently: a store dropped by one thread
/// while another opens the token must have closed its sessions (ended its
/// login) first, or the open would meet a login it cannot check
/// (PinUnverifiable). A stress test: the window is narrow, so without the
/// fix it fails reliably only when the token's Drop is slowed down.
#[test]
fn concurrent_open_and_drop_never_meet_a_stale_login() {
    let h = Pkcs11Harness::new();
    let uri = h.store().generate("ca", KeyAlgorithm::EcdsaP256).unwrap();
    std::thread::scope(|scope| {
        for t in 0..4 {
            let (h, uri) = (&h, &uri);
            scope.spawn(move || {
                for i in 0..100 {
                    let store = Pkcs11KeyStore::open(h.config())
                        .unwrap_or_else(|e| panic!("thread {t} round {i}: {e:?}"));
                    let signer = store.signer(uri).unwrap();
                    signer.sign(b"x").unwrap();
                    drop((store, signer));
                }
            });
        }
    });
}
