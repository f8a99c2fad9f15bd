//! The station's checks: the device's CSR, the chain the server returned
//! (against Hallmark's root, for client authentication, before INSTALL),
//! and the device's VERIFY signature (with the key in the installed
//! certificate).

use std::sync::Arc;

use hallmark_pki::{CertificateView, KeyAlgorithm, PublicKey, SignatureAlgorithm, VerifiedCsr};
use rustls::RootCertStore;
use rustls::server::WebPkiClientVerifier;
use rustls::server::danger::ClientCertVerifier;
use rustls_pki_types::{CertificateDer, UnixTime};
use sha2::{Digest as _, Sha256};

use super::failure::Failure;
use crate::Error;

/// Verifies device chains against Hallmark's root.
#[derive(Clone)]
pub(crate) struct ChainVerifier(Arc<dyn ClientCertVerifier>);

impl std::fmt::Debug for ChainVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ChainVerifier")
    }
}

impl ChainVerifier {
    /// A verifier trusting only `roots` (DER).
    pub(crate) fn new(roots: &[Vec<u8>]) -> Result<Self, Error> {
        let mut store = RootCertStore::empty();
        for (index, der) in roots.iter().enumerate() {
            store
                .add(CertificateDer::from(der.clone()))
                .map_err(|source| Error::TrustAnchor { index, source })?;
        }
        if store.is_empty() {
            return Err(Error::NoTrustAnchors);
        }
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(store), provider)
            .build()
            .map_err(|e| Error::BadCertificate {
                what: "the root".into(),
                reason: e.to_string(),
            })?;
        Ok(Self(verifier))
    }

    /// Checks that `chain` (DER, leaf first) chains to the root, is valid
    /// now and allows client authentication, that the leaf certifies
    /// `spki` and that its commonName is `device_id`.
    pub(crate) fn check(
        &self,
        chain: &[Vec<u8>],
        spki: &[u8],
        device_id: &str,
    ) -> Result<(), Failure> {
        let bad = |e: String| Failure::Check("chain_invalid", e);
        let (leaf, rest) = chain
            .split_first()
            .ok_or_else(|| bad("no certificate".into()))?;
        let intermediates: Vec<CertificateDer<'_>> = rest
            .iter()
            .map(|c| CertificateDer::from(c.as_slice()))
            .collect();
        self.0
            .verify_client_cert(
                &CertificateDer::from(leaf.as_slice()),
                &intermediates,
                UnixTime::now(),
            )
            .map_err(|e| {
                bad(format!(
                    "the certificate does not verify against the root: {e}"
                ))
            })?;
        let view = CertificateView::parse(leaf).map_err(|e| bad(e.to_string()))?;
        if view.spki_der != spki {
            return Err(bad(
                "the certificate is for another key than the device's".into()
            ));
        }
        if view.common_name.as_deref() != Some(device_id) {
            return Err(bad(format!(
                "the certificate's commonName {:?} is not the device id {device_id:?}",
                view.common_name
            )));
        }
        Ok(())
    }
}

/// Checks the device's CSR: it parses, its signature verifies, and it is
/// for `spki`. Returns it as PEM.
pub(crate) fn check_csr(der: &[u8], spki: &[u8]) -> Result<String, Failure> {
    let csr = VerifiedCsr::from_der(der)
        .map_err(|e| Failure::Check("csr_invalid", format!("the device's CSR: {e}")))?;
    if csr.public_key().spki_der() != spki {
        return Err(Failure::Check(
            "csr_invalid",
            "the device's CSR is for another key than the one it reported".into(),
        ));
    }
    Ok(hallmark_pki::pem::encode("CERTIFICATE REQUEST", der))
}

/// Checks the VERIFY signature over `"hallmark-verify-v1" || nonce ||
/// SHA-256(leaf)` with the public key in `leaf`.
pub(crate) fn check_proof(leaf: &[u8], nonce: &[u8], signature: &[u8]) -> Result<(), Failure> {
    let bad = |e: String| Failure::Check("verify_failed", e);
    let view = CertificateView::parse(leaf).map_err(|e| bad(e.to_string()))?;
    let key = PublicKey::from_spki_der(&view.spki_der).map_err(|e| bad(e.to_string()))?;
    let algorithm = match key.algorithm() {
        KeyAlgorithm::EcdsaP256 => SignatureAlgorithm::EcdsaSha256,
        KeyAlgorithm::EcdsaP384 => SignatureAlgorithm::EcdsaSha384,
        other => return Err(bad(format!("unexpected device key {}", other.name()))),
    };
    let leaf_hash: [u8; 32] = Sha256::digest(leaf).into();
    let mut buffer = [0u8; hallmark_protocol::VERIFY_MESSAGE_MAX];
    let message = hallmark_protocol::verify_message(nonce, &leaf_hash, &mut buffer)
        .map_err(|e| bad(e.to_string()))?;
    key.verify(algorithm, message, signature).map_err(|_| {
        bad("the device's signature does not verify with the installed certificate's key".into())
    })
}
