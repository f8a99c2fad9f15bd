//! Reads of the audit log's Merkle tree.

use rusqlite::Connection;

use crate::model::StoredCheckpoint;

/// Entries integrated so far (the highest seq with a leaf hash).
pub(crate) fn tree_size(conn: &Connection) -> rusqlite::Result<i64> {
    conn.prepare_cached("SELECT COALESCE(MAX(seq), 0) FROM audit_tree")?
        .query_row([], |row| row.get(0))
}

pub(crate) fn last_checkpoint_size(conn: &Connection) -> rusqlite::Result<i64> {
    conn.prepare_cached("SELECT COALESCE(MAX(tree_size), 0) FROM audit_checkpoints")?
        .query_row([], |row| row.get(0))
}

pub(crate) fn leaf_hashes(
    conn: &Connection,
    after_seq: i64,
    limit: u32,
) -> rusqlite::Result<Vec<(i64, [u8; 32])>> {
    conn.prepare_cached(
        "SELECT seq, leaf_hash FROM audit_tree WHERE seq > ?1 ORDER BY seq LIMIT ?2",
    )?
    .query_map(rusqlite::params![after_seq, limit], |row| {
        Ok((row.get(0)?, row.get(1)?))
    })?
    .collect()
}

pub(crate) fn checkpoints(conn: &Connection) -> rusqlite::Result<Vec<StoredCheckpoint>> {
    conn.prepare_cached(
        "SELECT tree_size, root_hash, timestamp, signed, frontier \
         FROM audit_checkpoints ORDER BY tree_size",
    )?
    .query_map([], |row| {
        let frontier: Vec<u8> = row.get(4)?;
        Ok(StoredCheckpoint {
            tree_size: row.get(0)?,
            root_hash: row.get(1)?,
            timestamp: row.get(2)?,
            signed: row.get(3)?,
            frontier: frontier
                .chunks_exact(32)
                .map(|c| {
                    let mut hash = [0u8; 32];
                    hash.copy_from_slice(c);
                    hash
                })
                .collect(),
        })
    })?
    .collect()
}
