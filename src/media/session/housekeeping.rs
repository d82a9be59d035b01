//! A stream's housekeeping: stopping an idle run, dropping unused segments, evicting
//! under the cache cap, and clearing everything when the stream goes.

use std::time::{Duration, Instant};

use super::Stream;

impl Stream {
    /// Stops the run and deletes every segment.
    pub fn stop_and_clear(&self) {
        let mut st = self.state.lock().unwrap();
        st.run = None;
        for (_, seg) in std::mem::take(&mut st.segments) {
            let _ = std::fs::remove_file(seg.path);
        }
        drop(st);
        let _ = std::fs::remove_dir_all(&self.dir);
        self.notify();
    }

    /// Housekeeping: stops an idle run, drops segments unused for `keep`. Returns the
    /// bytes still cached and whether the stream is entirely unused.
    pub(in crate::media) fn sweep(&self, idle: Duration, keep: Duration) -> (u64, bool) {
        let now = Instant::now();
        let mut st = self.state.lock().unwrap();
        let last = st.last_access.map_or(Duration::MAX, |(t, _)| now.duration_since(t));
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
        st.clients.retain(|_, t| now.duration_since(*t) < Duration::from_secs(600));
        let bytes = st.segments.values().map(|s| s.bytes).sum();
        (bytes, st.run.is_none() && st.segments.is_empty() && last > keep)
    }

    /// The least recently used segment not in use by the run's position.
    pub(in crate::media) fn oldest_segment(&self) -> Option<(usize, Instant)> {
        let st = self.state.lock().unwrap();
        st.segments.iter().map(|(i, s)| (*i, s.last_access)).min_by_key(|(_, t)| *t)
    }

    pub(in crate::media) fn evict(&self, idx: usize) -> u64 {
        let mut st = self.state.lock().unwrap();
        st.segments.remove(&idx).map_or(0, |s| {
            let _ = std::fs::remove_file(&s.path);
            s.bytes
        })
    }
}
