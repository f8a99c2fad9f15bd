//! Writes of the audit log's Merkle tree: the sequencer lease, integrated
//! leaf hashes and signed checkpoints.

use rusqlite::{Connection, OptionalExtension, params};

use super::queries_audit;
use crate::StoreError;
use crate::model::StoredCheckpoint;

fn db(operation: &'static str) -> impl FnOnce(rusqlite::Error) -> StoreError {
    move |e| StoreError::backend(operation, e)
}

fn invalid(reason: String) -> StoreError {
    StoreError::Invalid {
        what: "audit integration",
        reason,
    }
}

/// The lease's current holder and expiry, if any.
fn lease(conn: &Connection) -> Result<Option<(String, i64)>, StoreError> {
    conn.prepare_cached("SELECT holder, expires_at FROM audit_sequencer WHERE id = 1")
        .and_then(|mut stmt| {
            stmt.query_row([], |row| Ok((row.get(0)?, row.get(1)?)))
                .optional()
        })
        .map_err(db("read sequencer lease"))
}

pub(crate) fn acquire_sequencer(
    conn: &Connection,
    holder: &str,
    now: i64,
    ttl: i64,
) -> Result<bool, StoreError> {
    let expires_at = now.saturating_add(ttl);
    match lease(conn)? {
        Some((current, until)) if current != holder && until >= now => Ok(false),
        Some(_) => {
            conn.execute(
                "UPDATE audit_sequencer SET holder = ?1, expires_at = ?2 WHERE id = 1",
                params![holder, expires_at],
            )
            .map_err(db("renew sequencer lease"))?;
            Ok(true)
        }
        None => {
            conn.execute(
                "INSERT INTO audit_sequencer (id, holder, expires_at) VALUES (1, ?1, ?2)",
                params![holder, expires_at],
            )
            .map_err(db("take sequencer lease"))?;
            Ok(true)
        }
    }
}

pub(crate) fn integrate_audit(
    conn: &Connection,
    holder: &str,
    now: i64,
    first_seq: i64,
    leaf_hashes: &[[u8; 32]],
    checkpoint: Option<&StoredCheckpoint>,
) -> Result<(), StoreError> {
    match lease(conn)? {
        Some((current, until)) if current == holder && until >= now => {}
        Some((current, _)) => return Err(StoreError::NotSequencer { holder: current }),
        None => {
            return Err(StoreError::NotSequencer {
                holder: String::new(),
            });
        }
    }
    let size = queries_audit::tree_size(conn).map_err(db("read audit tree size"))?;
    if first_seq != size + 1 {
        return Err(invalid(format!(
            "leaves start at seq {first_seq}, but the tree holds {size} entries"
        )));
    }
    let new_size = size + i64::try_from(leaf_hashes.len()).unwrap_or(i64::MAX);
    if let Some(cp) = checkpoint {
        let last = queries_audit::last_checkpoint_size(conn).map_err(db("read checkpoints"))?;
        if cp.tree_size != new_size || cp.tree_size <= last {
            return Err(invalid(format!(
                "checkpoint of size {} for a tree of {new_size} (last checkpoint {last})",
                cp.tree_size
            )));
        }
    }
    let mut insert = conn
        .prepare_cached("INSERT INTO audit_tree (seq, leaf_hash) VALUES (?1, ?2)")
        .map_err(db("store leaf hashes"))?;
    for (seq, hash) in (first_seq..).zip(leaf_hashes) {
        insert
            .execute(params![seq, hash])
            .map_err(db("store leaf hashes"))?;
    }
    if let Some(cp) = checkpoint {
        let frontier: Vec<u8> = cp.frontier.concat();
        conn.prepare_cached(
            "INSERT INTO audit_checkpoints (tree_size, root_hash, timestamp, signed, frontier) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )
        .and_then(|mut stmt| {
            stmt.execute(params![
                cp.tree_size,
                cp.root_hash,
                cp.timestamp,
                cp.signed,
                frontier
            ])
        })
        .map_err(db("store checkpoint"))?;
    }
    Ok(())
}
