-- Hallmark schema, version 1.
-- Kept portable: the PostgreSQL backend uses the same tables, constraints and
-- partial unique indexes (BLOB -> bytea, INTEGER -> bigint).

-- Every key the CA hierarchy owns.
CREATE TABLE authority_keys (
    id              TEXT    NOT NULL PRIMARY KEY,
    role            TEXT    NOT NULL
        CHECK (role IN ('root', 'issuing', 'station_ca', 'ocsp_responder', 'audit')),
    parent_id       TEXT    REFERENCES authority_keys (id),
    factory         TEXT,
    subject         TEXT,
    algorithm       TEXT    NOT NULL,
    key_uri         TEXT    NOT NULL,
    certificate_der BLOB,
    not_after       INTEGER,
    created_at      INTEGER NOT NULL
);

-- One row per issuance attempt. The primary key keeps a serial used forever
-- (also after failure); the partial unique indexes hold device id and public
-- key only while the record is pending or issued.
CREATE TABLE certificates (
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
        CHECK (status IN ('pending', 'issued', 'failed')),
    certificate_der   BLOB,
    not_before        INTEGER,
    not_after         INTEGER,
    issued_at         INTEGER,
    failure_reason    TEXT,
    PRIMARY KEY (ca_id, serial),
    CHECK (status <> 'issued' OR certificate_der IS NOT NULL)
);

CREATE UNIQUE INDEX certificates_live_device_id
    ON certificates (device_id) WHERE status <> 'failed';

CREATE UNIQUE INDEX certificates_live_public_key
    ON certificates (public_key_sha256) WHERE status <> 'failed';

CREATE INDEX certificates_status_ca
    ON certificates (status, ca_id);

-- Append-only audit log. seq is assigned by the database; AUTOINCREMENT
-- never hands out a number twice, and savepoint rollbacks undo the counter,
-- so committed seqs are 1, 2, 3, ... without gaps. data holds the exact JSON
-- bytes given (BLOB, not a JSON type, so nothing re-encodes them).
CREATE TABLE audit_log (
    seq     INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    kind    TEXT    NOT NULL,
    subject TEXT,
    at      INTEGER NOT NULL,
    data    BLOB    NOT NULL
);
