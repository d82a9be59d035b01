//! The watcher: once a second, notes completions and fatal errors of torrents, finds
//! vanished folders, and reconnects unfinished torrents that have no peer at work.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use librqbit::ManagedTorrent;

use crate::store::TorrentRecord;

use super::events::EventKind;
use super::state::Engine;

impl Engine {
    /// Watches torrents for completion and fatal errors, once a second.
    pub(super) fn spawn_watcher(self: Arc<Self>) {
        let weak = Arc::downgrade(&self);
        let shutdown = self.shutdown.clone();
        drop(self);
        crate::system::spawn("engine-watcher", &shutdown, async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            let mut seen_error: HashMap<String, String> = HashMap::new();
            let mut stalls = Stalls::default();
            let mut missing_folders = HashMap::new();
            loop {
                tick.tick().await;
                let Some(this) = weak.upgrade() else {
                    return Ok(());
                };
                let records = this.store.torrents()?;
                stalls.retain(&records);
                this.check_folders(&records, &mut missing_folders).await;
                for rec in records {
                    let Some(h) = this.handle(&rec.info_hash) else {
                        continue;
                    };
                    let stats = h.stats();
                    if !rec.paused
                        && !missing_folders.contains_key(&rec.info_hash)
                        && stalls.due(&rec.info_hash, &stats)
                    {
                        this.reconnect(&h).await;
                    }
                    if stats.finished && rec.completed_at.is_none() && stats.total_bytes > 0 {
                        this.note_completion(&rec.info_hash, h.name().as_deref());
                    }
                    if let Some(err) = stats.error {
                        if seen_error.get(&rec.info_hash) != Some(&err) {
                            this.emit(EventKind::Error, &rec.info_hash, h.name().as_deref(), Some(&err));
                            seen_error.insert(rec.info_hash.clone(), err);
                        }
                    } else {
                        seen_error.remove(&rec.info_hash);
                    }
                }
            }
        });
    }

    /// Connects a stalled torrent to its known peers again (and re-announces) by
    /// pausing and resuming it in the session; the store's pause state is untouched.
    /// librqbit backs off a refused peer for 10 s, then 60 s, then 6 min: with one or
    /// two peers (an `x.pe` hint, a small private swarm) that is a long stall after the
    /// peer dropped us once or briefly refused a reconnect.
    pub(super) async fn reconnect(&self, h: &Arc<ManagedTorrent>) {
        let id = h.info_hash().as_string();
        tracing::info!(torrent_id = id, "no peer connected for a while; connecting to the known peers again");
        let session = self.session();
        if let Err(e) = session.pause(h).await {
            tracing::debug!(torrent_id = id, "reconnect: pause: {e:#}");
            return;
        }
        if let Err(e) = session.unpause(h).await {
            tracing::warn!(torrent_id = id, "reconnect: resume: {e:#}");
        }
    }
}

/// When unfinished torrents were last seen without any peer at work, and how often
/// they were reconnected since, so that a dead swarm is retried ever more slowly
/// (3 s, 6 s, 12 s … up to 8 min; each resume also announces to the trackers)
/// rather than hammered. A safety net only: the commonest case, a magnet whose one
/// known peer refused the connection that followed the metadata fetch (it still held
/// the fetch's), is retried by our patched librqbit itself within a second
/// (vendor/librqbit/PATCHES.md; tests/it/fast_start.rs checks this fallback stays idle).
#[derive(Default)]
struct Stalls(HashMap<String, (Instant, u32)>);

impl Stalls {
    const FIRST: Duration = Duration::from_secs(3);
    const LONGEST: Duration = Duration::from_secs(480);

    /// Forgets torrents that are gone.
    fn retain(&mut self, records: &[TorrentRecord]) {
        self.0.retain(|id, _| records.iter().any(|r| &r.info_hash == id));
    }

    /// Whether `id`, unfinished, has had known peers but none live, connecting or
    /// queued for long enough to be reconnected now.
    fn due(&mut self, id: &str, stats: &librqbit::TorrentStats) -> bool {
        let Some(live) = stats.live.as_ref().filter(|_| !stats.finished) else {
            self.0.remove(id);
            return false;
        };
        let p = &live.snapshot.peer_stats;
        // Busy, or no peer known to go back to (finding new ones is the trackers' and
        // DHT's own business, on their own intervals).
        if p.live + p.connecting + p.queued > 0 || p.seen == 0 {
            self.0.remove(id);
            return false;
        }
        let now = Instant::now();
        let (since, attempts) = self.0.entry(id.to_string()).or_insert((now, 0));
        let wait = Self::FIRST.saturating_mul(1 << (*attempts).min(8)).min(Self::LONGEST);
        if now.duration_since(*since) < wait {
            return false;
        }
        *since = now;
        *attempts += 1;
        true
    }
}
