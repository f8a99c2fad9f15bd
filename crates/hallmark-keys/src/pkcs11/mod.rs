//! Keys on a PKCS#11 token (SoftHSM2, network HSMs), through cryptoki.
//!
//! * The module is loaded and `C_Initialize`d once per process, with
//!   `CKF_OS_LOCKING_OK` (see [`module`]).
//! * The token is found by **label**: slot ids are not stable (SoftHSM2
//!   renumbers the slot when a token is initialized).
//! * The store logs in as the user once, on a session it keeps open for its
//!   whole life (PKCS#11 logs the application out when its last session on
//!   the token closes). Operations borrow sessions from a free-list
//!   (`Mutex<Vec<Session>>`, sessions opened on demand and returned after
//!   use): cryptoki's `Session` is `Send` but not `Sync`, and this lets N
//!   threads sign at once.
//! * Signing hashes in software (SHA-256 / SHA-384) and asks the token for
//!   `CKM_ECDSA` over the digest (SoftHSM2 has no `CKM_ECDSA_SHA256`); the
//!   raw `r ‖ s` is DER-encoded for X.509.
//!
//! The rooms: [`module`] (the process-wide cache of loaded modules and
//! logged-in tokens), [`token`] (finding a token, logging in, matching
//! URIs), [`session`] (the session pool) and [`signer`] (signing keys).

mod module;
mod session;
mod signer;
mod token;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType};
use hallmark_pki::{KeyAlgorithm, Signer};
use zeroize::Zeroizing;

use crate::encoding::Curve;
use crate::{KeyAttributes, KeyError, KeyLabel, KeyProtection, KeyStore, KeyUri};
use token::{Token, describe};

/// How to reach a token.
pub struct Pkcs11Config {
    /// Path of the PKCS#11 module (`libsofthsm2.so`, a vendor library).
    pub module: PathBuf,
    /// `CKA_LABEL` of the token (`CK_TOKEN_INFO.label`).
    pub token_label: String,
    /// The user PIN.
    pub pin: Zeroizing<String>,
}

impl fmt::Debug for Pkcs11Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pkcs11Config")
            .field("module", &self.module)
            .field("token_label", &self.token_label)
            .field("pin", &"<redacted>")
            .finish()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // The guarded data (a map, a free-list of sessions) stays consistent
    // even if a holder panicked.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Keys on one PKCS#11 token.
#[derive(Clone)]
pub struct Pkcs11KeyStore {
    token: Arc<Token>,
}

impl fmt::Debug for Pkcs11KeyStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pkcs11KeyStore")
            .field("module", &self.token.module)
            .field("token", &self.token.label)
            .finish_non_exhaustive()
    }
}

impl Pkcs11KeyStore {
    /// Loads the module (once per process), finds the token by label and
    /// logs in as the user.
    ///
    /// # Errors
    ///
    /// [`KeyError::ModuleLoad`] (missing or unloadable module),
    /// [`KeyError::TokenNotFound`] (with the labels present),
    /// [`KeyError::TokenAmbiguous`], [`KeyError::WrongPin`],
    /// [`KeyError::PinLocked`], [`KeyError::Pkcs11`].
    pub fn open(config: Pkcs11Config) -> Result<Self, KeyError> {
        let Pkcs11Config {
            module,
            token_label,
            pin,
        } = config;
        let token = module::open_token(module, token_label, pin)?;
        Ok(Self { token })
    }

    /// The token's label.
    pub fn token_label(&self) -> &str {
        &self.token.label
    }

    /// The module path as configured.
    pub fn module_path(&self) -> &Path {
        &self.token.module
    }
}

impl KeyStore for Pkcs11KeyStore {
    fn generate(&self, label: &str, alg: KeyAlgorithm) -> Result<KeyUri, KeyError> {
        let label = KeyLabel::new(label)?;
        let token = &self.token;
        let uri = KeyUri::pkcs11_private_key(&token.label, label.as_str());
        let curve = Curve::from_algorithm(alg).ok_or(KeyError::UnsupportedAlgorithm {
            alg,
            backend: "PKCS#11",
        })?;
        let params = curve
            .ec_params_der()
            .map_err(|source| KeyError::BadPublicKey {
                uri: uri.clone(),
                source,
            })?;
        let mut id = vec![0u8; 16];
        getrandom::fill(&mut id).map_err(|e| KeyError::Io {
            path: PathBuf::from("getrandom"),
            source: std::io::Error::other(e),
        })?;
        let label_bytes = label.as_str().as_bytes().to_vec();

        let _serial = lock(&token.generate_lock);
        let session = token.session()?;
        let s = session.get();
        // Refuse any object (key, certificate, data) already using the label.
        let existing = s
            .find_objects(&[Attribute::Label(label_bytes.clone())])
            .map_err(token.p11("C_FindObjects"))?;
        if !existing.is_empty() {
            return Err(KeyError::AlreadyExists { uri });
        }
        let public = [
            Attribute::Token(true),
            Attribute::Private(false),
            Attribute::Verify(true),
            Attribute::EcParams(params),
            Attribute::Label(label_bytes.clone()),
            Attribute::Id(id.clone()),
        ];
        let private = [
            Attribute::Token(true),
            Attribute::Private(true),
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
            Attribute::Sign(true),
            Attribute::Derive(false),
            Attribute::Label(label_bytes),
            Attribute::Id(id),
        ];
        s.generate_key_pair(&Mechanism::EccKeyPairGen, &public, &private)
            .map_err(token.p11("C_GenerateKeyPair"))?;
        Ok(uri)
    }

    fn signer(&self, uri: &KeyUri) -> Result<Arc<dyn Signer>, KeyError> {
        Ok(Arc::new(self.token.open_signer(uri)?))
    }

    fn describe(&self) -> String {
        describe(&self.token)
    }
}

impl KeyAttributes for Pkcs11KeyStore {
    /// Reads `CKA_SENSITIVE`, `CKA_EXTRACTABLE`, `CKA_NEVER_EXTRACTABLE` and
    /// `CKA_ALWAYS_SENSITIVE` of the private key. An attribute the token does
    /// not report counts as the unsafe value.
    fn protection(&self, uri: &KeyUri) -> Result<KeyProtection, KeyError> {
        let token = &self.token;
        let session = token.session()?;
        let s = session.get();
        let key = token.find_private_key(s, uri)?;
        let attrs = s
            .get_attributes(
                key,
                &[
                    AttributeType::Sensitive,
                    AttributeType::Extractable,
                    AttributeType::NeverExtractable,
                    AttributeType::AlwaysSensitive,
                ],
            )
            .map_err(token.p11("C_GetAttributeValue"))?;
        let mut protection = KeyProtection {
            sensitive: false,
            extractable: true,
            never_extractable: false,
            always_sensitive: false,
        };
        for attr in attrs {
            match attr {
                Attribute::Sensitive(v) => protection.sensitive = v,
                Attribute::Extractable(v) => protection.extractable = v,
                Attribute::NeverExtractable(v) => protection.never_extractable = v,
                Attribute::AlwaysSensitive(v) => protection.always_sensitive = v,
                _ => {}
            }
        }
        Ok(protection)
    }
}
