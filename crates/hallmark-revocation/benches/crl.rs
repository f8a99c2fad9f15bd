//! CRL signing time for 1,000, 10,000 and 100,000 entries (P-256 software
//! key), and OCSP response building (one SingleResponse, with and without a
//! nonce).
//!
//! `cargo bench -p hallmark-revocation --bench crl`

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod fixture;

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use fixture::{Fixture, NOW};
use hallmark_revocation::{
    CertStatus, CrlIssuer, HashAlgorithm, IssuerHashes, Nonce, Reason, Responder, RevokedEntry,
    SingleResponse, build_crl, build_response, build_single_response,
};

fn entries(n: u32) -> Vec<RevokedEntry> {
    (0..n)
        .map(|i| {
            let mut serial = [0x5a; 16];
            serial[12..].copy_from_slice(&i.to_be_bytes());
            RevokedEntry {
                serial: serial.to_vec(),
                revoked_at: NOW - i64::from(i),
                reason: Some(Reason::ALL[i as usize % Reason::ALL.len()]),
            }
        })
        .collect()
}

fn crl(c: &mut Criterion) {
    let fx = Fixture::new();
    let issuer = CrlIssuer::from_certificate(&fx.ca_der).unwrap();
    let mut group = c.benchmark_group("build_crl");
    group.sample_size(20);
    for n in [1_000u32, 10_000, 100_000] {
        let list = entries(n);
        group.throughput(Throughput::Elements(u64::from(n)));
        group.bench_with_input(BenchmarkId::from_parameter(n), &list, |b, list| {
            b.iter(|| {
                build_crl(
                    &issuer,
                    1,
                    NOW,
                    NOW + 86_400,
                    black_box(list),
                    &*fx.ca_signer,
                )
                .unwrap()
            });
        });
    }
    group.finish();
}

fn ocsp(c: &mut Criterion) {
    let fx = Fixture::new();
    let hashes = IssuerHashes::for_issuer(&fx.ca_der).unwrap();
    let responder = Responder::new(fx.responder_der.clone(), fx.responder_signer.clone()).unwrap();
    let single = SingleResponse {
        cert_id: hashes.cert_id(HashAlgorithm::Sha1, &[0x40; 16]).unwrap(),
        status: CertStatus::Revoked {
            at: NOW - 60,
            reason: Some(Reason::KeyCompromise),
        },
        this_update: NOW,
        next_update: NOW + 3600,
    };
    let nonce = Nonce::new(&[7; 16]).unwrap();
    let mut group = c.benchmark_group("ocsp");
    group.bench_function("single_response_cacheable", |b| {
        b.iter(|| build_single_response(&responder, black_box(&single), NOW).unwrap());
    });
    group.bench_function("response_with_nonce", |b| {
        b.iter(|| {
            let responses = std::slice::from_ref(black_box(&single));
            build_response(&responder, responses, NOW, Some(&nonce)).unwrap()
        });
    });
    group.finish();
}

criterion_group!(benches, crl, ocsp);
criterion_main!(benches);
