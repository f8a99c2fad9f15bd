#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The canonical leaf encoding, byte for byte.

use hallmark_audit::{Entry, EntryRef, Error, verify_leaf_hash};
use sha2::{Digest, Sha256};

fn entry() -> Entry {
    Entry {
        seq: 1,
        kind: "k".into(),
        subject: Some("s1".into()),
        at: 2,
        data_json: b"{}".to_vec(),
    }
}

#[test]
fn leaf_bytes_are_the_documented_encoding() {
    let expected: Vec<u8> = [
        &[1u8][..],          // version
        &1i64.to_be_bytes(), // seq
        &2i64.to_be_bytes(), // at
        &1u64.to_be_bytes(),
        b"k", // kind
        &[1],
        &2u64.to_be_bytes(),
        b"s1", // subject present
        &2u64.to_be_bytes(),
        b"{}", // data_json
    ]
    .concat();
    let e = entry();
    assert_eq!(e.as_ref().leaf_bytes(), expected);
    let mut buf = vec![0xff];
    e.as_ref().encode_into(&mut buf);
    assert_eq!(buf[1..], expected[..]);

    let hash: [u8; 32] = Sha256::new()
        .chain_update([0u8])
        .chain_update(&expected)
        .finalize()
        .into();
    assert_eq!(e.leaf_hash(), hash);
    assert_eq!(EntryRef::from(&e).leaf_hash(), hash);

    let mut none = e.clone();
    none.subject = None;
    let tail: Vec<u8> = [&[0u8][..], &2u64.to_be_bytes(), b"{}"].concat();
    assert!(none.as_ref().leaf_bytes().ends_with(&tail));
}

#[test]
fn field_boundaries_cannot_be_shifted() {
    let base = entry();
    let variants = [
        Entry {
            subject: None,
            ..base.clone()
        },
        Entry {
            subject: Some(String::new()),
            ..base.clone()
        },
        Entry {
            kind: "ks".into(),
            subject: Some("1".into()),
            ..base.clone()
        },
        Entry {
            kind: String::new(),
            subject: Some("ks1".into()),
            ..base.clone()
        },
        Entry {
            subject: Some("s1{".into()),
            data_json: b"}".to_vec(),
            ..base.clone()
        },
        Entry {
            seq: 2,
            at: 1,
            ..base.clone()
        },
        Entry {
            data_json: b"{ }".to_vec(),
            ..base.clone()
        },
        Entry {
            seq: -1,
            ..base.clone()
        },
    ];
    let mut hashes = vec![base.leaf_hash()];
    hashes.extend(variants.iter().map(Entry::leaf_hash));
    let mut sorted = hashes.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), hashes.len());
}

#[test]
fn stored_leaf_hash_names_the_entry() {
    let e = entry();
    assert_eq!(verify_leaf_hash(&e, &e.leaf_hash()).unwrap(), e.leaf_hash());
    let mut edited = e.clone();
    edited.data_json = br#"{"x":1}"#.to_vec();
    let err = verify_leaf_hash(&edited, &e.leaf_hash()).unwrap_err();
    assert!(
        matches!(err, Error::LeafHashMismatch { seq: 1, .. }),
        "{err}"
    );
}

#[test]
fn entry_json_round_trips_exact_bytes() {
    let mut e = entry();
    e.data_json = b"{\"a\" :\t1}".to_vec();
    let json = serde_json::to_string(&e).unwrap();
    assert_eq!(
        json,
        r#"{"seq":1,"kind":"k","subject":"s1","at":2,"data_json":"eyJhIiA6CTF9"}"#
    );
    let back: Entry = serde_json::from_str(&json).unwrap();
    assert_eq!(back, e);
    assert_eq!(back.as_ref().to_entry(), e);
}
