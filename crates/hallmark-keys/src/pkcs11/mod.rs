//! Keys on a PKCS#11 token (SoftHSM2, network HSMs), through cryptoki.
//!
//! * The module is loaded and `C_Initialize`d once per process, with
//!   `CKF_OS_LOCKING_OK` (see [`module`]).
//! * The token is found by **label**: slot ids are not stable (SoftHSM2
//!   renumbers the slot when a token is initialized).
//! * The store logs in as the user once, on a session it keeps open for its
//!   whole life (PKCS#11 logs the application out when its last session on
//!   the token closes). A login the token did not check (`C_Login`
//!   answering `CKR_USER_ALREADY_LOGGED_IN` because some other component of
//!   the process is logged in) is refused: the PIN is unverified.
//! * Every operation borrows a session from a pool (see [`session`]):
//!   read-only sessions for lookups and signing, read-write ones only to
//!   generate; at most [`Pkcs11Options::max_sessions`] open at once, excess
//!   callers wait. cryptoki's `Session` is `Send` but not `Sync`, and the
//!   pool lets N threads sign at once. A broken session is closed and a
//!   lost login restored, once per operation.
//! * A signer opens only if its public key object proves to be the private
//!   key's other half (a test signature verifies), and looks its private key
//!   up again when the token forgets the handle (after a re-login).
//! * Signing hashes in software (SHA-256 / SHA-384) and asks the token for
//!   `CKM_ECDSA` over the digest (SoftHSM2 has no `CKM_ECDSA_SHA256`); the
//!   raw `r ‖ s` is DER-encoded for X.509.
//!
//! The rooms: [`module`] (the process-wide cache of loaded modules and
//! logged-in tokens), [`token`] (finding a token, logging in, matching
//! URIs), [`session`] (the session pool), [`keypair`] (finding and proving
//! key pairs), [`generate`] (making them) and [`signer`] (signing keys).

mod generate;
mod keypair;
mod module;
mod session;
mod signer;
#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests;
mod token;

use std::fmt;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use cryptoki::object::{Attribute, AttributeType};
use hallmark_pki::{KeyAlgorithm, Signer};
use zeroize::Zeroizing;

use crate::{KeyAttributes, KeyError, KeyProtection, KeyStore, KeyUri};
use session::Access;
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

/// Tuning of a PKCS#11 store ([`Pkcs11KeyStore::open_with`]).
///
/// Options take effect when this process first logs in to the token;
/// stores opened while another store of the process is on the same token
/// share its session pool and its options.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Pkcs11Options {
    /// The most sessions open on the token at once (besides the one holding
    /// the login); callers beyond it wait for a free session.
    pub max_sessions: NonZeroUsize,
}

impl Pkcs11Options {
    /// [`Self::max_sessions`] when not configured.
    pub const DEFAULT_MAX_SESSIONS: NonZeroUsize = match NonZeroUsize::new(16) {
        Some(n) => n,
        None => unreachable!(),
    };

    /// Sets [`Self::max_sessions`].
    #[must_use]
    pub fn with_max_sessions(mut self, max_sessions: NonZeroUsize) -> Self {
        self.max_sessions = max_sessions;
        self
    }
}

impl Default for Pkcs11Options {
    fn default() -> Self {
        Self {
            max_sessions: Self::DEFAULT_MAX_SESSIONS,
        }
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
    /// [`KeyError::PinLocked`], [`KeyError::PinUnverifiable`] (another
    /// component of the process is logged in to the token, so the PIN
    /// cannot be checked), [`KeyError::Pkcs11`].
    pub fn open(config: Pkcs11Config) -> Result<Self, KeyError> {
        Self::open_with(config, Pkcs11Options::default())
    }

    /// [`Self::open`] with options.
    ///
    /// # Errors
    ///
    /// As [`Self::open`].
    pub fn open_with(config: Pkcs11Config, options: Pkcs11Options) -> Result<Self, KeyError> {
        let Pkcs11Config {
            module,
            token_label,
            pin,
        } = config;
        let token = module::open_token(module, token_label, pin, options.max_sessions)?;
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
        self.token.generate(label, alg)
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
        let attrs = token.with_session(Access::ReadOnly, |s| {
            let key = token.find_private_key(s, uri)?;
            s.get_attributes(
                key,
                &[
                    AttributeType::Sensitive,
                    AttributeType::Extractable,
                    AttributeType::NeverExtractable,
                    AttributeType::AlwaysSensitive,
                ],
            )
            .map_err(token.p11("C_GetAttributeValue"))
        })?;
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
