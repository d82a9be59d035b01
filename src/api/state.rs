//! `AppState`: the handles every request handler needs, built once by the daemon at
//! start and cloned into every request.

use std::sync::Arc;
use std::time::Instant;

use tokio_util::sync::CancellationToken;

use crate::auth::Auth;
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
    /// The DLNA media server's identity (its SSDP task runs in the daemon).
    pub dlna: Arc<crate::lan::dlna::Dlna>,
    /// Cancelled when the daemon stops; tasks a request starts end with it.
    pub shutdown: CancellationToken,
    /// The last pages of the torrent list as served.
    pub list_cache: Arc<super::paging::ListCache>,
    /// UPnP renderers (TVs) found on the LAN, for "Play on…".
    pub renderers: Arc<crate::lan::renderers::Renderers>,
    /// Players followed from their segments, and next episodes prepared.
    pub watch_follow: Arc<super::follow::Follow>,
}

impl AppState {
    /// The config in force now: `config` as changed at run time (`PATCH /api/config`).
    /// `config` itself is the start-up config, for what only a restart changes.
    pub fn live(&self) -> Arc<Config> {
        self.engine.live().get()
    }
}
