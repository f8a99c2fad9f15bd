//! Hallmark key stores: where CA private keys live and how they sign.
//!
//! One small trait, [`KeyStore`] (generate a key, open a signer, describe
//! yourself), in the style of step-ca's `kms` package; extra powers are
//! extra traits ([`KeyAttributes`] for audits). A signer is a
//! [`hallmark_pki::Signer`]: the rest of Hallmark never sees key bytes.
//!
//! # Backends
//!
//! * [`SoftKeyStore`]: keys as files in a directory, PKCS#8
//!   `EncryptedPrivateKeyInfo` (PBES2: scrypt + AES-256-CBC) under one
//!   passphrase, mode `0600`, written atomically and never overwritten.
//!   ECDSA P-256, P-384 and Ed25519 through aws-lc-rs. For development and
//!   small deployments: the key is in process memory while in use.
//! * [`Pkcs11KeyStore`]: keys on a PKCS#11 token (SoftHSM2 in tests, an HSM
//!   in production) through cryptoki. ECDSA P-256 and P-384, generated on
//!   the token as sensitive and non-extractable. Signers share a session
//!   pool, so many threads can sign at once.
//!
//! # Key URIs
//!
//! [`KeyUri`] names a key:
//!
//! * `soft:<label>`: the file `<label>.key.pem` in the store's directory;
//! * `pkcs11:token=<token label>;object=<key label>;type=private`: an
//!   [RFC 7512] URI (percent-encoded per §2.3; `id`, `serial`, `model`,
//!   `manufacturer`, `slot-*` and `library-*` are understood too).
//!
//! Labels Hallmark creates are `[A-Za-z0-9._-]{1,64}` ([`KeyLabel`]).
//! Secrets never travel in URIs: a `pkcs11:` URI with `pin-value` or
//! `pin-source` is refused; the PIN or passphrase is configured on the
//! store, and no error or `Debug` output contains it.
//!
//! # The one global: loaded PKCS#11 modules
//!
//! PKCS#11 is process-global: `C_Initialize` may run once per module per
//! process, and login state is per process and token (while logged in,
//! `C_Login` answers `CKR_USER_ALREADY_LOGGED_IN` without checking the
//! PIN). The crate therefore keeps one process-wide cache of initialized
//! modules keyed by canonical path, with the tokens live stores are logged
//! in to. Every [`Pkcs11KeyStore`] on a module shares its context; stores
//! on the same token share one login and session pool, and a second open
//! is checked against the PIN that `C_Login` verified. A login the cache
//! does not know (another component of the process, another path to the
//! same module) leaves the PIN unverifiable: such an open is refused
//! ([`KeyError::PinUnverifiable`]). Modules are initialized with
//! `CKF_OS_LOCKING_OK` (SoftHSM2 without it corrupted a token under
//! concurrent signing) and never finalized. Nothing else in the crate is
//! global.
//!
//! [RFC 7512]: https://www.rfc-editor.org/rfc/rfc7512

mod encoding;
mod error;
mod pkcs11;
mod soft;
mod uri;

use std::sync::Arc;

use hallmark_pki::{KeyAlgorithm, Signer};

pub use error::KeyError;
pub use pkcs11::{Pkcs11Config, Pkcs11KeyStore, Pkcs11Options};
pub use soft::{KEY_FILE_SUFFIX, SoftKeyStore};
pub use uri::{KeyLabel, KeyUri, Pkcs11ObjectType, Pkcs11Uri, UriError};

/// Where keys live: generate them, open signers, say where you are.
pub trait KeyStore: Send + Sync + std::fmt::Debug {
    /// Generates a new non-exportable key named `label`; returns its URI.
    /// Refuses an existing label ([`KeyError::AlreadyExists`]).
    fn generate(&self, label: &str, alg: KeyAlgorithm) -> Result<KeyUri, KeyError>;

    /// Opens a signer for an existing key (usable from many threads
    /// concurrently). A missing key is [`KeyError::NotFound`].
    fn signer(&self, uri: &KeyUri) -> Result<Arc<dyn Signer>, KeyError>;

    /// Human description of where keys live, for `hallmark ca list`
    /// (e.g. `software (encrypted) in /var/lib/hallmark/keys`,
    /// `PKCS#11 token 'factory-hsm' (module …)`).
    fn describe(&self) -> String;
}

/// How well a key is protected, as the backend reports it (PKCS#11
/// `CKA_SENSITIVE`, `CKA_EXTRACTABLE`, `CKA_NEVER_EXTRACTABLE`,
/// `CKA_ALWAYS_SENSITIVE`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyProtection {
    /// The private value cannot be read out in plaintext.
    pub sensitive: bool,
    /// The key can be exported (wrapped, or read out if not sensitive).
    pub extractable: bool,
    /// The key has never been extractable.
    pub never_extractable: bool,
    /// The key has always been sensitive.
    pub always_sensitive: bool,
}

/// Audit power: report a key's protection attributes.
pub trait KeyAttributes {
    /// The protection of the private key at `uri`.
    fn protection(&self, uri: &KeyUri) -> Result<KeyProtection, KeyError>;
}
