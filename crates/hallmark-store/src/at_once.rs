//! An extra power of a store: steps 2–4 of an issuance (reserve, sign,
//! record) in one durable transaction, so an issuance costs one commit
//! instead of two.
//!
//! Only for a CA key that signs in memory: the sign step runs inside the
//! store's transaction (on SQLite, on its writer thread, where every other
//! write waits for it), so it must take microseconds and never block.
//!
//! The invariant of the two-commit path still holds: no certificate leaves
//! the process before the store durably knows it. What changes is that a
//! crash or refusal before the commit leaves nothing at all (no pending
//! record to expire): the certificate signed in memory is dropped with the
//! transaction and never reached anyone.

use async_trait::async_trait;

use crate::StoreError;
use crate::model::{AuditEvent, AuditSeq, IssuanceIntent, Reservation, UnixSeconds};

/// A signed certificate with its `certificate.issued` audit event, as the
/// sign step returns it.
#[derive(Debug, Clone)]
pub struct SignedIssuance {
    /// The certificate, DER.
    pub certificate_der: Vec<u8>,
    /// Its `notBefore`.
    pub not_before: UnixSeconds,
    /// Its `notAfter`.
    pub not_after: UnixSeconds,
    /// The `certificate.issued` event recorded with it.
    pub event: AuditEvent,
}

/// Why the sign step produced no certificate, with its `issuance.failed`
/// audit event.
#[derive(Debug, Clone)]
pub struct FailedSigning {
    /// Recorded as the issuance's failure reason.
    pub reason: String,
    /// The `issuance.failed` event recorded with it.
    pub event: AuditEvent,
}

/// Step 3, given the reservation of step 2 (which holds the device id an
/// order's template assigned). Runs inside the transaction; must not block.
pub type SignStep = Box<dyn FnOnce(&Reservation) -> Result<SignedIssuance, FailedSigning> + Send>;

/// How a one-transaction issuance ended, once durably committed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settled {
    /// Recorded as issued, with the `seq` of its `certificate.issued` event.
    Issued {
        /// The reservation the sign step was given.
        reservation: Reservation,
        /// The `seq` of the `certificate.issued` event.
        audit_seq: AuditSeq,
    },
    /// The sign step failed: recorded as failed (its serial stays used), with
    /// the `seq` of its `issuance.failed` event.
    Failed {
        /// The reservation the sign step was given.
        reservation: Reservation,
        /// The `seq` of the `issuance.failed` event.
        audit_seq: AuditSeq,
    },
}

/// A store that can reserve, sign and record an issuance in one
/// transaction. Reached through [`Store::at_once`](crate::Store::at_once).
#[async_trait]
pub trait IssueAtOnce: Send + Sync {
    /// Reserves `intent` with its `issuance.intent` `event` (refusals as
    /// [`Store::reserve_issuance`](crate::Store::reserve_issuance)), runs
    /// `sign` with the reservation, and records its outcome as
    /// [`Store::complete_issuance`](crate::Store::complete_issuance) or
    /// [`Store::fail_issuance`](crate::Store::fail_issuance) would, all in
    /// one durable transaction.
    ///
    /// Any error (a refusal at reservation, the completion refused because
    /// the station was revoked, a sign step that panicked, a failed commit)
    /// rolls everything back: nothing is recorded, no quota is used.
    async fn issue_at_once(
        &self,
        intent: IssuanceIntent,
        event: AuditEvent,
        sign: SignStep,
    ) -> Result<Settled, StoreError>;
}
