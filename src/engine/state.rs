//! The `Engine` itself: its parts, starting and stopping it, events, and the accessors
//! the other engine modules share.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

use anyhow::Context;
use librqbit::api::TorrentIdOrHash;
use librqbit::{ManagedTorrent, Session};
use tokio::sync::{Semaphore, broadcast};
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::store::{Store, TorrentRecord, now_rfc3339};

use super::error::{EngineError, EngineResult};
use super::events::{Event, EventKind};
use super::input::parse_info_hash;
use super::reader::FileReader;

/// A magnet whose metadata is still being fetched.
pub(super) struct Pending {
    pub(super) cancel: CancellationToken,
    pub(super) name: Option<String>,
    pub(super) error: Option<String>,
    /// The last failure was the download folder refusing the files (read-only, no
    /// permission): the torrent shows as `error` while the fetch goes on retrying.
    pub(super) disk_error: bool,
    /// Resolves when the torrent is in the session (or the fetch failed).
    pub(super) done: tokio::sync::watch::Receiver<bool>,
}

/// When a peer (torrent, address) was last sampled, and its downloaded and uploaded bytes then.
type PeerSample = (Instant, u64, u64);

/// The engine. Cheap to share behind an `Arc`.
pub struct Engine {
    pub(super) session: RwLock<Arc<Session>>,
    pub(super) running: AtomicBool,
    pub(super) config: Config,
    pub(super) store: Store,
    pub(super) download_dir: PathBuf,
    pub(super) default_trackers: Vec<String>,
    /// Magnets waiting for metadata, by info-hash.
    pub(super) pending: Mutex<HashMap<String, Pending>>,
    /// Fatal errors of torrents, kept so they survive the torrent's handle.
    pub(super) errors: Mutex<HashMap<String, String>>,
    /// Magnets the quota refused once their metadata told their size.
    pub(super) refused: Mutex<std::collections::HashSet<String>>,
    pub(super) events: broadcast::Sender<Event>,
    /// Serialises adding torrents to the session (see `add_to_session`).
    pub(super) add_lock: tokio::sync::Mutex<()>,
    /// Caps open readers so that they cannot hold every blocking permit of the session.
    pub(super) stream_permits: Arc<Semaphore>,
    /// Last per-peer counters, to turn byte counts into speeds.
    pub(super) peer_samples: Mutex<HashMap<(String, String), PeerSample>>,
    /// The run-time config (paths, quota, limits), changed by `PATCH /api/config`.
    pub(super) live: Arc<crate::config::live::Live>,
    /// Bumped by every event and error: a list page cached before it is stale.
    pub(super) generation: std::sync::atomic::AtomicU64,
    /// Cancelled when the daemon stops: ends every background task of the engine.
    pub(super) shutdown: CancellationToken,
    /// Bitrates of files, which size their readers' read-ahead (see `prefetch`).
    pub(super) hints: super::prefetch::Hints,
}

impl Engine {
    /// Starts the librqbit session and restores every torrent the store knows. The
    /// engine's background tasks end when `shutdown` is cancelled.
    pub async fn open(config: &Config, store: Store, shutdown: CancellationToken) -> anyhow::Result<Arc<Self>> {
        std::fs::create_dir_all(&config.storage.download_dir)
            .with_context(|| format!("creating download dir {}", config.storage.download_dir.display()))?;
        let session = super::session::start(config).await?;
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
            live: Arc::new(crate::config::live::Live::new(config.clone(), store_for_live)),
            generation: std::sync::atomic::AtomicU64::new(0),
            shutdown,
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
        let session = super::session::start(&self.config).await?;
        *self.session.write().unwrap() = session;
        self.running.store(true, Ordering::SeqCst);
        self.restore().await?;
        tracing::info!("engine started");
        Ok(())
    }

    pub(super) fn require_running(&self) -> EngineResult<()> {
        if self.is_running() { Ok(()) } else { Err(EngineError::Stopped) }
    }

    /// The librqbit session, for the parts (stats, services) that need it directly.
    /// It is replaced when the engine service restarts: do not keep it.
    pub(super) fn session(&self) -> Arc<Session> {
        self.session.read().unwrap().clone()
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The run-time config: paths, quota, limits, rules.
    /// The hosts the config file names (indexers, webhooks): the only ones fetched
    /// from on the LAN or this box.
    pub fn named_hosts(&self) -> crate::system::outbound::Allowed {
        let c = self.live().get();
        crate::system::outbound::Allowed::from_urls(
            c.search.indexers.iter().map(|i| i.url.as_str()).chain(c.hooks.webhooks.iter().map(String::as_str)),
        )
    }

    pub fn live(&self) -> &Arc<crate::config::live::Live> {
        &self.live
    }

    /// Subscribes to torrent events.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.events.subscribe()
    }

    /// Logs an event to the activity log and broadcasts it.
    pub fn emit(&self, event: EventKind, id: &str, name: Option<&str>, detail: Option<&str>) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        if let Err(e) = self.store.log_activity(event.as_str(), Some(id), name, detail) {
            tracing::warn!(torrent_id = id, "cannot write activity log: {e:#}");
        }
        tracing::info!(torrent_id = id, event = event.as_str(), detail, "{}", name.unwrap_or(id));
        let _ = self.events.send(Event {
            event,
            torrent_id: id.to_string(),
            name: name.map(str::to_string),
            detail: detail.map(str::to_string),
            time: now_rfc3339(),
        });
    }

    /// The session's handle of a torrent, once it has one.
    pub fn handle(&self, id: &str) -> Option<Arc<ManagedTorrent>> {
        let hash = <librqbit::dht::Id20 as std::str::FromStr>::from_str(id).ok()?;
        self.session().get(TorrentIdOrHash::Hash(hash))
    }

    pub(super) fn require_known(&self, id: &str) -> EngineResult<TorrentRecord> {
        if parse_info_hash(id).as_deref() != Some(id) {
            return Err(EngineError::NotFound(id.to_string()));
        }
        self.store.torrent(id)?.ok_or_else(|| EngineError::NotFound(id.to_string()))
    }

    pub(crate) fn set_error(&self, id: &str, msg: String) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        self.errors.lock().unwrap().insert(id.to_string(), msg);
    }

    /// Opens a reader over one file of a torrent. Reads wait for their pieces and pull
    /// them forward. Holding the reader holds one stream permit.
    pub async fn open_file(&self, id: &str, index: usize) -> EngineResult<FileReader> {
        self.require_running()?;
        self.require_known(id)?;
        let handle = self.handle(id).ok_or_else(|| EngineError::NoMetadata(id.to_string()))?;
        let (name, len) = handle
            .with_metadata(|m| {
                m.file_infos.get(index).map(|f| (f.relative_filename.to_string_lossy().into_owned(), f.len))
            })
            .map_err(|_| EngineError::NoMetadata(id.to_string()))?
            .ok_or(EngineError::FileNotFound { id: id.to_string(), index })?;
        let permit = self.stream_permits.clone().acquire_owned().await.map_err(|e| EngineError::Internal(e.into()))?;
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

    /// The token that ends the engine's background tasks (and those spawned for it).
    pub fn shutdown_token(&self) -> &CancellationToken {
        &self.shutdown
    }

    /// Stops the background tasks and the session, flushing its resume state.
    pub async fn shutdown(&self) {
        self.shutdown.cancel();
        for (_, p) in self.pending.lock().unwrap().drain() {
            p.cancel.cancel();
        }
        self.session().stop().await;
    }
}
