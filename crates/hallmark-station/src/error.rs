//! The crate's one error type.

use std::path::PathBuf;

use hallmark_keys::KeyError;
use hallmark_pki::PkiError;

/// Everything the station side can report.
///
/// The transport variants tell apart what a station must handle
/// differently: [`Error::Unreachable`] (nothing was sent: retry later),
/// [`Error::Tls`] (the server or this station's credential is not trusted),
/// [`Error::Transport`] (the request may have been processed) and
/// [`Error::Refused`] (the server answered with a refusal). No variant
/// holds a station token, a passphrase, a PIN or key bytes.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The server could not be reached (DNS, connection refused, connect
    /// timeout): the request was not sent.
    #[error("cannot reach the Hallmark server at {url}")]
    Unreachable {
        /// The URL requested.
        url: String,
        /// The HTTP client's error.
        #[source]
        source: reqwest::Error,
    },

    /// The TLS handshake or session failed: the server's certificate does
    /// not chain to the trusted root, or the server refused this station's
    /// certificate.
    #[error("TLS with the Hallmark server at {url} failed: {reason}")]
    Tls {
        /// The URL requested.
        url: String,
        /// rustls' description of the failure.
        reason: String,
        /// The HTTP client's error.
        #[source]
        source: reqwest::Error,
    },

    /// The connection failed after the request was sent (reset, request
    /// timeout): the server may have processed it.
    #[error("the request to {url} failed after it was sent; the server may have processed it")]
    Transport {
        /// The URL requested.
        url: String,
        /// The HTTP client's error.
        #[source]
        source: reqwest::Error,
    },

    /// The server answered with a non-2xx status (see `docs/api.md`).
    #[error("the server refused the request: {status} {reason}: {message}")]
    Refused {
        /// The HTTP status.
        status: u16,
        /// The JSON `error` code (`quota_exhausted`, …), or `http_<status>`
        /// when the body is not Hallmark's JSON error.
        reason: String,
        /// The JSON `message`, or the start of a non-JSON body.
        message: String,
        /// `Retry-After` in seconds, when the server sent one (`rate_limited`).
        retry_after: Option<u64>,
    },

    /// A 2xx answer whose body is not what the API documents.
    #[error("the answer from {url} is not what the API documents")]
    BadResponse {
        /// The URL requested.
        url: String,
        /// The decoding error.
        #[source]
        source: serde_json::Error,
    },

    /// The server URL is not an `https://` URL.
    #[error("invalid server URL {url:?}: {reason}")]
    InvalidUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: &'static str,
    },

    /// No trust anchor was given: the station trusts only Hallmark's root.
    #[error("no trust anchor given: the station needs Hallmark's root certificate")]
    NoTrustAnchors,

    /// A trust anchor rustls cannot use.
    #[error("trust anchor {index} is not a usable CA certificate")]
    TrustAnchor {
        /// Its position in the list given.
        index: usize,
        /// rustls' reason.
        #[source]
        source: rustls::Error,
    },

    /// rustls refused the configuration, or the station's key does not
    /// match its certificate.
    #[error("the TLS client configuration was refused")]
    TlsConfig(#[source] rustls::Error),

    /// Building the HTTP client failed.
    #[error("cannot build the HTTP client")]
    HttpClient(#[source] reqwest::Error),

    /// X.509 work failed (building a CSR, parsing a certificate).
    #[error(transparent)]
    Pki(#[from] PkiError),

    /// The key store failed (open, generate, sign).
    #[error(transparent)]
    Keys(#[from] KeyError),

    /// Reading or writing the station home failed.
    #[error("I/O error on {path}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },

    /// `station.toml` is invalid. The message never quotes the file's text,
    /// so a secret written into it by mistake is not repeated.
    #[error("{path}: {message}")]
    Config {
        /// The file.
        path: PathBuf,
        /// What is wrong, with the line number.
        message: String,
    },

    /// `StationHome::create` refuses a directory that is not empty.
    #[error("{path} exists and is not empty; refusing to overwrite a station home")]
    HomeExists {
        /// The directory.
        path: PathBuf,
    },

    /// A secret (passphrase, PIN) named in `station.toml` is unavailable.
    #[error("the {what} is not available: {hint}")]
    SecretMissing {
        /// `key passphrase` or `PKCS#11 PIN`.
        what: &'static str,
        /// How to provide it (names the variable or file, never a value).
        hint: String,
    },

    /// A certificate file or answer that is not what it must be.
    #[error("{what}: {reason}")]
    BadCertificate {
        /// What was read (`root.pem`, `the server's certificate`, …).
        what: String,
        /// What is wrong with it.
        reason: String,
    },

    /// The station's offline sub-CA refused to issue, or its log is unusable.
    #[error("offline issuance refused: {reason}: {message}")]
    OfflineRefused {
        /// A stable code (`count_used`, `device_id_taken`, …).
        reason: &'static str,
        /// For people.
        message: String,
    },

    /// The station has no certificate yet (`station.pem` is missing).
    #[error("the station in {path} is not enrolled yet")]
    NotEnrolled {
        /// The home directory.
        path: PathBuf,
    },
}
