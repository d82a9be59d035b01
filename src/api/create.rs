//! `POST /api/torrents/create`: a torrent made from a file or folder in the download
//! dir, announced on this box's tracker, seeded at once.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use serde::Deserialize;

use super::error::{ApiError, ApiJson, ApiResult};
use super::extract::Caller;
use super::files::resolve;
use super::tracker::PeerAddr;
use crate::api::AppState;
use crate::engine::{AddOptions, TorrentView};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateBody {
    /// A file or folder, relative to the download dir.
    pub path: String,
    /// Trackers besides this box's own.
    #[serde(default)]
    pub trackers: Vec<String>,
    #[serde(default)]
    pub private: bool,
}

/// This box's announce URL: the configured one, or `http://<Host>/announce`.
pub fn own_announce_url(state: &AppState, headers: &HeaderMap) -> String {
    let configured = state.tracker.config().announce_url;
    if !configured.is_empty() {
        return configured;
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            !h.is_empty() && h.len() <= 255 && h.bytes().all(|b| b.is_ascii_alphanumeric() || b".-:[]_".contains(&b))
        })
        .map(str::to_string)
        .unwrap_or_else(|| format!("127.0.0.1:{}", state.config.server.port));
    format!("http://{host}/announce")
}

pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    who: PeerAddr,
    headers: HeaderMap,
    ApiJson(body): ApiJson<CreateBody>,
) -> ApiResult<(StatusCode, ApiJson<TorrentView>)> {
    if body.path.trim().is_empty() {
        return Err(ApiError::bad_request("path is required: a file or folder inside the download dir"));
    }
    if body.trackers.len() > 50 {
        return Err(ApiError::bad_request("at most 50 extra trackers"));
    }
    for t in &body.trackers {
        let ok = url::Url::parse(t).is_ok_and(|u| matches!(u.scheme(), "http" | "https" | "udp"));
        if !ok {
            return Err(ApiError::bad_request(format!(
                "tracker {:?} is not an http(s) or udp tracker URL",
                t.chars().take(100).collect::<String>()
            )));
        }
    }
    let real = resolve(&state, &body.path, &who, Some(&caller))?;
    if real == state.live().storage.download_dir.canonicalize().map_err(ApiError::internal)? {
        return Err(ApiError::bad_request("pick a file or folder inside the download dir, not the dir itself"));
    }
    let mut trackers = Vec::new();
    if state.tracker.is_running() {
        let own = own_announce_url(&state, &headers);
        // A private torrent's own tracker only takes passkeys: the box announces with
        // its creator's.
        match (body.private, caller.user_id) {
            (true, Some(u)) => {
                let key = state.store.passkey(u).map_err(ApiError::internal)?.unwrap_or_default();
                trackers.push(format!("{own}/{key}"));
            }
            _ => trackers.push(own),
        }
    }
    for t in body.trackers {
        if !trackers.contains(&t) {
            trackers.push(t);
        }
    }
    let created = crate::tracker::create::create(&real, &trackers, body.private)
        .await
        .map_err(|e| ApiError::bad_request(format!("cannot create a torrent from {:?}: {e:#}", body.path)))?;
    if body.private {
        let hash = created.torrent.info_hash.clone();
        state.store.set_tracker_private(&hash).map_err(ApiError::internal)?;
    }
    let opts = AddOptions { added_by: caller.user_id, ..Default::default() };
    let view = state.engine.add_existing(created.torrent, created.output_folder, trackers, opts).await?;
    Ok((StatusCode::CREATED, ApiJson(view)))
}
