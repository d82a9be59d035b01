//! `AppState`: the handles each part of the daemon needs, built once in `serve` and
//! cloned into every request.

use std::sync::Arc;
use std::time::Instant;

use crate::config::Config;
use crate::engine::Engine;
use crate::store::Store;

#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub store: Store,
    pub engine: Arc<Engine>,
    pub started: Instant,
}

impl AppState {
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
        Ok(Self { config: Arc::new(config), store, engine, started: Instant::now() })
    }
}
