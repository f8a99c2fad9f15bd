//! [`IssueAtOnce`] for [`PgStore`]: reserve, sign and record in one
//! transaction, so the order's and the audit log's row locks are taken
//! once per certificate instead of twice.
//!
//! The reservation is retried like any transaction (deadlock, broken
//! connection). Once the sign step has run it is not: the step runs once,
//! and a later failure is returned as it is. Nothing was committed then, so
//! the caller may simply ask again.

use std::panic::{AssertUnwindSafe, catch_unwind};

use async_trait::async_trait;
use deadpool_postgres::GenericClient;

use super::db::{self, Attempt};
use super::writes::PreparedEvent;
use super::{PgStore, issuance};
use crate::model::{AuditEvent, IssuanceIntent, Reservation};
use crate::{IssueAtOnce, Settled, SignStep, StoreError};

#[async_trait]
impl IssueAtOnce for PgStore {
    async fn issue_at_once(
        &self,
        intent: IssuanceIntent,
        event: AuditEvent,
        sign: SignStep,
    ) -> Result<Settled, StoreError> {
        intent.validate()?;
        let mut attempt: u32 = 0;
        loop {
            let mut client = self.client().await?;
            let tx = match db::begin(&mut client).await {
                Ok(tx) => tx,
                Err(e) if db::retry_begin(&e, attempt) => {
                    attempt += 1;
                    db::backoff(attempt).await;
                    continue;
                }
                Err(e) => return Err(e),
            };
            let reservation = match issuance::reserve_issuance(&tx, &intent, &event).await {
                Ok(reservation) => reservation,
                Err(e) => match db::finish::<Settled>(tx, Err(e), attempt).await {
                    Attempt::Retry => {
                        attempt += 1;
                        db::backoff(attempt).await;
                        continue;
                    }
                    Attempt::Done(result) => return result,
                },
            };
            // From here on, no retry: the sign step runs once.
            let settled = settle(&tx, &intent, reservation, sign).await;
            return match settled {
                Ok(settled) => match tx.commit().await {
                    Ok(()) => Ok(settled),
                    Err(e) => Err(StoreError::backend("commit", e)),
                },
                Err(e) => {
                    // A failed rollback leaves the connection broken; the
                    // pool drops it, and nothing was committed.
                    let _ = tx.rollback().await;
                    Err(e)
                }
            };
        }
    }
}

/// Runs the sign step on `reservation` and records its outcome.
async fn settle<C: GenericClient>(
    c: &C,
    intent: &IssuanceIntent,
    reservation: Reservation,
    sign: SignStep,
) -> Result<Settled, StoreError> {
    let (ca_id, serial) = (intent.ca_id.as_str(), intent.serial.as_slice());
    // As on SQLite's writer thread: a panicking step is an error of this
    // issuance (rolled back), not of the task that asked.
    let signed = catch_unwind(AssertUnwindSafe(|| sign(&reservation))).map_err(|_| {
        StoreError::backend_message("sign step", "the sign step panicked; nothing was recorded")
    })?;
    match signed {
        Ok(signed) => {
            let event = PreparedEvent::new(signed.event)?;
            let validity = (signed.not_before, signed.not_after);
            let der = &signed.certificate_der;
            let audit_seq =
                issuance::complete_issuance(c, ca_id, serial, der, validity, &event).await?;
            Ok(Settled::Issued {
                reservation,
                audit_seq,
            })
        }
        Err(failed) => {
            let event = PreparedEvent::new(failed.event)?;
            let audit_seq =
                issuance::fail_issuance(c, ca_id, serial, &failed.reason, &event).await?;
            Ok(Settled::Failed {
                reservation,
                audit_seq,
            })
        }
    }
}
