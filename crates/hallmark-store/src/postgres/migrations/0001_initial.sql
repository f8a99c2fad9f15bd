-- Hallmark's PostgreSQL schema, version 1: the same tables, constraints and
-- partial unique indexes as SQLite's versions 1 to 5 together (BLOB ->
-- bytea, INTEGER -> bigint, length() -> octet_length()), plus the audit
-- log's sequence counter. SQLite and PostgreSQL number their migrations
-- separately.

CREATE TABLE authority_keys (
    id              TEXT    NOT NULL PRIMARY KEY,
    role            TEXT    NOT NULL
        CHECK (role IN ('root', 'issuing', 'station_ca', 'ocsp_responder', 'audit',
                        'offline_ca', 'station_sub_ca')),
    parent_id       TEXT    REFERENCES authority_keys (id),
    factory         TEXT,
    subject         TEXT,
    algorithm       TEXT    NOT NULL,
    key_uri         TEXT    NOT NULL,
    certificate_der BYTEA,
    not_after       BIGINT,
    created_at      BIGINT  NOT NULL
);

-- One row per issuance attempt. The primary key keeps a serial used forever
-- (also after failure); the partial unique indexes hold device id and public
-- key only while the record is pending or issued. `quota_unit` is 1 when the
-- record consumed a unit of its order's quota.
CREATE TABLE certificates (
    ca_id             TEXT    NOT NULL REFERENCES authority_keys (id),
    serial            BYTEA   NOT NULL CHECK (octet_length(serial) BETWEEN 1 AND 20),
    device_id         TEXT    NOT NULL CHECK (device_id <> ''),
    public_key_sha256 BYTEA   NOT NULL CHECK (octet_length(public_key_sha256) = 32),
    profile           TEXT    NOT NULL,
    key_origin        TEXT    NOT NULL
        CHECK (key_origin IN ('device', 'station', 'pregenerated')),
    order_id          TEXT,
    station_id        TEXT,
    requested_at      BIGINT  NOT NULL,
    status            TEXT    NOT NULL
        CHECK (status IN ('pending', 'issued', 'failed', 'superseded')),
    certificate_der   BYTEA,
    not_before        BIGINT,
    not_after         BIGINT,
    issued_at         BIGINT,
    failure_reason    TEXT,
    renews            BYTEA   CHECK (renews IS NULL OR octet_length(renews) BETWEEN 1 AND 20),
    quota_unit        BIGINT  NOT NULL DEFAULT 0 CHECK (quota_unit IN (0, 1)),
    PRIMARY KEY (ca_id, serial),
    CHECK (status NOT IN ('issued', 'superseded') OR certificate_der IS NOT NULL),
    CHECK (quota_unit = 0 OR (order_id IS NOT NULL AND renews IS NULL))
);

CREATE UNIQUE INDEX certificates_live_device_id
    ON certificates (device_id) WHERE status IN ('pending', 'issued');
CREATE UNIQUE INDEX certificates_live_public_key
    ON certificates (public_key_sha256) WHERE status IN ('pending', 'issued');
CREATE INDEX certificates_status_ca ON certificates (status, ca_id);
CREATE INDEX certificates_renews ON certificates (ca_id, renews) WHERE renews IS NOT NULL;
CREATE INDEX certificates_serial ON certificates (serial);
CREATE INDEX certificates_device ON certificates (device_id);
CREATE INDEX certificates_station ON certificates (station_id, issued_at)
    WHERE station_id IS NOT NULL;
CREATE INDEX certificates_order ON certificates (order_id, issued_at)
    WHERE order_id IS NOT NULL;
CREATE INDEX certificates_pending ON certificates (requested_at) WHERE status = 'pending';

-- The audit log's sequence counter: one row, incremented by every appending
-- transaction right before it commits. The row lock is held until commit,
-- so seqs are handed out in commit order, a rolled-back transaction gives
-- its number back, and committed seqs are 1, 2, 3, ... without gaps, across
-- every connection and node. (A SEQUENCE would leave gaps on rollback.)
CREATE TABLE audit_head (
    id       SMALLINT NOT NULL PRIMARY KEY CHECK (id = 1),
    last_seq BIGINT   NOT NULL CHECK (last_seq >= 0)
);
INSERT INTO audit_head (id, last_seq) VALUES (1, 0);

-- Append-only audit log. data holds the exact JSON bytes given (bytea, not
-- jsonb, so nothing re-encodes them).
CREATE TABLE audit_log (
    seq     BIGINT NOT NULL PRIMARY KEY CHECK (seq >= 1),
    kind    TEXT   NOT NULL,
    subject TEXT,
    at      BIGINT NOT NULL,
    data    BYTEA  NOT NULL
);

-- Production orders: `reserved` counts the pending and issued records that
-- consumed quota (and offline allocations), `issued` those that completed.
CREATE TABLE orders (
    id             TEXT   NOT NULL PRIMARY KEY,
    factory        TEXT   NOT NULL REFERENCES authority_keys (id),
    product        TEXT   NOT NULL,
    quantity       BIGINT NOT NULL CHECK (quantity > 0),
    starts_at      BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL,
    device_id_kind TEXT   NOT NULL CHECK (device_id_kind IN ('pattern', 'template')),
    device_id_rule TEXT   NOT NULL,
    next_seq       BIGINT NOT NULL DEFAULT 1 CHECK (next_seq >= 1),
    reserved       BIGINT NOT NULL DEFAULT 0,
    issued         BIGINT NOT NULL DEFAULT 0,
    refused        BIGINT NOT NULL DEFAULT 0 CHECK (refused >= 0),
    status         TEXT   NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    closed_at      BIGINT,
    created_at     BIGINT NOT NULL,
    CHECK (expires_at > starts_at),
    CHECK (reserved >= 0 AND reserved <= quantity),
    CHECK (issued >= 0 AND issued <= reserved),
    CHECK ((status = 'open' AND closed_at IS NULL)
        OR (status = 'closed' AND closed_at IS NOT NULL))
);
CREATE INDEX orders_created ON orders (created_at, id);

CREATE TABLE stations (
    id          TEXT   NOT NULL PRIMARY KEY,
    order_id    TEXT   NOT NULL REFERENCES orders (id),
    enrolled_at BIGINT NOT NULL,
    revoked_at  BIGINT
);
CREATE INDEX stations_order ON stations (order_id, enrolled_at, id);

CREATE TABLE station_tokens (
    token_sha256 BYTEA  NOT NULL PRIMARY KEY CHECK (octet_length(token_sha256) = 32),
    order_id     TEXT   NOT NULL REFERENCES orders (id),
    created_at   BIGINT NOT NULL,
    used_by      TEXT   REFERENCES stations (id),
    used_at      BIGINT,
    CHECK ((used_by IS NULL AND used_at IS NULL)
        OR (used_by IS NOT NULL AND used_at IS NOT NULL))
);

CREATE TABLE station_certificates (
    serial            BYTEA  NOT NULL PRIMARY KEY CHECK (octet_length(serial) BETWEEN 1 AND 20),
    station_id        TEXT   NOT NULL REFERENCES stations (id),
    generation        BIGINT NOT NULL CHECK (generation >= 1),
    certificate_der   BYTEA  NOT NULL,
    public_key_sha256 BYTEA  NOT NULL CHECK (octet_length(public_key_sha256) = 32),
    not_before        BIGINT NOT NULL,
    not_after         BIGINT NOT NULL,
    issued_at         BIGINT NOT NULL,
    UNIQUE (station_id, generation)
);

-- The audit log's Merkle tree: leaf hashes, signed checkpoints, and the
-- sequencer lease (one sequencer at a time across every node).
CREATE TABLE audit_tree (
    seq       BIGINT NOT NULL PRIMARY KEY,
    leaf_hash BYTEA  NOT NULL CHECK (octet_length(leaf_hash) = 32)
);

CREATE TABLE audit_checkpoints (
    tree_size BIGINT NOT NULL PRIMARY KEY CHECK (tree_size > 0),
    root_hash BYTEA  NOT NULL CHECK (octet_length(root_hash) = 32),
    timestamp BIGINT NOT NULL,
    signed    BYTEA  NOT NULL,
    frontier  BYTEA  NOT NULL CHECK (octet_length(frontier) % 32 = 0)
);

CREATE TABLE audit_sequencer (
    id         BIGINT NOT NULL PRIMARY KEY CHECK (id = 1),
    holder     TEXT   NOT NULL,
    expires_at BIGINT NOT NULL
);

-- Revocation (RFC 5280 CRLs, RFC 6960 OCSP).
CREATE TABLE revocations (
    ca_id      TEXT   NOT NULL,
    serial     BYTEA  NOT NULL CHECK (octet_length(serial) BETWEEN 1 AND 20),
    revoked_at BIGINT NOT NULL,
    reason     BIGINT NOT NULL CHECK (reason IN (0, 1, 2, 3, 4, 5, 9, 10)),
    audit_seq  BIGINT NOT NULL,
    PRIMARY KEY (ca_id, serial)
);
CREATE INDEX revocations_version ON revocations (ca_id, audit_seq);

CREATE TABLE crl_numbers (
    ca_id            TEXT   NOT NULL PRIMARY KEY REFERENCES authority_keys (id),
    last_number      BIGINT NOT NULL CHECK (last_number >= 1),
    last_this_update BIGINT NOT NULL
);

-- Offline production: a station sub-CA's allocation and imported log.
CREATE TABLE offline_cas (
    id           TEXT   NOT NULL PRIMARY KEY REFERENCES authority_keys (id),
    order_id     TEXT   NOT NULL REFERENCES orders (id),
    station_id   TEXT   NOT NULL REFERENCES stations (id),
    count        BIGINT NOT NULL CHECK (count > 0),
    first_seq    BIGINT CHECK (first_seq IS NULL OR first_seq >= 1),
    imported     BIGINT NOT NULL DEFAULT 0 CHECK (imported >= 0 AND imported <= count),
    log_size     BIGINT NOT NULL DEFAULT 0 CHECK (log_size >= 0),
    log_frontier BYTEA  NOT NULL DEFAULT '\x'::bytea
        CHECK (octet_length(log_frontier) % 32 = 0),
    closed_at    BIGINT,
    created_at   BIGINT NOT NULL
);
CREATE INDEX offline_cas_order ON offline_cas (order_id);
