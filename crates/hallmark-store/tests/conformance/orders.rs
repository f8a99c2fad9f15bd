//! Orders: creation, device id rules, window, closing, refusals.

use hallmark_store::{NewOrder, OrderStatus, OrderUnavailable, Store, StoreError};

use super::fixtures::{
    CA, NOW, OTHER_CA, TestResult, audit_len, event, intent, refused, setup_cas,
};
use super::order_fixtures::{
    ORDER, counters, create, order, order_intent, pattern_order, template_order, token,
};

/// An order comes back as stored with zero counters; `orders` sorts by
/// `(created_at, id)`; its tokens are stored unused.
pub async fn create_order_round_trip(store: &dyn Store) -> TestResult {
    setup_cas(store).await?;
    let first = template_order("ord-b", 10)?;
    let mut second = pattern_order("ord-a", 3);
    second.factory = OTHER_CA.into();
    second.created_at = first.created_at + 1;
    let tokens = vec![token(1), token(2)];
    store
        .create_order(first.clone(), tokens, event("order.created", "ord-b"))
        .await?;
    let seq = store
        .create_order(second.clone(), Vec::new(), event("order.created", "ord-a"))
        .await?;
    assert_eq!(
        seq,
        audit_len(store).await? as i64,
        "returns its event's seq"
    );

    let stored = order(store, "ord-b").await?;
    assert_eq!(stored.order, first);
    assert_eq!((stored.status, stored.closed_at), (OrderStatus::Open, None));
    assert_eq!(counters(store, "ord-b").await?, (0, 0, 0, 0));
    assert_eq!(stored.left(), 10);
    let ids: Vec<String> = store
        .orders()
        .await?
        .into_iter()
        .map(|o| o.order.id)
        .collect();
    assert_eq!(ids, ["ord-b", "ord-a"]);
    assert_eq!(store.order("ord-c").await?, None);

    let t = store
        .station_token(&token(2))
        .await?
        .ok_or("token missing")?;
    assert_eq!(
        (t.order_id.as_str(), t.used_by, t.used_at),
        ("ord-b", None, None)
    );
    assert_eq!(store.station_token(&token(3)).await?, None);
    Ok(())
}

/// Bad orders and duplicate ids or tokens are refused and write nothing.
pub async fn bad_orders_refused(store: &dyn Store) -> TestResult {
    setup_cas(store).await?;
    let create_with = |o: NewOrder, tokens: Vec<[u8; 32]>| {
        store.create_order(o, tokens, event("order.created", "o"))
    };
    create_with(pattern_order(ORDER, 5), vec![token(1)]).await?;
    let before = audit_len(store).await?;

    let err = refused(create_with(pattern_order("o-zero", 0), vec![]).await)?;
    assert!(matches!(err, StoreError::Invalid { .. }), "{err:?}");
    let mut empty_window = pattern_order("o-window", 5);
    empty_window.expires_at = empty_window.starts_at;
    let err = refused(create_with(empty_window, vec![]).await)?;
    assert!(matches!(err, StoreError::Invalid { .. }), "{err:?}");
    for factory in ["factory-nowhere", "root"] {
        let mut o = pattern_order("o-factory", 5);
        o.factory = factory.into();
        let err = refused(create_with(o, vec![]).await)?;
        assert!(
            matches!(err, StoreError::NotFound { .. }),
            "{factory}: {err:?}"
        );
    }
    let err = refused(create_with(pattern_order(ORDER, 5), vec![]).await)?;
    assert!(
        matches!(err, StoreError::Duplicate { what: "order", .. }),
        "{err:?}"
    );
    let err = refused(create_with(pattern_order("o-2", 5), vec![token(2), token(1)]).await)?;
    assert!(
        matches!(
            err,
            StoreError::Duplicate {
                what: "station token",
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(
        store.order("o-2").await?,
        None,
        "order rolled back with its tokens"
    );
    assert_eq!(store.station_token(&token(2)).await?, None);

    let add = |id: &'static str, t: Vec<[u8; 32]>| {
        store.add_station_tokens(id, t, event("order.tokens_added", id))
    };
    let err = refused(add(ORDER, vec![token(3), token(3)]).await)?;
    assert!(matches!(err, StoreError::Duplicate { .. }), "{err:?}");
    let err = refused(add("o-missing", vec![token(4)]).await)?;
    assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");
    assert_eq!(store.station_token(&token(3)).await?, None);
    assert_eq!(audit_len(store).await?, before, "refusals wrote nothing");

    add(ORDER, vec![token(3)]).await?;
    let t = store
        .station_token(&token(3))
        .await?
        .ok_or("token missing")?;
    assert_eq!(t.order_id, ORDER);
    Ok(())
}

/// The device id must be empty exactly when the order assigns it.
pub async fn device_id_rules(store: &dyn Store) -> TestResult {
    setup_cas(store).await?;
    create(store, pattern_order("o-pattern", 5)).await?;
    create(store, template_order("o-template", 5)?).await?;
    let before = audit_len(store).await?;
    for wanted in [
        order_intent("o-pattern", "", 1, 1),
        order_intent("o-template", "dev-1", 1, 1),
        intent("", 1, 1),
    ] {
        let err = refused(store.reserve_issuance(wanted, event("x", "d")).await)?;
        assert!(
            matches!(
                err,
                StoreError::Invalid {
                    what: "device id",
                    ..
                }
            ),
            "{err:?}"
        );
    }
    let err = refused(
        store
            .reserve_issuance(order_intent("o-missing", "dev-1", 1, 1), event("x", "d"))
            .await,
    )?;
    assert!(
        matches!(err, StoreError::NotFound { what: "order", .. }),
        "{err:?}"
    );
    assert_eq!(audit_len(store).await?, before);
    for id in ["o-pattern", "o-template"] {
        assert_eq!(counters(store, id).await?, (0, 0, 0, 0), "{id}");
    }
    let reserved = store
        .reserve_issuance(order_intent("o-pattern", "dev-1", 1, 1), event("x", "d"))
        .await?;
    assert_eq!(reserved.device_id, "dev-1");
    Ok(())
}

/// Requests before the window, at its end and after closing are refused;
/// closing twice is refused; pending issuances still complete.
pub async fn order_window_and_close(store: &dyn Store) -> TestResult {
    setup_cas(store).await?;
    let o = pattern_order(ORDER, 5);
    let (starts_at, expires_at) = (o.starts_at, o.expires_at);
    create(store, o).await?;
    let unavailable = |e: &StoreError| match e {
        StoreError::OrderUnavailable { order_id, reason } if order_id == ORDER => Some(*reason),
        _ => None,
    };
    for (at, reason) in [
        (starts_at - 1, OrderUnavailable::NotStarted),
        (expires_at, OrderUnavailable::Expired),
    ] {
        let mut wanted = order_intent(ORDER, "dev-1", 1, 1);
        wanted.requested_at = at;
        let err = refused(store.reserve_issuance(wanted, event("x", "d")).await)?;
        assert_eq!(unavailable(&err), Some(reason), "{err:?}");
    }
    let mut at_start = order_intent(ORDER, "dev-1", 1, 1);
    at_start.requested_at = starts_at;
    store
        .reserve_issuance(at_start, event("r", "dev-1"))
        .await?;

    let mut closing = event("order.closed", ORDER);
    closing.at = NOW + 10;
    store.close_order(ORDER, closing.clone()).await?;
    let closed = order(store, ORDER).await?;
    assert_eq!(
        (closed.status, closed.closed_at),
        (OrderStatus::Closed, Some(NOW + 10))
    );
    let before = audit_len(store).await?;
    let err = refused(store.close_order(ORDER, closing.clone()).await)?;
    assert_eq!(unavailable(&err), Some(OrderUnavailable::Closed), "{err:?}");
    let err = refused(store.close_order("o-missing", closing).await)?;
    assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");
    let wanted = order_intent(ORDER, "dev-2", 2, 2);
    let err = refused(store.reserve_issuance(wanted, event("x", "d")).await)?;
    assert_eq!(unavailable(&err), Some(OrderUnavailable::Closed), "{err:?}");
    let tokens = store.add_station_tokens(ORDER, vec![token(9)], event("t", ORDER));
    assert_eq!(
        unavailable(&refused(tokens.await)?),
        Some(OrderUnavailable::Closed)
    );
    assert_eq!(audit_len(store).await?, before, "refusals wrote nothing");

    let cert = vec![0x30, 0x00];
    let serial = super::fixtures::serial(1);
    store
        .complete_issuance(CA, &serial, cert, NOW, NOW + 1, event("issued", "dev-1"))
        .await?;
    assert_eq!(counters(store, ORDER).await?, (1, 0, 0, 0));
    Ok(())
}

/// `record_refusal` appends its event and counts it against a known
/// order; refused reservations change no counter.
pub async fn refusals_counted(store: &dyn Store) -> TestResult {
    setup_cas(store).await?;
    create(store, pattern_order(ORDER, 1)).await?;
    store
        .reserve_issuance(order_intent(ORDER, "dev-1", 1, 1), event("r", "dev-1"))
        .await?;
    let before = audit_len(store).await?;
    let err = refused(
        store
            .reserve_issuance(order_intent(ORDER, "dev-2", 2, 2), event("r", "dev-2"))
            .await,
    )?;
    assert!(
        matches!(&err, StoreError::QuotaExhausted { order_id, quantity: 1 } if order_id == ORDER),
        "{err:?}"
    );
    assert_eq!(audit_len(store).await?, before);
    assert_eq!(counters(store, ORDER).await?, (0, 1, 0, 0));

    let seq = store
        .record_refusal(Some(ORDER), event("issuance.refused", "dev-2"))
        .await?;
    assert_eq!(seq, before as i64 + 1);
    store
        .record_refusal(Some("o-missing"), event("issuance.refused", "dev-3"))
        .await?;
    store
        .record_refusal(None, event("issuance.refused", "dev-4"))
        .await?;
    assert_eq!(audit_len(store).await?, before + 3);
    assert_eq!(counters(store, ORDER).await?, (0, 1, 1, 0));
    let log = store.audit_events(before as i64, 10).await?;
    let subjects: Vec<_> = log.iter().map(|r| r.subject.as_deref()).collect();
    assert_eq!(subjects, [Some("dev-2"), Some("dev-3"), Some("dev-4")]);
    Ok(())
}
