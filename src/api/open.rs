//! What every request that plays a torrent file shares (the stream and tracks APIs, the
//! next-episode preparation, the renderers): its `file`/`token`/`audio`/`burn`
//! parameters, which file it plays, and opening that file's stream (probing it on
//! first use) within a player's patience.

use std::sync::Arc;
use std::time::Duration;

use super::error::{ApiError, ApiResult, Code};
use super::extract::query_param;
use crate::api::AppState;
use crate::engine::{self, EngineError};
use crate::media::{Stream, StreamKey, TorrentSource};

/// Whether torrent `id` is unfinished with no peer connected.
pub fn starving(state: &AppState, id: &str) -> bool {
    state.engine.view(id).is_ok_and(|v| v.peers == 0 && v.progress < 100.0)
}

/// Opens (probing on first use) the stream of file `index` of torrent `id`.
pub async fn open_stream(state: &AppState, id: &str, index: usize, name: &str) -> ApiResult<Arc<Stream>> {
    let key = StreamKey::new(id, index);
    let source =
        Arc::new(TorrentSource { engine: state.engine.clone(), id: id.to_string(), index, name: name.to_string() });
    let timeout = Duration::from_secs(state.live().media.probe_timeout_secs);
    state.media.open(&key, source, timeout).await.map_err(|e| {
        if starving(state, id) {
            tracing::info!("stream of {id} waits for peers: {e:#}");
            ApiError::new(Code::NoSeeds, format!("no peer can supply torrent {id}: none is connected"))
        } else {
            tracing::warn!("stream {key} cannot be prepared: {e:#}");
            ApiError::new(
                Code::StreamFailed,
                "the video could not be read or probed for streaming; the daemon's log says why",
            )
        }
    })
}

/// The `file`, `token`, `audio` and `burn` parameters of a query, verbatim, to append
/// to playlist URIs.
pub fn carried_query(raw: Option<&str>) -> String {
    raw.unwrap_or("")
        .split('&')
        .filter(|p| ["file=", "token=", "audio=", "burn="].iter().any(|k| p.starts_with(k)))
        .collect::<Vec<_>>()
        .join("&")
}

/// The `file` parameter (a file index) of a query, if given.
pub fn file_param(raw: Option<&str>) -> ApiResult<Option<usize>> {
    query_param(raw, "file")
        .map(|f| f.parse::<usize>().map_err(|_| ApiError::bad_request(format!("file {f:?} is not a file index"))))
        .transpose()
}

/// Resolves which file of torrent `id` to play: `file` or the auto-selected video.
pub fn pick_file(state: &AppState, id: &str, file: Option<usize>) -> ApiResult<(usize, String, u64)> {
    let view = state.engine.view(id)?;
    if view.files.is_empty() {
        return Err(EngineError::NoMetadata(id.to_string()).into());
    }
    let index = match file {
        Some(i) => i,
        None => view.video_file.ok_or_else(|| {
            let why = engine::why_no_video(view.files.iter().map(|f| f.name.as_str()));
            ApiError::new(Code::NoVideoFile, format!("torrent {id} has no playable video file: {why}"))
        })?,
    };
    let f = view.files.get(index).ok_or(EngineError::FileNotFound { id: id.to_string(), index })?;
    if !engine::is_video(&f.name) {
        return Err(ApiError::new(Code::NoVideoFile, format!("file {index} of torrent {id} is not a video")));
    }
    Ok((index, f.name.clone(), f.size))
}

/// The longest a player's request waits before it is answered. Players give up on a
/// request after about 30 s (hls.js asks again after 10 s without a first byte), so
/// `media.segment_wait_secs` is held under that.
pub const PLAYER_WAIT_MAX: Duration = Duration::from_secs(25);

/// How long a player's request (playlist or segment) may wait: `segment_wait_secs`,
/// 1 to `PLAYER_WAIT_MAX` s.
pub fn player_wait(state: &AppState) -> Duration {
    Duration::from_secs(state.live().media.segment_wait_secs).clamp(Duration::from_secs(1), PLAYER_WAIT_MAX)
}

/// `NOT_READY` (503): what the request waited `waited` for, in words and as `waiting`,
/// with a `Retry-After` for when the bytes should be here.
pub fn not_ready(w: &crate::media::Waiting, converting: bool, waited: Duration) -> ApiError {
    let mut e =
        ApiError::new(Code::NotReady, format!("{} (waited {} s); ask again", w.words(converting), waited.as_secs()))
            .retry_after(w.retry_after());
    e.waiting = serde_json::to_value(w).ok().map(Box::new);
    e
}

/// `open_stream` for a player's request: the probe goes on in the background, and a
/// request it outlasts (the index still downloading) gets `NOT_READY` at the bound
/// instead of a wait the player would give up on.
pub(super) async fn open_for_player(state: &AppState, id: &str, index: usize, name: &str) -> ApiResult<Arc<Stream>> {
    let key = StreamKey::new(id, index);
    if let Some(s) = state.media.get(&key) {
        return Ok(s);
    }
    let wait = player_wait(state);
    let (st, id2, name2) = (state.clone(), id.to_string(), name.to_string());
    let (tx, rx) = tokio::sync::oneshot::channel();
    crate::system::spawn("stream-open", &state.shutdown, async move {
        let _ = tx.send(open_stream(&st, &id2, index, &name2).await);
        Ok(())
    });
    match tokio::time::timeout(wait, rx).await {
        Ok(Ok(r)) => r,
        Ok(Err(_)) => Err(ApiError::new(Code::ServiceUnavailable, "the daemon is shutting down")),
        Err(_) => {
            let w = state.media.opening_wait(&key).unwrap_or(crate::media::Waiting {
                what: "index",
                segment: None,
                bytes_needed: 0,
                bytes_have: 0,
                peers: None,
                rate: None,
                eta_s: None,
            });
            Err(not_ready(&w, false, wait))
        }
    }
}
