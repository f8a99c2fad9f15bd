//! Station enrollment with one-time tokens, and station renewal.

use hallmark_store::{OrderUnavailable, Store, StoreError};

use super::fixtures::{NOW, TestResult, audit_len, event, refused, setup_cas};
use super::order_fixtures::{ORDER, counters, pattern_order, station_cert, token};

/// The CAs and a pattern order of 5 with these station tokens.
pub async fn setup(store: &dyn Store, tokens: Vec<[u8; 32]>) -> TestResult {
    setup_cas(store).await?;
    store
        .create_order(
            pattern_order(ORDER, 5),
            tokens,
            event("order.created", ORDER),
        )
        .await?;
    Ok(())
}

/// Enrolls station `id` with token `t` and certificate `cert`.
pub async fn enroll(store: &dyn Store, t: u8, id: &str, cert: u8) -> Result<i64, StoreError> {
    store
        .enroll_station(
            &token(t),
            id,
            station_cert(cert),
            event("station.enrolled", id),
        )
        .await
}

/// A token enrolls one station, once; refusals leave the token unused.
pub async fn enroll_station_once(store: &dyn Store) -> TestResult {
    setup(store, vec![token(1), token(2)]).await?;
    enroll(store, 1, "st-1", 1).await?;
    let station = store.station("st-1").await?.ok_or("station missing")?;
    assert_eq!(
        (
            station.order_id.as_str(),
            station.enrolled_at,
            station.revoked_at
        ),
        (ORDER, NOW, None)
    );
    assert_eq!(station.current, station_cert(1));
    let used = store
        .station_token(&token(1))
        .await?
        .ok_or("token missing")?;
    assert_eq!(
        (used.used_by.as_deref(), used.used_at),
        (Some("st-1"), Some(NOW))
    );
    assert_eq!(counters(store, ORDER).await?, (0, 0, 0, 1));

    let before = audit_len(store).await?;
    let err = refused(enroll(store, 1, "st-2", 2).await)?;
    assert!(
        matches!(&err, StoreError::TokenUsed { order_id } if order_id == ORDER),
        "{err:?}"
    );
    let err = refused(enroll(store, 7, "st-2", 2).await)?;
    assert!(matches!(err, StoreError::TokenUnknown), "{err:?}");
    let err = refused(enroll(store, 2, "st-1", 2).await)?;
    assert!(
        matches!(err, StoreError::Duplicate { .. }),
        "station id: {err:?}"
    );
    let err = refused(enroll(store, 2, "st-2", 1).await)?;
    assert!(
        matches!(err, StoreError::Duplicate { .. }),
        "serial: {err:?}"
    );
    assert_eq!(audit_len(store).await?, before);
    let unused = store
        .station_token(&token(2))
        .await?
        .ok_or("token missing")?;
    assert_eq!((unused.used_by, unused.used_at), (None, None));
    assert_eq!(store.station("st-2").await?, None);
    assert_eq!(counters(store, ORDER).await?, (0, 0, 0, 1));
    enroll(store, 2, "st-2", 2).await?;
    assert_eq!(counters(store, ORDER).await?, (0, 0, 0, 2));
    Ok(())
}

/// Enrollment outside the order's window or after closing is refused and
/// leaves the token unused.
pub async fn enroll_refused_when_order_unavailable(store: &dyn Store) -> TestResult {
    setup(store, vec![token(1)]).await?;
    let o = pattern_order(ORDER, 5);
    for (at, reason) in [
        (o.starts_at - 1, OrderUnavailable::NotStarted),
        (o.expires_at, OrderUnavailable::Expired),
        (NOW, OrderUnavailable::Closed),
    ] {
        if reason == OrderUnavailable::Closed {
            store
                .close_order(ORDER, event("order.closed", ORDER))
                .await?;
        }
        let mut enrolling = event("station.enrolled", "st-1");
        enrolling.at = at;
        let before = audit_len(store).await?;
        let result = store
            .enroll_station(&token(1), "st-1", station_cert(1), enrolling)
            .await;
        let err = refused(result)?;
        assert!(
            matches!(&err, StoreError::OrderUnavailable { reason: r, .. } if *r == reason),
            "{err:?}"
        );
        assert_eq!(audit_len(store).await?, before);
        let t = store
            .station_token(&token(1))
            .await?
            .ok_or("token missing")?;
        assert_eq!(t.used_by, None, "{reason:?}");
        assert_eq!(store.station("st-1").await?, None);
    }
    Ok(())
}

/// A renewal becomes the current certificate; every certificate finds the
/// station; listing is by `(enrolled_at, id)` and per order.
pub async fn renew_station_keeps_old_certificates(store: &dyn Store) -> TestResult {
    setup(store, vec![token(1), token(2)]).await?;
    let mut enrolling = event("station.enrolled", "st-b");
    enrolling.at = NOW - 10;
    store
        .enroll_station(&token(1), "st-b", station_cert(1), enrolling)
        .await?;
    enroll(store, 2, "st-a", 2).await?;
    // Two renewals at the same time: the later one is the current one.
    for cert in [3, 4] {
        store
            .renew_station("st-b", station_cert(cert), event("station.renewed", "st-b"))
            .await?;
    }
    let renewed = store.station("st-b").await?.ok_or("station missing")?;
    assert_eq!(renewed.current, station_cert(4));
    assert_eq!(renewed.enrolled_at, NOW - 10);
    for serial in [1, 3, 4].map(|n| station_cert(n).serial) {
        let found = store.station_by_certificate(&serial).await?;
        assert_eq!(found.as_ref(), Some(&renewed), "{serial:?}");
    }
    assert_eq!(store.station_by_certificate(&[0x51, 9]).await?, None);

    let before = audit_len(store).await?;
    let err = refused(
        store
            .renew_station("st-z", station_cert(5), event("x", "st-z"))
            .await,
    )?;
    assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");
    let err = refused(
        store
            .renew_station("st-a", station_cert(1), event("x", "st-a"))
            .await,
    )?;
    assert!(matches!(err, StoreError::Duplicate { .. }), "{err:?}");
    assert_eq!(audit_len(store).await?, before);

    let ids = |stations: Vec<hallmark_store::StationRecord>| {
        stations.into_iter().map(|s| s.id).collect::<Vec<_>>()
    };
    assert_eq!(ids(store.stations(None).await?), ["st-b", "st-a"]);
    assert_eq!(ids(store.stations(Some(ORDER)).await?), ["st-b", "st-a"]);
    assert!(store.stations(Some("o-other")).await?.is_empty());
    assert_eq!(counters(store, ORDER).await?, (0, 0, 0, 2));
    Ok(())
}

/// An issuance in flight when its station is revoked cannot complete: the
/// revocation wins, and failing it returns the quota unit.
pub async fn revoked_station_cannot_complete_an_issuance(store: &dyn Store) -> TestResult {
    setup(store, vec![token(1)]).await?;
    enroll(store, 1, "st-1", 1).await?;
    let mut intent = super::order_fixtures::order_intent(ORDER, "dev-1", 1, 1);
    intent.station_id = Some("st-1".into());
    store
        .reserve_issuance(intent.clone(), event("issuance.intent", "dev-1"))
        .await?;
    store
        .revoke_station("st-1", event("revocation", "st-1"))
        .await?;
    let err = refused(
        store
            .complete_issuance(
                &intent.ca_id,
                &intent.serial,
                vec![0x30, 0x00],
                NOW,
                NOW + 10,
                event("certificate.issued", "dev-1"),
            )
            .await,
    )?;
    assert!(
        matches!(&err, StoreError::StationRevoked { station_id } if station_id == "st-1"),
        "{err:?}"
    );
    store
        .fail_issuance(
            &intent.ca_id,
            &intent.serial,
            "station revoked".into(),
            event("issuance.failed", "dev-1"),
        )
        .await?;
    assert_eq!(counters(store, ORDER).await?.0, 0, "nothing issued");
    Ok(())
}
