use super::*;

fn ms(millis: u64) -> Duration {
    Duration::from_millis(millis)
}

#[test]
fn burst_is_honoured_then_refused() {
    let limiter = RateLimiter::new(1.0, 3).unwrap();
    let t0 = Instant::now();
    for _ in 0..3 {
        limiter.check("station-1", t0).unwrap();
    }
    let refused = limiter.check("station-1", t0).unwrap_err();
    assert_eq!(refused, RetryAfter(Duration::from_secs(1)));
}

#[test]
fn tokens_refill_over_time_up_to_the_burst() {
    let limiter = RateLimiter::new(2.0, 2).unwrap();
    let t0 = Instant::now();
    limiter.check("k", t0).unwrap();
    limiter.check("k", t0).unwrap();
    assert!(limiter.check("k", t0 + ms(400)).is_err());
    limiter.check("k", t0 + ms(500)).unwrap();
    assert!(limiter.check("k", t0 + ms(500)).is_err());
    // A long pause refills to the burst, not beyond.
    let later = t0 + Duration::from_secs(3600);
    limiter.check("k", later).unwrap();
    limiter.check("k", later).unwrap();
    assert!(limiter.check("k", later).is_err());
}

#[test]
fn keys_are_independent() {
    let limiter = RateLimiter::new(1.0, 1).unwrap();
    let t0 = Instant::now();
    limiter.check("a", t0).unwrap();
    assert!(limiter.check("a", t0).is_err());
    limiter.check("b", t0).unwrap();
}

#[test]
fn retry_after_is_the_time_to_the_next_token() {
    let limiter = RateLimiter::new(0.1, 1).unwrap();
    let t0 = Instant::now();
    limiter.check("k", t0).unwrap();
    let wait = limiter.check("k", t0 + Duration::from_secs(4)).unwrap_err();
    assert!((wait.0.as_secs_f64() - 6.0).abs() < 1e-6, "{wait:?}");
    assert_eq!(wait.seconds(), 6);
}

#[test]
fn retry_after_seconds_round_up_to_at_least_one() {
    assert_eq!(RetryAfter(ms(1)).seconds(), 1);
    assert_eq!(RetryAfter(Duration::ZERO).seconds(), 1);
    assert_eq!(RetryAfter(ms(2000)).seconds(), 2);
    assert_eq!(RetryAfter(ms(2001)).seconds(), 3);
    assert_eq!(RetryAfter(Duration::MAX).seconds(), u64::MAX);
}

#[test]
fn a_clock_going_backwards_earns_nothing() {
    let limiter = RateLimiter::new(1.0, 1).unwrap();
    let t0 = Instant::now() + Duration::from_secs(10);
    limiter.check("k", t0).unwrap();
    assert!(limiter.check("k", t0 - Duration::from_secs(5)).is_err());
    assert!(limiter.check("k", t0 + ms(999)).is_err());
    limiter.check("k", t0 + ms(1000)).unwrap();
}

#[test]
fn full_buckets_are_dropped_when_the_map_is_full() {
    let limiter = RateLimiter::with_max_keys(1.0, 2, 2).unwrap();
    let t0 = Instant::now();
    limiter.check("a", t0).unwrap();
    limiter.check("b", t0).unwrap();
    assert_eq!(limiter.tracked_keys(), 2);
    // Neither bucket has refilled yet: a third key waits for the soonest.
    let wait = limiter.check("c", t0 + ms(400)).unwrap_err();
    assert_eq!(wait, RetryAfter(ms(600)));
    // Once both have refilled they are forgotten and "c" fits.
    limiter.check("c", t0 + ms(1000)).unwrap();
    assert_eq!(limiter.tracked_keys(), 1);
}

#[test]
fn invalid_limits_are_refused_and_unlimited_never_refuses() {
    for (rate, burst) in [
        (0.0, 1),
        (-1.0, 1),
        (f64::NAN, 1),
        (f64::INFINITY, 1),
        (1.0, 0),
    ] {
        assert!(matches!(
            RateLimiter::new(rate, burst),
            Err(Error::InvalidRateLimit { .. })
        ));
    }
    let limiter = RateLimiter::unlimited();
    let t0 = Instant::now();
    assert!((0..10_000).all(|_| limiter.check("k", t0).is_ok()));
    assert_eq!(limiter.tracked_keys(), 0);
}

#[test]
fn concurrent_checks_never_exceed_the_burst() {
    let limiter = std::sync::Arc::new(RateLimiter::new(1.0, 100).unwrap());
    let t0 = Instant::now();
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let limiter = std::sync::Arc::clone(&limiter);
            std::thread::spawn(move || (0..50).filter(|_| limiter.check("k", t0).is_ok()).count())
        })
        .collect();
    let granted: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
    assert_eq!(granted, 100);
}
