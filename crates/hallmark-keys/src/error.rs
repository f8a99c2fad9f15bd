//! The crate's one error type.

use std::path::PathBuf;

use hallmark_pki::KeyAlgorithm;

use crate::uri::{KeyUri, UriError};

/// Everything a key store can report.
///
/// Variants carry the key URI, label or path concerned; backend errors are
/// kept as `source`. No variant holds a passphrase, a PIN or key bytes.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// A malformed key URI or label.
    #[error(transparent)]
    Uri(#[from] UriError),

    /// The URI names a key of another backend or another token.
    #[error("key {uri} does not belong to {store}")]
    ForeignUri {
        /// The refused URI.
        uri: KeyUri,
        /// [`crate::KeyStore::describe`] of the store asked.
        store: String,
    },

    /// `generate` was asked for a label already in use.
    #[error("key {uri} already exists; refusing to overwrite it")]
    AlreadyExists {
        /// The existing key.
        uri: KeyUri,
    },

    /// No key at that URI.
    #[error("key {uri} not found")]
    NotFound {
        /// The missing key.
        uri: KeyUri,
    },

    /// More than one key matches the URI.
    #[error("more than one key matches {uri}")]
    AmbiguousKey {
        /// The ambiguous URI.
        uri: KeyUri,
    },

    /// The backend cannot make or use keys of this algorithm.
    #[error("{alg} keys are not supported by the {backend} key store")]
    UnsupportedAlgorithm {
        /// The algorithm asked for.
        alg: KeyAlgorithm,
        /// `software` or `PKCS#11`.
        backend: &'static str,
    },

    /// A stored key is of a kind this crate cannot sign with.
    #[error("key {uri} is of an unsupported type or curve")]
    UnsupportedKey {
        /// The key.
        uri: KeyUri,
    },

    // ---- software store -------------------------------------------------
    /// The software store refuses an empty passphrase.
    #[error("an empty passphrase is refused: software keys are encrypted at rest")]
    EmptyPassphrase,

    /// The passphrase does not decrypt the key file.
    #[error("wrong passphrase for key {uri} (the key file could not be decrypted)")]
    WrongPassphrase {
        /// The key.
        uri: KeyUri,
        /// The PKCS#5 decryption error.
        #[source]
        source: pkcs8::Error,
    },

    /// The key file is not a PEM `ENCRYPTED PRIVATE KEY`.
    #[error("key file {path} is not a PEM encrypted PKCS#8 key")]
    KeyFile {
        /// The file.
        path: PathBuf,
        /// The decoding error.
        #[source]
        source: pkcs8::Error,
    },

    /// The decrypted key was refused by the crypto provider.
    #[error("key file {path} decrypted but holds an invalid key")]
    KeyRejected {
        /// The file.
        path: PathBuf,
        /// The provider's reason.
        #[source]
        source: aws_lc_rs::error::KeyRejected,
    },

    /// Reading or writing the key store directory failed.
    #[error("I/O error on {path}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },

    /// The crypto provider failed (key generation, encoding).
    #[error("the crypto provider failed")]
    Crypto(#[source] aws_lc_rs::error::Unspecified),

    /// Encrypting a new key failed.
    #[error("encrypting the new key {uri} failed")]
    Encrypt {
        /// The key being written.
        uri: KeyUri,
        /// The PKCS#8 / PKCS#5 error.
        #[source]
        source: pkcs8::Error,
    },

    // ---- PKCS#11 store --------------------------------------------------
    /// The PKCS#11 module is missing or cannot be loaded and initialized.
    #[error("cannot load PKCS#11 module {path}")]
    ModuleLoad {
        /// The module path as configured.
        path: PathBuf,
        /// The I/O, loader or `C_Initialize` error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },

    /// No token with that label.
    #[error(
        "PKCS#11 token {label:?} not found; tokens present: {}",
        if .available.is_empty() { "none".to_owned() } else { .available.iter().map(|l| format!("{l:?}")).collect::<Vec<_>>().join(", ") }
    )]
    TokenNotFound {
        /// The label asked for.
        label: String,
        /// Labels of the tokens present.
        available: Vec<String>,
    },

    /// Several tokens share the label.
    #[error("{count} PKCS#11 tokens are labelled {label:?}; labels must be unique")]
    TokenAmbiguous {
        /// The label.
        label: String,
        /// How many tokens carry it.
        count: usize,
    },

    /// `C_Login` answered `CKR_PIN_INCORRECT`.
    #[error("wrong PIN for PKCS#11 token {token:?}")]
    WrongPin {
        /// The token label.
        token: String,
        /// The `C_Login` error.
        #[source]
        source: cryptoki::error::Error,
    },

    /// `C_Login` answered `CKR_PIN_LOCKED`.
    #[error(
        "the user PIN of PKCS#11 token {token:?} is locked; the security officer must reset it"
    )]
    PinLocked {
        /// The token label.
        token: String,
    },

    /// `C_Login` answered `CKR_USER_ALREADY_LOGGED_IN`: some other component
    /// of this process (another library, another path to the same module)
    /// is logged in to the token, so the token did not check the PIN.
    #[error(
        "cannot verify the PIN for PKCS#11 token {token:?}: another component of this process is already logged in to the token, so the PIN cannot be checked; refusing it"
    )]
    PinUnverifiable {
        /// The token label.
        token: String,
    },

    /// The key pair has no public key object (same `CKA_ID`) on the token.
    #[error("no public key object for {uri} on the token")]
    PublicKeyNotFound {
        /// The key.
        uri: KeyUri,
    },

    /// The token returned an unusable public key (`CKA_EC_POINT`/`CKA_EC_PARAMS`).
    #[error("the token returned an invalid public key for {uri}")]
    BadPublicKey {
        /// The key.
        uri: KeyUri,
        /// The decoding error.
        #[source]
        source: der::Error,
    },

    /// The token's public key for the pair is not a valid point of its
    /// curve.
    #[error("the public key object for {uri} on the token is not a valid point of its curve")]
    PublicKeyRejected {
        /// The key.
        uri: KeyUri,
        /// The crypto provider's reason.
        #[source]
        source: aws_lc_rs::error::KeyRejected,
    },

    /// The public key object found for the key (same `CKA_ID`) does not
    /// belong to the private key: a test signature did not verify with it.
    #[error(
        "the public key object for {uri} does not belong to its private key (a test signature did not verify)"
    )]
    KeyPairMismatch {
        /// The key.
        uri: KeyUri,
    },

    /// The key at the URI is no longer the one the signer was opened with
    /// (its `CKA_ID` or public key changed): open a new signer.
    #[error("key {uri} was replaced on the token since its signer was opened")]
    KeyReplaced {
        /// The key.
        uri: KeyUri,
    },

    /// Any other PKCS#11 failure.
    #[error("PKCS#11 {operation} failed on token {token:?}")]
    Pkcs11 {
        /// The token label.
        token: String,
        /// What was being done (`C_Sign`, `C_GenerateKeyPair`, …).
        operation: &'static str,
        /// The cryptoki error (carries the `CKR_*` code).
        #[source]
        source: cryptoki::error::Error,
    },
}
