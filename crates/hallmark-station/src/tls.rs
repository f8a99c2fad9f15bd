//! TLS client authentication with a Hallmark [`Signer`].
//!
//! rustls signs the handshake (TLS 1.3 `CertificateVerify`, TLS 1.2
//! `CertificateVerify`) through [`rustls::sign::SigningKey`]; this module
//! implements it on top of [`hallmark_pki::Signer`], so the station key may
//! stay encrypted on disk ([`hallmark_keys::SoftKeyStore`]) or inside an HSM
//! ([`hallmark_keys::Pkcs11KeyStore`]) and is never loaded as plaintext
//! PKCS#8 for rustls.
//!
//! rustls hands the signer the message to be signed, unhashed, and expects
//! the signature in the scheme's wire form; [`Signer::sign`] hashes with the
//! key algorithm's hash and returns a DER `ECDSA-Sig-Value`, raw Ed25519 or
//! PKCS#1 v1.5 signature, which is exactly that form for the schemes chosen
//! here (ECDSA with the curve's own hash, as TLS 1.3 requires).
//!
//! RSA keys sign with `rsa_pkcs1_sha256`, which TLS 1.3 forbids for
//! `CertificateVerify`: an RSA station key can authenticate only over TLS
//! 1.2 (no Hallmark key store generates RSA keys today).
//!
//! [`Signer::sign`] runs on the calling thread during the handshake; an HSM
//! signature blocks that (tokio) thread for its duration.

use std::fmt;
use std::sync::Arc;

use hallmark_pki::{KeyAlgorithm, Signer};
use rustls::client::ResolvesClientCert;
use rustls::sign::{CertifiedKey, SigningKey};
use rustls::{ClientConfig, RootCertStore, SignatureAlgorithm, SignatureScheme};
use rustls_pki_types::{CertificateDer, SubjectPublicKeyInfoDer};

use crate::Error;

/// ALPN protocols offered, most preferred first (the server's order too).
pub const ALPN_PROTOCOLS: [&[u8]; 2] = [b"h2", b"http/1.1"];

/// A TLS client identity: the certificate chain (DER, leaf first) and the
/// signer holding the leaf's key.
pub type Identity = (Vec<Vec<u8>>, Arc<dyn Signer>);

/// A client configuration for the Hallmark server.
///
/// Uses the aws-lc-rs provider, TLS 1.3 and 1.2, ALPN `h2` then
/// `http/1.1`, and trusts only `roots` (DER certificates; never the
/// system store). `identity` is the station's certificate chain (DER, leaf
/// first) and the signer of the leaf's key; without it no client
/// certificate is sent.
///
/// # Errors
///
/// [`Error::NoTrustAnchors`], [`Error::TrustAnchor`], and
/// [`Error::TlsConfig`] when rustls refuses the configuration or the
/// signer's public key is not the leaf certificate's.
pub fn client_config(roots: &[Vec<u8>], identity: Option<Identity>) -> Result<ClientConfig, Error> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(Error::TlsConfig)?
        .with_root_certificates(root_store(roots)?);
    let mut config = match identity {
        Some((chain, signer)) => {
            builder.with_client_cert_resolver(Arc::new(SignerCertResolver::new(chain, signer)?))
        }
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = ALPN_PROTOCOLS.iter().map(|p| p.to_vec()).collect();
    Ok(config)
}

fn root_store(roots: &[Vec<u8>]) -> Result<RootCertStore, Error> {
    if roots.is_empty() {
        return Err(Error::NoTrustAnchors);
    }
    let mut store = RootCertStore::empty();
    for (index, der) in roots.iter().enumerate() {
        store
            .add(CertificateDer::from(der.clone()))
            .map_err(|source| Error::TrustAnchor { index, source })?;
    }
    Ok(store)
}

/// The TLS signature scheme a key of `alg` signs with.
pub fn signature_scheme(alg: KeyAlgorithm) -> SignatureScheme {
    match alg {
        KeyAlgorithm::EcdsaP256 => SignatureScheme::ECDSA_NISTP256_SHA256,
        KeyAlgorithm::EcdsaP384 => SignatureScheme::ECDSA_NISTP384_SHA384,
        KeyAlgorithm::Ed25519 => SignatureScheme::ED25519,
        KeyAlgorithm::Rsa { .. } => SignatureScheme::RSA_PKCS1_SHA256,
    }
}

/// A [`rustls::sign::SigningKey`] backed by a Hallmark [`Signer`].
pub struct SignerKey {
    signer: Arc<dyn Signer>,
    scheme: SignatureScheme,
}

impl SignerKey {
    /// Wraps `signer`; its scheme follows from its algorithm ([`signature_scheme`]).
    pub fn new(signer: Arc<dyn Signer>) -> Self {
        let scheme = signature_scheme(signer.algorithm());
        Self { signer, scheme }
    }
}

impl fmt::Debug for SignerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignerKey")
            .field("signer", &self.signer)
            .field("scheme", &self.scheme)
            .finish()
    }
}

impl SigningKey for SignerKey {
    fn choose_scheme(&self, offered: &[SignatureScheme]) -> Option<Box<dyn rustls::sign::Signer>> {
        offered.contains(&self.scheme).then(|| {
            Box::new(SchemeSigner {
                signer: Arc::clone(&self.signer),
                scheme: self.scheme,
            }) as Box<dyn rustls::sign::Signer>
        })
    }

    fn public_key(&self) -> Option<SubjectPublicKeyInfoDer<'_>> {
        Some(SubjectPublicKeyInfoDer::from(self.signer.public_key_der()))
    }

    fn algorithm(&self) -> SignatureAlgorithm {
        match self.signer.algorithm() {
            KeyAlgorithm::EcdsaP256 | KeyAlgorithm::EcdsaP384 => SignatureAlgorithm::ECDSA,
            KeyAlgorithm::Ed25519 => SignatureAlgorithm::ED25519,
            KeyAlgorithm::Rsa { .. } => SignatureAlgorithm::RSA,
        }
    }
}

/// One handshake's signer, with its scheme fixed.
#[derive(Debug)]
struct SchemeSigner {
    signer: Arc<dyn Signer>,
    scheme: SignatureScheme,
}

impl rustls::sign::Signer for SchemeSigner {
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, rustls::Error> {
        self.signer.sign(message).map_err(|err| {
            let cause = err.0.to_string();
            tracing::warn!(error = %cause, "the station key failed to sign the TLS handshake");
            rustls::Error::General(format!("the station key failed to sign: {cause}"))
        })
    }

    fn scheme(&self) -> SignatureScheme {
        self.scheme
    }
}

/// Always presents the station's certificate chain with its [`SignerKey`].
#[derive(Debug)]
pub struct SignerCertResolver {
    key: Arc<CertifiedKey>,
    scheme: SignatureScheme,
}

impl SignerCertResolver {
    /// `chain` is DER, leaf first; `signer` holds the leaf's key.
    ///
    /// # Errors
    ///
    /// [`Error::TlsConfig`] if the chain is empty, the leaf does not parse,
    /// or its public key is not the signer's.
    pub fn new(chain: Vec<Vec<u8>>, signer: Arc<dyn Signer>) -> Result<Self, Error> {
        let chain = chain.into_iter().map(CertificateDer::from).collect();
        let scheme = signature_scheme(signer.algorithm());
        let key = CertifiedKey::new(chain, Arc::new(SignerKey::new(signer)));
        key.keys_match().map_err(Error::TlsConfig)?;
        Ok(Self {
            key: Arc::new(key),
            scheme,
        })
    }
}

impl ResolvesClientCert for SignerCertResolver {
    fn resolve(
        &self,
        _root_hint_subjects: &[&[u8]],
        sigschemes: &[SignatureScheme],
    ) -> Option<Arc<CertifiedKey>> {
        if !sigschemes.contains(&self.scheme) {
            tracing::warn!(
                scheme = ?self.scheme,
                offered = ?sigschemes,
                "the server does not accept the station key's signature scheme; \
                 no client certificate will be sent"
            );
        }
        Some(Arc::clone(&self.key))
    }

    fn has_certs(&self) -> bool {
        true
    }
}
