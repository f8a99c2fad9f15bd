//! TLS for the provisioning server: a [`rustls::ServerConfig`] built on the
//! aws-lc-rs provider, and an ephemeral server key.
//!
//! - TLS 1.3 and TLS 1.2 ([RFC 7030 §3.3] requires at least TLS 1.1; we offer
//!   nothing older than 1.2), ALPN `h2` then `http/1.1`.
//! - Client certificates are *optional* ([RFC 7030 §3.3.2]): a client that
//!   presents one must chain to one of the given trust anchors (and carry the
//!   `clientAuth` EKU) or the handshake fails; a client that presents none
//!   still connects, and the handlers decide what it may do.
//! - The server key is ephemeral: generated in memory at start, certified by
//!   the CA, never written to disk.
//!
//! [RFC 7030 §3.3]: https://www.rfc-editor.org/rfc/rfc7030#section-3.3
//! [RFC 7030 §3.3.2]: https://www.rfc-editor.org/rfc/rfc7030#section-3.3.2

use std::sync::Arc;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair};
use rustls::crypto::CryptoProvider;
use rustls::server::WebPkiClientVerifier;
use rustls::server::danger::ClientCertVerifier;
use rustls::{RootCertStore, ServerConfig};
use rustls_pki_types::{
    CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, SubjectPublicKeyInfoDer,
};

use crate::Error;

/// ALPN protocols offered, most preferred first.
pub const ALPN_PROTOCOLS: [&[u8]; 2] = [b"h2", b"http/1.1"];

/// Builds the server's TLS configuration.
///
/// `chain` is the server certificate chain, end-entity first; `key` its
/// private key. `client_trust_anchors` are the CA certificates a client
/// certificate may chain to; when the list is empty no client certificate is
/// requested at all.
///
/// # Errors
///
/// [`Error::TrustAnchor`] for an unparsable trust anchor,
/// [`Error::ClientVerifier`] or [`Error::Tls`] when rustls refuses the
/// configuration (for instance a key that does not match the certificate).
pub fn server_config(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    client_trust_anchors: &[CertificateDer<'_>],
) -> Result<Arc<ServerConfig>, Error> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let verifier = client_verifier(client_trust_anchors, &provider)?;
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)?;
    config.alpn_protocols = ALPN_PROTOCOLS.iter().map(|p| p.to_vec()).collect();
    Ok(Arc::new(config))
}

/// Optional client authentication against `anchors` (none requested when
/// `anchors` is empty).
fn client_verifier(
    anchors: &[CertificateDer<'_>],
    provider: &Arc<CryptoProvider>,
) -> Result<Arc<dyn ClientCertVerifier>, Error> {
    if anchors.is_empty() {
        return Ok(WebPkiClientVerifier::no_client_auth());
    }
    let mut roots = RootCertStore::empty();
    for (index, anchor) in anchors.iter().enumerate() {
        roots
            .add(anchor.clone().into_owned())
            .map_err(|source| Error::TrustAnchor { index, source })?;
    }
    let verifier =
        WebPkiClientVerifier::builder_with_provider(Arc::new(roots), Arc::clone(provider))
            .allow_unauthenticated()
            .build()?;
    Ok(verifier)
}

/// A freshly generated ECDSA P-256 key pair for the server's TLS identity.
///
/// `Debug` does not show the private key.
#[derive(Debug)]
pub struct EphemeralKey {
    /// The private key, PKCS#8 v1 DER (zeroised when dropped).
    pub private_key: PrivatePkcs8KeyDer<'static>,
    /// The public key as a DER `SubjectPublicKeyInfo`, for the CA to certify.
    pub spki: SubjectPublicKeyInfoDer<'static>,
}

/// Generates an ephemeral ECDSA P-256 key with aws-lc-rs.
///
/// # Errors
///
/// [`Error::KeyGeneration`] if aws-lc-rs fails.
pub fn generate_ephemeral_p256() -> Result<EphemeralKey, Error> {
    let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_ASN1_SIGNING)
        .map_err(|_| Error::KeyGeneration)?;
    let pkcs8 = pair.to_pkcs8v1().map_err(|_| Error::KeyGeneration)?;
    let spki = pair
        .public_key()
        .as_der()
        .map_err(|_| Error::KeyGeneration)?;
    Ok(EphemeralKey {
        private_key: PrivatePkcs8KeyDer::from(pkcs8.as_ref().to_vec()),
        spki: SubjectPublicKeyInfoDer::from(spki.as_ref().to_vec()),
    })
}

#[cfg(test)]
#[path = "tls_tests.rs"]
mod tests;
