//! Request rate limits per client address and class, as token buckets: a class
//! allows `n` requests per window in a burst, then refills at `n / window`.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use crate::config::RateLimitConfig;
use crate::system::clock::Clock;

/// Buckets kept before full ones are dropped.
const MAX_BUCKETS: usize = 20_000;

/// A class of requests with its own limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Class {
    /// GET and HEAD.
    Read,
    /// Everything that changes state.
    Write,
    /// Login, setup and register attempts, per username and address.
    Auth,
    /// Tracker announces and scrapes.
    Announce,
    /// Stream segments, playlists and raw file streaming: never limited.
    Stream,
}

#[derive(Clone, Copy, Debug)]
struct Bucket {
    tokens: f64,
    updated_ms: i64,
}

/// The limiter; shared by every request.
#[derive(Debug)]
pub struct RateLimiter {
    config: RateLimitConfig,
    clock: Arc<dyn Clock>,
    buckets: Mutex<HashMap<(Class, String), Bucket>>,
}

impl RateLimiter {
    pub fn new(config: RateLimitConfig, clock: Arc<dyn Clock>) -> Self {
        Self { config, clock, buckets: Mutex::new(HashMap::new()) }
    }

    /// (requests, window in ms) of a class; `None` when unlimited.
    fn limit(&self, class: Class) -> Option<(u32, i64)> {
        let c = &self.config;
        let (n, window_ms) = match class {
            Class::Read => (c.reads_per_min, 60_000),
            Class::Write => (c.writes_per_min, 60_000),
            Class::Auth => (c.auth_attempts, c.auth_window_secs as i64 * 1000),
            Class::Announce => (c.announces_per_min, 60_000),
            Class::Stream => return None,
        };
        (n > 0 && window_ms > 0).then_some((n, window_ms))
    }

    /// Counts one request of `class` from `addr`; `Err(seconds)` to wait when over.
    pub fn check(&self, class: Class, addr: IpAddr) -> Result<(), u64> {
        self.check_key(class, addr.to_string())
    }

    /// Counts one login attempt for `username` from `addr`.
    pub fn check_login(&self, username: &str, addr: IpAddr) -> Result<(), u64> {
        self.check_key(Class::Auth, format!("{}|{addr}", username.to_lowercase()))
    }

    fn check_key(&self, class: Class, key: String) -> Result<(), u64> {
        let Some((n, window_ms)) = self.limit(class) else { return Ok(()) };
        let rate = n as f64 / window_ms as f64; // tokens per ms
        let now = self.clock.now_ms();
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() >= MAX_BUCKETS {
            buckets.retain(|(c, _), b| {
                let (n, w) = self.limit(*c).unwrap_or((1, 1));
                b.tokens + (now - b.updated_ms) as f64 * (n as f64 / w as f64) < n as f64
            });
        }
        let b = buckets.entry((class, key)).or_insert(Bucket { tokens: n as f64, updated_ms: now });
        b.tokens = (b.tokens + (now - b.updated_ms).max(0) as f64 * rate).min(n as f64);
        b.updated_ms = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            let wait_ms = (1.0 - b.tokens) / rate;
            Err(((wait_ms / 1000.0).ceil() as u64).max(1))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::system::clock::ManualClock;

    #[test]
    fn burst_then_refill() {
        let clock = Arc::new(ManualClock::new(1_000_000));
        let cfg = RateLimitConfig { writes_per_min: 3, auth_attempts: 2, ..Default::default() };
        let l = RateLimiter::new(cfg, clock.clone());
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        for _ in 0..3 {
            l.check(Class::Write, a).unwrap();
        }
        assert_eq!(l.check(Class::Write, a), Err(20));
        l.check(Class::Write, b).unwrap();
        l.check(Class::Stream, a).unwrap();
        clock.advance_secs(20);
        l.check(Class::Write, a).unwrap();
        assert!(l.check(Class::Write, a).is_err());
        // Logins: per username and address.
        l.check_login("Owner", a).unwrap();
        l.check_login("owner", a).unwrap();
        assert_eq!(l.check_login("owner", a), Err(150));
        l.check_login("owner", b).unwrap();
        l.check_login("other", a).unwrap();
    }
}
