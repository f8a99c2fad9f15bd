//! One-transaction issuance ([`hallmark_store::IssueAtOnce`]), for the
//! backends that offer it: one commit records the intent, the sign step's
//! outcome and both audit events, and any error leaves nothing behind.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use hallmark_store::{
    FailedSigning, IssuanceStatus, IssueAtOnce, Reservation, Settled, SignStep, SignedIssuance,
    Store, StoreError,
};

use super::fixtures::{CA, NOW, TestResult, audit_len, event, intent, refused, serial, setup_cas};
use super::order_fixtures::{ORDER, counters, create, order_intent, template_order};

const CERT: [u8; 4] = [0x30, 0x02, 0x05, 0x00];

fn at_once(store: &dyn Store) -> TestResult<&dyn IssueAtOnce> {
    Ok(store
        .at_once()
        .ok_or("this backend has no one-transaction issuance")?)
}

/// A sign step that "signs" [`CERT`] and remembers the reservation it got.
pub fn signing(seen: &Arc<Mutex<Option<Reservation>>>) -> SignStep {
    let seen = Arc::clone(seen);
    Box::new(move |reservation: &Reservation| {
        *seen.lock().unwrap_or_else(|p| p.into_inner()) = Some(reservation.clone());
        Ok(SignedIssuance {
            certificate_der: CERT.to_vec(),
            not_before: NOW,
            not_after: NOW + 100,
            event: event("certificate.issued", &reservation.device_id),
        })
    })
}

/// A sign step that fails, as a removed token would.
fn failing() -> SignStep {
    Box::new(|reservation: &Reservation| {
        Err(FailedSigning {
            reason: "token removed".into(),
            event: event("issuance.failed", &reservation.device_id),
        })
    })
}

/// A sign step that records whether it ran and must not be reached.
fn unreachable_step(ran: &Arc<AtomicBool>) -> SignStep {
    let ran = Arc::clone(ran);
    Box::new(move |_: &Reservation| {
        ran.store(true, Ordering::SeqCst);
        Err(FailedSigning {
            reason: "must not run".into(),
            event: event("issuance.failed", "none"),
        })
    })
}

/// The sign step sees the device id the order's template assigned; the
/// record, the order's counters and both audit events are committed.
pub async fn issues_with_assigned_id(store: &dyn Store) -> TestResult {
    setup_cas(store).await?;
    create(store, template_order(ORDER, 5)?).await?;
    let before = audit_len(store).await?;
    let seen = Arc::new(Mutex::new(None));
    let mut intent_event = event("issuance.intent", "placeholder");
    intent_event.subject = None;
    let settled = at_once(store)?
        .issue_at_once(order_intent(ORDER, "", 1, 1), intent_event, signing(&seen))
        .await?;
    let Settled::Issued {
        reservation,
        audit_seq,
    } = settled
    else {
        return Err(format!("not issued: {settled:?}").into());
    };
    assert_eq!(reservation.device_id, "ACME-sensor-0001");
    let seen = seen.lock().unwrap_or_else(|p| p.into_inner()).clone();
    assert_eq!(
        seen.as_ref(),
        Some(&reservation),
        "the step got the reservation"
    );
    assert_eq!(audit_seq, reservation.audit_seq + 1);

    let record = store
        .certificate_by_device("ACME-sensor-0001")
        .await?
        .ok_or("no record")?;
    assert_eq!(record.status, IssuanceStatus::Issued);
    assert_eq!(record.certificate_der.as_deref(), Some(&CERT[..]));
    assert_eq!(
        (record.not_before, record.not_after),
        (Some(NOW), Some(NOW + 100))
    );
    assert_eq!(counters(store, ORDER).await?.0, 1, "one issued");
    assert_eq!(counters(store, ORDER).await?.1, 0, "none pending");

    let log = store.audit_events(before as i64, 10).await?;
    let kinds: Vec<&str> = log.iter().map(|r| r.kind.as_str()).collect();
    assert_eq!(kinds, ["issuance.intent", "certificate.issued"]);
    assert_eq!(log[0].subject.as_deref(), Some("ACME-sensor-0001"));
    Ok(())
}

/// A failed sign step is recorded as failed with its event: the device id
/// and quota unit are free again, the serial stays used.
pub async fn failed_sign_step_is_recorded(store: &dyn Store) -> TestResult {
    setup_cas(store).await?;
    create(store, template_order(ORDER, 5)?).await?;
    let before = audit_len(store).await?;
    let settled = at_once(store)?
        .issue_at_once(
            order_intent(ORDER, "", 1, 1),
            event("issuance.intent", "x"),
            failing(),
        )
        .await?;
    assert!(matches!(settled, Settled::Failed { .. }), "{settled:?}");
    let record = store
        .certificate_by_serial(CA, &serial(1))
        .await?
        .ok_or("no record")?;
    assert_eq!(record.status, IssuanceStatus::Failed);
    assert_eq!(record.failure_reason.as_deref(), Some("token removed"));
    assert_eq!(counters(store, ORDER).await?.1, 0, "quota unit returned");
    let log = store.audit_events(before as i64, 10).await?;
    let kinds: Vec<&str> = log.iter().map(|r| r.kind.as_str()).collect();
    assert_eq!(kinds, ["issuance.intent", "issuance.failed"]);

    let err = refused(
        store
            .reserve_issuance(order_intent(ORDER, "", 2, 1), event("r", "x"))
            .await,
    )?;
    assert!(matches!(err, StoreError::SerialTaken { .. }), "{err:?}");
    Ok(())
}

/// A refused reservation never reaches the sign step and writes nothing.
pub async fn refusal_skips_the_sign_step(store: &dyn Store) -> TestResult {
    setup_cas(store).await?;
    store
        .reserve_issuance(intent("dev-1", 1, 1), event("issuance.intent", "dev-1"))
        .await?;
    let before = audit_len(store).await?;
    let ran = Arc::new(AtomicBool::new(false));
    let err = refused(
        at_once(store)?
            .issue_at_once(
                intent("dev-1", 2, 2),
                event("issuance.intent", "dev-1"),
                unreachable_step(&ran),
            )
            .await,
    )?;
    assert!(matches!(err, StoreError::DeviceIdTaken { .. }), "{err:?}");
    assert!(!ran.load(Ordering::SeqCst), "the sign step ran");
    assert_eq!(audit_len(store).await?, before);
    assert!(store.certificate_by_serial(CA, &serial(2)).await?.is_none());
    Ok(())
}

/// A completion the store refuses (the station is revoked) rolls back the
/// reservation too: no record, no quota used, no audit event.
pub async fn refused_completion_rolls_everything_back(store: &dyn Store) -> TestResult {
    super::stations::setup(store, vec![super::order_fixtures::token(1)]).await?;
    super::stations::enroll(store, 1, "st-1", 1).await?;
    store
        .revoke_station("st-1", event("revocation", "st-1"))
        .await?;
    let before = audit_len(store).await?;
    let mut intent = order_intent(ORDER, "dev-1", 1, 1);
    intent.station_id = Some("st-1".into());
    let seen = Arc::new(Mutex::new(None));
    let err = refused(
        at_once(store)?
            .issue_at_once(intent, event("issuance.intent", "dev-1"), signing(&seen))
            .await,
    )?;
    assert!(
        matches!(&err, StoreError::StationRevoked { station_id } if station_id == "st-1"),
        "{err:?}"
    );
    assert_eq!(audit_len(store).await?, before);
    assert!(store.certificate_by_serial(CA, &serial(1)).await?.is_none());
    assert_eq!(counters(store, ORDER).await?.0, 0, "nothing issued");
    assert_eq!(counters(store, ORDER).await?.1, 0, "nothing pending");
    Ok(())
}

/// A sign step that panics is an error, and nothing is written: the same
/// device can be issued right after.
pub async fn panicking_sign_step_writes_nothing(store: &dyn Store) -> TestResult {
    setup_cas(store).await?;
    let before = audit_len(store).await?;
    let panicking: SignStep = Box::new(|_: &Reservation| panic!("signer bug"));
    let err = refused(
        at_once(store)?
            .issue_at_once(
                intent("dev-1", 1, 1),
                event("issuance.intent", "dev-1"),
                panicking,
            )
            .await,
    )?;
    assert!(matches!(err, StoreError::Backend { .. }), "{err:?}");
    assert_eq!(audit_len(store).await?, before);
    let seen = Arc::new(Mutex::new(None));
    let settled = at_once(store)?
        .issue_at_once(
            intent("dev-1", 1, 1),
            event("issuance.intent", "dev-1"),
            signing(&seen),
        )
        .await?;
    assert!(matches!(settled, Settled::Issued { .. }), "{settled:?}");
    Ok(())
}
