//! `GET /api/playlist.m3u`: every playable video as an M3U playlist, so VLC or Kodi
//! opens the whole library from one file (or one torrent's, or one file's). Each entry is an absolute URL of the raw
//! file (Range-capable), built from the request's `Host` and carrying a stream token,
//! because the player that opens the file cannot log in.

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};

use super::error::{ApiError, ApiResult, Code};
use super::extract::Caller;
use crate::api::AppState;
use crate::engine::{EngineError, PlayableFile, playable_files};

/// `http://host` (or `https://` behind a TLS proxy) from the request's `Host`.
pub fn base_url(state: &AppState, headers: &HeaderMap) -> String {
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("127.0.0.1");
    let scheme = if state.config.auth.behind_tls_proxy { "https" } else { "http" };
    format!("{scheme}://{host}")
}

/// `GET /api/playlist.m3u[?torrent=ID[&file=INDEX]]`.
pub async fn m3u(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let param = |name: &str| {
        url::form_urlencoded::parse(raw.as_deref().unwrap_or("").as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim().to_ascii_lowercase())
    };
    let torrent = param("torrent");
    let file = match param("file") {
        None => None,
        Some(_) if torrent.is_none() => return Err(ApiError::bad_request("file needs torrent: give both")),
        Some(f) => {
            Some(f.parse::<usize>().map_err(|_| ApiError::bad_request(format!("file {f:?} is not a file index")))?)
        }
    };
    let torrents = match &torrent {
        Some(id) => vec![state.engine.view(id)?],
        None => {
            let mut all = state.engine.list()?;
            all.sort_by(|a, b| a.added_at.cmp(&b.added_at).then_with(|| a.name.cmp(&b.name)));
            all
        }
    };
    let mut files: Vec<PlayableFile> = torrents.iter().flat_map(playable_files).collect();
    if let (Some(id), Some(index)) = (&torrent, file) {
        files.retain(|f| f.index == index);
        if files.is_empty() && !torrents[0].files.is_empty() {
            return Err(ApiError::new(
                Code::NoVideoFile,
                format!("file {index} of torrent {id} is not a selected video file"),
            ));
        }
    }
    if let Some(id) = &torrent
        && files.is_empty()
    {
        let e = if torrents[0].files.is_empty() {
            EngineError::NoMetadata(id.clone()).into()
        } else {
            ApiError::new(Code::NoVideoFile, format!("torrent {id} has no playable video file"))
        };
        return Err(e);
    }
    let base = base_url(&state, &headers);
    let mut out = String::from("#EXTM3U\n");
    let mut tokens = std::collections::HashMap::new();
    for f in &files {
        let token =
            tokens.entry(f.torrent.clone()).or_insert_with(|| state.auth.mint_stream_token(&f.torrent, caller.user_id));
        let secs = state
            .media
            .get(&crate::media::StreamKey::new(&f.torrent, f.index))
            .map(|s| s.info.duration.as_secs_f64().round() as i64)
            .filter(|s| *s > 0)
            .unwrap_or(-1);
        let title: String = f.title.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
        out.push_str(&format!("#EXTINF:{secs},{title}\n"));
        out.push_str(&format!("{base}/api/torrents/{}/files/{}?token={token}\n", f.torrent, f.index));
    }
    let mut h = HeaderMap::new();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("audio/x-mpegurl; charset=utf-8"));
    h.insert(header::CONTENT_DISPOSITION, HeaderValue::from_static("inline; filename=\"swarmcast.m3u\""));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok((h, out).into_response())
}
