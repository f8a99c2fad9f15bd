//! The HTTP/TLS edge of Hallmark: the provisioning server's building blocks.
//!
//! Factory stations enroll devices over EST ([RFC 7030], as updated by
//! [RFC 8951]); operators use a JSON API; Prometheus scrapes metrics. This
//! crate owns everything between the socket and a handler:
//!
//! - [`tls`]: the rustls server configuration (aws-lc-rs, TLS 1.2/1.3,
//!   ALPN `h2`/`http/1.1`, optional client certificates) and the ephemeral
//!   server key;
//! - [`listen`]: the accept loops ([`serve_tls`], [`serve_plain`]) with
//!   handshake timeout, HTTP/1.1 + HTTP/2 and graceful shutdown; requests
//!   carry [`PeerCertificates`] and [`RemoteAddr`];
//! - [`est_wire`]: EST bodies (base64 in and out, certs-only CMS,
//!   `CsrAttrs`) and content types;
//! - [`metrics`]: the Prometheus series and their OpenMetrics encoding;
//! - [`ratelimit`]: per-key token buckets with an injected clock.
//!
//! - [`app`]: the routes (EST, JSON API, health, metrics; CRLs and OCSP
//!   on plain HTTP, [`app::revocation`]) over the
//!   [`hallmark_authority::Authority`], with errors mapped to HTTP status in
//!   one place ([`app::status`]);
//! - [`server`]: binding, the server's own certificate, running until
//!   shutdown; [`ocsp_server`]: the standalone OCSP responder.
//!
//! It knows nothing of SQL or PKCS#11: all policy and state go through the
//! authority and its traits; the binary chooses the backends.
//!
//! [RFC 7030]: https://www.rfc-editor.org/rfc/rfc7030
//! [RFC 8951]: https://www.rfc-editor.org/rfc/rfc8951

pub mod app;
mod error;
pub mod est_wire;
pub mod listen;
pub mod metrics;
pub mod ocsp_server;
pub mod ratelimit;
pub mod server;
pub mod tls;

pub use error::Error;
pub use est_wire::{
    CONTENT_TYPE_CACERTS, CONTENT_TYPE_CERTS_ONLY, CONTENT_TYPE_CSRATTRS, CONTENT_TYPE_PKCS10,
    certs_only, csr_attributes, decode_base64_body, encode_base64_body,
};
pub use listen::{PeerCertificates, RemoteAddr, serve_plain, serve_tls};
pub use metrics::{Metrics, OPENMETRICS_CONTENT_TYPE};
pub use ocsp_server::OcspServer;
pub use ratelimit::{RateLimiter, RetryAfter};
pub use server::{Server, ServerOptions};
pub use tls::{EphemeralKey, generate_ephemeral_p256, server_config};

#[cfg(test)]
mod test_support;
