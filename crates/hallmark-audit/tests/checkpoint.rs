#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Signed checkpoints: the text body, the signed note, JSON, and tampering.

mod common;

use common::{ORIGIN, key};
use hallmark_audit::{Checkpoint, EMPTY_ROOT, Error, SignedCheckpoint, key_id};
use hallmark_pki::KeyAlgorithm;

fn checkpoint() -> Checkpoint {
    Checkpoint {
        origin: ORIGIN.into(),
        tree_size: 1_048_576,
        root_hash: EMPTY_ROOT,
        timestamp: 1_767_225_600,
    }
}

#[test]
fn body_is_the_documented_text() {
    assert_eq!(
        checkpoint().body().unwrap(),
        "hallmark/test-installation\n1048576\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\ntimestamp 1767225600\n"
    );
    let parsed = Checkpoint::from_body(&checkpoint().body().unwrap()).unwrap();
    assert_eq!(parsed, checkpoint());
}

#[test]
fn non_canonical_bodies_are_refused() {
    let root = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";
    for body in [
        format!("{ORIGIN}\n01\n{root}\ntimestamp 5\n"),
        format!("{ORIGIN}\n+1\n{root}\ntimestamp 5\n"),
        format!("{ORIGIN}\n1\n{root}\ntimestamp 05\n"),
        format!("{ORIGIN}\n1\n{root}\ntimestamp 5"),
        format!("{ORIGIN}\n1\n{root}\ntime 5\n"),
        format!("{ORIGIN}\n1\n{root}\ntimestamp 5\nextra\n"),
        format!("{ORIGIN}\n1\n{}\ntimestamp 5\n", &root[..40]),
        format!("has space\n1\n{root}\ntimestamp 5\n"),
        format!("\n1\n{root}\ntimestamp 5\n"),
    ] {
        assert!(
            matches!(
                Checkpoint::from_body(&body),
                Err(Error::MalformedCheckpoint(_))
            ),
            "{body:?}"
        );
    }
    let mut cp = checkpoint();
    cp.origin = "two\nlines".into();
    assert!(matches!(cp.body(), Err(Error::MalformedCheckpoint(_))));
}

#[test]
fn signed_checkpoint_verifies_in_every_form() {
    for alg in [
        KeyAlgorithm::EcdsaP256,
        KeyAlgorithm::EcdsaP384,
        KeyAlgorithm::Ed25519,
    ] {
        let k = key(alg);
        let signed = checkpoint().sign(k.signer.as_ref()).unwrap();
        assert_eq!(signed.key_id, key_id(k.public.spki_der()));
        assert_eq!(signed.verify(&k.public).unwrap(), &checkpoint());
        signed.verify_spki(k.public.spki_der()).unwrap();

        let note = signed.to_note().unwrap();
        assert!(note.starts_with(&checkpoint().body().unwrap()));
        assert!(note.contains(&format!("\n\n\u{2014} {ORIGIN} ")));
        let from_note = SignedCheckpoint::from_note(&note).unwrap();
        assert_eq!(from_note, signed);
        from_note.verify(&k.public).unwrap();

        let json = signed.to_json().unwrap();
        assert!(json.contains(&format!(r#""key_id":"{}""#, hex::encode(signed.key_id))));
        let from_json = SignedCheckpoint::from_json(&json).unwrap();
        assert_eq!(from_json, signed);
        from_json.verify(&k.public).unwrap();
    }
}

#[test]
fn altered_checkpoints_fail_their_signature() {
    let k = key(KeyAlgorithm::EcdsaP256);
    let signed = checkpoint().sign(k.signer.as_ref()).unwrap();
    type Edit = fn(&mut SignedCheckpoint);
    let alter: [(&str, Edit); 5] = [
        ("root", |s| s.checkpoint.root_hash[0] ^= 1),
        ("size", |s| s.checkpoint.tree_size -= 1),
        ("timestamp", |s| s.checkpoint.timestamp += 1),
        ("origin", |s| s.checkpoint.origin.push('x')),
        ("signature", |s| {
            let last = s.signature.len() - 2;
            s.signature[last] ^= 1;
        }),
    ];
    for (what, f) in alter {
        let mut bad = signed.clone();
        f(&mut bad);
        assert!(
            matches!(bad.verify(&k.public), Err(Error::BadSignature { .. })),
            "{what}"
        );
    }
}

#[test]
fn another_key_is_named() {
    let k = key(KeyAlgorithm::EcdsaP256);
    let other = key(KeyAlgorithm::EcdsaP256);
    let signed = checkpoint().sign(k.signer.as_ref()).unwrap();
    let err = signed.verify(&other.public).unwrap_err();
    assert!(
        matches!(err, Error::KeyIdMismatch { found, .. } if found == signed.key_id),
        "{err}"
    );
    // Claiming the other key's id does not help: the signature is still wrong.
    let mut forged = signed;
    forged.key_id = key_id(other.public.spki_der());
    assert!(matches!(
        forged.verify(&other.public),
        Err(Error::BadSignature { .. })
    ));
}

#[test]
fn malformed_notes_are_refused() {
    let k = key(KeyAlgorithm::Ed25519);
    let note = checkpoint()
        .sign(k.signer.as_ref())
        .unwrap()
        .to_note()
        .unwrap();
    let sig_line = note.rsplit_once("\n\n").unwrap().1.to_owned();
    for bad in [
        note.replace("\n\n", "\n"),
        format!("{note}{sig_line}"),
        note.trim_end().to_owned(),
        note.replace('\u{2014}', "-"),
        // A signature line named after another key.
        note.replacen(&format!("\u{2014} {ORIGIN}"), "\u{2014} someone-else", 1),
    ] {
        assert!(
            matches!(
                SignedCheckpoint::from_note(&bad),
                Err(Error::MalformedCheckpoint(_))
            ),
            "{bad:?}"
        );
    }
}

#[test]
fn json_refuses_unknown_fields_and_bad_encodings() {
    let k = key(KeyAlgorithm::Ed25519);
    let json = checkpoint()
        .sign(k.signer.as_ref())
        .unwrap()
        .to_json()
        .unwrap();
    let extra = json.replacen('{', r#"{"extra":1,"#, 1);
    assert!(matches!(
        SignedCheckpoint::from_json(&extra),
        Err(Error::Json(_))
    ));
    let bad_root = json.replace("47DEQpj8", "47DEQpj!");
    assert!(matches!(
        SignedCheckpoint::from_json(&bad_root),
        Err(Error::Json(_))
    ));
}
