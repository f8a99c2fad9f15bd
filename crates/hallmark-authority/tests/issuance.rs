//! The authority on real backends (encrypted software keys, SQLite) with a
//! controlled clock: issuance steps, races and failure handling.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests report failures by panicking

mod common;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use common::{Fixture, NOW, csr, fixture, fixture_with, rcgen_csr};
use hallmark_authority::{AuthorityError, IssueRequest};
use hallmark_pki::profile::YEAR;
use hallmark_store::{AuditRecord, IssuanceStatus, KeyOrigin};
use hallmark_testkit::tools;

fn request(csr: Vec<u8>, device: &str) -> IssueRequest {
    IssueRequest {
        ca_id: "berlin".into(),
        csr,
        device_id: Some(device.into()),
        profile: "device".into(),
        key_origin: KeyOrigin::Device,
        order_id: None,
        station_id: None,
        renews: None,
    }
}

/// The whole audit log, after asserting that its last events are `kinds`.
async fn audit_ending_with(f: &Fixture, kinds: &[&str]) -> Vec<AuditRecord> {
    let events = f.audit().await;
    let logged: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    assert!(
        logged.ends_with(kinds),
        "{logged:?} does not end with {kinds:?}"
    );
    events
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issuance_records_intent_then_result_with_the_injected_clock() {
    let f = fixture().await;
    let issued = f
        .authority
        .issue(request(csr(f.dir.path(), "d1"), "dev-1"))
        .await
        .unwrap();
    assert_eq!(issued.certificate.not_before, NOW);
    assert_eq!(issued.certificate.not_after, NOW + 3 * YEAR);
    assert_eq!(issued.chain.len(), 2, "issuing CA then root");

    let record = f
        .store
        .certificate_by_device("dev-1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.status, IssuanceStatus::Issued);
    assert_eq!(
        record.certificate_der.as_deref(),
        Some(issued.certificate.der.as_slice())
    );
    assert_eq!(record.intent.serial, issued.certificate.serial.as_bytes());

    let events = audit_ending_with(&f, &["issuance.intent", "certificate.issued"]).await;
    let issued_event = events.last().unwrap();
    assert_eq!(issued_event.data["location"], "Berlin, DE");
    assert_eq!(
        issued_event.data["serial"],
        issued.certificate.serial.to_hex()
    );

    // The chain verifies with OpenSSL; the SAN template and CDP {ca} were rendered.
    f.openssl_verify("leaf", &issued.certificate.der, &issued.chain, "sslclient")
        .unwrap();
    let leaf = f.dir.path().join("leaf.pem");
    let text = tools::certificate_text(&leaf, &[]);
    assert!(text.contains("DNS:dev-1.devices.example.com"), "{text}");
    assert!(text.contains("http://crl.example.com/berlin.crl"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_for_one_device_yield_one_certificate() {
    let f = fixture().await;
    let mut tasks = Vec::new();
    for i in 0..16 {
        let authority = f.authority.clone();
        let csr = csr(f.dir.path(), &format!("race{i}"));
        tasks.push(tokio::spawn(async move {
            authority.issue(request(csr, "contested")).await
        }));
    }
    let mut ok = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => ok += 1,
            Err(AuthorityError::DeviceIdTaken(id)) => assert_eq!(id, "contested"),
            Err(other) => panic!("unexpected: {other}"),
        }
    }
    assert_eq!(ok, 1);
    assert_eq!(f.store.count_issued(Some("berlin")).await.unwrap(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_devices_in_parallel_all_get_distinct_serials() {
    let f = fixture().await;
    let csrs: Vec<Vec<u8>> = (0..48)
        .map(|i| csr(f.dir.path(), &format!("p{i}")))
        .collect();
    let tasks: Vec<_> = csrs
        .into_iter()
        .enumerate()
        .map(|(i, csr)| {
            let authority = f.authority.clone();
            tokio::spawn(async move { authority.issue(request(csr, &format!("dev-{i}"))).await })
        })
        .collect();
    let mut serials = std::collections::HashSet::new();
    for task in tasks {
        let issued = task.await.unwrap().unwrap();
        assert!(serials.insert(issued.certificate.serial));
    }
    assert_eq!(f.store.count_issued(None).await.unwrap(), 48);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_first_requests_open_the_ca_key_once() {
    let f = fixture().await;
    let before = f.opens.load(Ordering::SeqCst);
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let authority = f.authority.clone();
            let csr = rcgen_csr(None);
            tokio::spawn(async move { authority.issue(request(csr, &format!("dev-{i}"))).await })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    assert_eq!(f.opens.load(Ordering::SeqCst) - before, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_issuing_cas_opens_each_unexpired_issuing_key_once_ahead_of_requests() {
    let f = fixture_with(&["berlin", "munich"]).await;
    let before = f.opens.load(Ordering::SeqCst);
    assert_eq!(f.authority.open_issuing_cas().await.unwrap(), 2);
    assert_eq!(f.opens.load(Ordering::SeqCst) - before, 2);
    f.authority
        .issue(request(rcgen_csr(None), "dev-1"))
        .await
        .unwrap();
    assert_eq!(f.opens.load(Ordering::SeqCst) - before, 2);

    let expired = fixture().await;
    expired.clock.set(NOW + 11 * YEAR);
    let before = expired.opens.load(Ordering::SeqCst);
    assert_eq!(expired.authority.open_issuing_cas().await.unwrap(), 0);
    assert_eq!(expired.opens.load(Ordering::SeqCst), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signing_failure_is_recorded_and_frees_the_device_id() {
    let f = fixture().await;
    let csr = csr(f.dir.path(), "d");
    f.broken.store(true, Ordering::SeqCst);
    let err = f
        .authority
        .issue(request(csr.clone(), "dev-1"))
        .await
        .unwrap_err();
    assert!(matches!(err, AuthorityError::Pki(_)), "{err}");
    assert!(
        f.store
            .certificate_by_device("dev-1")
            .await
            .unwrap()
            .is_none()
    );
    let last = f.store.audit_events(0, 100).await.unwrap().pop().unwrap();
    assert_eq!(last.kind, "issuance.failed");
    let failed_serial = last.data["serial"].as_str().unwrap().to_string();

    // The token is back: the same device and key can be issued, under a new serial.
    f.broken.store(false, Ordering::SeqCst);
    let issued = f.authority.issue(request(csr, "dev-1")).await.unwrap();
    assert_ne!(issued.certificate.serial.to_hex(), failed_serial);
    assert_eq!(f.store.count_issued(None).await.unwrap(), 1);
}

/// An in-memory key issues in one store commit (intent, certificate and
/// both events together); an HSM key in two. Both record the same events
/// and give a certificate that verifies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_in_memory_key_issues_in_one_commit_an_hsm_key_in_two() {
    let f = fixture().await;
    for (device, in_memory, commits) in [("dev-1", false, 2), ("dev-2", true, 1)] {
        f.in_memory.store(in_memory, Ordering::SeqCst);
        let before = f.sqlite.stats().commits;
        let issued = f
            .authority
            .issue(request(csr(f.dir.path(), device), device))
            .await
            .unwrap();
        assert_eq!(f.sqlite.stats().commits - before, commits, "{device}");
        let events = audit_ending_with(&f, &["issuance.intent", "certificate.issued"]).await;
        let last = events.last().unwrap();
        assert_eq!(last.data["serial"], issued.certificate.serial.to_hex());
        assert_eq!(last.data["location"], "Berlin, DE");
        let record = f
            .store
            .certificate_by_device(device)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(record.status, IssuanceStatus::Issued);
        assert_eq!(
            record.certificate_der.as_deref(),
            Some(issued.certificate.der.as_slice())
        );
        f.openssl_verify(device, &issued.certificate.der, &issued.chain, "sslclient")
            .unwrap();
    }
}

/// A failing in-memory signer: the intent and its failure are committed
/// together, and the device id and key are free for the next attempt.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_in_memory_signer_records_intent_and_failure_together() {
    let f = fixture().await;
    f.in_memory.store(true, Ordering::SeqCst);
    f.broken.store(true, Ordering::SeqCst);
    let csr = csr(f.dir.path(), "d");
    let before = f.sqlite.stats().commits;
    let err = f
        .authority
        .issue(request(csr.clone(), "dev-1"))
        .await
        .unwrap_err();
    assert!(matches!(err, AuthorityError::Pki(_)), "{err}");
    assert_eq!(f.sqlite.stats().commits - before, 1);
    let events = audit_ending_with(&f, &["issuance.intent", "issuance.failed"]).await;
    let failed = events.last().unwrap();
    assert_eq!(failed.data["reason"], "the key backend failed to sign");
    assert!(
        f.store
            .certificate_by_device("dev-1")
            .await
            .unwrap()
            .is_none()
    );

    f.broken.store(false, Ordering::SeqCst);
    let issued = f.authority.issue(request(csr, "dev-1")).await.unwrap();
    assert_ne!(
        issued.certificate.serial.to_hex(),
        failed.data["serial"].as_str().unwrap()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_that_goes_away_does_not_strand_its_reservation() {
    let f = fixture().await;
    let csr = csr(f.dir.path(), "d");
    f.delay_ms.store(1000, Ordering::SeqCst);
    let authority = Arc::clone(&f.authority);
    let caller = tokio::spawn(async move { authority.issue(request(csr, "dev-1")).await });
    // Wait until the intent is reserved (signing is now slow), then the
    // caller goes away.
    let mut reserved = false;
    for _ in 0..200 {
        let record = f.store.certificate_by_device("dev-1").await.unwrap();
        if record.is_some_and(|r| r.status == IssuanceStatus::Pending) {
            reserved = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(reserved, "the intent was never reserved");
    caller.abort();
    assert!(caller.await.unwrap_err().is_cancelled());

    // The issuance finishes on its own: issued, not stuck in pending.
    let mut status = None;
    for _ in 0..100 {
        status = f
            .store
            .certificate_by_device("dev-1")
            .await
            .unwrap()
            .map(|r| r.status);
        if status == Some(IssuanceStatus::Issued) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(status, Some(IssuanceStatus::Issued));
    let kinds: Vec<String> = f
        .store
        .audit_events(0, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(kinds.last().map(String::as_str), Some("certificate.issued"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pending_reservations_left_by_a_crash_are_expired() {
    let f = fixture().await;
    // A reservation as a process that died after step 2 would leave it.
    let intent = hallmark_store::IssuanceIntent {
        ca_id: "berlin".into(),
        serial: vec![0x42; 16],
        device_id: "dev-crashed".into(),
        public_key_sha256: [7; 32],
        profile: "device".into(),
        key_origin: KeyOrigin::Device,
        order_id: None,
        station_id: None,
        requested_at: NOW - 3600,
        renews: None,
    };
    let event =
        hallmark_store::AuditEvent::new("issuance.intent", None, NOW - 3600, serde_json::json!({}));
    f.store.reserve_issuance(intent, event).await.unwrap();
    // A fresh one (a request in flight right now) is left alone.
    let mut fresh = f
        .store
        .certificate_by_device("dev-crashed")
        .await
        .unwrap()
        .unwrap()
        .intent;
    fresh.device_id = "dev-in-flight".into();
    fresh.serial = vec![0x43; 16];
    fresh.public_key_sha256 = [8; 32];
    fresh.requested_at = NOW - 5;
    let event =
        hallmark_store::AuditEvent::new("issuance.intent", None, NOW - 5, serde_json::json!({}));
    f.store.reserve_issuance(fresh, event).await.unwrap();

    assert_eq!(f.authority.expire_pending(600).await.unwrap(), 1);
    assert!(
        f.store
            .certificate_by_device("dev-crashed")
            .await
            .unwrap()
            .is_none(),
        "device id released"
    );
    let record = f
        .store
        .certificate_by_serial("berlin", &[0x42; 16])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.status, IssuanceStatus::Failed);
    assert_eq!(
        f.store
            .certificate_by_device("dev-in-flight")
            .await
            .unwrap()
            .unwrap()
            .status,
        IssuanceStatus::Pending
    );
    let last = f.store.audit_events(0, 100).await.unwrap().pop().unwrap();
    assert_eq!(
        (last.kind.as_str(), last.subject.as_deref()),
        ("issuance.expired", Some("dev-crashed"))
    );
    assert_eq!(f.authority.expire_pending(600).await.unwrap(), 0);
}
