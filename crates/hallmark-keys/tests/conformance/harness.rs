//! The test harnesses (one per backend, each opening its store under test
//! afresh) and the signature checks every check relies on.

use std::path::Path;

use aws_lc_rs::signature::{self, UnparsedPublicKey, VerificationAlgorithm};
use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::session::Session;
use der::Decode as _;
use hallmark_keys::{KeyLabel, KeyStore, KeyUri, Pkcs11Config, Pkcs11KeyStore, SoftKeyStore};
use hallmark_pki::alg::{ID_EC_PUBLIC_KEY, ID_ED25519, SECP256R1, SECP384R1};
use hallmark_pki::{KeyAlgorithm, Signer};
use hallmark_testkit::softhsm::SoftHsm;
use spki::SubjectPublicKeyInfoRef;
use zeroize::Zeroizing;

pub const PASSPHRASE: &str = "correct horse battery staple";

/// Opens the store under test, as many times as a check needs.
pub trait Harness {
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

pub struct SoftHarness {
    dir: tempfile::TempDir,
}

impl SoftHarness {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn keys_dir(&self) -> std::path::PathBuf {
        self.dir.path().join("keys")
    }

    pub fn store(&self) -> SoftKeyStore {
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

pub struct Pkcs11Harness {
    pub hsm: SoftHsm,
}

impl Pkcs11Harness {
    pub fn new() -> Self {
        Self {
            hsm: SoftHsm::new(),
        }
    }

    pub fn config(&self) -> Pkcs11Config {
        Pkcs11Config {
            module: self.hsm.module_path().to_owned(),
            token_label: self.hsm.token_label().to_owned(),
            pin: self.hsm.pin(),
        }
    }

    pub fn store(&self) -> Pkcs11KeyStore {
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
pub fn verify(
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

pub fn assert_signs(signer: &dyn Signer, msg: &[u8]) {
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

/// Another component of the process using the token behind the store's
/// back: its own cryptoki context on `module` (the SoftHSM2 module, or a
/// second path to it) and a read-write session on the token, not logged in
/// by itself. PKCS#11 login state is per process: what it does (`C_Login`,
/// `C_Logout`) applies to the store's sessions too.
pub fn other_component(hsm: &SoftHsm, module: &Path) -> Session {
    let ctx = Pkcs11::new(module).unwrap();
    match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(()) | Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
        Err(e) => panic!("{e}"),
    }
    let slot = ctx
        .get_slots_with_token()
        .unwrap()
        .into_iter()
        .find(|s| ctx.get_token_info(*s).unwrap().label() == hsm.token_label())
        .unwrap();
    ctx.open_rw_session(slot).unwrap()
}
