//! Builds a root → issuing CA → device chain with in-memory keys and has
//! OpenSSL and pkilint judge every certificate; checks each CSR refusal.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests report failures by panicking

use std::path::Path;
use std::sync::Arc;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self as sig, EcdsaKeyPair, KeyPair};
use hallmark_pki::profile::YEAR;
use hallmark_pki::{
    Attribute, DeviceId, DistinguishedName, IssuerKey, KeyAlgorithm, PkiError, PreparedCertificate,
    Profile, SanTemplate, SanValues, Serial, SignError, Signer, Subject, VerifiedCsr,
};
use hallmark_testkit::tools::{self, KeySpec};

/// An in-memory ECDSA key, standing in for a key backend (the backends have their own suite).
#[derive(Debug)]
struct TestKey {
    pair: EcdsaKeyPair,
    alg: KeyAlgorithm,
    spki: Vec<u8>,
}

impl TestKey {
    fn generate(alg: KeyAlgorithm) -> Arc<dyn Signer> {
        let signing = match alg {
            KeyAlgorithm::EcdsaP256 => &sig::ECDSA_P256_SHA256_ASN1_SIGNING,
            _ => &sig::ECDSA_P384_SHA384_ASN1_SIGNING,
        };
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(signing, &SystemRandom::new()).unwrap();
        let pair = EcdsaKeyPair::from_pkcs8(signing, pkcs8.as_ref()).unwrap();
        let spki = spki_der(alg, pair.public_key().as_ref());
        Arc::new(Self { pair, alg, spki })
    }
}

fn spki_der(alg: KeyAlgorithm, point: &[u8]) -> Vec<u8> {
    use der::Encode;
    let curve = match alg {
        KeyAlgorithm::EcdsaP256 => hallmark_pki::alg::SECP256R1,
        _ => hallmark_pki::alg::SECP384R1,
    };
    spki::SubjectPublicKeyInfoOwned {
        algorithm: spki::AlgorithmIdentifierOwned {
            oid: hallmark_pki::alg::ID_EC_PUBLIC_KEY,
            parameters: Some(der::Any::encode_from(&curve).unwrap()),
        },
        subject_public_key: der::asn1::BitString::from_bytes(point).unwrap(),
    }
    .to_der()
    .unwrap()
}

impl Signer for TestKey {
    fn algorithm(&self) -> KeyAlgorithm {
        self.alg
    }
    fn public_key_der(&self) -> &[u8] {
        &self.spki
    }
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignError> {
        let s = self
            .pair
            .sign(&SystemRandom::new(), message)
            .map_err(|e| SignError::new(std::io::Error::other(e.to_string())))?;
        Ok(s.as_ref().to_vec())
    }
}

const NOW: i64 = 1_790_000_000; // 2026-09

struct Hierarchy {
    root_der: Vec<u8>,
    ica_der: Vec<u8>,
    ica: IssuerKey,
}

fn ca_subject(cn: &str) -> DistinguishedName {
    DistinguishedName::new()
        .with(Attribute::Organization, "Acme Devices")
        .with(Attribute::CommonName, cn)
}

fn hierarchy() -> Hierarchy {
    let root_key = TestKey::generate(KeyAlgorithm::EcdsaP384);
    let root_name = ca_subject("Acme Root CA");
    let root_issuer = IssuerKey::self_signed(&root_name, root_key.clone()).unwrap();
    let root_subject = Subject {
        name: root_name,
        public_key: hallmark_pki::PublicKey::from_spki_der(root_key.public_key_der()).unwrap(),
        alt_names: vec![],
    };
    let root = PreparedCertificate::prepare(
        &Profile::root(20 * YEAR),
        &root_subject,
        Serial::from_random([1; 16]),
        NOW,
        &root_issuer,
    )
    .unwrap()
    .sign()
    .unwrap();
    let root = IssuerKey::from_certificate(&root.der, root_key)
        .map(|_| root)
        .unwrap();
    let root_issuer = IssuerKey::from_certificate(&root.der, root_issuer.signer().clone()).unwrap();

    let ica_key = TestKey::generate(KeyAlgorithm::EcdsaP256);
    let ica_subject = Subject {
        name: ca_subject("Acme Factory berlin Issuing CA"),
        public_key: hallmark_pki::PublicKey::from_spki_der(ica_key.public_key_der()).unwrap(),
        alt_names: vec![],
    };
    let ica = PreparedCertificate::prepare(
        &Profile::issuing_ca(10 * YEAR),
        &ica_subject,
        Serial::from_random([2; 16]),
        NOW,
        &root_issuer,
    )
    .unwrap()
    .sign()
    .unwrap();
    let ica_issuer = IssuerKey::from_certificate(&ica.der, ica_key).unwrap();
    Hierarchy {
        root_der: root.der,
        ica_der: ica.der,
        ica: ica_issuer,
    }
}

fn device_profile() -> Profile {
    let mut p = Profile::client(
        5 * YEAR,
        vec![
            "URI:https://devices.example.com/{factory}/{device_id}"
                .parse::<SanTemplate>()
                .unwrap(),
        ],
    );
    p.crl_urls = vec!["http://127.0.0.1:8080/crl/berlin.crl".into()];
    p.ocsp_urls = vec!["http://127.0.0.1:8080/ocsp".into()];
    p
}

fn issue(h: &Hierarchy, csr: &VerifiedCsr, device: &str) -> Vec<u8> {
    let id = DeviceId::parse(device).unwrap();
    let profile = device_profile();
    let alt_names = profile
        .subject_alt_names
        .iter()
        .map(|t| {
            t.render(SanValues {
                device_id: &id,
                factory: "berlin",
            })
            .unwrap()
        })
        .collect();
    let subject = Subject {
        name: DistinguishedName::new()
            .with(Attribute::Organization, "Acme Devices")
            .with(Attribute::CommonName, device),
        public_key: csr.public_key().clone(),
        alt_names,
    };
    let prepared = PreparedCertificate::prepare(
        &profile,
        &subject,
        Serial::from_random(rand16()),
        NOW,
        &h.ica,
    )
    .unwrap();
    prepared.sign().unwrap().der
}

fn rand16() -> [u8; 16] {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).unwrap();
    b
}

fn check_all(dir: &Path, h: &Hierarchy, leaf_der: &[u8]) {
    let root = tools::write_cert_pem(dir, "root.pem", &h.root_der);
    let ica = tools::write_cert_pem(dir, "ica.pem", &h.ica_der);
    let leaf = tools::write_cert_pem(dir, "leaf.pem", leaf_der);
    for cert in [&root, &ica, &leaf] {
        tools::lint_certificate(cert).unwrap_or_else(|e| panic!("pkilint {}: {e}", cert.display()));
    }
    tools::lint_chain_link(&root, &ica).unwrap();
    tools::lint_chain_link(&ica, &leaf).unwrap();
    tools::openssl_verify(&root, &[], &ica, None).unwrap();
    tools::openssl_verify(&root, &[&ica], &leaf, Some("sslclient")).unwrap();
}

#[test]
fn every_accepted_key_type_yields_a_verified_lint_clean_chain() {
    let dir = tempfile::tempdir().unwrap();
    let h = hierarchy();
    let cases = [
        (
            KeySpec::Ec("prime256v1"),
            Some("sha256"),
            KeyAlgorithm::EcdsaP256,
        ),
        (
            KeySpec::Ec("secp384r1"),
            Some("sha384"),
            KeyAlgorithm::EcdsaP384,
        ),
        // A P-384 key in a request signed with SHA-256 (the rcgen trap): the certificate must still carry P-384.
        (
            KeySpec::Ec("secp384r1"),
            Some("sha256"),
            KeyAlgorithm::EcdsaP384,
        ),
        (KeySpec::Ed25519, None, KeyAlgorithm::Ed25519),
        (
            KeySpec::Rsa(2048),
            Some("sha256"),
            KeyAlgorithm::Rsa { bits: 2048 },
        ),
        (
            KeySpec::Rsa(4096),
            Some("sha512"),
            KeyAlgorithm::Rsa { bits: 4096 },
        ),
    ];
    for (i, (spec, digest, expected)) in cases.into_iter().enumerate() {
        let key = tools::make_key(dir.path(), &format!("dev{i}"), spec);
        let (pem, der) = tools::make_csr(&key, &format!("dev-{i}"), digest);
        let from_der = VerifiedCsr::from_pem_or_der(&der).unwrap();
        let from_pem = VerifiedCsr::from_pem_or_der(&std::fs::read(pem).unwrap()).unwrap();
        assert_eq!(from_der.public_key(), from_pem.public_key());
        assert_eq!(from_der.public_key().algorithm(), expected, "{spec:?}");
        let leaf = issue(&h, &from_der, &format!("dev-{i}"));
        check_all(dir.path(), &h, &leaf);
        // The certificate's key is the request's key, byte for byte.
        let text = tools::certificate_text(&dir.path().join("leaf.pem"), &[]);
        assert!(
            text.contains("https://devices.example.com/berlin/dev-"),
            "{text}"
        );
        assert!(text.contains("TLS Web Client Authentication"), "{text}");
    }
}

fn refusal(spec: KeySpec, digest: Option<&str>) -> PkiError {
    let dir = tempfile::tempdir().unwrap();
    let key = tools::make_key(dir.path(), "k", spec);
    let (_, der) = tools::make_csr(&key, "dev", digest);
    VerifiedCsr::from_der(&der).unwrap_err()
}

#[test]
fn small_rsa_is_refused() {
    assert!(matches!(
        refusal(KeySpec::Rsa(1024), Some("sha256")),
        PkiError::RsaKeySize { bits: 1024 }
    ));
}

#[test]
fn other_curves_are_refused() {
    for curve in ["secp521r1", "secp256k1"] {
        assert!(
            matches!(
                refusal(KeySpec::Ec(curve), Some("sha256")),
                PkiError::UnsupportedCurve(_)
            ),
            "{curve}"
        );
    }
}

#[test]
fn sha1_and_md5_signatures_are_refused() {
    let err = refusal(KeySpec::Ec("prime256v1"), Some("sha1"));
    assert!(
        matches!(
            err,
            PkiError::WeakSignatureAlgorithm {
                name: "ecdsa-with-SHA1",
                ..
            }
        ),
        "{err}"
    );
    let err = refusal(KeySpec::Rsa(2048), Some("sha1"));
    assert!(
        matches!(
            err,
            PkiError::WeakSignatureAlgorithm {
                name: "sha1WithRSAEncryption",
                ..
            }
        ),
        "{err}"
    );
    let err = refusal(KeySpec::Rsa(2048), Some("md5"));
    assert!(
        matches!(
            err,
            PkiError::WeakSignatureAlgorithm {
                name: "md5WithRSAEncryption",
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn a_bad_signature_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let key = tools::make_key(dir.path(), "k", KeySpec::Ec("prime256v1"));
    let (_, mut der) = tools::make_csr(&key, "dev-1", Some("sha256"));
    // Alter the subject's common name: the signature no longer covers the bytes.
    let pos = der.windows(5).position(|w| w == b"dev-1").unwrap();
    der[pos + 4] = b'2';
    assert!(matches!(
        VerifiedCsr::from_der(&der).unwrap_err(),
        PkiError::BadCsrSignature
    ));
}

#[test]
fn malformed_input_is_refused() {
    for input in [
        &b""[..],
        b"not a csr",
        b"-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n",
        &[0x30, 0x03, 0x02, 0x01],
    ] {
        let err = VerifiedCsr::from_pem_or_der(input).unwrap_err();
        assert!(
            matches!(err, PkiError::Malformed { .. }),
            "{input:?}: {err}"
        );
    }
    let err = VerifiedCsr::from_pem_or_der(
        b"-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n",
    )
    .unwrap_err();
    assert!(matches!(err, PkiError::WrongPemLabel { .. }), "{err}");
}

#[test]
fn issuer_key_must_match_its_certificate() {
    let h = hierarchy();
    let other = TestKey::generate(KeyAlgorithm::EcdsaP256);
    assert!(matches!(
        IssuerKey::from_certificate(&h.ica_der, other).unwrap_err(),
        PkiError::IssuerKeyMismatch
    ));
}

#[test]
fn leaf_validity_is_capped_by_the_issuer() {
    let h = hierarchy();
    let dir = tempfile::tempdir().unwrap();
    let key = tools::make_key(dir.path(), "k", KeySpec::Ec("prime256v1"));
    let (_, der) = tools::make_csr(&key, "dev-1", Some("sha256"));
    let csr = VerifiedCsr::from_der(&der).unwrap();
    let mut profile = device_profile();
    profile.validity_seconds = 50 * YEAR;
    let subject = Subject {
        name: DistinguishedName::new().with(Attribute::CommonName, "dev-1"),
        public_key: csr.public_key().clone(),
        alt_names: vec![],
    };
    let cert = PreparedCertificate::prepare(
        &profile,
        &subject,
        Serial::from_random([3; 16]),
        NOW,
        &h.ica,
    )
    .unwrap()
    .sign()
    .unwrap();
    assert_eq!(cert.not_after, NOW + 10 * YEAR);
}
