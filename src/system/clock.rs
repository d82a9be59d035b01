//! Time, as every part of the daemon sees it: the wall clock in the daemon, and a clock
//! that a test moves by hand, so expiry and limits are tested without sleeping.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use time::OffsetDateTime;

/// A source of the current time.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// Milliseconds since the Unix epoch.
    fn now_ms(&self) -> i64;

    /// Seconds since the Unix epoch.
    fn now(&self) -> i64 {
        self.now_ms().div_euclid(1000)
    }

    /// The current time as a date.
    fn now_utc(&self) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp_nanos(self.now_ms() as i128 * 1_000_000)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }

    /// Time since the epoch, for measuring intervals (never negative).
    fn elapsed(&self) -> Duration {
        Duration::from_millis(self.now_ms().max(0) as u64)
    }
}

/// The wall clock.
#[derive(Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        (OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
    }
}

/// A clock that moves only when told to. `default()` stands at the epoch.
#[derive(Debug, Default)]
pub struct ManualClock(AtomicI64);

impl ManualClock {
    /// A clock standing at `unix_secs`.
    pub fn new(unix_secs: i64) -> Self {
        Self(AtomicI64::new(unix_secs * 1000))
    }

    /// A clock standing at `t`.
    pub fn at(t: OffsetDateTime) -> Self {
        Self(AtomicI64::new((t.unix_timestamp_nanos() / 1_000_000) as i64))
    }

    pub fn advance(&self, by: Duration) {
        self.advance_ms(by.as_millis() as i64);
    }

    pub fn advance_secs(&self, secs: i64) {
        self.advance_ms(secs * 1000);
    }

    pub fn advance_ms(&self, ms: i64) {
        self.0.fetch_add(ms, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}
