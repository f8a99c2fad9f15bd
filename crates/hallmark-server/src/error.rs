//! The crate's one error type.
//!
//! Messages name what was wrong (which byte, which certificate) so that an
//! EST client's operator can act on them; they never contain key material.

/// Everything that can go wrong in `hallmark-server`'s building blocks.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The authority refused or failed (start-up: reading the CA,
    /// certifying the server key).
    #[error(transparent)]
    Authority(#[from] hallmark_authority::AuthorityError),

    /// A listener could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: std::net::SocketAddr,
        /// The operating system's reason.
        source: std::io::Error,
    },

    /// A socket operation failed.
    #[error("socket error: {0}")]
    Io(#[source] std::io::Error),

    /// rustls refused the TLS configuration (protocol versions, server
    /// certificate chain or private key).
    #[error("TLS configuration refused: {0}")]
    Tls(#[from] rustls::Error),

    /// A client trust anchor could not be parsed as an X.509 certificate.
    #[error("client trust anchor #{index} is not a usable CA certificate: {source}")]
    TrustAnchor {
        /// Position of the refused certificate in the given list.
        index: usize,
        /// rustls' reason.
        source: rustls::Error,
    },

    /// The client certificate verifier could not be built.
    #[error("client certificate verifier: {0}")]
    ClientVerifier(#[from] rustls::server::VerifierBuilderError),

    /// aws-lc-rs failed to generate or serialise a key.
    #[error("key generation failed")]
    KeyGeneration,

    /// An EST request body was empty (or only whitespace).
    #[error("EST body is empty; expected base64-encoded DER (RFC 7030 §4, RFC 8951)")]
    EmptyBody,

    /// An EST request body contained a byte outside the base64 alphabet and
    /// the allowed whitespace.
    #[error(
        "EST body: byte {byte:#04x} at offset {offset} is neither standard base64 \
         (A-Z a-z 0-9 + / =) nor whitespace (CR, LF, space, tab)"
    )]
    Base64Byte {
        /// The offending byte.
        byte: u8,
        /// Its offset in the body.
        offset: usize,
    },

    /// An EST request body was made of base64 characters but is not valid
    /// padded standard base64.
    #[error("EST body: invalid base64: {0}")]
    Base64(String),

    /// `certs_only` was given no certificate.
    #[error("a certs-only message needs at least one certificate")]
    NoCertificates,

    /// A certificate given to `certs_only` is not one DER SEQUENCE.
    #[error("certificate #{index} is not a DER-encoded SEQUENCE: {source}")]
    NotACertificate {
        /// Position of the refused certificate in the given list.
        index: usize,
        /// The DER decoder's reason.
        source: der::Error,
    },

    /// DER encoding failed.
    #[error("DER encoding failed: {0}")]
    Der(#[from] der::Error),

    /// Encoding the metrics as OpenMetrics text failed.
    #[error("metrics encoding failed")]
    Metrics(#[from] std::fmt::Error),

    /// A rate limiter was configured with a non-positive or non-finite rate,
    /// or a zero burst.
    #[error("invalid rate limit: rate {rate_per_second}/s and burst {burst} must both be positive")]
    InvalidRateLimit {
        /// The configured refill rate.
        rate_per_second: f64,
        /// The configured burst.
        burst: u32,
    },
}
