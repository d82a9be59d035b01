//! The segment cache's housekeeping across streams: idle runs stop, segments unused
//! for the warm-cache time go, and the size cap evicts the least recently used.

use std::sync::Arc;
use std::time::Duration;

use super::key::StreamKey;
use super::session::Stream;
use crate::config::MediaConfig;

/// Sweeps every stream: idle runs, the warm-cache timeout, then the size cap (oldest
/// segments first). Returns the keys of streams that can be forgotten.
pub fn sweep_all(streams: &[Arc<Stream>], config: &MediaConfig) -> Vec<StreamKey> {
    let idle = Duration::from_secs(config.idle_timeout_secs);
    let keep = Duration::from_secs(config.warm_cache_minutes * 60);
    let mut total = 0;
    let mut unused = Vec::new();
    for s in streams {
        let (bytes, gone) = s.sweep(idle, keep);
        total += bytes;
        if gone {
            unused.push(s.key.clone());
        }
    }
    let cap = match config.cache_max_bytes {
        0 => config.cache_max_mb * 1024 * 1024,
        b => b,
    };
    let mut guard = 0;
    while total > cap && guard < 100_000 {
        guard += 1;
        let Some((s, idx)) = streams
            .iter()
            .filter_map(|s| s.oldest_segment().map(|(i, t)| (s, i, t)))
            .min_by_key(|(_, _, t)| *t)
            .map(|(s, i, _)| (s, i))
        else {
            break;
        };
        total = total.saturating_sub(s.evict(idx).max(1));
    }
    unused
}
