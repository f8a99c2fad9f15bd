//! A tamper-evident audit log for Hallmark, in the manner of Certificate
//! Transparency ([RFC 9162]). Pure computation: no I/O, no clock.
//!
//! An audit log an insider can quietly edit proves nothing. Here every
//! audit record is a leaf of a Merkle tree; a sequencer periodically signs a
//! *checkpoint* (tree size, root hash, time) with the audit key. Anyone
//! holding the audit public key can then, offline:
//!
//! * verify the whole log against its checkpoints ([`LogVerifier`]):
//!   deleted, inserted, reordered or modified entries and altered
//!   checkpoints are each reported as the first problem found;
//! * verify that one entry is in the signed log ([`Proof`], an
//!   [RFC 9162 §2.1.3] inclusion proof carrying the entry and checkpoint).
//!
//! # Pieces
//!
//! * [`leaf`]: [`Entry`] and its canonical leaf encoding;
//!   `leaf_hash = SHA-256(0x00 ‖ leaf_bytes)` ([RFC 9162 §2.1.1]).
//! * [`tree`]: the Merkle Tree Hash, [`CompactTree`] (append-only, O(log n)
//!   memory), inclusion proofs ([RFC 9162 §2.1.3]) and consistency proofs
//!   ([RFC 9162 §2.1.4]).
//! * [`checkpoint`]: [`Checkpoint`] / [`SignedCheckpoint`], a C2SP-style
//!   signed note signed by any [`hallmark_pki::Signer`].
//! * [`verify`]: [`LogVerifier`], streaming verification.
//! * [`proof`]: [`Proof`], a self-contained inclusion proof.
//!
//! # Example
//!
//! ```
//! use hallmark_audit::{CompactTree, Entry};
//!
//! let entry = Entry {
//!     seq: 1,
//!     kind: "certificate.issued".into(),
//!     subject: Some("device-0001".into()),
//!     at: 1_767_225_600,
//!     data_json: br#"{"serial":"01"}"#.to_vec(),
//! };
//! let mut tree = CompactTree::new();
//! tree.push(entry.leaf_hash());
//! assert_eq!(tree.root(), entry.leaf_hash()); // a one-leaf tree's root is its leaf
//! ```
//!
//! [RFC 9162]: https://www.rfc-editor.org/rfc/rfc9162
//! [RFC 9162 §2.1.1]: https://www.rfc-editor.org/rfc/rfc9162#section-2.1.1
//! [RFC 9162 §2.1.3]: https://www.rfc-editor.org/rfc/rfc9162#section-2.1.3
//! [RFC 9162 §2.1.4]: https://www.rfc-editor.org/rfc/rfc9162#section-2.1.4

pub mod checkpoint;
mod encoding;
mod error;
pub mod leaf;
mod note;
pub mod proof;
pub mod reconcile;
pub mod tree;
pub mod verify;

pub use checkpoint::{Checkpoint, KeyId, SignedCheckpoint, key_id};
pub use error::Error;
pub use leaf::{Entry, EntryRef, verify_leaf_hash};
pub use note::MAX_ORIGIN_LEN;
pub use proof::{Proof, VerifiedProof};
pub use tree::{
    CompactTree, EMPTY_ROOT, audit_path, consistency_proof, node_hash, root_of, verify_consistency,
    verify_inclusion,
};
pub use verify::{LogVerifier, VerifiedLog, verify_log};

/// A SHA-256 hash: a leaf hash, node hash or root hash.
pub type Hash = [u8; 32];
