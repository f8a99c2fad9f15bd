//! The audit sequencer lease, integrated leaf hashes and signed
//! checkpoints.
//!
//! Leadership lives in one lease row (`audit_sequencer`), not in a
//! session-bound advisory lock: a lease survives a connection being
//! recycled by the pool, and a node that dies simply stops renewing it, so
//! another node takes over once it expires (SQLite's semantics exactly).

use deadpool_postgres::GenericClient;

use super::db::{self, get};
use crate::StoreError;
use crate::model::StoredCheckpoint;

fn invalid(reason: String) -> StoreError {
    StoreError::Invalid {
        what: "audit integration",
        reason,
    }
}

/// Takes or renews the lease in one statement: the upsert changes the row
/// only when `holder` already holds it or it has expired.
pub(crate) async fn acquire_sequencer<C: GenericClient>(
    c: &C,
    holder: &str,
    now: i64,
    ttl: i64,
) -> Result<bool, StoreError> {
    let expires_at = now.saturating_add(ttl);
    let row = db::query_opt(
        c,
        "take sequencer lease",
        "INSERT INTO audit_sequencer (id, holder, expires_at) VALUES (1, $1, $2) \
         ON CONFLICT (id) DO UPDATE SET holder = excluded.holder, \
             expires_at = excluded.expires_at \
         WHERE audit_sequencer.holder = excluded.holder OR audit_sequencer.expires_at < $3 \
         RETURNING 1",
        &[&holder, &expires_at, &now],
    )
    .await?;
    Ok(row.is_some())
}

pub(crate) async fn integrate_audit<C: GenericClient>(
    c: &C,
    holder: &str,
    now: i64,
    first_seq: i64,
    leaf_hashes: &[[u8; 32]],
    checkpoint: Option<&StoredCheckpoint>,
) -> Result<(), StoreError> {
    // Locked: a node taking the lease over waits until this integration
    // committed, and then finds the tree where this one left it.
    let lease = db::query_opt(
        c,
        "read sequencer lease",
        "SELECT holder, expires_at FROM audit_sequencer WHERE id = 1 FOR UPDATE",
        &[],
    )
    .await?;
    match lease {
        Some(row) => {
            let current: String = get(&row, 0)?;
            let until: i64 = get(&row, 1)?;
            if current != holder || until < now {
                return Err(StoreError::NotSequencer { holder: current });
            }
        }
        None => {
            return Err(StoreError::NotSequencer {
                holder: String::new(),
            });
        }
    }
    let size: i64 = get(
        &db::query_one(
            c,
            "read audit tree size",
            "SELECT COALESCE(MAX(seq), 0)::bigint FROM audit_tree",
            &[],
        )
        .await?,
        0,
    )?;
    if first_seq != size + 1 {
        return Err(invalid(format!(
            "leaves start at seq {first_seq}, but the tree holds {size} entries"
        )));
    }
    let new_size = size + i64::try_from(leaf_hashes.len()).unwrap_or(i64::MAX);
    if let Some(cp) = checkpoint {
        let last: i64 = get(
            &db::query_one(
                c,
                "read checkpoints",
                "SELECT COALESCE(MAX(tree_size), 0)::bigint FROM audit_checkpoints",
                &[],
            )
            .await?,
            0,
        )?;
        if cp.tree_size != new_size || cp.tree_size <= last {
            return Err(invalid(format!(
                "checkpoint of size {} for a tree of {new_size} (last checkpoint {last})",
                cp.tree_size
            )));
        }
    }
    if !leaf_hashes.is_empty() {
        let seqs: Vec<i64> = (first_seq..).take(leaf_hashes.len()).collect();
        let hashes: Vec<&[u8]> = leaf_hashes.iter().map(|h| &h[..]).collect();
        db::execute(
            c,
            "store leaf hashes",
            "INSERT INTO audit_tree (seq, leaf_hash) \
             SELECT * FROM unnest($1::bigint[], $2::bytea[])",
            &[&seqs, &hashes],
        )
        .await?;
    }
    if let Some(cp) = checkpoint {
        let frontier: Vec<u8> = cp.frontier.concat();
        db::execute(
            c,
            "store checkpoint",
            "INSERT INTO audit_checkpoints (tree_size, root_hash, timestamp, signed, frontier) \
             VALUES ($1, $2, $3, $4, $5)",
            &[
                &cp.tree_size,
                &&cp.root_hash[..],
                &cp.timestamp,
                &cp.signed,
                &frontier,
            ],
        )
        .await?;
    }
    Ok(())
}
