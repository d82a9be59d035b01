//! Opening a torrent file's stream (probing it on first use), for every handler that
//! plays one: the stream API, the next-episode preparation and the renderers.

use std::sync::Arc;
use std::time::Duration;

use super::error::{ApiError, ApiResult, Code};
use crate::api::AppState;
use crate::media::{Stream, StreamKey, TorrentSource};

/// Whether torrent `id` is unfinished with no peer connected.
pub fn starving(state: &AppState, id: &str) -> bool {
    state.engine.view(id).is_ok_and(|v| v.peers == 0 && v.progress < 100.0)
}

/// Opens (probing on first use) the stream of file `index` of torrent `id`.
pub async fn open_stream(
    state: &AppState,
    id: &str,
    index: usize,
    name: &str,
) -> ApiResult<Arc<Stream>> {
    let key = StreamKey::new(id, index);
    let source = Arc::new(TorrentSource {
        engine: state.engine.clone(),
        id: id.to_string(),
        index,
        name: name.to_string(),
    });
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
