-- Hallmark schema, version 3: the audit log's Merkle tree (RFC 9162).
--
-- The sequencer integrates audit_log entries in seq order: it stores each
-- entry's leaf hash and, every N entries or T seconds, a checkpoint signed
-- with the audit key. The stored leaf hashes let a verifier name the exact
-- entry that was changed; the signed checkpoints make any change detectable
-- even if the leaf hashes are changed too.

CREATE TABLE audit_tree (
    seq       INTEGER NOT NULL PRIMARY KEY,
    leaf_hash BLOB    NOT NULL CHECK (length(leaf_hash) = 32)
);

CREATE TABLE audit_checkpoints (
    tree_size   INTEGER NOT NULL PRIMARY KEY CHECK (tree_size > 0),
    root_hash   BLOB    NOT NULL CHECK (length(root_hash) = 32),
    timestamp   INTEGER NOT NULL,
    -- The signed checkpoint (hallmark-audit's JSON form), exactly as signed.
    signed      BLOB    NOT NULL,
    -- The compact tree's frontier at tree_size (concatenated 32-byte
    -- hashes), so a new sequencer resumes without rehashing the log.
    frontier    BLOB    NOT NULL CHECK (length(frontier) % 32 = 0)
);

-- One sequencer at a time across every process and node: a lease row.
CREATE TABLE audit_sequencer (
    id         INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    holder     TEXT    NOT NULL,
    expires_at INTEGER NOT NULL
);
