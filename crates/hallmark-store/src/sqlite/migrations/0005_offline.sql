-- Hallmark schema, version 5: offline production (docs/offline.md).
-- Runs with foreign keys off (SQLite's documented table rebuild); the
-- runner checks PRAGMA foreign_key_check before it commits.

-- Two more key roles: a factory's offline CA and the station sub-CAs it
-- certifies. SQLite cannot change a CHECK constraint in place, so the table
-- is rebuilt under the same name (references to it stay valid).
CREATE TABLE authority_keys_v5 (
    id              TEXT    NOT NULL PRIMARY KEY,
    role            TEXT    NOT NULL
        CHECK (role IN ('root', 'issuing', 'station_ca', 'ocsp_responder', 'audit',
                        'offline_ca', 'station_sub_ca')),
    parent_id       TEXT    REFERENCES authority_keys (id),
    factory         TEXT,
    subject         TEXT,
    algorithm       TEXT    NOT NULL,
    key_uri         TEXT    NOT NULL,
    certificate_der BLOB,
    not_after       INTEGER,
    created_at      INTEGER NOT NULL
);
INSERT INTO authority_keys_v5 (id, role, parent_id, factory, subject, algorithm, key_uri,
                               certificate_der, not_after, created_at)
    SELECT id, role, parent_id, factory, subject, algorithm, key_uri,
           certificate_der, not_after, created_at
    FROM authority_keys;
DROP TABLE authority_keys;
ALTER TABLE authority_keys_v5 RENAME TO authority_keys;

-- A station sub-CA's allocation: the quota units (and, for template orders,
-- the block of sequence numbers) it took, and how far its offline log has
-- been imported. log_frontier is the Merkle frontier, 32-byte hashes
-- concatenated.
CREATE TABLE offline_cas (
    id           TEXT    NOT NULL PRIMARY KEY REFERENCES authority_keys (id),
    order_id     TEXT    NOT NULL REFERENCES orders (id),
    station_id   TEXT    NOT NULL REFERENCES stations (id),
    count        INTEGER NOT NULL CHECK (count > 0),
    first_seq    INTEGER CHECK (first_seq IS NULL OR first_seq >= 1),
    imported     INTEGER NOT NULL DEFAULT 0 CHECK (imported >= 0 AND imported <= count),
    log_size     INTEGER NOT NULL DEFAULT 0 CHECK (log_size >= 0),
    log_frontier BLOB    NOT NULL DEFAULT x'' CHECK (length(log_frontier) % 32 = 0),
    closed_at    INTEGER,
    created_at   INTEGER NOT NULL
);

CREATE INDEX offline_cas_order ON offline_cas (order_id);
