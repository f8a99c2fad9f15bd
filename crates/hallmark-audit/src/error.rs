//! The crate's one error type.

use hallmark_pki::{PkiError, SignError};

use crate::Hash;
use crate::checkpoint::KeyId;

/// Everything that can go wrong building or verifying the audit log.
///
/// The first group of variants is evidence about the *data* (a gap, a
/// mismatching root, a bad signature); the rest are malformed inputs or
/// backend failures.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An entry's `seq` is not the next one: an entry was deleted (a gap),
    /// inserted or the log reordered (`found` < `expected`).
    #[error("audit log sequence broken: expected seq {expected}, found {found}")]
    SeqGap {
        /// The seq the next entry must have.
        expected: i64,
        /// The seq it has.
        found: i64,
    },

    /// A signed checkpoint's root is not the root of the entries: an entry
    /// among seq `verified_size + 1 ..= tree_size` was modified, inserted or
    /// removed (entries `1..=verified_size` are covered by an earlier
    /// checkpoint that matched).
    #[error(
        "checkpoint at tree size {tree_size} signs root {} but the entries hash to {}: \
         an entry among seq {}..={tree_size} was modified, inserted or removed",
        hex::encode(.checkpoint_root), hex::encode(.computed_root), .verified_size + 1
    )]
    RootMismatch {
        /// The checkpoint's tree size.
        tree_size: u64,
        /// The root the checkpoint signs.
        checkpoint_root: Hash,
        /// The root computed from the first `tree_size` entries.
        computed_root: Hash,
        /// The size of the largest earlier checkpoint that matched (0 if none).
        verified_size: u64,
    },

    /// An entry's recomputed leaf hash differs from the one stored with it:
    /// this entry was modified.
    #[error("audit entry seq {seq} was modified: stored leaf hash {}, recomputed {}",
        hex::encode(.stored), hex::encode(.computed))]
    LeafHashMismatch {
        /// The entry's seq.
        seq: i64,
        /// The leaf hash stored with the entry.
        stored: Hash,
        /// The leaf hash of the entry as it is now.
        computed: Hash,
    },

    /// A checkpoint's signature does not verify under the key.
    #[error("checkpoint at tree size {tree_size}: bad signature")]
    BadSignature {
        /// The checkpoint's tree size (as claimed).
        tree_size: u64,
    },

    /// A checkpoint names a key other than the one it was checked with.
    #[error("checkpoint at tree size {tree_size} is signed by key {}, not by key {}",
        hex::encode(.found), hex::encode(.expected))]
    KeyIdMismatch {
        /// The checkpoint's tree size (as claimed).
        tree_size: u64,
        /// The id of the key it was checked with.
        expected: KeyId,
        /// The id the checkpoint carries.
        found: KeyId,
    },

    /// A checkpoint is signed by none of the trusted keys.
    #[error("checkpoint at tree size {tree_size} is signed by unknown key {}", hex::encode(.key_id))]
    UnknownKey {
        /// The checkpoint's tree size (as claimed).
        tree_size: u64,
        /// The id the checkpoint carries.
        key_id: KeyId,
    },

    /// A checkpoint is for another log.
    #[error("checkpoint is for log {found:?}, not {expected:?}")]
    OriginMismatch {
        /// The log being verified.
        expected: String,
        /// The checkpoint's origin.
        found: String,
    },

    /// A signed checkpoint covers more entries than the log has: entries at
    /// the end were deleted.
    #[error("checkpoint at tree size {tree_size} but the log has only {log_size} entries")]
    CheckpointBeyondLog {
        /// The checkpoint's tree size.
        tree_size: u64,
        /// The number of entries in the log.
        log_size: u64,
    },

    /// A checkpoint is older than the one before it (in tree-size order).
    #[error("checkpoint at tree size {tree_size} has timestamp {timestamp}, before {previous}")]
    TimestampWentBack {
        /// The checkpoint's tree size.
        tree_size: u64,
        /// Its timestamp (unix seconds).
        timestamp: i64,
        /// The previous checkpoint's timestamp.
        previous: i64,
    },

    /// Checkpoints were given out of tree-size order, or after the entries
    /// past them were pushed (a caller's bug, not evidence).
    #[error("checkpoint at tree size {tree_size} given after tree size {after}")]
    CheckpointOutOfOrder {
        /// The checkpoint's tree size.
        tree_size: u64,
        /// The size already reached.
        after: u64,
    },

    /// An inclusion proof does not lead to the checkpoint's root.
    #[error("entry at index {index} is not in the tree of size {tree_size}: {reason}")]
    InclusionProofInvalid {
        /// The leaf index.
        index: u64,
        /// The tree size.
        tree_size: u64,
        /// What failed.
        reason: &'static str,
    },

    /// A consistency proof between two tree sizes does not verify.
    #[error("tree of size {old_size} is not a prefix of the tree of size {new_size}: {reason}")]
    ConsistencyProofInvalid {
        /// The older tree size.
        old_size: u64,
        /// The newer tree size.
        new_size: u64,
        /// What failed.
        reason: &'static str,
    },

    /// A proof's entry is not at the proof's index (leaf index = seq − 1).
    #[error("proof for index {index} carries entry seq {seq}")]
    ProofIndexMismatch {
        /// The proof's leaf index.
        index: u64,
        /// The entry's seq.
        seq: i64,
    },

    /// A checkpoint could not be parsed, or has fields the text form cannot carry.
    #[error("malformed checkpoint: {0}")]
    MalformedCheckpoint(String),

    /// A compact tree's frontier does not fit its size.
    #[error("compact tree of size {size} needs {expected} frontier hashes, got {found}")]
    BadFrontier {
        /// The tree size.
        size: u64,
        /// Hashes a tree of that size has.
        expected: usize,
        /// Hashes given.
        found: usize,
    },

    /// The audit key is not a key Hallmark accepts.
    #[error("unusable audit key")]
    Key(#[source] PkiError),

    /// The key backend failed to sign a checkpoint.
    #[error("signing the checkpoint failed")]
    Sign(#[from] SignError),

    /// The verifier already reported an error; it checks nothing more.
    #[error("the verifier already failed")]
    AlreadyFailed,

    /// A JSON form could not be read or written.
    #[error("bad JSON")]
    Json(#[from] serde_json::Error),

    /// A device list (CSV) has no header row naming a `device_id` column;
    /// `line` is the first non-blank line (1 for an empty file).
    #[error("{file}, line {line}: expected a header row with a device_id column")]
    CsvMissingHeader {
        /// What the file is (as the caller named it, e.g. its path).
        file: String,
        /// The 1-based line where the header was expected.
        line: u64,
    },

    /// A device list (CSV) row has an empty `device_id`.
    #[error("{file}, line {line}: empty device_id")]
    CsvEmptyDeviceId {
        /// What the file is.
        file: String,
        /// The 1-based line of the row.
        line: u64,
    },

    /// A device list (CSV) row has a date that is neither an RFC 3339 time
    /// nor a `YYYY-MM-DD` date.
    #[error("{file}, line {line}: {column} is neither an RFC 3339 time nor a YYYY-MM-DD date")]
    CsvBadDate {
        /// What the file is.
        file: String,
        /// The 1-based line of the row.
        line: u64,
        /// The date column's name.
        column: String,
    },

    /// A device list (CSV) could not be read: an I/O error, invalid UTF-8,
    /// or a header naming `device_id` twice.
    #[error("{file}, line {line}: {reason}")]
    CsvMalformed {
        /// What the file is.
        file: String,
        /// The 1-based line where reading failed.
        line: u64,
        /// What is wrong.
        reason: String,
    },
}
