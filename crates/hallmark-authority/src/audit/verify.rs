//! `hallmark audit verify --home`: the whole log recomputed from the store
//! and every checkpoint checked.

use hallmark_audit::{LogVerifier, SignedCheckpoint, VerifiedLog};
use hallmark_pki::PublicKey;
use hallmark_store::{AuditSeq, Store, StoredCheckpoint};

use super::sequencer::entry;
use crate::error::AuthorityError;

/// Records read per page.
const PAGE: u32 = 10_000;

/// The signed checkpoints of the store, parsed. A row whose columns
/// disagree with what was signed was altered.
pub fn parse_checkpoints(
    stored: &[StoredCheckpoint],
) -> Result<Vec<SignedCheckpoint>, AuthorityError> {
    stored
        .iter()
        .map(|row| {
            let text = std::str::from_utf8(&row.signed).map_err(|_| altered(row.tree_size))?;
            let signed = SignedCheckpoint::from_json(text).map_err(AuthorityError::AuditLog)?;
            let cp = &signed.checkpoint;
            let same = i64::try_from(cp.tree_size).ok() == Some(row.tree_size)
                && cp.root_hash == row.root_hash
                && cp.timestamp == row.timestamp;
            if same {
                Ok(signed)
            } else {
                Err(altered(row.tree_size))
            }
        })
        .collect()
}

fn altered(tree_size: i64) -> AuthorityError {
    AuthorityError::AuditLog(hallmark_audit::Error::MalformedCheckpoint(format!(
        "the stored checkpoint at tree size {tree_size} does not match what was signed"
    )))
}

/// Recomputes the Merkle tree over every record of `store` (checking each
/// stored leaf hash, which names a modified entry exactly), and checks every
/// checkpoint's signature under one of `keys` and its root. Returns what was
/// verified, or the first problem found.
pub async fn verify_store(
    store: &dyn Store,
    origin: &str,
    keys: &[PublicKey],
) -> Result<VerifiedLog, AuthorityError> {
    let mut verifier = LogVerifier::new(origin);
    for checkpoint in parse_checkpoints(&store.audit_checkpoints().await?)? {
        verifier
            .check_with(&checkpoint, keys)
            .map_err(AuthorityError::AuditLog)?;
    }
    let mut after: AuditSeq = 0;
    loop {
        let records = store.audit_events(after, PAGE).await?;
        let hashes = store.audit_leaf_hashes(after, PAGE).await?;
        let mut stored = hashes.iter().peekable();
        for record in &records {
            // Leaf hashes of records that no longer exist are skipped here;
            // the gap in the records' seqs is what gets reported.
            while stored.next_if(|(seq, _)| *seq < record.seq).is_some() {}
            let outcome = match stored.next_if(|(seq, _)| *seq == record.seq) {
                Some((_, hash)) => verifier.push_with_leaf_hash(entry(record), hash),
                None => verifier.push(entry(record)).map(|_| ()),
            };
            outcome.map_err(AuthorityError::AuditLog)?;
        }
        match records.last() {
            Some(last) if records.len() == PAGE as usize => after = last.seq,
            _ => break,
        }
    }
    verifier.finish().map_err(AuthorityError::AuditLog)
}
