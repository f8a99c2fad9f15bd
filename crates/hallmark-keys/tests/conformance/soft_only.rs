//! Checks only the software backend has.

use std::os::unix::fs::PermissionsExt as _;
use std::process::Command;

use der::Decode as _;
use hallmark_keys::{KeyAttributes, KeyError, KeyStore, SoftKeyStore};
use hallmark_pki::KeyAlgorithm;
use zeroize::Zeroizing;

use crate::harness::{Harness, PASSPHRASE, SoftHarness};

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
    let err = SoftKeyStore::open(dir.path().to_owned(), Zeroizing::new(String::new())).unwrap_err();
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
