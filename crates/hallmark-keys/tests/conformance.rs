//! One conformance suite for every key store backend, plus backend-specific
//! checks.
//!
//! Each check in [`checks`] takes a [`Harness`] (which can open the store
//! under test afresh) and runs against both backends through
//! `conformance_tests!`: one `#[test]` per backend per check. The PKCS#11
//! backend runs on a fresh SoftHSM2 token per test (cargo-nextest runs each
//! test in its own process).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use aws_lc_rs::signature::{self, UnparsedPublicKey, VerificationAlgorithm};
use der::Decode as _;
use hallmark_keys::{
    KeyAttributes, KeyError, KeyLabel, KeyStore, KeyUri, Pkcs11Config, Pkcs11KeyStore,
    SoftKeyStore, UriError,
};
use hallmark_pki::alg::{ID_EC_PUBLIC_KEY, ID_ED25519, SECP256R1, SECP384R1};
use hallmark_pki::{KeyAlgorithm, Signer};
use hallmark_testkit::softhsm::SoftHsm;
use spki::SubjectPublicKeyInfoRef;
use zeroize::Zeroizing;

const PASSPHRASE: &str = "correct horse battery staple";

/// Opens the store under test, as many times as a check needs.
trait Harness {
    /// A new store instance on the same keys.
    fn open(&self) -> Box<dyn KeyStore>;
    /// Whether the backend makes keys of `alg`.
    fn supports(&self, alg: KeyAlgorithm) -> bool;
    /// The URI this store would give a key named `label`.
    fn uri_for(&self, label: &str) -> KeyUri;
    /// A URI of the other backend.
    fn foreign_uri(&self) -> KeyUri;
    /// The secret unlocking the store (must never show up in output).
    fn secret(&self) -> String;
}

struct SoftHarness {
    dir: tempfile::TempDir,
}

impl SoftHarness {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn keys_dir(&self) -> std::path::PathBuf {
        self.dir.path().join("keys")
    }

    fn store(&self) -> SoftKeyStore {
        SoftKeyStore::open(self.keys_dir(), Zeroizing::new(PASSPHRASE.to_owned())).unwrap()
    }
}

impl Harness for SoftHarness {
    fn open(&self) -> Box<dyn KeyStore> {
        Box::new(self.store())
    }
    fn supports(&self, alg: KeyAlgorithm) -> bool {
        matches!(
            alg,
            KeyAlgorithm::EcdsaP256 | KeyAlgorithm::EcdsaP384 | KeyAlgorithm::Ed25519
        )
    }
    fn uri_for(&self, label: &str) -> KeyUri {
        KeyUri::soft(KeyLabel::new(label).unwrap())
    }
    fn foreign_uri(&self) -> KeyUri {
        KeyUri::pkcs11_private_key("some-token", "ca")
    }
    fn secret(&self) -> String {
        PASSPHRASE.to_owned()
    }
}

struct Pkcs11Harness {
    hsm: SoftHsm,
}

impl Pkcs11Harness {
    fn new() -> Self {
        Self {
            hsm: SoftHsm::new(),
        }
    }

    fn config(&self) -> Pkcs11Config {
        Pkcs11Config {
            module: self.hsm.module_path().to_owned(),
            token_label: self.hsm.token_label().to_owned(),
            pin: self.hsm.pin(),
        }
    }

    fn store(&self) -> Pkcs11KeyStore {
        Pkcs11KeyStore::open(self.config()).unwrap()
    }
}

impl Harness for Pkcs11Harness {
    fn open(&self) -> Box<dyn KeyStore> {
        Box::new(self.store())
    }
    fn supports(&self, alg: KeyAlgorithm) -> bool {
        matches!(alg, KeyAlgorithm::EcdsaP256 | KeyAlgorithm::EcdsaP384)
    }
    fn uri_for(&self, label: &str) -> KeyUri {
        KeyUri::pkcs11_private_key(self.hsm.token_label(), label)
    }
    fn foreign_uri(&self) -> KeyUri {
        KeyUri::soft(KeyLabel::new("ca").unwrap())
    }
    fn secret(&self) -> String {
        self.hsm.pin().to_string()
    }
}

/// Verifies `sig` over `msg` with the public key in the signer's SPKI, with
/// aws-lc-rs, after checking the SPKI matches the signer's algorithm.
fn verify(
    signer: &dyn Signer,
    msg: &[u8],
    sig: &[u8],
) -> Result<(), aws_lc_rs::error::Unspecified> {
    let spki = SubjectPublicKeyInfoRef::from_der(signer.public_key_der()).unwrap();
    let (oid, params) = spki.algorithm.oids().unwrap();
    let alg: &'static dyn VerificationAlgorithm = match signer.algorithm() {
        KeyAlgorithm::EcdsaP256 => {
            assert_eq!((oid, params), (ID_EC_PUBLIC_KEY, Some(SECP256R1)));
            &signature::ECDSA_P256_SHA256_ASN1
        }
        KeyAlgorithm::EcdsaP384 => {
            assert_eq!((oid, params), (ID_EC_PUBLIC_KEY, Some(SECP384R1)));
            &signature::ECDSA_P384_SHA384_ASN1
        }
        KeyAlgorithm::Ed25519 => {
            assert_eq!((oid, params), (ID_ED25519, None));
            &signature::ED25519
        }
        other => panic!("unexpected algorithm {other}"),
    };
    let key = spki.subject_public_key.as_bytes().unwrap();
    UnparsedPublicKey::new(alg, key).verify(msg, sig)
}

fn assert_signs(signer: &dyn Signer, msg: &[u8]) {
    let sig = signer.sign(msg).unwrap();
    if signer.algorithm() == KeyAlgorithm::Ed25519 {
        assert_eq!(sig.len(), 64);
    } else {
        assert_eq!(sig[0], 0x30, "ECDSA signatures are DER ECDSA-Sig-Value");
    }
    verify(signer, msg, &sig).expect("signature verifies");
    let mut tampered = msg.to_vec();
    tampered.push(0);
    assert!(
        verify(signer, &tampered, &sig).is_err(),
        "tampered message verifies"
    );
}

mod checks {
    use super::*;

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

conformance_tests!(soft, SoftHarness::new());
conformance_tests!(pkcs11, Pkcs11Harness::new());

/// Checks only the software backend has.
mod soft_only {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;
    use std::process::Command;

    #[test]
    fn wrong_passphrase() {
        let h = SoftHarness::new();
        let uri = h.store().generate("ca", KeyAlgorithm::EcdsaP256).unwrap();
        let wrong = "not the passphrase";
        let store = SoftKeyStore::open(h.keys_dir(), Zeroizing::new(wrong.to_owned())).unwrap();
        match store.signer(&uri) {
            Err(err @ KeyError::WrongPassphrase { .. }) => {
                let msg = err.to_string();
                assert!(
                    msg.contains("wrong passphrase") && msg.contains("soft:ca"),
                    "{msg}"
                );
                assert!(!msg.contains(wrong) && !msg.contains(PASSPHRASE), "{msg}");
                assert!(!format!("{err:?}").contains(wrong));
            }
            other => panic!("expected WrongPassphrase, got {other:?}"),
        }
    }

    #[test]
    fn empty_passphrase_refused() {
        let dir = tempfile::tempdir().unwrap();
        let err =
            SoftKeyStore::open(dir.path().to_owned(), Zeroizing::new(String::new())).unwrap_err();
        assert!(matches!(err, KeyError::EmptyPassphrase), "{err:?}");
    }

    #[test]
    fn key_file_is_encrypted_pkcs8() {
        use pkcs8::EncryptedPrivateKeyInfoRef;

        let h = SoftHarness::new();
        let store = h.store();
        store.generate("ca", KeyAlgorithm::EcdsaP256).unwrap();
        let path = h.keys_dir().join("ca.key.pem");
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----\n"),
            "{text}"
        );
        assert!(!text.contains("BEGIN PRIVATE KEY") && !text.contains("BEGIN EC PRIVATE KEY"));

        let (label, doc) = der::Document::from_pem(&text).unwrap();
        assert_eq!(label, "ENCRYPTED PRIVATE KEY");
        let info = EncryptedPrivateKeyInfoRef::from_der(doc.as_bytes()).unwrap();
        let pbes2 = info.encryption_algorithm.pbes2().expect("PBES2");
        let scrypt = pbes2.kdf.scrypt().expect("scrypt KDF");
        assert_eq!(
            (
                scrypt.cost_parameter,
                scrypt.block_size,
                scrypt.parallelization
            ),
            (1 << 14, 8, 1),
            "scrypt N, r, p as documented in soft.rs"
        );
        assert!(scrypt.salt.as_bytes().len() >= 16);
        assert_eq!(pbes2.encryption.oid(), pkcs8::pkcs5::pbes2::AES_256_CBC_OID);

        // The plaintext PKCS#8 (and its private scalar) appear nowhere in the file.
        let plain = info.decrypt(PASSPHRASE).unwrap();
        let pk = pkcs8::PrivateKeyInfoRef::from_der(plain.as_bytes()).unwrap();
        let secret = pk.private_key.as_bytes();
        let contains = |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).any(|w| w == needle);
        assert!(!contains(doc.as_bytes(), plain.as_bytes()));
        assert!(!contains(doc.as_bytes(), secret));
        assert!(!contains(text.as_bytes(), secret));
    }

    #[test]
    fn key_file_mode_0600_and_no_temp_files() {
        let h = SoftHarness::new();
        let store = h.store();
        let dir_mode = std::fs::metadata(h.keys_dir())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(dir_mode & 0o777, 0o700, "new key directory is private");
        store.generate("ca", KeyAlgorithm::EcdsaP384).unwrap();
        store.generate("ca", KeyAlgorithm::EcdsaP384).unwrap_err();
        store.generate("ed", KeyAlgorithm::Ed25519).unwrap();
        let mut names: Vec<_> = std::fs::read_dir(h.keys_dir())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, ["ca.key.pem", "ed.key.pem"]);
        for name in names {
            let mode = std::fs::metadata(h.keys_dir().join(name))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn existing_file_is_never_overwritten() {
        let h = SoftHarness::new();
        std::fs::create_dir_all(h.keys_dir()).unwrap();
        let path = h.keys_dir().join("ca.key.pem");
        std::fs::write(&path, "not a key").unwrap();
        let err = h
            .store()
            .generate("ca", KeyAlgorithm::EcdsaP256)
            .unwrap_err();
        assert!(matches!(err, KeyError::AlreadyExists { .. }), "{err:?}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "not a key");
        // And a file that is not a key is reported as such.
        let err = h.store().signer(&h.uri_for("ca")).unwrap_err();
        assert!(matches!(err, KeyError::KeyFile { .. }), "{err:?}");
    }

    #[test]
    fn protection_is_reported_honestly() {
        let h = SoftHarness::new();
        let store = h.store();
        let uri = store.generate("ca", KeyAlgorithm::EcdsaP256).unwrap();
        let p = store.protection(&uri).unwrap();
        assert!(!p.sensitive && p.extractable && !p.never_extractable && !p.always_sensitive);
        assert!(matches!(
            store.protection(&h.uri_for("absent")),
            Err(KeyError::NotFound { .. })
        ));
    }

    /// OpenSSL reads the key file with the passphrase and derives the same
    /// public key: the format is the standard one.
    #[test]
    fn openssl_reads_key_file() {
        let h = SoftHarness::new();
        let store = h.store();
        for (label, alg) in [
            ("p256", KeyAlgorithm::EcdsaP256),
            ("p384", KeyAlgorithm::EcdsaP384),
            ("ed", KeyAlgorithm::Ed25519),
        ] {
            let uri = store.generate(label, alg).unwrap();
            let spki = store.signer(&uri).unwrap().public_key_der().to_vec();
            let out = Command::new("openssl")
                .args([
                    "pkey",
                    "-pubout",
                    "-outform",
                    "DER",
                    "-passin",
                    "env:HALLMARK_PASS",
                    "-in",
                ])
                .arg(h.keys_dir().join(format!("{label}.key.pem")))
                .env("HALLMARK_PASS", PASSPHRASE)
                .output()
                .expect("openssl is missing: apt-get install openssl");
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert_eq!(out.stdout, spki, "{label}");
        }
    }
}

/// Checks only the PKCS#11 backend has.
mod pkcs11_only {
    use super::*;
    use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
    use cryptoki::object::{Attribute, AttributeInfo, AttributeType, ObjectClass};
    use cryptoki::session::UserType;
    use cryptoki::types::AuthPin;

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
            | Err(cryptoki::error::Error::Pkcs11(
                cryptoki::error::RvError::UserAlreadyLoggedIn,
                _,
            )) => {}
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
}
