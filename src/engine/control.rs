//! What users do to a torrent once it is added: stop, start, pick files, remove.

use std::sync::Arc;

use librqbit::api::TorrentIdOrHash;
use librqbit::{AddTorrent, TorrentStatsState};

use super::error::{EngineError, EngineResult};
use super::events::EventKind;
use super::state::Engine;
use super::view::TorrentView;

impl Engine {
    /// Files a torrent under a category (label), or under none.
    pub fn set_category(&self, id: &str, category: Option<&str>) -> EngineResult<TorrentView> {
        self.require_known(id)?;
        let category = category.map(str::trim).filter(|c| !c.is_empty());
        self.store.set_torrent_category(id, category)?;
        self.generation.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.view(id)
    }

    /// The real folder for a save path a client asked for (relative to the download
    /// dir, or absolute inside it), made if missing; refused outside the download dir.
    pub fn save_dir(&self, requested: &str) -> EngineResult<std::path::PathBuf> {
        super::files::save_dir(self.download_dir(), requested)
            .map_err(|e| EngineError::BadInput(format!("save path: {e}")))
    }

    /// Stops (pauses) a torrent.
    pub async fn stop(&self, id: &str) -> EngineResult<TorrentView> {
        let rec = self.require_known(id)?;
        self.store.set_torrent_paused(id, true)?;
        if let Some(p) = self.pending.lock().unwrap().remove(id) {
            p.cancel.cancel();
        }
        if let Some(h) = self.handle(id)
            && !h.is_paused()
        {
            self.session().pause(&h).await.map_err(EngineError::Internal)?;
        }
        if !rec.paused {
            self.emit(EventKind::Stopped, id, rec.name.as_deref(), None);
        }
        self.view(id)
    }

    /// Starts (resumes) a torrent, or retries one in error.
    pub async fn start(self: &Arc<Self>, id: &str) -> EngineResult<TorrentView> {
        self.require_running()?;
        let mut rec = self.require_known(id)?;
        self.store.set_torrent_paused(id, false)?;
        rec.paused = false;
        self.errors.lock().unwrap().remove(id);
        self.refused.lock().unwrap().remove(id);
        match self.handle(id) {
            Some(h) => {
                if h.is_paused() || matches!(h.stats().state, TorrentStatsState::Error) {
                    self.session().unpause(&h).await.map_err(EngineError::Internal)?;
                }
            }
            None => {
                let fetching = self.pending.lock().unwrap().contains_key(id);
                match &rec.torrent_bytes {
                    Some(bytes) => {
                        // Not in the session (refused by the quota, say): admit it again.
                        super::quota::admit_metainfo(self, id, bytes, rec.only_files.as_deref()).await?;
                        self.add_to_session(AddTorrent::from_bytes(bytes.clone()), &rec, Vec::new()).await?;
                    }
                    None if fetching => {
                        // Waiting out a disk error: try again now, not after the backoff.
                        let stuck = self.pending.lock().unwrap().get(id).is_some_and(|p| p.disk_error);
                        if stuck {
                            if let Some(p) = self.pending.lock().unwrap().remove(id) {
                                p.cancel.cancel();
                            }
                            self.spawn_metadata_fetch(&rec);
                        }
                    }
                    None => self.spawn_metadata_fetch(&rec),
                }
            }
        }
        self.emit(EventKind::Started, id, rec.name.as_deref(), None);
        self.view(id)
    }

    /// Chooses which files of a torrent to download. Needs the metadata; an empty
    /// choice is refused (stop the torrent instead).
    pub async fn select_files(&self, id: &str, files: Vec<usize>) -> EngineResult<TorrentView> {
        let rec = self.require_known(id)?;
        let h = self.handle(id).ok_or_else(|| EngineError::NoMetadata(id.to_string()))?;
        let count = h.with_metadata(|m| m.file_infos.len()).map_err(EngineError::Internal)?;
        if files.is_empty() {
            return Err(EngineError::BadInput("choose at least one file".into()));
        }
        if let Some(bad) = files.iter().find(|&&i| i >= count) {
            return Err(EngineError::BadInput(format!(
                "file index {bad} is out of range: the torrent has {count} files"
            )));
        }
        let set: std::collections::HashSet<usize> = files.iter().copied().collect();
        let mut sorted: Vec<usize> = set.iter().copied().collect();
        sorted.sort_unstable();
        let all = sorted.len() == count;
        self.store.set_torrent_files(id, if all { None } else { Some(&sorted) })?;
        self.session().update_only_files(&h, &set).await.map_err(EngineError::Internal)?;
        let detail = format!("{} of {count} files selected", sorted.len());
        self.emit(EventKind::FilesSelected, id, rec.name.as_deref(), Some(&detail));
        self.view(id)
    }

    /// Removes a torrent, and its data when asked.
    pub async fn remove(&self, id: &str, delete_files: bool) -> EngineResult<()> {
        let rec = self.require_known(id)?;
        if let Some(p) = self.pending.lock().unwrap().remove(id) {
            p.cancel.cancel();
        }
        if let Some(h) = self.handle(id) {
            self.session().delete(TorrentIdOrHash::Id(h.id()), delete_files).await.map_err(EngineError::Internal)?;
        }
        self.store.delete_torrent(id)?;
        self.errors.lock().unwrap().remove(id);
        self.refused.lock().unwrap().remove(id);
        let detail = delete_files.then_some("data deleted");
        self.emit(EventKind::Removed, id, rec.name.as_deref(), detail);
        Ok(())
    }

    /// Records that a torrent finished (once) and returns its completion time.
    pub(super) fn note_completion(&self, id: &str, name: Option<&str>) -> Option<String> {
        match self.store.mark_torrent_completed(id) {
            Ok(true) => self.emit(EventKind::Completed, id, name, None),
            Ok(false) => {}
            Err(e) => tracing::warn!(torrent_id = id, "cannot record completion: {e:#}"),
        }
        self.store.torrent(id).ok().flatten().and_then(|r| r.completed_at)
    }
}
