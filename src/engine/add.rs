//! Adding torrents: a magnet, a .torrent or a URL; magnets that wait for their
//! metadata in the background; and restoring every torrent the store knows at start.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use librqbit::api::TorrentIdOrHash;
use librqbit::{AddTorrent, AddTorrentOptions, ManagedTorrent};
use tokio_util::sync::CancellationToken;

use crate::store::{Purpose, TorrentRecord, now_rfc3339};

use super::error::{EngineError, EngineResult, is_disk_error};
use super::events::EventKind;
use super::input::{MagnetLink, Source, TorrentFile, parse_torrent};
use super::state::{Engine, Pending};
use super::view::TorrentView;

/// Options for adding a torrent.
#[derive(Clone, Debug, Default)]
pub struct AddOptions {
    /// Start paused.
    pub paused: bool,
    /// Indices of the files to download; all when `None`.
    pub only_files: Option<Vec<usize>>,
    pub purpose: Option<Purpose>,
    pub added_by: Option<i64>,
    /// Category (label) to file it under; created if new.
    pub category: Option<String>,
    /// Folder (absolute, inside the download dir: see `Engine::save_dir`) the torrent
    /// is saved in instead of the default place.
    pub save_dir: Option<PathBuf>,
}

impl Engine {
    /// Re-adds every torrent the store knows, and forgets any the session restored on
    /// its own that the store does not know (removed just before a crash).
    pub(super) async fn restore(self: &Arc<Self>) -> anyhow::Result<()> {
        super::library::finish_interrupted_moves(self).await;
        let records = self.store.torrents()?;
        let known: std::collections::HashSet<String> = records.iter().map(|r| r.info_hash.clone()).collect();
        let session = self.session();
        let strays: Vec<_> = session.with_torrents(|ts| {
            ts.filter(|(_, t)| !known.contains(&t.info_hash().as_string())).map(|(id, _)| id).collect()
        });
        for id in strays {
            tracing::info!("forgetting a torrent the database does not know");
            let _ = self.session().delete(TorrentIdOrHash::Id(id), false).await;
        }
        for rec in records {
            if let Some(handle) = self.handle(&rec.info_hash) {
                // Restored by the session's own persistence (with fast resume). It
                // does not keep `x.pe` peer hints, so an unfinished torrent that relies
                // on them is added again with them (its data is re-checked, not lost).
                let hinted = super::input::parse_magnet(&rec.source).is_ok_and(|m| !m.peers.is_empty());
                if hinted && !rec.paused && !handle.stats().finished {
                    let bytes = handle
                        .with_metadata(|m| m.torrent_bytes.clone())
                        .ok()
                        .or(rec.torrent_bytes.clone().map(bytes::Bytes::from));
                    if let Some(bytes) = bytes {
                        self.session().delete(TorrentIdOrHash::Id(handle.id()), false).await?;
                        if let Err(e) = self.add_to_session(AddTorrent::from_bytes(bytes), &rec, Vec::new()).await {
                            tracing::error!(torrent_id = rec.info_hash, "cannot restore torrent: {e:#}");
                            self.set_error(&rec.info_hash, format!("{e:#}"));
                        }
                        continue;
                    }
                }
                // Make the pause state match what the user asked for.
                if rec.paused && !handle.is_paused() {
                    let _ = self.session().pause(&handle).await;
                } else if !rec.paused && handle.is_paused() {
                    let _ = self.session().unpause(&handle).await;
                }
                continue;
            }
            let result = match &rec.torrent_bytes {
                Some(bytes) => {
                    self.add_to_session(AddTorrent::from_bytes(bytes.clone()), &rec, Vec::new()).await.map(|_| ())
                }
                None if rec.paused => Ok(()),
                None => {
                    self.spawn_metadata_fetch(&rec);
                    Ok(())
                }
            };
            if let Err(e) = result {
                tracing::error!(torrent_id = rec.info_hash, "cannot restore torrent: {e:#}");
                self.set_error(&rec.info_hash, format!("{e:#}"));
            }
        }
        Ok(())
    }

    /// Adds a torrent. Magnets return at once in `metadata` status; the metadata is
    /// fetched in the background.
    pub async fn add(self: &Arc<Self>, source: Source, opts: AddOptions) -> EngineResult<TorrentView> {
        self.require_running()?;
        self.add_at(source, opts, None, Vec::new()).await
    }

    /// Adds a torrent whose data lives in `output_folder` (a torrent this box created
    /// from files already in the download dir): the files are checked, not fetched, so
    /// a complete torrent goes straight to seeding. `trackers` go into its magnet.
    pub async fn add_existing(
        self: &Arc<Self>,
        torrent: TorrentFile,
        output_folder: PathBuf,
        trackers: Vec<String>,
        opts: AddOptions,
    ) -> EngineResult<TorrentView> {
        let folder = output_folder.to_string_lossy().into_owned();
        self.add_at(Source::Torrent(torrent), opts, Some(folder), trackers).await
    }

    pub(super) async fn add_at(
        self: &Arc<Self>,
        source: Source,
        opts: AddOptions,
        output_folder: Option<String>,
        magnet_trackers: Vec<String>,
    ) -> EngineResult<TorrentView> {
        let source = match source {
            Source::Url(url) => Source::Torrent(fetch_torrent(&url, &self.named_hosts()).await?),
            s => s,
        };
        let (info_hash, name, magnet, bytes) = match &source {
            Source::Magnet(m) => (m.info_hash.clone(), m.name.clone(), m.to_uri(), None),
            Source::Torrent(t) => {
                let magnet = MagnetLink {
                    info_hash: t.info_hash.clone(),
                    name: t.name.clone(),
                    trackers: magnet_trackers,
                    peers: Vec::new(),
                    select_only: None,
                };
                (t.info_hash.clone(), t.name.clone(), magnet.to_uri(), Some(t.bytes.to_vec()))
            }
            Source::Url(_) => unreachable!("fetched above"),
        };
        if self.store.torrent(&info_hash)?.is_some() {
            return Err(EngineError::AlreadyAdded(info_hash));
        }
        let only_files = opts.only_files.clone().or_else(|| match &source {
            Source::Magnet(m) => m.select_only.clone(),
            _ => None,
        });
        let rec = TorrentRecord {
            info_hash: info_hash.clone(),
            name: name.clone(),
            source: magnet,
            torrent_bytes: bytes.clone(),
            added_by: opts.added_by,
            added_at: now_rfc3339(),
            purpose: opts.purpose.unwrap_or(Purpose::Keep),
            paused: opts.paused,
            only_files,
            // Else the incomplete dir or a download dir changed at run time (None = default).
            output_folder: output_folder.or_else(|| match &opts.save_dir {
                Some(dir) => super::library::output_folder_in(dir, &source),
                None => super::library::initial_output_folder(self, &source),
            }),
            completed_at: None,
            last_watched_at: None,
        };
        if let (Some(files), Source::Torrent(t)) = (&rec.only_files, &source)
            && let Some(bad) = files.iter().find(|&&i| i >= t.file_count)
        {
            return Err(EngineError::BadInput(format!(
                "file index {bad} is out of range: the torrent has {} files",
                t.file_count
            )));
        }
        // Disk quota: a .torrent's size is known now (a magnet's at metadata time).
        if let Some(b) = bytes.as_deref() {
            super::quota::admit_metainfo(self, &info_hash, b, rec.only_files.as_deref()).await?;
        }
        self.store.insert_torrent(&rec).map_err(|e| {
            if self.store.torrent(&info_hash).ok().flatten().is_some() {
                EngineError::AlreadyAdded(info_hash.clone())
            } else {
                EngineError::Internal(e)
            }
        })?;
        if let Some(dir) = &opts.save_dir {
            self.store.set_torrent_save_dir(&info_hash, &dir.to_string_lossy())?;
        }
        if opts.category.is_some() {
            self.store.set_torrent_category(&info_hash, opts.category.as_deref())?;
        }
        self.emit(EventKind::Added, &info_hash, name.as_deref(), None);
        match bytes {
            Some(bytes) => {
                if let Err(e) = self.add_to_session(AddTorrent::from_bytes(bytes), &rec, Vec::new()).await {
                    let _ = self.store.delete_torrent(&info_hash);
                    return Err(EngineError::BadInput(format!("cannot add torrent: {e:#}")));
                }
                if !rec.paused {
                    super::prefetch::spawn(self, &info_hash);
                }
            }
            None if rec.paused => {}
            None => self.spawn_metadata_fetch(&rec),
        }
        if !rec.paused {
            self.emit(EventKind::Started, &info_hash, name.as_deref(), None);
        }
        self.view(&info_hash)
    }

    /// Adds a torrent whose metadata we have to the session.
    pub(super) async fn add_to_session(
        &self,
        add: AddTorrent<'_>,
        rec: &TorrentRecord,
        extra_peers: Vec<SocketAddr>,
    ) -> anyhow::Result<Arc<ManagedTorrent>> {
        let mut peers = extra_peers;
        let mut trackers = self.default_trackers.clone();
        if let Ok(m) = super::input::parse_magnet(&rec.source) {
            peers.extend(m.peers);
            trackers.extend(m.trackers);
        }
        let opts = AddTorrentOptions {
            paused: rec.paused,
            only_files: rec.only_files.clone(),
            overwrite: true,
            output_folder: rec.output_folder.clone(),
            initial_peers: (!peers.is_empty()).then_some(peers),
            trackers: (!trackers.is_empty()).then_some(trackers),
            ratelimits: super::library::torrent_ratelimits(&self.store, &rec.info_hash),
            ..Default::default()
        };
        let session = self.session();
        // librqbit's JSON persistence numbers a new torrent max(id) + 1 before storing
        // it, and answers "already managed" with whichever torrent holds that number:
        // two adds at once (magnets resolving together after a restart) would get one
        // torrent's handle for both. One add at a time.
        let resp = {
            let _one_at_a_time = self.add_lock.lock().await;
            session.add_torrent(add, Some(opts)).await?
        };
        let handle = resp.into_handle().context("torrent was not added")?;
        anyhow::ensure!(
            handle.info_hash().as_string() == rec.info_hash,
            "the session answered with another torrent ({}) for {}",
            handle.info_hash().as_string(),
            rec.info_hash
        );
        self.errors.lock().unwrap().remove(&rec.info_hash);
        Ok(handle)
    }

    /// Fetches a magnet's metadata in the background, then hands the torrent to the
    /// session and stores the .torrent so that a restart needs no peers for it.
    pub(super) fn spawn_metadata_fetch(self: &Arc<Self>, rec: &TorrentRecord) {
        let cancel = CancellationToken::new();
        let (done_tx, done_rx) = tokio::sync::watch::channel(false);
        self.pending.lock().unwrap().insert(
            rec.info_hash.clone(),
            Pending { cancel: cancel.clone(), name: rec.name.clone(), error: None, disk_error: false, done: done_rx },
        );
        let this = self.clone();
        let rec = rec.clone();
        crate::system::spawn("metadata", &self.shutdown, async move {
            let id = rec.info_hash.clone();
            // Retried with backoff until it works or the torrent is stopped or removed:
            // a swarm that is unreachable now (no peer yet, a peer that dropped the
            // connection) may well answer later.
            let mut delay = Duration::from_secs(2);
            let handle = loop {
                let result = tokio::select! {
                    _ = cancel.cancelled() => return Ok(()),
                    // Resolves the metadata, admits the torrent by the quota and places
                    // it (incomplete dir) before adding it to the session.
                    r = super::library::resolve_and_add(&this, &rec) => r,
                };
                match result {
                    Ok(handle) => break handle,
                    // Refused by the quota once the size is known: final, no retry.
                    Err(e) if e.downcast_ref::<super::quota::Refused>().is_some() => {
                        let msg = e.to_string();
                        this.pending.lock().unwrap().remove(&id);
                        this.set_error(&id, msg.clone());
                        this.refused.lock().unwrap().insert(id.clone());
                        this.emit(EventKind::Error, &id, rec.name.as_deref(), Some(&msg));
                        let _ = done_tx.send(true);
                        return Ok(());
                    }
                    Err(e) => {
                        // The metadata came, but the files cannot be made: retried more
                        // often, so the torrent starts soon after the folder is writable.
                        let disk = is_disk_error(&e);
                        if disk {
                            delay = delay.min(Duration::from_secs(8));
                        }
                        let msg = if disk {
                            format!("cannot write to the download folder, retrying in {}s: {e:#}", delay.as_secs())
                        } else {
                            format!("fetching metadata failed, retrying in {}s: {e:#}", delay.as_secs())
                        };
                        let first = {
                            let mut pending = this.pending.lock().unwrap();
                            let Some(p) = pending.get_mut(&id) else {
                                return Ok(());
                            };
                            let first = p.error.is_none() || p.disk_error != disk;
                            p.error = Some(msg.clone());
                            p.disk_error = disk;
                            first
                        };
                        if first {
                            this.emit(EventKind::Error, &id, rec.name.as_deref(), Some(&msg));
                        }
                        tokio::select! {
                            _ = cancel.cancelled() => return Ok(()),
                            _ = tokio::time::sleep(delay) => {}
                        }
                        delay = (delay * 2).min(Duration::from_secs(60));
                    }
                }
            };
            let meta = handle.with_metadata(|m| (m.torrent_bytes.clone(), m.info.name().map(|n| n.into_owned())));
            if let Ok((bytes, name)) = meta {
                let name = name.unwrap_or_else(|| id.clone());
                this.store.set_torrent_metadata(&id, &name, &bytes)?;
                this.emit(EventKind::Metadata, &id, Some(&name), None);
            }
            super::prefetch::spawn(&this, &id);
            this.pending.lock().unwrap().remove(&id);
            let _ = done_tx.send(true);
            Ok(())
        });
    }

    /// Waits until a torrent has metadata, up to `timeout`.
    pub async fn wait_for_metadata(&self, id: &str, timeout: Duration) -> EngineResult<()> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if self.handle(id).is_some_and(|h| h.metadata.load().is_some()) {
                return Ok(());
            }
            let mut done = {
                let pending = self.pending.lock().unwrap();
                match pending.get(id) {
                    Some(p) => p.done.clone(),
                    None if self.refused.lock().unwrap().contains(id) => {
                        let msg = self.errors.lock().unwrap().get(id).cloned().unwrap_or_default();
                        return Err(EngineError::QuotaExceeded(msg));
                    }
                    None if self.store.torrent(id)?.is_some() => {
                        // Known but neither pending nor in the session: paused magnet.
                        return Err(EngineError::NoMetadata(id.to_string()));
                    }
                    None => return Err(EngineError::NotFound(id.to_string())),
                }
            };
            match tokio::time::timeout_at(deadline, done.changed()).await {
                Err(_) => return Err(EngineError::MetadataTimeout(id.to_string())),
                Ok(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            }
        }
    }
}

/// Fetches a .torrent from an http(s) URL, bounded in size and time.
async fn fetch_torrent(url: &str, allowed: &crate::system::outbound::Allowed) -> EngineResult<TorrentFile> {
    const MAX: usize = 10 << 20;
    let bad = |why: String| EngineError::BadInput(format!("cannot fetch {url}: {why}"));
    let mut resp = crate::system::outbound::send(url, allowed, Duration::from_secs(30), true, |c, u| c.get(u))
        .await
        .map_err(bad)?;
    if !resp.status().is_success() {
        return Err(bad(format!("HTTP {}", resp.status())));
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| bad(e.to_string()))? {
        body.extend_from_slice(&chunk);
        if body.len() > MAX {
            return Err(bad("the .torrent is larger than 10 MiB".into()));
        }
    }
    parse_torrent(body.into())
}
