//! Download-client compatibility: the Transmission RPC and the qBittorrent Web API v2,
//! so Sonarr, Radarr, Lidarr and Prowlarr drive the box as one of those clients. Both
//! speak for the same torrents as `/api/torrents`: every action goes through the
//! `Engine` (store, quota, activity log), and categories, save paths and seeding
//! limits are the store's own.

pub mod mapping;
pub mod qbittorrent;
mod qbittorrent_json;
pub mod transmission;

use std::sync::Arc;

use crate::auth::Auth;
use crate::engine::{Engine, EngineError, TorrentView};

/// What the handlers work with.
#[derive(Clone)]
pub struct Ctx {
    pub engine: Arc<Engine>,
    pub auth: Arc<Auth>,
    /// Cookies get `Secure` (served behind a TLS proxy).
    pub secure_cookies: bool,
}

/// Who is calling (the API's guard found them).
#[derive(Clone, Debug, Default)]
pub struct Who {
    pub user_id: Option<i64>,
    pub is_admin: bool,
    /// The hash of the session token when the caller came with a session cookie.
    pub session_hash: Option<String>,
}

impl Who {
    /// Admins may change any torrent, users those they added (as `/api/torrents`).
    pub fn may_change(&self, t: &TorrentView) -> Result<(), EngineError> {
        if self.is_admin || (self.user_id.is_some() && self.user_id == t.added_by) {
            Ok(())
        } else {
            Err(EngineError::BadInput(format!("only its owner or an administrator may change torrent {}", t.id)))
        }
    }
}

/// A category (label) name a client may use: 1–100 characters, no control
/// characters, no `\` or leading/trailing `/` (as qBittorrent).
pub fn valid_category(name: &str) -> bool {
    !name.is_empty()
        && name.chars().count() <= 100
        && !name.chars().any(|c| c.is_control() || c == '\\')
        && !name.starts_with('/')
        && !name.ends_with('/')
        && !name.contains("//")
}
