//! Segment latency, as a Prometheus histogram: how long a player waited for each
//! segment, from its request to the bytes being ready.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Bucket upper bounds in seconds.
const BUCKETS: [f64; 12] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

struct Histogram {
    counts: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

static SEGMENT_LATENCY: Histogram = Histogram {
    counts: [const { AtomicU64::new(0) }; BUCKETS.len()],
    count: AtomicU64::new(0),
    sum_micros: AtomicU64::new(0),
};

/// Records the time one segment request took.
pub fn observe_segment(took: Duration) {
    let secs = took.as_secs_f64();
    let h = &SEGMENT_LATENCY;
    for (i, le) in BUCKETS.iter().enumerate() {
        if secs <= *le {
            h.counts[i].fetch_add(1, Ordering::Relaxed);
        }
    }
    h.count.fetch_add(1, Ordering::Relaxed);
    h.sum_micros.fetch_add(took.as_micros() as u64, Ordering::Relaxed);
}

/// The histogram in Prometheus text format.
pub fn render() -> String {
    let h = &SEGMENT_LATENCY;
    let mut s = String::from(
        "# HELP swarmcast_segment_latency_seconds Time from a segment request to its bytes.\n\
         # TYPE swarmcast_segment_latency_seconds histogram\n",
    );
    for (i, le) in BUCKETS.iter().enumerate() {
        s += &format!(
            "swarmcast_segment_latency_seconds_bucket{{le=\"{le}\"}} {}\n",
            h.counts[i].load(Ordering::Relaxed)
        );
    }
    let count = h.count.load(Ordering::Relaxed);
    s += &format!("swarmcast_segment_latency_seconds_bucket{{le=\"+Inf\"}} {count}\n");
    s += &format!("swarmcast_segment_latency_seconds_sum {}\n", h.sum_micros.load(Ordering::Relaxed) as f64 / 1e6);
    s += &format!("swarmcast_segment_latency_seconds_count {count}\n");
    s
}
