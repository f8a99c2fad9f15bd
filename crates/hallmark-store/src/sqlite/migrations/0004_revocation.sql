-- Hallmark schema, version 4: revocation (RFC 5280 CRLs, RFC 6960 OCSP).
-- Portable like the earlier versions, except `WITHOUT ROWID` (SQLite's
-- clustered table; PostgreSQL simply drops the clause).

-- One row per revoked certificate, never deleted or re-dated. `reason` is
-- the RFC 5280 CRLReason code (holds 6 and 8 are never written).
-- `audit_seq` is the audit event that revoked it: the newest per CA is the
-- CA's "revocation version" that CRL and OCSP caches compare. There is no
-- foreign key to `certificates`, so that table can still be rebuilt as in
-- version 2; the revoking transaction checks the certificate is issued or
-- superseded.
CREATE TABLE revocations (
    ca_id      TEXT    NOT NULL,
    serial     BLOB    NOT NULL CHECK (length(serial) BETWEEN 1 AND 20),
    revoked_at INTEGER NOT NULL,
    reason     INTEGER NOT NULL CHECK (reason IN (0, 1, 2, 3, 4, 5, 9, 10)),
    audit_seq  INTEGER NOT NULL,
    PRIMARY KEY (ca_id, serial)
) WITHOUT ROWID;

CREATE INDEX revocations_version ON revocations (ca_id, audit_seq);

-- Per issuing CA: the last CRL number handed out (RFC 5280 §5.2.3: it only
-- grows) and that CRL's thisUpdate.
CREATE TABLE crl_numbers (
    ca_id            TEXT    NOT NULL PRIMARY KEY REFERENCES authority_keys (id),
    last_number      INTEGER NOT NULL CHECK (last_number >= 1),
    last_this_update INTEGER NOT NULL
);

-- Selections for bulk revocation (by serial under any CA, device, station
-- and issue time, order). Superseded records are included: they are still
-- valid certificates until revoked or expired.
CREATE INDEX certificates_serial ON certificates (serial);

CREATE INDEX certificates_device ON certificates (device_id);

CREATE INDEX certificates_station ON certificates (station_id, issued_at)
    WHERE station_id IS NOT NULL;

CREATE INDEX certificates_order ON certificates (order_id, issued_at)
    WHERE order_id IS NOT NULL;
