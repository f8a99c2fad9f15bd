//! In-process measurements: the crypto floor, the 100k-entry CRL and audit
//! log verification.
//!
//! The floor is what one certificate costs in CPU with the provider Hallmark
//! uses (aws-lc-rs), through hallmark-pki's own code: parse and verify the
//! CSR's signature, render the TBS, sign it, DER-encode the certificate.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use aws_lc_rs::encoding::AsDer as _;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair as _};
use hallmark_pki::{
    Attribute, DistinguishedName, IssuerKey, KeyAlgorithm, PreparedCertificate, Profile, Serial,
    SignError, Signer, Subject, VerifiedCsr,
};

/// A P-256 software key held in memory (the same primitive as Hallmark's soft keys).
pub struct MemSigner {
    key: EcdsaKeyPair,
    rng: SystemRandom,
    spki: Vec<u8>,
}

impl std::fmt::Debug for MemSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MemSigner(P-256)")
    }
}

impl MemSigner {
    /// A fresh P-256 key.
    pub fn generate() -> Result<Self> {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng)
            .map_err(|e| anyhow::anyhow!("keygen: {e}"))?;
        let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref())
            .map_err(|e| anyhow::anyhow!("key: {e}"))?;
        let spki = key
            .public_key()
            .as_der()
            .map_err(|e| anyhow::anyhow!("spki: {e}"))?
            .as_ref()
            .to_vec();
        Ok(Self { key, rng, spki })
    }
}

impl Signer for MemSigner {
    fn algorithm(&self) -> KeyAlgorithm {
        KeyAlgorithm::EcdsaP256
    }
    fn public_key_der(&self) -> &[u8] {
        &self.spki
    }
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignError> {
        self.key
            .sign(&self.rng, message)
            .map(|s| s.as_ref().to_vec())
            .map_err(SignError::new)
    }
}

/// A self-signed CA (root profile: has SKI and cRLSign) and its signer.
pub fn test_ca() -> Result<(Vec<u8>, Arc<dyn Signer>, IssuerKey)> {
    let signer: Arc<dyn Signer> = Arc::new(MemSigner::generate()?);
    let name = DistinguishedName::new().with(Attribute::CommonName, "Bench CA");
    let issuer = IssuerKey::self_signed(&name, Arc::clone(&signer))?;
    let subject = Subject {
        name,
        public_key: hallmark_pki::PublicKey::from_spki_der(signer.public_key_der())?,
        alt_names: Vec::new(),
    };
    let cert = PreparedCertificate::prepare(
        &Profile::root(10 * hallmark_pki::profile::YEAR),
        &subject,
        Serial::from_random([7; 16]),
        now(),
        &issuer,
    )?
    .sign()?;
    let issuer = IssuerKey::from_certificate(&cert.der, Arc::clone(&signer))?;
    Ok((cert.der, signer, issuer))
}

/// Unix seconds now.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(0))
}

/// Certificates per second on all cores: verify CSR + prepare + sign + encode.
pub fn crypto_floor(csrs: &[Vec<u8>], duration: Duration, threads: usize) -> Result<f64> {
    let (_, _, issuer) = test_ca()?;
    let profile = Profile::client(hallmark_pki::profile::YEAR, Vec::new());
    let done = AtomicU64::new(0);
    let stop = AtomicBool::new(false);
    let start = Instant::now();
    std::thread::scope(|s| -> Result<()> {
        let mut handles = Vec::new();
        for t in 0..threads {
            let (issuer, profile, done, stop) = (&issuer, &profile, &done, &stop);
            handles.push(s.spawn(move || -> Result<()> {
                let mut i = t;
                while !stop.load(Ordering::Relaxed) {
                    let csr = VerifiedCsr::from_der(&csrs[i % csrs.len()])?;
                    let subject = Subject {
                        name: DistinguishedName::new().with(Attribute::CommonName, "dev"),
                        public_key: csr.public_key().clone(),
                        alt_names: Vec::new(),
                    };
                    let mut serial = [0u8; 16];
                    serial[..8].copy_from_slice(&(i as u64).to_be_bytes());
                    serial[8] = 1;
                    let cert = PreparedCertificate::prepare(
                        profile,
                        &subject,
                        Serial::from_random(serial),
                        now(),
                        issuer,
                    )?
                    .sign()?;
                    std::hint::black_box(cert);
                    done.fetch_add(1, Ordering::Relaxed);
                    i += threads;
                }
                Ok(())
            }));
        }
        std::thread::sleep(duration);
        stop.store(true, Ordering::Relaxed);
        for h in handles {
            h.join()
                .map_err(|_| anyhow::anyhow!("floor thread panicked"))??;
        }
        Ok(())
    })?;
    Ok(done.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64())
}

/// Seconds to build and sign a CRL with `n` entries (in-process, software key).
pub fn crl_seconds(n: u32) -> Result<f64> {
    use hallmark_revocation::{CrlIssuer, Reason, RevokedEntry, build_crl};
    let (cert, signer, _) = test_ca()?;
    let issuer = CrlIssuer::from_certificate(&cert)?;
    let t = now();
    let entries: Vec<RevokedEntry> = (0..n)
        .map(|i| {
            let mut serial = vec![0x40; 16];
            serial[12..].copy_from_slice(&i.to_be_bytes());
            RevokedEntry {
                serial,
                revoked_at: t - i64::from(i % 86_400),
                reason: (i % 3 == 0).then_some(Reason::KeyCompromise),
            }
        })
        .collect();
    let start = Instant::now();
    let crl =
        build_crl(&issuer, 1, t, t + 86_400, &entries, signer.as_ref()).context("build_crl")?;
    let secs = start.elapsed().as_secs_f64();
    std::hint::black_box(crl);
    Ok(secs)
}

/// Audit entries per second through `LogVerifier` (leaf hash + compact tree).
pub fn audit_entries_per_s(n: i64) -> Result<f64> {
    use hallmark_audit::{EntryRef, LogVerifier};
    let data =
        br#"{"serial":"5f3a9c","device_id":"bench-ord-000001","order":"ord-1","station":"st-1"}"#;
    let mut verifier = LogVerifier::new("bench.example/audit");
    let start = Instant::now();
    for seq in 1..=n {
        verifier.push(EntryRef {
            seq,
            kind: "certificate.issued",
            subject: Some("bench-ord-000001"),
            at: 1_800_000_000 + seq,
            data_json: data,
        })?;
    }
    let log = verifier.finish()?;
    let secs = start.elapsed().as_secs_f64();
    anyhow::ensure!(log.size == n as u64, "audit size mismatch");
    Ok(n as f64 / secs)
}
