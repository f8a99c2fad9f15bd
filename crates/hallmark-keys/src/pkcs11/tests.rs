//! Pool and generation internals on SoftHSM2 (one process per test under
//! cargo-nextest, so each test owns its module and token).

use std::num::NonZeroUsize;

use cryptoki::object::Attribute;
use cryptoki::session::SessionState;
use hallmark_pki::KeyAlgorithm;
use hallmark_testkit::softhsm::SoftHsm;

use super::session::Access;
use super::{Pkcs11Config, Pkcs11KeyStore, Pkcs11Options};
use crate::encoding::Curve;
use crate::{KeyError, KeyStore, KeyUri};

fn open(hsm: &SoftHsm, max_sessions: usize) -> Pkcs11KeyStore {
    let options = Pkcs11Options::default()
        .with_max_sessions(NonZeroUsize::new(max_sessions).expect("non-zero"));
    Pkcs11KeyStore::open_with(
        Pkcs11Config {
            module: hsm.module_path().to_owned(),
            token_label: hsm.token_label().to_owned(),
            pin: hsm.pin(),
        },
        options,
    )
    .unwrap()
}

/// Objects on the token carrying `id`.
fn objects_with_id(store: &Pkcs11KeyStore, id: &[u8]) -> usize {
    store
        .token
        .with_session(Access::ReadOnly, |s| {
            s.find_objects(&[Attribute::Id(id.to_vec())])
                .map_err(store.token.p11("C_FindObjects"))
        })
        .unwrap()
        .len()
}

#[test]
fn default_cap_is_16() {
    let hsm = SoftHsm::new();
    let store = Pkcs11KeyStore::open(Pkcs11Config {
        module: hsm.module_path().to_owned(),
        token_label: hsm.token_label().to_owned(),
        pin: hsm.pin(),
    })
    .unwrap();
    assert_eq!(store.token.pool.max(), 16);
}

/// 8 threads share a pool capped at 2: none fails, never more than 2
/// sessions are open.
#[test]
fn open_sessions_are_capped_and_excess_callers_wait() {
    let hsm = SoftHsm::new();
    let store = open(&hsm, 2);
    let uri = store.generate("ca", KeyAlgorithm::EcdsaP256).unwrap();
    let signer = store.signer(&uri).unwrap();
    std::thread::scope(|scope| {
        for t in 0..8 {
            let signer = &signer;
            scope.spawn(move || {
                for i in 0..25 {
                    signer.sign(format!("{t}/{i}").as_bytes()).unwrap();
                }
            });
        }
    });
    assert_eq!(store.token.pool.max(), 2);
    let peak = store.token.pool.peak();
    assert!((1..=2).contains(&peak), "peak {peak}");
}

/// Lookups and signing use read-only sessions; only generation opens a
/// read-write one.
#[test]
fn signing_uses_read_only_sessions() {
    let hsm = SoftHsm::new();
    let store = open(&hsm, 16);
    let uri = store.generate("ca", KeyAlgorithm::EcdsaP384).unwrap();
    let (ro, rw) = store.token.pool.free_states();
    assert_eq!(rw, [SessionState::RwUser], "generation: {rw:?}");
    assert!(ro.iter().all(|s| *s == SessionState::RoUser), "{ro:?}");

    let signer = store.signer(&uri).unwrap();
    std::thread::scope(|scope| {
        for t in 0..6 {
            let signer = &signer;
            scope.spawn(move || {
                for i in 0..20 {
                    signer.sign(format!("{t}/{i}").as_bytes()).unwrap();
                }
            });
        }
    });
    let (ro, rw) = store.token.pool.free_states();
    assert_eq!(rw.len(), 1, "signing opened read-write sessions: {rw:?}");
    assert!(!ro.is_empty());
    assert!(ro.iter().all(|s| *s == SessionState::RoUser), "{ro:?}");
}

/// Another process generated the same label at the same moment (its pair
/// exists when ours is checked): the new pair is destroyed, the label
/// refused, and the other key left alone.
#[test]
fn pair_sharing_its_label_with_another_private_key_is_destroyed() {
    let hsm = SoftHsm::new();
    let store = open(&hsm, 16);
    let uri = store.generate("ca", KeyAlgorithm::EcdsaP256).unwrap();
    let spki = store.signer(&uri).unwrap().public_key_der().to_vec();

    // Our racing pair: created past the (in-process) label check.
    let id = [0x5a; 16];
    let token = &store.token;
    token.create_pair(&uri, Curve::P256, b"ca", &id).unwrap();
    assert_eq!(objects_with_id(&store, &id), 2);
    match token.keep_if_unique(uri.clone(), b"ca", &id) {
        Err(KeyError::AlreadyExists { uri: existing }) => assert_eq!(existing, uri),
        other => panic!("expected AlreadyExists, got {other:?}"),
    }
    assert_eq!(objects_with_id(&store, &id), 0, "our pair survived");
    // The other key is intact and no longer ambiguous.
    assert_eq!(store.signer(&uri).unwrap().public_key_der(), spki);
}

/// With one private key on the label, the new pair is kept.
#[test]
fn pair_with_a_unique_label_is_kept() {
    let hsm = SoftHsm::new();
    let store = open(&hsm, 16);
    let uri = KeyUri::pkcs11_private_key(hsm.token_label(), "solo");
    let id = [0x11; 16];
    store
        .token
        .create_pair(&uri, Curve::P384, b"solo", &id)
        .unwrap();
    assert_eq!(
        store
            .token
            .keep_if_unique(uri.clone(), b"solo", &id)
            .unwrap(),
        uri
    );
    assert_eq!(objects_with_id(&store, &id), 2);
    assert_eq!(
        store.signer(&uri).unwrap().algorithm(),
        KeyAlgorithm::EcdsaP384
    );
}
