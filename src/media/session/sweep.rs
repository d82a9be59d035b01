//! Cache housekeeping for streams: idle runs stopped, the warm-cache timeout, and the
//! size cap with least-recently-used eviction.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::Stream;
use crate::config::MediaConfig;
use crate::media::StreamKey;

impl Stream {
    /// Housekeeping: stops an idle run, drops segments unused for `keep`. Returns the
    /// bytes still cached and whether the stream is entirely unused.
    fn sweep(&self, idle: Duration, keep: Duration) -> (u64, bool) {
        let now = Instant::now();
        let mut st = self.state.lock().unwrap();
        let last = st
            .last_access
            .map_or(Duration::MAX, |(t, _)| now.duration_since(t));
        if st.run.is_some() && last > idle {
            tracing::info!(stream = %self.key, "stopping idle pipeline");
            st.run = None;
        }
        st.segments.retain(|_, s| {
            let keep_it = now.duration_since(s.last_access) < keep;
            if !keep_it {
                let _ = std::fs::remove_file(&s.path);
            }
            keep_it
        });
        st.clients
            .retain(|_, t| now.duration_since(*t) < Duration::from_secs(600));
        let bytes = st.segments.values().map(|s| s.bytes).sum();
        (
            bytes,
            st.run.is_none() && st.segments.is_empty() && last > keep,
        )
    }

    /// The least recently used segment not in use by the run's position.
    fn oldest_segment(&self) -> Option<(usize, Instant)> {
        let st = self.state.lock().unwrap();
        st.segments
            .iter()
            .map(|(i, s)| (*i, s.last_access))
            .min_by_key(|(_, t)| *t)
    }

    fn evict(&self, idx: usize) -> u64 {
        let mut st = self.state.lock().unwrap();
        st.segments.remove(&idx).map_or(0, |s| {
            let _ = std::fs::remove_file(&s.path);
            s.bytes
        })
    }
}

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
