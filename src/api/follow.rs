//! The bookkeeping of following players that cannot report where they are: when each
//! (user, torrent, file) was last written from the segments it fetched, and which next
//! episodes were prepared already. Kept in `AppState`; `watch` acts on it.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How often a player followed from its segments updates its place.
const FOLLOW_EVERY: Duration = Duration::from_secs(5);
/// A next episode is prepared again after this long at the earliest.
const PREPARE_AGAIN_AFTER: Duration = Duration::from_secs(600);

/// (user, torrent, file).
type Place = (i64, String, usize);

#[derive(Default)]
pub struct Follow {
    /// (user, torrent, file) → when last written, and the segment last fetched.
    last: Mutex<HashMap<Place, (Instant, usize)>>,
    prepared: Mutex<HashMap<(String, usize), Instant>>,
}

impl Follow {
    /// Notes that `user`'s player fetched segment `seg` of (`id`, `index`); whether its
    /// place should be written now: every few seconds while it fetches in order, and
    /// at once when it jumps (a seek).
    pub fn fetched(&self, user: i64, id: &str, index: usize, seg: usize) -> bool {
        let mut last = self.last.lock().unwrap();
        let key = (user, id.to_string(), index);
        let write = match last.get(&key) {
            Some((t, prev)) => t.elapsed() >= FOLLOW_EVERY || (seg != prev + 1 && seg != *prev),
            None => true,
        };
        if !write {
            if let Some(e) = last.get_mut(&key) {
                e.1 = seg;
            }
            return false;
        }
        last.insert(key, (Instant::now(), seg));
        if last.len() > 10_000 {
            last.retain(|_, (t, _)| t.elapsed() < FOLLOW_EVERY);
        }
        true
    }

    /// Whether the episode (`id`, `next`) should be prepared now (not prepared lately).
    pub fn prepare(&self, id: &str, next: usize) -> bool {
        let mut p = self.prepared.lock().unwrap();
        let key = (id.to_string(), next);
        if p.get(&key).is_some_and(|t| t.elapsed() < PREPARE_AGAIN_AFTER) {
            return false;
        }
        p.insert(key, Instant::now());
        true
    }
}
