use std::sync::Arc;

use super::*;

#[test]
fn fresh_metrics_have_build_info_and_eof() {
    let text = Metrics::new().encode().unwrap();
    let build = format!(
        "hallmark_build_info{{version=\"{}\"}} 1",
        env!("CARGO_PKG_VERSION")
    );
    assert!(text.contains(&build), "{text}");
    assert!(text.ends_with("# EOF\n"), "{text}");
}

#[test]
fn updates_show_up_as_series() {
    let metrics = Metrics::new();
    metrics.issued("lyon", "PO-7");
    metrics.issued("lyon", "PO-7");
    metrics.issued("porto", "PO-8");
    metrics.refused("rate_limited");
    metrics.observe("/.well-known/est/simpleenroll", Duration::from_millis(3));
    metrics.set_quota_left("PO-7", 998);
    metrics.set_quota_left("PO-7", 997);
    let text = metrics.encode().unwrap();
    for expected in [
        "# TYPE hallmark_certificates_issued counter",
        "# TYPE hallmark_requests_refused counter",
        "# TYPE hallmark_request_duration_seconds histogram",
        "# UNIT hallmark_request_duration_seconds seconds",
        "# TYPE hallmark_order_quota_left gauge",
        "hallmark_certificates_issued_total{factory=\"lyon\",order=\"PO-7\"} 2",
        "hallmark_certificates_issued_total{factory=\"porto\",order=\"PO-8\"} 1",
        "hallmark_requests_refused_total{reason=\"rate_limited\"} 1",
        "hallmark_request_duration_seconds_count{route=\"/.well-known/est/simpleenroll\"} 1",
        "hallmark_request_duration_seconds_bucket{le=\"0.0025\",route=\"/.well-known/est/simpleenroll\"} 0",
        "hallmark_request_duration_seconds_bucket{le=\"0.005\",route=\"/.well-known/est/simpleenroll\"} 1",
        "hallmark_order_quota_left{order=\"PO-7\"} 997",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in\n{text}");
    }
}

#[test]
fn buckets_span_half_a_millisecond_to_five_seconds() {
    assert_eq!(DURATION_BUCKETS.first(), Some(&0.0005));
    assert_eq!(DURATION_BUCKETS.last(), Some(&5.0));
    assert!(DURATION_BUCKETS.windows(2).all(|w| w[0] < w[1]));
}

#[test]
fn metrics_are_shared_across_threads() {
    let metrics = Arc::new(Metrics::new());
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let metrics = Arc::clone(&metrics);
            std::thread::spawn(move || (0..250).for_each(|_| metrics.issued("f", "o")))
        })
        .collect();
    threads.into_iter().for_each(|t| t.join().unwrap());
    let text = metrics.encode().unwrap();
    assert!(
        text.contains("hallmark_certificates_issued_total{factory=\"f\",order=\"o\"} 1000"),
        "{text}"
    );
}
