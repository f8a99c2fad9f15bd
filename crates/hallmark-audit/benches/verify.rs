//! Throughput of log verification: leaf hashing and compact-tree appends
//! over 1,000,000 synthetic entries of about 300 leaf bytes each.
//!
//! `cargo bench -p hallmark-audit -- --quick`

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use hallmark_audit::{CompactTree, EntryRef, Hash, LogVerifier};

const ENTRIES: usize = 1_000_000;
const KINDS: [&str; 4] = [
    "certificate.issued",
    "issuance.intent",
    "request.refused",
    "station.enrolled",
];

/// All entries' variable fields in two arenas, so the benchmark reads
/// memory the way a store cursor hands out rows, without allocating.
struct Synthetic {
    data: Vec<u8>,
    data_ends: Vec<usize>,
    subjects: String,
    subject_ends: Vec<usize>,
}

impl Synthetic {
    fn new() -> Self {
        let mut s = Self {
            data: Vec::with_capacity(ENTRIES * 240),
            data_ends: Vec::with_capacity(ENTRIES),
            subjects: String::with_capacity(ENTRIES * 16),
            subject_ends: Vec::with_capacity(ENTRIES),
        };
        for i in 0..ENTRIES {
            let json = format!(
                concat!(
                    r#"{{"serial":"{:032x}","order":"order-{:06}","station":"station-{:03}","#,
                    r#""profile":"device-tls","not_after":{},"key":"p256","#,
                    r#""sha256":"{:064x}"}}"#
                ),
                i * 7919,
                i / 1000,
                i % 97,
                1_767_225_600 + i,
                i * 104_729
            );
            s.data.extend_from_slice(json.as_bytes());
            s.data_ends.push(s.data.len());
            s.subjects.push_str(&format!("device-{i:08}"));
            s.subject_ends.push(s.subjects.len());
        }
        s
    }

    fn entries(&self) -> impl Iterator<Item = EntryRef<'_>> {
        (0..ENTRIES).map(move |i| {
            let d0 = if i == 0 { 0 } else { self.data_ends[i - 1] };
            let s0 = if i == 0 { 0 } else { self.subject_ends[i - 1] };
            EntryRef {
                seq: i as i64 + 1,
                kind: KINDS[i % KINDS.len()],
                subject: (i % 5 != 0).then(|| &self.subjects[s0..self.subject_ends[i]]),
                at: 1_767_225_600 + i as i64,
                data_json: &self.data[d0..self.data_ends[i]],
            }
        })
    }
}

fn bench(c: &mut Criterion) {
    let synthetic = Synthetic::new();
    let leaf_bytes: usize = synthetic.entries().map(|e| e.leaf_bytes().len()).sum();
    eprintln!("mean leaf size: {} bytes", leaf_bytes / ENTRIES);
    let leaves: Vec<Hash> = synthetic.entries().map(|e| e.leaf_hash()).collect();

    let mut group = c.benchmark_group("audit_1M");
    group.sample_size(10);
    group.throughput(Throughput::Elements(ENTRIES as u64));

    group.bench_function("leaf_hash+compact_append", |b| {
        b.iter(|| {
            let mut tree = CompactTree::new();
            for e in synthetic.entries() {
                tree.push(e.leaf_hash());
            }
            black_box(tree.root())
        })
    });
    group.bench_function("log_verifier_push", |b| {
        b.iter(|| {
            let mut v = LogVerifier::new("hallmark/bench");
            for e in synthetic.entries() {
                v.push(e).unwrap();
            }
            black_box(v.finish().unwrap().root_hash)
        })
    });
    group.bench_function("leaf_hash_only", |b| {
        b.iter(|| {
            let mut acc = 0u8;
            for e in synthetic.entries() {
                acc ^= e.leaf_hash()[0];
            }
            black_box(acc)
        })
    });
    group.bench_function("compact_append_only", |b| {
        b.iter(|| {
            let mut tree = CompactTree::new();
            for leaf in &leaves {
                tree.push(*leaf);
            }
            black_box(tree.root())
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
