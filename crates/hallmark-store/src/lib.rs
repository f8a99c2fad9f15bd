//! Hallmark's durable state behind one trait, [`Store`], with a SQLite
//! backend ([`SqliteStore`], embedded default) and a PostgreSQL backend
//! ([`PgStore`], several server nodes on one database; see [`postgres`]).
//!
//! # The trait
//!
//! [`Store`] is async (`#[async_trait]`), object safe and
//! `Send + Sync + Debug`, so callers hold an `Arc<dyn Store>` and never know
//! the backend. It keeps the CA hierarchy's keys ([`AuthorityKey`]), one
//! [`CertificateRecord`] per issuance attempt, production orders with their
//! stations, and the append-only audit log ([`AuditRecord`]). Issuance goes
//! in Boulder-style steps: [`reserve_issuance`](Store::reserve_issuance)
//! inserts a pending record (holding device id, public key and serial),
//! [`complete_issuance`](Store::complete_issuance) stores the signed
//! certificate, [`fail_issuance`](Store::fail_issuance) releases device id
//! and key (the serial stays used forever). Device id and key are held by
//! pending and issued records only (not by failed or superseded ones).
//!
//! # Orders and quota
//!
//! A production order ([`NewOrder`], [`OrderRecord`]) bounds what a factory
//! may issue: a quantity, a time window and a device-id rule (a pattern the
//! station's proposal must match, or a [`DeviceIdTemplate`] from which the
//! store assigns ids `…-0001`, `…-0002`, …). A reservation under an order
//! takes one unit of its quota in the same transaction (SQLite: one
//! `UPDATE … WHERE reserved < quantity` inside the `BEGIN IMMEDIATE`
//! transaction, so also two processes on one file never exceed it); a
//! failed issuance gives the unit back, a template sequence number never.
//! Renewals ([`IssuanceIntent::renews`]) supersede the issued record they
//! replace and consume no quota. Stations enroll under an order with
//! one-time tokens (only their SHA-256 is stored) and keep every
//! certificate they were given ([`StationRecord`]).
//!
//! Every uniqueness rule is a unique index in the database, checked inside
//! the writing transaction, so it holds across processes and server nodes:
//! the database, not process memory, decides who wins a race. Every mutating
//! method takes the [`AuditEvent`] describing it; the change and its audit
//! record commit together or not at all. Audit records get a database
//! assigned, gap-free `seq` in commit order, and their data bytes are
//! returned exactly as stored ([`AuditRecord::data_json`]) for the Merkle
//! log built over them.
//!
//! # Revocation
//!
//! [`Store::revoke`] marks issued certificates revoked (time, RFC 5280
//! reason code) and can stop a station's credential in the same
//! transaction; revocation is idempotent and never re-dated. Selections
//! ([`CertificateSelection`]: by device, serial, station and time window,
//! order) list what a bulk revocation would touch; [`Store::revocations`]
//! lists a CA's revoked serials for its CRL, [`Store::revocation_status`]
//! answers OCSP, and [`Store::next_crl_number`] hands out monotonic CRL
//! numbers.
//!
//! # The durability rule
//!
//! A mutating method returns `Ok` only after its transaction is durably
//! committed (SQLite: WAL with `synchronous=FULL`, so `COMMIT` includes the
//! fsync). A certificate may therefore leave the process as soon as
//! `complete_issuance` returned.
//!
//! # The batching writer (SQLite)
//!
//! Durable commits, not signatures, bound a CA's throughput (one fsync costs
//! more than signing a certificate). [`SqliteStore`] therefore has a single
//! writer thread owning the write connection. Callers send it jobs over a
//! channel; it takes the first, drains whatever else is queued (up to
//! [`sqlite::MAX_BATCH`]), runs them all in one `BEGIN IMMEDIATE`
//! transaction, each inside its own `SAVEPOINT` so that one job's refusal
//! rolls back only that job, commits once, and only then answers every job.
//! If the commit fails, every job of the batch gets the error. Many
//! concurrent callers thus share one fsync while each is still answered only
//! after its own work is durable. Reads use a small pool of read-only
//! connections on tokio's blocking pool; WAL lets them run beside the
//! writer. WAL checkpoints (copying committed pages into the database file)
//! run on a thread of their own every 100 ms rather than inside the writer's
//! commits. Dropping the store lets the writer commit everything queued and
//! joins it, then runs a last checkpoint.

mod at_once;
mod error;
pub mod model;
pub mod offline;
pub mod orders;
pub mod postgres;
pub mod revocation;
pub mod sqlite;
mod store;

pub use at_once::{FailedSigning, IssueAtOnce, Settled, SignStep, SignedIssuance};
pub use error::{BackendError, StoreError};
pub use model::{
    AuditEvent, AuditRecord, AuditSeq, AuthorityKey, CertificateRecord, IssuanceIntent,
    IssuanceStatus, KeyOrigin, KeyRole, Reservation, StoredCheckpoint, UnixSeconds,
};
pub use offline::{NewOfflineCa, OfflineCaRecord, OfflineCertificate, OfflineImport};
pub use orders::{
    DeviceIdRule, DeviceIdTemplate, NewOrder, OrderRecord, OrderStatus, OrderUnavailable,
    StationCertificate, StationRecord, StationTokenRecord, TemplateValues,
};
pub use postgres::PgStore;
pub use revocation::{
    CertificateId, CertificateSelection, Revocation, RevocationCandidate, RevocationOutcome,
    RevocationTargets, RevokedCertificate, SerialStatus,
};
pub use sqlite::{SqliteStore, WriterStats};
pub use store::Store;
