//! Building PKCS#10 certificate requests ([RFC 2986]) with a [`Signer`].
//!
//! The requester's side of [`crate::csr`]: version 0, the subject, the
//! signer's `SubjectPublicKeyInfo`, no attributes, and the signer's
//! signature over the DER `CertificationRequestInfo`. The key never leaves
//! its backend: only [`Signer::sign`] is used.
//!
//! [RFC 2986]: https://www.rfc-editor.org/rfc/rfc2986

use der::asn1::BitString;
use der::{Decode, Encode};
use spki::SubjectPublicKeyInfoOwned;
use x509_cert::attr::Attributes;
use x509_cert::request::{CertReq, CertReqInfo, Version};

use crate::cert::algorithm_identifier;
use crate::error::PkiError;
use crate::name::DistinguishedName;
use crate::sign::Signer;

/// Builds a DER `CertificationRequest` for `subject` and the key behind `signer`.
///
/// # Errors
///
/// [`PkiError::Malformed`] if the signer's public key is not a DER
/// `SubjectPublicKeyInfo`, [`PkiError::Sign`] if the key backend fails,
/// [`PkiError::Encode`] for DER failures (absurd sizes), and the errors of
/// [`DistinguishedName::to_name`].
pub fn build_csr(subject: &DistinguishedName, signer: &dyn Signer) -> Result<Vec<u8>, PkiError> {
    let public_key = SubjectPublicKeyInfoOwned::from_der(signer.public_key_der())
        .map_err(PkiError::malformed("signer public key"))?;
    let info = CertReqInfo {
        version: Version::V1,
        subject: subject.to_name()?,
        public_key,
        attributes: Attributes::new(),
    };
    let info_der = info.to_der()?;
    let signature = signer.sign(&info_der)?;
    let request = CertReq {
        info,
        algorithm: algorithm_identifier(signer.algorithm().signature_algorithm()),
        signature: BitString::from_bytes(&signature)?,
    };
    Ok(request.to_der()?)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)] // tests report failures by panicking

    use aws_lc_rs::encoding::AsDer;
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::signature::{
        ECDSA_P256_SHA256_ASN1_SIGNING, ECDSA_P384_SHA384_ASN1_SIGNING, EcdsaKeyPair,
        Ed25519KeyPair, KeyPair,
    };
    use hallmark_testkit::tools;

    use super::*;
    use crate::alg::KeyAlgorithm;
    use crate::csr::VerifiedCsr;
    use crate::name::Attribute;
    use crate::sign::SignError;

    /// An in-memory key standing in for a key backend.
    #[derive(Debug)]
    enum TestKey {
        Ecdsa(EcdsaKeyPair, KeyAlgorithm, Vec<u8>),
        Ed25519(Ed25519KeyPair, Vec<u8>),
    }

    impl TestKey {
        fn generate(alg: KeyAlgorithm) -> Self {
            match alg {
                KeyAlgorithm::Ed25519 => {
                    let pair = Ed25519KeyPair::generate().unwrap();
                    let spki = pair.public_key().as_der().unwrap().as_ref().to_vec();
                    Self::Ed25519(pair, spki)
                }
                _ => {
                    let signing = match alg {
                        KeyAlgorithm::EcdsaP256 => &ECDSA_P256_SHA256_ASN1_SIGNING,
                        _ => &ECDSA_P384_SHA384_ASN1_SIGNING,
                    };
                    let pair = EcdsaKeyPair::generate(signing).unwrap();
                    let spki = pair.public_key().as_der().unwrap().as_ref().to_vec();
                    Self::Ecdsa(pair, alg, spki)
                }
            }
        }
    }

    impl Signer for TestKey {
        fn algorithm(&self) -> KeyAlgorithm {
            match self {
                Self::Ecdsa(_, alg, _) => *alg,
                Self::Ed25519(..) => KeyAlgorithm::Ed25519,
            }
        }
        fn public_key_der(&self) -> &[u8] {
            match self {
                Self::Ecdsa(_, _, spki) | Self::Ed25519(_, spki) => spki,
            }
        }
        fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignError> {
            match self {
                Self::Ecdsa(pair, ..) => pair
                    .sign(&SystemRandom::new(), message)
                    .map(|s| s.as_ref().to_vec())
                    .map_err(SignError::new),
                Self::Ed25519(pair, _) => Ok(pair.sign(message).as_ref().to_vec()),
            }
        }
    }

    fn subject() -> DistinguishedName {
        DistinguishedName::new()
            .with(Attribute::Organization, "station")
            .with(Attribute::CommonName, "pending")
    }

    fn check(alg: KeyAlgorithm) {
        let key = TestKey::generate(alg);
        let der = build_csr(&subject(), &key).unwrap();

        let csr = VerifiedCsr::from_der(&der).unwrap();
        assert_eq!(csr.public_key().algorithm(), alg);
        assert_eq!(csr.signature_algorithm(), alg.signature_algorithm());
        assert_eq!(csr.common_name().as_deref(), Some("pending"));

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("req.der");
        std::fs::write(&path, &der).unwrap();
        let out = tools::openssl_ok(&[
            "req",
            "-verify",
            "-inform",
            "DER",
            "-in",
            tools::path_str(&path),
            "-noout",
            "-subject",
        ]);
        assert!(
            out.contains("verify OK") && !out.contains("failure"),
            "{out}"
        );
        assert!(out.contains("subject=O = station, CN = pending"), "{out}");
    }

    #[test]
    fn p256_request_verifies_here_and_in_openssl() {
        check(KeyAlgorithm::EcdsaP256);
    }

    #[test]
    fn p384_request_verifies_here_and_in_openssl() {
        check(KeyAlgorithm::EcdsaP384);
    }

    #[test]
    fn ed25519_request_verifies_here_and_in_openssl() {
        check(KeyAlgorithm::Ed25519);
    }

    #[test]
    fn a_garbage_public_key_is_malformed() {
        #[derive(Debug)]
        struct Broken;
        impl Signer for Broken {
            fn algorithm(&self) -> KeyAlgorithm {
                KeyAlgorithm::EcdsaP256
            }
            fn public_key_der(&self) -> &[u8] {
                b"not DER"
            }
            fn sign(&self, _: &[u8]) -> Result<Vec<u8>, SignError> {
                Ok(vec![])
            }
        }
        let err = build_csr(&subject(), &Broken).unwrap_err();
        assert!(matches!(err, PkiError::Malformed { .. }), "{err:?}");
    }
}
