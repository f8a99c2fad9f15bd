//! Per-key token-bucket rate limiting.
//!
//! Each key (a station, a factory, a client address: the caller decides) has
//! a bucket of `burst` tokens refilled at `rate_per_second`; a request takes
//! one token or is refused with the time until one is available, for the
//! HTTP `Retry-After` header ([RFC 9110 §10.2.3]) of a `429` ([RFC 6585 §4])
//! or `503` (the EST retry of [RFC 7030 §4.2.3]).
//!
//! The clock is injected: callers pass `now`, so tests control time. Memory
//! is bounded: when the map reaches its key limit, buckets that have refilled
//! completely are forgotten (a full bucket and a missing one behave alike);
//! if every bucket is still in use, new keys are refused until one refills,
//! rather than evicting a bucket and resetting its key's limit.
//!
//! [RFC 9110 §10.2.3]: https://www.rfc-editor.org/rfc/rfc9110#section-10.2.3
//! [RFC 6585 §4]: https://www.rfc-editor.org/rfc/rfc6585#section-4
//! [RFC 7030 §4.2.3]: https://www.rfc-editor.org/rfc/rfc7030#section-4.2.3

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::Error;

/// Default limit on the number of keys tracked at once.
pub const DEFAULT_MAX_KEYS: usize = 100_000;

/// A refusal: retry after this long.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryAfter(pub Duration);

impl RetryAfter {
    /// The wait in whole seconds, rounded up and at least 1: the value of a
    /// `Retry-After` header.
    pub fn seconds(&self) -> u64 {
        let whole = self.0.as_secs();
        let rounded = if self.0.subsec_nanos() > 0 {
            whole.saturating_add(1)
        } else {
            whole
        };
        rounded.max(1)
    }
}

/// A token-bucket rate limiter keyed by string; share it in an `Arc`.
#[derive(Debug)]
pub struct RateLimiter {
    limits: Option<Limits>,
}

#[derive(Debug)]
struct Limits {
    rate_per_second: f64,
    burst: f64,
    max_keys: usize,
    buckets: Mutex<HashMap<String, Bucket>>,
}

#[derive(Clone, Copy, Debug)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

impl RateLimiter {
    /// A limiter allowing `burst` requests at once per key, refilled at
    /// `rate_per_second`, tracking at most [`DEFAULT_MAX_KEYS`] keys.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidRateLimit`] unless the rate is finite and positive
    /// and the burst at least 1 (use [`RateLimiter::unlimited`] to disable).
    pub fn new(rate_per_second: f64, burst: u32) -> Result<Self, Error> {
        Self::with_max_keys(rate_per_second, burst, DEFAULT_MAX_KEYS)
    }

    /// Like [`RateLimiter::new`], tracking at most `max_keys` keys (at
    /// least 1).
    ///
    /// # Errors
    ///
    /// As [`RateLimiter::new`].
    pub fn with_max_keys(rate_per_second: f64, burst: u32, max_keys: usize) -> Result<Self, Error> {
        if !(rate_per_second.is_finite() && rate_per_second > 0.0) || burst == 0 {
            return Err(Error::InvalidRateLimit {
                rate_per_second,
                burst,
            });
        }
        let limits = Limits {
            rate_per_second,
            burst: f64::from(burst),
            max_keys: max_keys.max(1),
            buckets: Mutex::new(HashMap::new()),
        };
        Ok(Self {
            limits: Some(limits),
        })
    }

    /// A limiter that never refuses.
    pub fn unlimited() -> Self {
        Self { limits: None }
    }

    /// Takes a token from `key`'s bucket at time `now`.
    ///
    /// # Errors
    ///
    /// [`RetryAfter`] with the time until a token is available.
    pub fn check(&self, key: &str, now: Instant) -> Result<(), RetryAfter> {
        match &self.limits {
            None => Ok(()),
            Some(limits) => limits.check(key, now),
        }
    }

    /// How many keys are tracked now (for tests and diagnostics).
    pub fn tracked_keys(&self) -> usize {
        self.limits.as_ref().map_or(0, |limits| limits.lock().len())
    }
}

impl Limits {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Bucket>> {
        // A panic while holding the lock cannot leave a bucket half-updated
        // in a harmful way: keep limiting rather than fail open or crash.
        self.buckets.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn check(&self, key: &str, now: Instant) -> Result<(), RetryAfter> {
        let mut buckets = self.lock();
        let bucket = match buckets.get_mut(key) {
            Some(bucket) => bucket,
            None => {
                self.make_room(&mut buckets, now)?;
                let fresh = Bucket {
                    tokens: self.burst,
                    updated: now,
                };
                buckets.entry(key.to_owned()).or_insert(fresh)
            }
        };
        self.refill(bucket, now);
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(RetryAfter(self.wait(1.0 - bucket.tokens)))
        }
    }

    /// Adds the tokens earned since the bucket was last updated.
    fn refill(&self, bucket: &mut Bucket, now: Instant) {
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.rate_per_second).min(self.burst);
        bucket.updated = bucket.updated.max(now);
    }

    /// Time to earn `tokens`.
    fn wait(&self, tokens: f64) -> Duration {
        Duration::try_from_secs_f64(tokens / self.rate_per_second).unwrap_or(Duration::MAX)
    }

    /// Before adding a key to a full map, drops every bucket that has
    /// refilled by `now`; refuses the new key if none has.
    fn make_room(
        &self,
        buckets: &mut HashMap<String, Bucket>,
        now: Instant,
    ) -> Result<(), RetryAfter> {
        if buckets.len() < self.max_keys {
            return Ok(());
        }
        let mut soonest = Duration::MAX;
        buckets.retain(|_, bucket| {
            self.refill(bucket, now);
            let missing = self.burst - bucket.tokens;
            if missing <= 0.0 {
                return false;
            }
            soonest = soonest.min(self.wait(missing));
            true
        });
        if buckets.len() < self.max_keys {
            Ok(())
        } else {
            Err(RetryAfter(soonest))
        }
    }
}

#[cfg(test)]
#[path = "ratelimit_tests.rs"]
mod tests;
