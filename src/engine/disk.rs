//! The download disk going away and coming back: pause the torrents on it, marked
//! as paused for that reason, and resume them when the disk is back.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::{Engine, EventKind, Status};
use crate::store::TorrentRecord;
use crate::system::disk;

/// The mark (`error` of the torrent's view) of a torrent paused for a missing disk.
pub const DISK_REMOVED: &str = "paused: the download disk was removed";

/// How the error of a torrent whose folder vanished begins.
pub const FOLDER_MISSING: &str = "the download folder";

impl Engine {
    /// Finds torrents whose folder vanished while they ran (the download dir removed,
    /// a disk unmounted under it): they would write on into deleted files and report
    /// progress that is not on disk. Each is paused in the session (what the user
    /// asked for is kept) and shown as `error` with the folder's path. Once the folder
    /// (or, for a torrent's own folder, the dir it lives in) is back, the torrent is
    /// added again: its files are checked and what was lost is fetched again.
    pub(super) async fn check_folders(
        self: &Arc<Self>,
        records: &[TorrentRecord],
        missing: &mut HashMap<String, PathBuf>,
    ) {
        missing.retain(|id, _| records.iter().any(|r| &r.info_hash == id && !r.paused));
        for rec in records.iter().filter(|r| !r.paused) {
            let id = &rec.info_hash;
            if let Some(root) = missing.get(id) {
                if !root.is_dir() {
                    // Still gone: a `start` meanwhile must not let it write on.
                    if let Some(h) = self.handle(id).filter(|h| !h.is_paused()) {
                        let _ = self.session().pause(&h).await;
                        let folder = h.output_folder().display().to_string();
                        self.set_error(id, format!("{FOLDER_MISSING} {folder} is missing (removed, or its disk is gone); the torrent waits for it to come back"));
                    }
                    continue;
                }
                missing.remove(id);
                let marked = self.errors.lock().unwrap().get(id).is_some_and(|e| e.starts_with(FOLDER_MISSING));
                if !marked || self.handle(id).is_none() {
                    continue;
                }
                self.errors.lock().unwrap().remove(id);
                match super::library::readd(self, id, None).await {
                    Ok(_) => {
                        self.emit(EventKind::Started, id, rec.name.as_deref(), Some("the download folder is back"))
                    }
                    Err(e) => {
                        let msg = format!("cannot restart after the download folder came back: {e:#}");
                        self.set_error(id, msg.clone());
                        self.emit(EventKind::Error, id, rec.name.as_deref(), Some(&msg));
                    }
                }
                continue;
            }
            let Some(h) = self.handle(id) else { continue };
            if h.metadata.load().is_none() || h.is_paused() {
                continue;
            }
            let folder = h.output_folder().to_path_buf();
            if folder.is_dir() {
                continue;
            }
            let root = self.folder_root(&folder);
            let msg = format!(
                "{FOLDER_MISSING} {} is missing (removed, or its disk is gone); the torrent waits for it to come back",
                folder.display()
            );
            tracing::warn!(torrent_id = id, "{msg}");
            self.set_error(id, msg.clone());
            missing.insert(id.clone(), root);
            if let Err(e) = self.session().pause(&h).await {
                tracing::warn!(torrent_id = id, "pausing a torrent whose folder is missing: {e:#}");
            }
            self.emit(EventKind::Error, id, rec.name.as_deref(), Some(&msg));
        }
    }

    /// The dir that must exist again for a torrent whose `folder` vanished: the folder
    /// itself when it is one of the configured dirs (files straight in it), else the
    /// dir holding it (a torrent's own folder is made again when it is added).
    fn folder_root(&self, folder: &Path) -> PathBuf {
        let c = self.live.get();
        let roots = [
            self.download_dir.as_path(),
            c.storage.download_dir.as_path(),
            c.storage.incomplete_dir.as_path(),
            c.storage.library_dir.as_path(),
        ];
        match folder.parent() {
            Some(parent) if !roots.contains(&folder) => parent.to_path_buf(),
            _ => folder.to_path_buf(),
        }
    }

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
            self.emit(EventKind::DiskRemoved, &t.id, Some(&t.name), Some(DISK_REMOVED));
            paused.push(t.id);
        }
        paused
    }

    /// Resumes the torrents [`Engine::pause_for_missing_disk`] paused, unless the user
    /// removed or resumed them meanwhile.
    pub async fn resume_after_disk(self: &Arc<Self>, ids: &[String]) {
        for id in ids {
            let marked = self.errors.lock().unwrap().get(id).is_some_and(|e| e == DISK_REMOVED);
            if !marked {
                continue;
            }
            match self.start(id).await {
                Ok(_) => tracing::info!(torrent_id = id, "resumed: the download disk is back"),
                Err(e) => tracing::warn!(torrent_id = id, "cannot resume after the disk came back: {e}"),
            }
        }
    }
}

/// Looks at the download dir's mount every `every`, and tells the engine when the
/// disk goes away or comes back.
pub fn spawn_watch(engine: Arc<Engine>, dir: PathBuf, every: Duration) {
    crate::system::spawn("download-disk", &engine.shutdown_token().clone(), async move {
        let dir = std::fs::canonicalize(&dir).unwrap_or(dir);
        let Some(mut current) = disk::read_covering(&dir) else {
            tracing::warn!("cannot read /proc/self/mountinfo: not watching the download disk");
            return Ok(());
        };
        tracing::info!(mount_point = %current.mount_point.display(), source = current.source, "download dir {} is on this mount", dir.display());
        let mut paused: Vec<String> = Vec::new();
        let mut tick = tokio::time::interval(every);
        loop {
            tick.tick().await;
            let Some(now) = disk::read_covering(&dir) else {
                continue;
            };
            let change = disk::classify(&current, &now);
            if change == disk::Change::None {
                continue;
            }
            if matches!(change, disk::Change::Removed | disk::Change::Replaced) {
                tracing::warn!(mount_point = %current.mount_point.display(), source = current.source, "download disk removed: pausing its torrents");
                let ids = engine.pause_for_missing_disk().await;
                paused.extend(ids);
            }
            if matches!(change, disk::Change::Attached | disk::Change::Replaced) {
                tracing::info!(mount_point = %now.mount_point.display(), source = now.source, "download disk attached");
                engine.resume_after_disk(&paused).await;
                paused.clear();
            }
            current = now;
        }
    });
}
