-- Hallmark schema, version 2: production orders (quota), renewals,
-- station enrollment tokens and stations.
-- Kept portable like version 1 (BLOB -> bytea, INTEGER -> bigint); only the
-- rebuild of `certificates` below is SQLite's way of changing a CHECK
-- constraint (PostgreSQL creates the final table directly).

-- certificates: status gains 'superseded' (a renewed record), `renews`
-- names the record a renewal replaces, `quota_unit` is 1 when the record
-- consumed a unit of its order's quota (never for renewals or records
-- without an order). SQLite cannot alter a CHECK constraint, so the table is
-- rebuilt (create, copy, drop, rename, recreate indexes). Nothing references
-- `certificates`, so this is safe with foreign keys on.
CREATE TABLE certificates_v2 (
    ca_id             TEXT    NOT NULL REFERENCES authority_keys (id),
    serial            BLOB    NOT NULL CHECK (length(serial) BETWEEN 1 AND 20),
    device_id         TEXT    NOT NULL CHECK (device_id <> ''),
    public_key_sha256 BLOB    NOT NULL CHECK (length(public_key_sha256) = 32),
    profile           TEXT    NOT NULL,
    key_origin        TEXT    NOT NULL
        CHECK (key_origin IN ('device', 'station', 'pregenerated')),
    order_id          TEXT,
    station_id        TEXT,
    requested_at      INTEGER NOT NULL,
    status            TEXT    NOT NULL
        CHECK (status IN ('pending', 'issued', 'failed', 'superseded')),
    certificate_der   BLOB,
    not_before        INTEGER,
    not_after         INTEGER,
    issued_at         INTEGER,
    failure_reason    TEXT,
    renews            BLOB    CHECK (renews IS NULL OR length(renews) BETWEEN 1 AND 20),
    quota_unit        INTEGER NOT NULL DEFAULT 0 CHECK (quota_unit IN (0, 1)),
    PRIMARY KEY (ca_id, serial),
    CHECK (status NOT IN ('issued', 'superseded') OR certificate_der IS NOT NULL),
    CHECK (quota_unit = 0 OR (order_id IS NOT NULL AND renews IS NULL))
);

INSERT INTO certificates_v2 (ca_id, serial, device_id, public_key_sha256, profile,
    key_origin, order_id, station_id, requested_at, status, certificate_der,
    not_before, not_after, issued_at, failure_reason)
SELECT ca_id, serial, device_id, public_key_sha256, profile,
    key_origin, order_id, station_id, requested_at, status, certificate_der,
    not_before, not_after, issued_at, failure_reason
FROM certificates;

DROP TABLE certificates;

ALTER TABLE certificates_v2 RENAME TO certificates;

-- Device id and public key are held only by pending and issued records.
CREATE UNIQUE INDEX certificates_live_device_id
    ON certificates (device_id) WHERE status IN ('pending', 'issued');

CREATE UNIQUE INDEX certificates_live_public_key
    ON certificates (public_key_sha256) WHERE status IN ('pending', 'issued');

CREATE INDEX certificates_status_ca
    ON certificates (status, ca_id);

CREATE INDEX certificates_renews
    ON certificates (ca_id, renews) WHERE renews IS NOT NULL;

-- Production orders. `reserved` counts the pending and issued records that
-- consumed quota, `issued` those of them that completed: the quota check
-- and the increment are one UPDATE, and the CHECK below makes exceeding the
-- quantity impossible even for a buggy writer. `next_seq` is the next
-- template sequence number; it only ever grows.
CREATE TABLE orders (
    id             TEXT    NOT NULL PRIMARY KEY,
    factory        TEXT    NOT NULL REFERENCES authority_keys (id),
    product        TEXT    NOT NULL,
    quantity       INTEGER NOT NULL CHECK (quantity > 0),
    starts_at      INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL,
    device_id_kind TEXT    NOT NULL CHECK (device_id_kind IN ('pattern', 'template')),
    device_id_rule TEXT    NOT NULL,
    next_seq       INTEGER NOT NULL DEFAULT 1 CHECK (next_seq >= 1),
    reserved       INTEGER NOT NULL DEFAULT 0,
    issued         INTEGER NOT NULL DEFAULT 0,
    refused        INTEGER NOT NULL DEFAULT 0 CHECK (refused >= 0),
    status         TEXT    NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    closed_at      INTEGER,
    created_at     INTEGER NOT NULL,
    CHECK (expires_at > starts_at),
    CHECK (reserved >= 0 AND reserved <= quantity),
    CHECK (issued >= 0 AND issued <= reserved),
    CHECK ((status = 'open' AND closed_at IS NULL)
        OR (status = 'closed' AND closed_at IS NOT NULL))
);

CREATE INDEX orders_created ON orders (created_at, id);

-- Factory stations, enrolled under an order with a one-time token.
CREATE TABLE stations (
    id          TEXT    NOT NULL PRIMARY KEY,
    order_id    TEXT    NOT NULL REFERENCES orders (id),
    enrolled_at INTEGER NOT NULL,
    revoked_at  INTEGER
);

CREATE INDEX stations_order ON stations (order_id, enrolled_at, id);

-- One-time enrollment tokens; only their SHA-256 is stored.
CREATE TABLE station_tokens (
    token_sha256 BLOB    NOT NULL PRIMARY KEY CHECK (length(token_sha256) = 32),
    order_id     TEXT    NOT NULL REFERENCES orders (id),
    created_at   INTEGER NOT NULL,
    used_by      TEXT    REFERENCES stations (id),
    used_at      INTEGER,
    CHECK ((used_by IS NULL AND used_at IS NULL)
        OR (used_by IS NOT NULL AND used_at IS NOT NULL))
);

-- Every certificate a station was given. Serials are unique across all
-- station certificates. `generation` numbers a station's certificates
-- 1, 2, 3, ... (enrollment, renewals): the tie-breaker for "newest" that
-- does not depend on SQLite's rowid.
CREATE TABLE station_certificates (
    serial            BLOB    NOT NULL PRIMARY KEY CHECK (length(serial) BETWEEN 1 AND 20),
    station_id        TEXT    NOT NULL REFERENCES stations (id),
    generation        INTEGER NOT NULL CHECK (generation >= 1),
    certificate_der   BLOB    NOT NULL,
    public_key_sha256 BLOB    NOT NULL CHECK (length(public_key_sha256) = 32),
    not_before        INTEGER NOT NULL,
    not_after         INTEGER NOT NULL,
    issued_at         INTEGER NOT NULL,
    UNIQUE (station_id, generation)
);
