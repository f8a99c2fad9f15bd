//! The checks every backend must pass, and `conformance_tests!`, which
//! makes one `#[test]` per check for a backend.

use std::sync::Arc;

use hallmark_keys::{KeyError, KeyUri, UriError};
use hallmark_pki::{KeyAlgorithm, Signer};

use crate::harness::{Harness, assert_signs, verify};

pub fn generate_sign_verify(h: &dyn Harness, alg: KeyAlgorithm) {
    let store = h.open();
    let label = format!("ca-{}", alg.name());
    if !h.supports(alg) {
        let err = store.generate(&label, alg).unwrap_err();
        assert!(
            matches!(err, KeyError::UnsupportedAlgorithm { alg: a, .. } if a == alg),
            "{err:?}"
        );
        return;
    }
    let uri = store.generate(&label, alg).unwrap();
    assert_eq!(uri, h.uri_for(&label));
    assert_eq!(uri.label(), Some(label.as_str()));
    let signer = store.signer(&uri).unwrap();
    assert_eq!(signer.algorithm(), alg);
    assert_signs(signer.as_ref(), b"to-be-signed certificate");
    assert_signs(signer.as_ref(), b"");
    assert_signs(signer.as_ref(), &vec![0xa5; 100_000]);
}

pub fn rsa_refused(h: &dyn Harness) {
    let store = h.open();
    let alg = KeyAlgorithm::Rsa { bits: 3072 };
    let err = store.generate("rsa-ca", alg).unwrap_err();
    assert!(
        matches!(err, KeyError::UnsupportedAlgorithm { .. }),
        "{err:?}"
    );
    assert!(matches!(
        store.signer(&h.uri_for("rsa-ca")),
        Err(KeyError::NotFound { .. })
    ));
}

pub fn uri_round_trips_through_text(h: &dyn Harness) {
    let store = h.open();
    let uri = store
        .generate("issuing.2026_a-1", KeyAlgorithm::EcdsaP256)
        .unwrap();
    let text = uri.to_string();
    let parsed: KeyUri = text.parse().unwrap();
    assert_eq!(parsed, uri);
    let a = store.signer(&uri).unwrap();
    let b = store.signer(&parsed).unwrap();
    assert_eq!(a.public_key_der(), b.public_key_der());
    assert_signs(b.as_ref(), b"via parsed uri");
}

pub fn public_key_stable_across_reopen(h: &dyn Harness) {
    let store = h.open();
    let uri = store.generate("stable", KeyAlgorithm::EcdsaP384).unwrap();
    let first = store.signer(&uri).unwrap().public_key_der().to_vec();
    let again = store.signer(&uri).unwrap().public_key_der().to_vec();
    assert_eq!(first, again);
    drop(store);
    let reopened = h.open();
    let signer = reopened.signer(&uri).unwrap();
    assert_eq!(signer.public_key_der(), first.as_slice());
    assert_signs(signer.as_ref(), b"after reopen");
}

pub fn duplicate_label_refused(h: &dyn Harness) {
    let store = h.open();
    let uri = store.generate("dup", KeyAlgorithm::EcdsaP256).unwrap();
    let spki = store.signer(&uri).unwrap().public_key_der().to_vec();
    for alg in [KeyAlgorithm::EcdsaP256, KeyAlgorithm::EcdsaP384] {
        match store.generate("dup", alg) {
            Err(KeyError::AlreadyExists { uri: existing }) => assert_eq!(existing, uri),
            other => panic!("duplicate label accepted: {other:?}"),
        }
    }
    // The original key is untouched.
    let signer = h.open().signer(&uri).unwrap();
    assert_eq!(signer.public_key_der(), spki.as_slice());
    assert_eq!(signer.algorithm(), KeyAlgorithm::EcdsaP256);
}

pub fn concurrent_generate_same_label_one_wins(h: &dyn Harness) {
    let store = h.open();
    let store = store.as_ref();
    let results: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..6)
            .map(|_| s.spawn(move || store.generate("race", KeyAlgorithm::EcdsaP256)))
            .collect();
        handles.into_iter().map(|t| t.join().unwrap()).collect()
    });
    let won = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(won, 1, "{results:?}");
    for r in &results {
        assert!(
            matches!(r, Ok(_) | Err(KeyError::AlreadyExists { .. })),
            "{r:?}"
        );
    }
    assert_signs(
        store.signer(&h.uri_for("race")).unwrap().as_ref(),
        b"winner",
    );
}

pub fn unknown_key_not_found(h: &dyn Harness) {
    let store = h.open();
    store.generate("present", KeyAlgorithm::EcdsaP256).unwrap();
    let uri = h.uri_for("absent");
    match store.signer(&uri) {
        Err(KeyError::NotFound { uri: missing }) => assert_eq!(missing, uri),
        other => panic!("expected NotFound, got {other:?}"),
    }
}

pub fn invalid_label_refused(h: &dyn Harness) {
    let store = h.open();
    for bad in ["", "../escape", "a/b", "with space", &"x".repeat(65)] {
        let err = store.generate(bad, KeyAlgorithm::EcdsaP256).unwrap_err();
        assert!(
            matches!(err, KeyError::Uri(UriError::InvalidLabel { .. })),
            "{bad:?}: {err:?}"
        );
    }
}

pub fn foreign_uri_refused(h: &dyn Harness) {
    let store = h.open();
    let err = store.signer(&h.foreign_uri()).unwrap_err();
    assert!(matches!(err, KeyError::ForeignUri { .. }), "{err:?}");
}

pub fn concurrent_signing(h: &dyn Harness) {
    let store = h.open();
    let p256 = store
        .signer(
            &store
                .generate("threads-256", KeyAlgorithm::EcdsaP256)
                .unwrap(),
        )
        .unwrap();
    let p384 = store
        .signer(
            &store
                .generate("threads-384", KeyAlgorithm::EcdsaP384)
                .unwrap(),
        )
        .unwrap();
    let signers: [Arc<dyn Signer>; 2] = [p256, p384];
    let results: Vec<(usize, Vec<u8>, Vec<u8>)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|t| {
                let signers = &signers;
                s.spawn(move || {
                    (0..50)
                        .map(|i| {
                            let which = (t + i) % 2;
                            let msg = format!("thread {t} message {i}").into_bytes();
                            let sig = signers[which].sign(&msg).unwrap();
                            (which, msg, sig)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|t| t.join().unwrap())
            .collect()
    });
    assert_eq!(results.len(), 400);
    for (which, msg, sig) in &results {
        verify(signers[*which].as_ref(), msg, sig).expect("concurrent signature verifies");
    }
}

pub fn reopen_from_scratch_finds_keys(h: &dyn Harness) {
    let mut keys = Vec::new();
    {
        let store = h.open();
        for (i, alg) in [
            KeyAlgorithm::EcdsaP256,
            KeyAlgorithm::EcdsaP384,
            KeyAlgorithm::Ed25519,
        ]
        .into_iter()
        .filter(|a| h.supports(*a))
        .enumerate()
        {
            let uri = store.generate(&format!("key-{i}"), alg).unwrap();
            let spki = store.signer(&uri).unwrap().public_key_der().to_vec();
            keys.push((uri, alg, spki));
        }
    }
    let store = h.open();
    for (uri, alg, spki) in &keys {
        let signer = store.signer(uri).unwrap();
        assert_eq!(signer.algorithm(), *alg);
        assert_eq!(signer.public_key_der(), spki.as_slice());
        assert_signs(signer.as_ref(), b"reopened");
    }
}

pub fn no_secret_in_output(h: &dyn Harness) {
    let store = h.open();
    let uri = store.generate("quiet", KeyAlgorithm::EcdsaP256).unwrap();
    let signer = store.signer(&uri).unwrap();
    let secret = h.secret();
    let description = store.describe();
    assert!(!description.is_empty());
    for text in [
        description,
        format!("{store:?}"),
        format!("{signer:?}"),
        store
            .generate("quiet", KeyAlgorithm::EcdsaP256)
            .unwrap_err()
            .to_string(),
        format!("{:?}", store.signer(&h.uri_for("nope")).unwrap_err()),
    ] {
        assert!(!text.contains(&secret), "secret leaked in {text:?}");
    }
}

macro_rules! conformance_tests {
    ($backend:ident, $harness:expr) => {
        mod $backend {
            use super::*;

            fn harness() -> impl Harness {
                $harness
            }

            #[test]
            fn p256_generate_sign_verify() {
                checks::generate_sign_verify(&harness(), KeyAlgorithm::EcdsaP256);
            }
            #[test]
            fn p384_generate_sign_verify() {
                checks::generate_sign_verify(&harness(), KeyAlgorithm::EcdsaP384);
            }
            #[test]
            fn ed25519_generate_sign_verify_or_refused() {
                checks::generate_sign_verify(&harness(), KeyAlgorithm::Ed25519);
            }
            #[test]
            fn rsa_refused() {
                checks::rsa_refused(&harness());
            }
            #[test]
            fn uri_round_trips_through_text() {
                checks::uri_round_trips_through_text(&harness());
            }
            #[test]
            fn public_key_stable_across_reopen() {
                checks::public_key_stable_across_reopen(&harness());
            }
            #[test]
            fn duplicate_label_refused() {
                checks::duplicate_label_refused(&harness());
            }
            #[test]
            fn concurrent_generate_same_label_one_wins() {
                checks::concurrent_generate_same_label_one_wins(&harness());
            }
            #[test]
            fn unknown_key_not_found() {
                checks::unknown_key_not_found(&harness());
            }
            #[test]
            fn invalid_label_refused() {
                checks::invalid_label_refused(&harness());
            }
            #[test]
            fn foreign_uri_refused() {
                checks::foreign_uri_refused(&harness());
            }
            #[test]
            fn concurrent_signing_8_threads_x_50() {
                checks::concurrent_signing(&harness());
            }
            #[test]
            fn reopen_from_scratch_finds_keys() {
                checks::reopen_from_scratch_finds_keys(&harness());
            }
            #[test]
            fn no_secret_in_output() {
                checks::no_secret_in_output(&harness());
            }
        }
    };
}
