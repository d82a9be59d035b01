//! The BitTorrent engine: a librqbit `Session` wrapped with what the box needs on top
//! of it — magnets that wait for metadata in the background, the store as the source of
//! truth for what should be on the box, the activity log, events, and readers that
//! cannot starve the session's disk writes.

mod bencode;
mod container;
mod disk;
mod input;
mod prefetch;
mod reader;
mod session;
mod video;
mod view;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use anyhow::Context;
use librqbit::api::TorrentIdOrHash;
use librqbit::{
    AddTorrent, AddTorrentOptions, ManagedTorrent, Session, TorrentStatsState,
};
use tokio::sync::{Semaphore, broadcast};
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::store::{Purpose, Store, TorrentRecord, now_rfc3339};

pub use input::{
    MagnetLink, Resolve, Source, TorrentFile, parse_info_hash, parse_magnet, parse_magnet_with, parse_torrent,
    parse_uri, parse_uri_with, system_resolve,
};
pub use reader::FileReader;
pub use video::{is_video, mime_type, pick_video};
pub use view::{FileView, PeerView, Status, TorrentView};
pub use disk::DISK_REMOVED;

/// What can go wrong in the engine, each mapping to one contract error code.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("{0}")]
    BadInput(String),
    #[error("torrent {0} is not known")]
    NotFound(String),
    #[error("torrent {id} has no file {index}")]
    FileNotFound { id: String, index: usize },
    #[error("torrent {0} was already added")]
    AlreadyAdded(String),
    #[error("torrent {0} has no metadata yet")]
    NoMetadata(String),
    #[error("no metadata for torrent {0} arrived in time: no peer could be reached")]
    MetadataTimeout(String),
    #[error("torrent {0} has no playable video file")]
    NoVideoFile(String),
    #[error("{0}")]
    NoSeeds(String),
    #[error("{0}")]
    QuotaExceeded(String),
    #[error("the BitTorrent engine is stopped; start it through /api/services/engine/start")]
    Stopped,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

pub type EngineResult<T> = Result<T, EngineError>;

/// Something that happened to a torrent. Every event lands in the activity log and is
/// broadcast to subscribers (live UI updates, hooks).
#[derive(Clone, Debug, serde::Serialize)]
pub struct Event {
    pub event: &'static str,
    pub torrent_id: String,
    pub name: Option<String>,
    pub detail: Option<String>,
    pub time: String,
}

/// Options for adding a torrent.
#[derive(Clone, Debug, Default)]
pub struct AddOptions {
    /// Start paused.
    pub paused: bool,
    /// Indices of the files to download; all when `None`.
    pub only_files: Option<Vec<usize>>,
    pub purpose: Option<Purpose>,
    pub added_by: Option<i64>,
}

/// A magnet whose metadata is still being fetched.
struct Pending {
    cancel: CancellationToken,
    name: Option<String>,
    error: Option<String>,
    /// The last failure was the download folder refusing the files (read-only, no
    /// permission): the torrent shows as `error` while the fetch goes on retrying.
    disk_error: bool,
    /// Resolves when the torrent is in the session (or the fetch failed).
    done: tokio::sync::watch::Receiver<bool>,
}

/// The engine. Cheap to share behind an `Arc`.
pub struct Engine {
    session: RwLock<Arc<Session>>,
    running: AtomicBool,
    config: Config,
    store: Store,
    download_dir: PathBuf,
    default_trackers: Vec<String>,
    /// Magnets waiting for metadata, by info-hash.
    pending: Mutex<HashMap<String, Pending>>,
    /// Fatal errors of torrents, kept so they survive the torrent's handle.
    errors: Mutex<HashMap<String, String>>,
    /// Magnets the quota refused once their metadata told their size.
    refused: Mutex<std::collections::HashSet<String>>,
    events: broadcast::Sender<Event>,
    /// Serialises adding torrents to the session (see `add_to_session`).
    add_lock: tokio::sync::Mutex<()>,
    /// Caps open readers so that they cannot hold every blocking permit of the session.
    stream_permits: Arc<Semaphore>,
    /// Last per-peer counters, to turn byte counts into speeds.
    peer_samples: Mutex<HashMap<(String, String), (Instant, u64, u64)>>,
    /// The run-time config (paths, quota, limits), changed by `PATCH /api/config`.
    live: Arc<crate::settings::Live>,
    /// Bumped by every event and error: a list page cached before it is stale.
    generation: std::sync::atomic::AtomicU64,
    /// Pages of the plain torrent list as served, by (newest first, skip, take): a
    /// box polled by several screens answers from here for `LIST_CACHE_TTL`.
    list_cache: Mutex<HashMap<(bool, usize, usize), CachedPage>>,
    /// Bitrates of files, which size their readers' read-ahead (see `prefetch`).
    hints: prefetch::Hints,
}

/// One served page of the torrent list.
struct CachedPage {
    at: Instant,
    generation: u64,
    total: usize,
    json: bytes::Bytes,
}

/// How long a page of the torrent list is served from the cache, when no event came
/// meanwhile. Rates and progress are sampled once a second anyway.
const LIST_CACHE_TTL: Duration = Duration::from_millis(250);

impl Engine {
    /// Starts the librqbit session and restores every torrent the store knows.
    pub async fn open(config: &Config, store: Store) -> anyhow::Result<Arc<Self>> {
        std::fs::create_dir_all(&config.storage.download_dir).with_context(|| {
            format!("creating download dir {}", config.storage.download_dir.display())
        })?;
        let session = session::start(config).await?;
        let e = &config.engine;
        let store_for_live = store.clone();
        let engine = Arc::new(Self {
            session: RwLock::new(session),
            running: AtomicBool::new(true),
            config: config.clone(),
            store,
            download_dir: config.storage.download_dir.clone(),
            default_trackers: e.trackers.clone(),
            pending: Mutex::new(HashMap::new()),
            errors: Mutex::new(HashMap::new()),
            refused: Mutex::new(Default::default()),
            events: broadcast::channel(1024).0,
            add_lock: tokio::sync::Mutex::new(()),
            stream_permits: Arc::new(Semaphore::new(e.max_streams as usize)),
            peer_samples: Mutex::new(HashMap::new()),
            live: Arc::new(crate::settings::Live::new(config.clone(), store_for_live)),
            generation: std::sync::atomic::AtomicU64::new(0),
            list_cache: Mutex::new(HashMap::new()),
            hints: Default::default(),
        });
        engine.restore().await?;
        engine.clone().spawn_watcher();
        Ok(engine)
    }

    /// Whether the engine service runs (it can be stopped through the services API).
    pub fn is_running(&self) -> bool {
        self.running.load(Ordering::SeqCst)
    }

    /// Stops the engine service: every torrent pauses, the peer listener and DHT close.
    /// What the store says is kept, so `start_service` brings everything back.
    pub async fn stop_service(&self) {
        if !self.running.swap(false, Ordering::SeqCst) {
            return;
        }
        for (_, p) in self.pending.lock().unwrap().drain() {
            p.cancel.cancel();
        }
        self.session().stop().await;
        tracing::info!("engine stopped");
    }

    /// Starts the engine service again with a new session, restoring every torrent.
    pub async fn start_service(self: &Arc<Self>) -> anyhow::Result<()> {
        if self.is_running() {
            return Ok(());
        }
        let session = session::start(&self.config).await?;
        *self.session.write().unwrap() = session;
        self.running.store(true, Ordering::SeqCst);
        self.restore().await?;
        tracing::info!("engine started");
        Ok(())
    }

    fn require_running(&self) -> EngineResult<()> {
        if self.is_running() {
            Ok(())
        } else {
            Err(EngineError::Stopped)
        }
    }

    /// The librqbit session, for the parts (stats, services) that need it directly.
    /// It is replaced when the engine service restarts: do not keep it.
    pub fn session(&self) -> Arc<Session> {
        self.session.read().unwrap().clone()
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The run-time config: paths, quota, limits, rules.
    pub fn live(&self) -> &Arc<crate::settings::Live> {
        &self.live
    }

    /// Subscribes to torrent events.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.events.subscribe()
    }

    /// Logs an event to the activity log and broadcasts it.
    pub fn emit(&self, event: &'static str, id: &str, name: Option<&str>, detail: Option<&str>) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        if let Err(e) = self.store.log_activity(event, Some(id), name, detail) {
            tracing::warn!(torrent_id = id, "cannot write activity log: {e:#}");
        }
        tracing::info!(torrent_id = id, event, detail, "{}", name.unwrap_or(id));
        let _ = self.events.send(Event {
            event,
            torrent_id: id.to_string(),
            name: name.map(str::to_string),
            detail: detail.map(str::to_string),
            time: now_rfc3339(),
        });
    }

    /// Re-adds every torrent the store knows, and forgets any the session restored on
    /// its own that the store does not know (removed just before a crash).
    async fn restore(self: &Arc<Self>) -> anyhow::Result<()> {
        crate::library::finish_interrupted_moves(self).await;
        let records = self.store.torrents()?;
        let known: std::collections::HashSet<String> =
            records.iter().map(|r| r.info_hash.clone()).collect();
        let session = self.session();
        let strays: Vec<_> = session.with_torrents(|ts| {
            ts.filter(|(_, t)| !known.contains(&t.info_hash().as_string()))
                .map(|(id, _)| id)
                .collect()
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
                let hinted = input::parse_magnet(&rec.source).is_ok_and(|m| !m.peers.is_empty());
                if hinted && !rec.paused && !handle.stats().finished {
                    let bytes = handle
                        .with_metadata(|m| m.torrent_bytes.clone())
                        .ok()
                        .or(rec.torrent_bytes.clone().map(bytes::Bytes::from));
                    if let Some(bytes) = bytes {
                        self.session().delete(TorrentIdOrHash::Id(handle.id()), false).await?;
                        if let Err(e) =
                            self.add_to_session(AddTorrent::from_bytes(bytes), &rec, Vec::new()).await
                        {
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
                Some(bytes) => self
                    .add_to_session(AddTorrent::from_bytes(bytes.clone()), &rec, Vec::new())
                    .await
                    .map(|_| ()),
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

    async fn add_at(
        self: &Arc<Self>,
        source: Source,
        opts: AddOptions,
        output_folder: Option<String>,
        magnet_trackers: Vec<String>,
    ) -> EngineResult<TorrentView> {
        let source = match source {
            Source::Url(url) => Source::Torrent(fetch_torrent(&url).await?),
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
        let only_files = opts
            .only_files
            .clone()
            .or_else(|| match &source {
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
            output_folder: output_folder.or_else(|| crate::library::initial_output_folder(self, &source)),
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
        if let Some(size) = bytes.as_deref().and_then(|b| crate::quota::torrent_size(b, rec.only_files.as_deref())) {
            crate::quota::admit(self, &info_hash, size).await?;
        }
        self.store.insert_torrent(&rec).map_err(|e| {
            if self.store.torrent(&info_hash).ok().flatten().is_some() {
                EngineError::AlreadyAdded(info_hash.clone())
            } else {
                EngineError::Internal(e)
            }
        })?;
        self.emit("added", &info_hash, name.as_deref(), None);
        match bytes {
            Some(bytes) => {
                if let Err(e) = self.add_to_session(AddTorrent::from_bytes(bytes), &rec, Vec::new()).await {
                    let _ = self.store.delete_torrent(&info_hash);
                    return Err(EngineError::BadInput(format!("cannot add torrent: {e:#}")));
                }
                if !rec.paused {
                    prefetch::spawn(self, &info_hash);
                }
            }
            None if rec.paused => {}
            None => self.spawn_metadata_fetch(&rec),
        }
        if !rec.paused {
            self.emit("started", &info_hash, name.as_deref(), None);
        }
        self.view(&info_hash)
    }

    /// Adds a torrent whose metadata we have to the session.
    pub(crate) async fn add_to_session(
        &self,
        add: AddTorrent<'_>,
        rec: &TorrentRecord,
        extra_peers: Vec<SocketAddr>,
    ) -> anyhow::Result<Arc<ManagedTorrent>> {
        let mut peers = extra_peers;
        let mut trackers = self.default_trackers.clone();
        if let Ok(m) = input::parse_magnet(&rec.source) {
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
            ratelimits: crate::library::torrent_ratelimits(&self.store, &rec.info_hash),
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
    fn spawn_metadata_fetch(self: &Arc<Self>, rec: &TorrentRecord) {
        let cancel = CancellationToken::new();
        let (done_tx, done_rx) = tokio::sync::watch::channel(false);
        self.pending.lock().unwrap().insert(
            rec.info_hash.clone(),
            Pending { cancel: cancel.clone(), name: rec.name.clone(), error: None, disk_error: false, done: done_rx },
        );
        let this = self.clone();
        let rec = rec.clone();
        crate::system::spawn("metadata", async move {
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
                    r = crate::library::resolve_and_add(&this, &rec) => r,
                };
                match result {
                    Ok(handle) => break handle,
                    // Refused by the quota once the size is known: final, no retry.
                    Err(e) if e.downcast_ref::<crate::quota::Refused>().is_some() => {
                        let msg = e.to_string();
                        this.pending.lock().unwrap().remove(&id);
                        this.set_error(&id, msg.clone());
                        this.refused.lock().unwrap().insert(id.clone());
                        this.emit("error", &id, rec.name.as_deref(), Some(&msg));
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
                            let Some(p) = pending.get_mut(&id) else { return Ok(()) };
                            let first = p.error.is_none() || p.disk_error != disk;
                            p.error = Some(msg.clone());
                            p.disk_error = disk;
                            first
                        };
                        if first {
                            this.emit("error", &id, rec.name.as_deref(), Some(&msg));
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
                this.emit("metadata", &id, Some(&name), None);
            }
            prefetch::spawn(&this, &id);
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

    /// The session's handle of a torrent, once it has one.
    pub fn handle(&self, id: &str) -> Option<Arc<ManagedTorrent>> {
        let hash = <librqbit::dht::Id20 as std::str::FromStr>::from_str(id).ok()?;
        self.session().get(TorrentIdOrHash::Hash(hash))
    }

    fn require_known(&self, id: &str) -> EngineResult<TorrentRecord> {
        if parse_info_hash(id).as_deref() != Some(id) {
            return Err(EngineError::NotFound(id.to_string()));
        }
        self.store.torrent(id)?.ok_or_else(|| EngineError::NotFound(id.to_string()))
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
            self.emit("stopped", id, rec.name.as_deref(), None);
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
                        if let Some(size) = crate::quota::torrent_size(bytes, rec.only_files.as_deref()) {
                            crate::quota::admit(self, id, size).await?;
                        }
                        self.add_to_session(AddTorrent::from_bytes(bytes.clone()), &rec, Vec::new())
                            .await?;
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
        self.emit("started", id, rec.name.as_deref(), None);
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
        self.emit("files_selected", id, rec.name.as_deref(), Some(&detail));
        self.view(id)
    }

    /// Removes a torrent, and its data when asked.
    pub async fn remove(&self, id: &str, delete_files: bool) -> EngineResult<()> {
        let rec = self.require_known(id)?;
        if let Some(p) = self.pending.lock().unwrap().remove(id) {
            p.cancel.cancel();
        }
        if let Some(h) = self.handle(id) {
            self.session()
                .delete(TorrentIdOrHash::Id(h.id()), delete_files)
                .await
                .map_err(EngineError::Internal)?;
        }
        self.store.delete_torrent(id)?;
        self.errors.lock().unwrap().remove(id);
        self.refused.lock().unwrap().remove(id);
        let detail = delete_files.then_some("data deleted");
        self.emit("removed", id, rec.name.as_deref(), detail);
        Ok(())
    }

    /// Records that a torrent finished (once) and returns its completion time.
    fn note_completion(&self, id: &str, name: Option<&str>) -> Option<String> {
        match self.store.mark_torrent_completed(id) {
            Ok(true) => self.emit("completed", id, name, None),
            Ok(false) => {}
            Err(e) => tracing::warn!(torrent_id = id, "cannot record completion: {e:#}"),
        }
        self.store.torrent(id).ok().flatten().and_then(|r| r.completed_at)
    }

    pub(crate) fn set_error(&self, id: &str, msg: String) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        self.errors.lock().unwrap().insert(id.to_string(), msg);
    }

    /// Every torrent, in the order added.
    pub fn list(&self) -> EngineResult<Vec<TorrentView>> {
        let records = self.store.torrent_summaries()?;
        let handles = self.handles();
        let find = |id: &str| {
            let hash = <librqbit::dht::Id20 as std::str::FromStr>::from_str(id).ok()?;
            handles.get(&hash).cloned()
        };
        Ok(records.iter().map(|r| self.build_view_with(r, find(&r.info_hash))).collect())
    }

    /// One page of the torrents in the order added (newest first when `desc`), and
    /// how many there are: only the page's torrents are looked at.
    pub fn list_page(&self, desc: bool, skip: usize, take: usize) -> EngineResult<(usize, Vec<TorrentView>)> {
        let (total, records) = self.store.torrent_page(desc, skip, take)?;
        // One pass over the session for the page rather than a search per torrent.
        let wanted: HashMap<librqbit::dht::Id20, usize> = records
            .iter()
            .enumerate()
            .filter_map(|(i, r)| Some((<librqbit::dht::Id20 as std::str::FromStr>::from_str(&r.info_hash).ok()?, i)))
            .collect();
        let mut handles: Vec<Option<Arc<ManagedTorrent>>> = vec![None; records.len()];
        let found: Vec<(usize, Arc<ManagedTorrent>)> = self
            .session()
            .with_torrents(|ts| ts.filter_map(|(_, t)| wanted.get(&t.info_hash()).map(|&i| (i, t.clone()))).collect());
        for (i, t) in found {
            handles[i] = Some(t);
        }
        let views = records.iter().zip(handles).map(|(r, h)| self.build_view_with(r, h)).collect();
        Ok((total, views))
    }

    /// `list_page` as the JSON array the API serves, from a cache of the last pages
    /// while it is fresh (see `LIST_CACHE_TTL`).
    pub fn list_page_json(&self, desc: bool, skip: usize, take: usize) -> EngineResult<(usize, bytes::Bytes)> {
        let key = (desc, skip, take);
        let generation = self.generation.load(Ordering::SeqCst);
        if let Some(p) = self.list_cache.lock().unwrap().get(&key)
            && p.generation == generation
            && p.at.elapsed() < LIST_CACHE_TTL
        {
            return Ok((p.total, p.json.clone()));
        }
        let (total, views) = self.list_page(desc, skip, take)?;
        let json = bytes::Bytes::from(serde_json::to_vec(&views).map_err(|e| EngineError::Internal(e.into()))?);
        let mut cache = self.list_cache.lock().unwrap();
        if cache.len() >= 16 {
            cache.clear();
        }
        cache.insert(key, CachedPage { at: Instant::now(), generation, total, json: json.clone() });
        Ok((total, json))
    }

    /// Every torrent in the session by info-hash (`handle` searches the session).
    fn handles(&self) -> HashMap<librqbit::dht::Id20, Arc<ManagedTorrent>> {
        self.session().with_torrents(|ts| ts.map(|(_, t)| (t.info_hash(), t.clone())).collect())
    }

    /// One torrent.
    pub fn view(&self, id: &str) -> EngineResult<TorrentView> {
        let rec = self.require_known(id)?;
        Ok(self.build_view(&rec))
    }

    fn build_view(&self, rec: &TorrentRecord) -> TorrentView {
        self.build_view_with(rec, self.handle(&rec.info_hash))
    }

    /// The view of `rec`, whose session handle (if any) is `handle`.
    fn build_view_with(&self, rec: &TorrentRecord, handle: Option<Arc<ManagedTorrent>>) -> TorrentView {
        let id = rec.info_hash.as_str();
        let mut v = TorrentView {
            id: id.to_string(),
            name: rec.name.clone().unwrap_or_else(|| id.to_string()),
            status: if rec.paused { Status::Paused } else { Status::Metadata },
            progress: 0.0,
            size: 0,
            downloaded: 0,
            uploaded: 0,
            download_rate: 0,
            upload_rate: 0,
            peers: 0,
            seeds: 0,
            eta: None,
            ratio: 0.0,
            magnet_uri: rec.source.clone(),
            files: Vec::new(),
            video_file: None,
            added_at: rec.added_at.clone(),
            completed_at: rec.completed_at.clone(),
            error: self.errors.lock().unwrap().get(id).cloned(),
            purpose: rec.purpose,
            added_by: rec.added_by,
        };
        // Still fetching (a disk error shows as `error` even while it is retried).
        let pending = self.pending.lock().unwrap().get(id).map(|p| !p.disk_error);
        let pending = pending.unwrap_or(false);
        if let Some(p) = self.pending.lock().unwrap().get(id) {
            // Still trying: the status stays `metadata`; the last failure is shown.
            if let Some(err) = &p.error {
                v.error = Some(err.clone());
            }
            if let Some(n) = &p.name {
                v.name = n.clone();
            }
        }
        let Some(h) = handle else {
            if v.error.is_some() && !pending {
                v.status = Status::Error;
            }
            return v;
        };
        if let Some(name) = h.name() {
            v.name = name;
        }
        let stats = h.stats();
        let only = h.only_files();
        if let Ok(files) = h.with_metadata(|m| {
            m.file_infos
                .iter()
                .enumerate()
                .map(|(i, f)| {
                    let name = f.relative_filename.to_string_lossy().into_owned();
                    let done = stats.file_progress.get(i).copied().unwrap_or(0);
                    FileView {
                        index: i,
                        is_video: is_video(&name),
                        name,
                        size: f.len,
                        progress: view::percent(done, f.len),
                        selected: only.as_ref().is_none_or(|o| o.contains(&i)),
                    }
                })
                .collect::<Vec<_>>()
        }) {
            v.video_file = pick_video(files.iter().map(|f| (f.name.as_str(), f.size)));
            v.files = files;
        }
        v.size = stats.total_bytes;
        v.downloaded = stats.progress_bytes;
        v.uploaded = stats.uploaded_bytes;
        v.progress = if stats.finished { 100.0 } else { view::percent(stats.progress_bytes, stats.total_bytes) };
        let torrent_size: u64 = v.files.iter().map(|f| f.size).sum();
        v.ratio = if torrent_size > 0 {
            ((stats.uploaded_bytes as f64 / torrent_size as f64) * 1000.0).round() / 1000.0
        } else {
            0.0
        };
        if stats.finished && stats.total_bytes > 0 && rec.completed_at.is_none() {
            v.completed_at = self.note_completion(id, Some(&v.name));
        }
        v.status = match stats.state {
            TorrentStatsState::Initializing { .. } => Status::Checking,
            TorrentStatsState::Paused => Status::Paused,
            TorrentStatsState::Error => Status::Error,
            TorrentStatsState::Live if stats.finished => Status::Seeding,
            TorrentStatsState::Live => Status::Downloading,
        };
        if let Some(err) = &stats.error {
            v.error = Some(err.clone());
            v.status = Status::Error;
        }
        // Its folder vanished (see `check_folders`): an error until it is back.
        if v.error.as_deref().is_some_and(|e| e.starts_with(disk::FOLDER_MISSING)) {
            v.status = Status::Error;
        }
        // A full disk pauses a torrent (the space guard resumes it): say so plainly.
        if v.error.as_deref().is_some_and(crate::quota::is_enospc) {
            v.status = Status::Paused;
            v.error = Some(crate::quota::DISK_FULL.into());
        }
        if let Some(live) = &stats.live {
            v.download_rate = (live.download_speed.mbps * 1024.0 * 1024.0) as u64;
            v.upload_rate = (live.upload_speed.mbps * 1024.0 * 1024.0) as u64;
            v.peers = live.snapshot.peer_stats.live;
            v.seeds = live.snapshot.peer_stats.live_seeders;
            if !stats.finished && v.download_rate > 0 {
                v.eta = Some(stats.total_bytes.saturating_sub(stats.progress_bytes) / v.download_rate);
            } else if stats.finished {
                v.eta = Some(0);
            }
        }
        v
    }

    /// The connected peers of a torrent.
    pub fn peers(&self, id: &str) -> EngineResult<Vec<PeerView>> {
        self.require_known(id)?;
        let Some(live) = self.handle(id).and_then(|h| h.live()) else {
            return Ok(Vec::new());
        };
        let snap = live.per_peer_stats_snapshot(Default::default());
        let now = Instant::now();
        let mut samples = self.peer_samples.lock().unwrap();
        samples.retain(|_, (t, _, _)| now.duration_since(*t) < Duration::from_secs(60));
        let mut out = Vec::new();
        for (addr, p) in snap.peers {
            let Ok(sock) = addr.parse::<SocketAddr>() else { continue };
            let key = (id.to_string(), addr.clone());
            let (down, up) = match samples.get(&key) {
                Some((t, f, u)) if now.duration_since(*t) >= Duration::from_millis(200) => {
                    let secs = now.duration_since(*t).as_secs_f64();
                    (
                        (p.counters.fetched_bytes.saturating_sub(*f) as f64 / secs) as u64,
                        (p.counters.uploaded_bytes.saturating_sub(*u) as f64 / secs) as u64,
                    )
                }
                _ => (0, 0),
            };
            if samples.get(&key).is_none_or(|(t, _, _)| now.duration_since(*t) >= Duration::from_millis(200)) {
                samples.insert(key, (now, p.counters.fetched_bytes, p.counters.uploaded_bytes));
            }
            out.push(PeerView {
                ip: sock.ip().to_string(),
                port: sock.port(),
                client: p.client_name,
                progress: None,
                down_speed: down,
                up_speed: up,
                downloaded: p.counters.fetched_bytes,
                uploaded: p.counters.uploaded_bytes,
                connection: p.conn_kind.map(|k| format!("{k:?}").to_lowercase()),
            });
        }
        out.sort_by(|a, b| b.down_speed.cmp(&a.down_speed).then(a.ip.cmp(&b.ip)));
        Ok(out)
    }

    /// The .torrent file of a torrent with metadata.
    pub fn torrent_file(&self, id: &str) -> EngineResult<(String, bytes::Bytes)> {
        let rec = self.require_known(id)?;
        if let Some(h) = self.handle(id)
            && let Ok(bytes) = h.with_metadata(|m| m.torrent_bytes.clone())
        {
            return Ok((h.name().unwrap_or_else(|| id.to_string()), bytes));
        }
        match rec.torrent_bytes {
            Some(b) => Ok((rec.name.unwrap_or_else(|| id.to_string()), b.into())),
            None => Err(EngineError::NoMetadata(id.to_string())),
        }
    }

    /// Opens a reader over one file of a torrent. Reads wait for their pieces and pull
    /// them forward. Holding the reader holds one stream permit.
    pub async fn open_file(&self, id: &str, index: usize) -> EngineResult<FileReader> {
        self.require_running()?;
        self.require_known(id)?;
        let handle = self.handle(id).ok_or_else(|| EngineError::NoMetadata(id.to_string()))?;
        let (name, len) = handle
            .with_metadata(|m| {
                m.file_infos
                    .get(index)
                    .map(|f| (f.relative_filename.to_string_lossy().into_owned(), f.len))
            })
            .map_err(|_| EngineError::NoMetadata(id.to_string()))?
            .ok_or(EngineError::FileNotFound { id: id.to_string(), index })?;
        let permit = self
            .stream_permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| EngineError::Internal(e.into()))?;
        let stream = handle.clone().stream(index).await.map_err(EngineError::Internal)?;
        Ok(FileReader::new(stream, permit, name, len, handle, self.hints.get(id, index)))
    }

    /// Notes that someone watched a torrent (for eviction order).
    pub fn touch_watched(&self, id: &str) {
        let _ = self.store.touch_torrent_watched(id);
    }

    /// The download dir.
    pub fn download_dir(&self) -> &std::path::Path {
        &self.download_dir
    }

    /// Watches torrents for completion and fatal errors, once a second.
    fn spawn_watcher(self: Arc<Self>) {
        let weak = Arc::downgrade(&self);
        drop(self);
        crate::system::spawn("engine-watcher", async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            let mut seen_error: HashMap<String, String> = HashMap::new();
            let mut stalls = Stalls::default();
            let mut missing_folders = HashMap::new();
            loop {
                tick.tick().await;
                let Some(this) = weak.upgrade() else { return Ok(()) };
                let records = this.store.torrents()?;
                stalls.retain(&records);
                this.check_folders(&records, &mut missing_folders).await;
                for rec in records {
                    let Some(h) = this.handle(&rec.info_hash) else { continue };
                    let stats = h.stats();
                    if !rec.paused && !missing_folders.contains_key(&rec.info_hash) && stalls.due(&rec.info_hash, &stats) {
                        this.reconnect(&h).await;
                    }
                    if stats.finished && rec.completed_at.is_none() && stats.total_bytes > 0 {
                        this.note_completion(&rec.info_hash, h.name().as_deref());
                    }
                    if let Some(err) = stats.error {
                        if seen_error.get(&rec.info_hash) != Some(&err) {
                            this.emit("error", &rec.info_hash, h.name().as_deref(), Some(&err));
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
    async fn reconnect(&self, h: &Arc<ManagedTorrent>) {
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

    /// Counts of torrents by status.
    pub fn status_counts(&self) -> EngineResult<HashMap<Status, usize>> {
        let mut m = HashMap::new();
        for t in self.list()? {
            *m.entry(t.status).or_insert(0) += 1;
        }
        Ok(m)
    }

    /// Stops the session, flushing its resume state.
    pub async fn shutdown(&self) {
        for (_, p) in self.pending.lock().unwrap().drain() {
            p.cancel.cancel();
        }
        self.session().stop().await;
    }
}

/// Whether `e` is the disk refusing a torrent's files (read-only, no permission, I/O
/// error, full) rather than the swarm failing.
fn is_disk_error(e: &anyhow::Error) -> bool {
    let s = format!("{e:#}");
    ["os error 30)", "os error 13)", "os error 5)", "os error 28)"].iter().any(|c| s.contains(c))
}

/// Fetches a .torrent from an http(s) URL, bounded in size and time.
async fn fetch_torrent(url: &str) -> EngineResult<TorrentFile> {
    const MAX: usize = 10 << 20;
    let bad = |why: String| EngineError::BadInput(format!("cannot fetch {url}: {why}"));
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| EngineError::Internal(e.into()))?;
    let mut resp = client.get(url).send().await.map_err(|e| bad(e.to_string()))?;
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

/// When unfinished torrents were last seen without any peer at work, and how often
/// they were reconnected since, so that a dead swarm is retried ever more slowly
/// (3 s, 6 s, 12 s … up to 8 min; each resume also announces to the trackers)
/// rather than hammered. A safety net only: the commonest case, a magnet whose one
/// known peer refused the connection that followed the metadata fetch (it still held
/// the fetch's), is retried by our patched librqbit itself within a second
/// (vendor/librqbit/PATCHES.md, tests/fast_start.rs checks this fallback stays idle).
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
