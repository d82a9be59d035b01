//! `AppState`: the handles each part of the daemon needs, built once in `serve` and
//! cloned into every request.

use std::sync::Arc;
use std::time::Instant;

use crate::auth::{Auth, SystemClock};
use crate::config::Config;
use crate::engine::Engine;
use crate::media::Media;
use crate::store::Store;
use crate::tracker::Tracker;

#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub store: Store,
    pub engine: Arc<Engine>,
    /// Encoder registry and HLS streams.
    pub media: Arc<Media>,
    pub started: Instant,
    /// Accounts, sessions, API keys, stream tokens, rate limits.
    pub auth: Arc<Auth>,
    /// The built-in BitTorrent tracker.
    pub tracker: Arc<Tracker>,
    /// The DLNA media server's identity (its SSDP task runs in `serve`).
    pub dlna: Arc<crate::dlna::Dlna>,
}

impl AppState {
    /// The config in force now: `config` as changed at run time (`PATCH /api/config`).
    /// `config` itself is the start-up config, for what only a restart changes.
    pub fn live(&self) -> Arc<Config> {
        self.engine.live().get()
    }

    /// Opens the store and starts the engine, restoring every torrent.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let store = Store::open(&config.storage.state_dir)?;
        // Settings changed through `PATCH /api/config` win over the file and env.
        let config = crate::settings::apply_persisted(&store, config)?;
        crate::settings::check_paths(&config)?;
        let engine = Engine::open(&config, store.clone()).await?;
        // Disk management: hooks first, so they see every later event.
        crate::hooks::spawn(&engine);
        crate::quota::spawn_guard(&engine);
        crate::library::spawn_mover(&engine);
        crate::seeding::spawn_maintenance(&engine);
        crate::watch::spawn(&engine);
        let auth = Arc::new(Auth::open(&config, store.clone(), Arc::new(SystemClock))?);
        let tracker = Arc::new(Tracker::new(&config.tracker, store.clone())?);
        tracker.spawn_sweeper();
        let media = Media::new(config.media.clone(), config.storage.cache_dir.join("hls"));
        media.start();
        let dlna = Arc::new(crate::dlna::Dlna::open(config.dlna.clone(), &config.storage.state_dir)?);
        Ok(Self { config: Arc::new(config), store, engine, media, started: Instant::now(), auth, tracker, dlna })
    }
}
