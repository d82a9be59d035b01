//! The download disk going away and coming back: pause the torrents on it, marked
//! as paused for that reason, and resume them when the disk is back.

use std::sync::Arc;

use super::{Engine, Status};

/// The mark (`error` of the torrent's view) of a torrent paused for a missing disk.
pub const DISK_REMOVED: &str = "paused: the download disk was removed";

impl Engine {
    /// Pauses every torrent that is not paused already, because the download disk is
    /// gone. Each is marked with [`DISK_REMOVED`] and logged as `disk_removed`.
    /// Returns their ids, for [`Engine::resume_after_disk`]. Never fails: a torrent
    /// that cannot be paused (its files already gone) is still marked.
    pub async fn pause_for_missing_disk(&self) -> Vec<String> {
        let Ok(torrents) = self.list() else {
            return Vec::new();
        };
        let mut paused = Vec::new();
        for t in torrents.into_iter().filter(|t| t.status != Status::Paused) {
            // Marked before it pauses, so nobody sees it paused without the reason.
            self.set_error(&t.id, DISK_REMOVED.to_string());
            if let Err(e) = self.store.set_torrent_paused(&t.id, true) {
                tracing::warn!(torrent_id = t.id, "cannot record the pause: {e:#}");
            }
            if let Some(p) = self.pending.lock().unwrap().remove(&t.id) {
                p.cancel.cancel();
            }
            if let Some(h) = self.handle(&t.id)
                && !h.is_paused()
                && let Err(e) = self.session().pause(&h).await
            {
                tracing::warn!(torrent_id = t.id, "pausing after the disk went away: {e:#}");
            }
            self.emit("disk_removed", &t.id, Some(&t.name), Some(DISK_REMOVED));
            paused.push(t.id);
        }
        paused
    }

    /// Resumes the torrents [`Engine::pause_for_missing_disk`] paused, unless the user
    /// removed or resumed them meanwhile.
    pub async fn resume_after_disk(self: &Arc<Self>, ids: &[String]) {
        for id in ids {
            let marked = self
                .errors
                .lock()
                .unwrap()
                .get(id)
                .is_some_and(|e| e == DISK_REMOVED);
            if !marked {
                continue;
            }
            match self.start(id).await {
                Ok(_) => tracing::info!(torrent_id = id, "resumed: the download disk is back"),
                Err(e) => tracing::warn!(
                    torrent_id = id,
                    "cannot resume after the disk came back: {e}"
                ),
            }
        }
    }
}
