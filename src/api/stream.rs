//! `/api/stream`: prepare a torrent's video as HLS, serve its playlists and segments,
//! report and stop streams. Every URI in a playlist is relative to the playlist's own
//! URL and carries the request's `file` and `token` parameters.

use std::time::Duration;

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::error::{ApiError, ApiJson, ApiResult, Code};
use super::extract::{Caller, query_param};
use super::open::{carried_query, file_param, not_ready, open_stream, pick_file, player_wait, starving};
use crate::api::AppState;
use crate::engine::{self, AddOptions, EngineError};
use crate::media::{MediaError, StreamKey, playlist};
use crate::store::Purpose;

/// The body of `POST /api/stream`: one source, and optionally the file to play.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamBody {
    pub magnet: Option<String>,
    #[serde(rename = "infoHash", alias = "info_hash")]
    pub info_hash: Option<String>,
    pub magnet_uri: Option<String>,
    #[serde(rename = "fileIndex", alias = "file")]
    pub file_index: Option<usize>,
}

/// A stream's failure in words; the pipeline's own error text goes to the journal.
fn hls_error(e: MediaError) -> ApiError {
    match e {
        MediaError::NoSuchSegment(_) => ApiError::not_found(e.to_string()),
        MediaError::NotReady(..) => ApiError::new(Code::NotReady, e.to_string()).retry_after(3),
        // Media's own sentences ("this film's video (HEVC 10-bit) could not be converted: …")
        // are shown; a pipeline's inner error text only goes to the journal.
        MediaError::Failed(cause) if cause.starts_with("this film") => {
            tracing::warn!("stream failed: {cause}");
            ApiError::new(Code::StreamFailed, cause)
        }
        MediaError::Failed(cause) => {
            tracing::warn!("stream failed: {cause}");
            ApiError::new(Code::StreamFailed, "the media pipeline failed for this film; the daemon's log says why")
        }
    }
}

/// How long a segment request waits with no peer connected before it says NO_SEEDS.
const NO_SEEDS_AFTER: Duration = Duration::from_secs(10);

/// `POST /api/stream`.
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<StreamBody>,
) -> ApiResult<ApiJson<Value>> {
    let given: Vec<&String> = [&body.magnet, &body.info_hash, &body.magnet_uri].into_iter().flatten().collect();
    let uri = match given.as_slice() {
        [one] => one.as_str(),
        [] => {
            return Err(ApiError::bad_request("give one of magnet, infoHash or magnet_uri"));
        }
        _ => {
            return Err(ApiError::bad_request("give only one of magnet, infoHash or magnet_uri"));
        }
    };
    if body.info_hash.is_some() && engine::parse_info_hash(uri).is_none() {
        return Err(ApiError::bad_request("infoHash is not 40 hex or 32 base32 characters"));
    }
    let source = engine::parse_uri_async(uri).await?;
    let opts = AddOptions { purpose: Some(Purpose::Watch), added_by: caller.user_id, ..Default::default() };
    let id = match state.engine.add(source, opts).await {
        Ok(t) => t.id,
        Err(EngineError::AlreadyAdded(id)) => id,
        Err(e) => return Err(e.into()),
    };
    let timeout = Duration::from_secs(state.config.engine.metadata_timeout_secs);
    state.engine.wait_for_metadata(&id, timeout).await?;
    let user = super::watch::user_key(&caller);
    // A season pack starts at the first episode this user has not watched.
    let wanted = body.file_index.or_else(|| super::watch::first_unwatched(&state, user, &id));
    let (index, name, size) = pick_file(&state, &id, wanted)?;
    let stream = open_stream(&state, &id, index, &name).await?;
    state.engine.touch_watched(&id);
    let torrent_name = state.engine.view(&id).map(|v| v.name).unwrap_or_default();
    // A TV or player given these URLs cannot log in: they carry a stream token.
    let token = state.auth.mint_file_token(&id, index, caller.user_id);
    let default_file = state.engine.view(&id).ok().and_then(|v| v.video_file);
    let file_q =
        if body.file_index.is_some() || default_file != Some(index) { format!("&file={index}") } else { String::new() };
    let tracks = super::tracks::track_list(&state, &id, &name, &stream);
    let (resume_at, next) = super::watch::resume_and_next(&state, user, &id, index);
    Ok(ApiJson(json!({
        "status": "STREAM_READY",
        "streamUrl": format!("/api/torrents/{id}/files/{index}?token={token}"),
        "hlsUrl": format!("/api/stream/{id}?token={token}{file_q}"),
        "infoHash": id,
        "name": torrent_name,
        "videoFile": name,
        "fileIndex": index,
        "size": size,
        "duration": stream.info.duration.as_secs_f64(),
        "mode": stream.mode,
        "token": token,
        "audioTracks": tracks.audio_tracks,
        "subtitleTracks": tracks.subtitle_tracks,
        "resumeAt": resume_at,
        "next": next,
    })))
}

fn playlist_response(text: String) -> Response {
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/vnd.apple.mpegurl"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    (headers, text).into_response()
}

fn client_key(raw: Option<&str>, headers: &HeaderMap) -> String {
    query_param(raw, "token")
        .or_else(|| headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).map(str::to_string))
        .unwrap_or_else(|| "anonymous".into())
}

/// `GET /api/stream/{id}`: the master playlist.
pub async fn master(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let (index, name, _) = pick_file(&state, &id, file_param(raw.as_deref())?)?;
    let stream = super::tracks::open_for(&state, &id, index, &name, raw.as_deref()).await?;
    stream.touch_client(&client_key(raw.as_deref(), &headers));
    super::tracks::audio_param(raw.as_deref(), &stream)?;
    let query = carried_query(raw.as_deref());
    let text = playlist::master(&format!("{id}/index.m3u8"), &query, stream.bandwidth, stream.size, &stream.codecs);
    let text = super::tracks::with_renditions(&state, &id, &name, &stream, &text, &query);
    Ok(playlist_response(text))
}

/// `GET /api/stream/{id}/{segment}`: the media playlist (`index.m3u8`) or a segment.
pub async fn segment(
    State(state): State<AppState>,
    Path((id, name)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    caller: Option<Caller>,
) -> ApiResult<Response> {
    let is_playlist = name == "index.m3u8";
    let seg = playlist::parse_segment_name(&name);
    if !is_playlist && seg.is_none() {
        return Err(ApiError::not_found(format!("no segment {name:?}")));
    }
    let (index, name, _) = pick_file(&state, &id, file_param(raw.as_deref())?)?;
    let stream = super::tracks::open_for(&state, &id, index, &name, raw.as_deref()).await?;
    let audio = super::tracks::audio_param(raw.as_deref(), &stream)?;
    let client = client_key(raw.as_deref(), &headers);
    let Some(seg) = seg else {
        stream.touch_client(&client);
        return Ok(playlist_response(stream.media_playlist(&carried_query(raw.as_deref()))));
    };
    let wait = player_wait(&state);
    let asked = std::time::Instant::now();
    // Waits in slices: a segment the torrent cannot supply (no peer for a while and
    // the data missing) gets NO_SEEDS after NO_SEEDS_AFTER, not the whole wait; one
    // still coming (a slow swarm, a slow encoder) gets NOT_READY at the bound.
    let mut starving_since: Option<std::time::Instant> = None;
    let path = loop {
        let left = wait.saturating_sub(asked.elapsed());
        match stream.segment(seg, &client, left.min(Duration::from_secs(2))).await {
            Ok(p) => break p,
            Err(MediaError::NotReady(..)) => {
                if starving(&state, &id) {
                    let since = *starving_since.get_or_insert_with(std::time::Instant::now);
                    if since.elapsed() >= NO_SEEDS_AFTER || asked.elapsed() >= wait {
                        return Err(ApiError::new(
                            Code::NoSeeds,
                            format!(
                                "no peer can supply segment {seg} of torrent {id}: no peer connected for {} s",
                                since.elapsed().as_secs()
                            ),
                        )
                        .retry_after(NO_SEEDS_AFTER.as_secs()));
                    }
                } else {
                    starving_since = None;
                }
                if asked.elapsed() >= wait {
                    let w = stream.waiting_for(seg);
                    return Err(not_ready(&w, stream.mode == crate::media::Mode::Transcode, wait));
                }
            }
            Err(e) => return Err(hls_error(e)),
        }
    };
    let bytes = tokio::fs::read(&path).await.map_err(|e| {
        tracing::warn!("cannot read segment {seg} at {}: {e}", path.display());
        ApiError::new(Code::StreamFailed, format!("segment {seg} left the cache before it could be sent; ask again"))
    })?;
    let bytes = match audio {
        Some(n) => super::tracks::with_audio(&state, &id, index, &name, &stream, n, seg, bytes).await?,
        None => bytes,
    };
    let mut h = HeaderMap::new();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("video/MP2T"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("max-age=3600"));
    crate::media::metrics::observe_segment(asked.elapsed());
    if let Some(c) = &caller {
        let start_s = stream.grid.start_ns(seg) as f64 / 1e9;
        super::watch::follow_segment(&state, c, &id, index, seg, start_s);
    }
    Ok((h, Body::from(bytes)).into_response())
}

/// `GET /api/stream/{id}/status`.
pub async fn status(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult<ApiJson<Value>> {
    let file = file_param(raw.as_deref())?;
    let stream = match file {
        Some(f) => state.media.get(&StreamKey::new(&id, f)),
        None => state.media.of_torrent(&id).into_iter().next(),
    };
    let Some(stream) = stream else {
        return not_yet_a_stream(&state, &id, file);
    };
    let mut v = serde_json::to_value(stream.status()).map_err(ApiError::internal)?;
    v["fileIndex"] = json!(stream.key.file);
    Ok(ApiJson(v))
}

/// The status of a stream a player asked for that does not exist yet: its torrent's
/// metadata or its file's index is on the way (`waiting` says how far), else 404.
fn not_yet_a_stream(state: &AppState, id: &str, file: Option<usize>) -> ApiResult<ApiJson<Value>> {
    if let Some(key) = state.media.find_opening(id).into_iter().find(|k| file.is_none_or(|f| k.file == f))
        && let Some(w) = state.media.opening_wait(&key)
    {
        let index = Some(key.file);
        return Ok(ApiJson(json!({ "state": "opening", "fileIndex": index, "waiting": w })));
    }
    match state.engine.view(id) {
        Ok(v) if v.files.is_empty() => {
            let w = crate::media::Waiting {
                what: "metadata",
                segment: None,
                bytes_needed: 0,
                bytes_have: 0,
                peers: Some(v.peers),
                rate: Some(v.download_rate),
                eta_s: None,
            };
            Ok(ApiJson(json!({ "state": "metadata", "fileIndex": file, "waiting": w })))
        }
        _ => Err(ApiError::not_found(format!("no stream for torrent {id}"))),
    }
}

/// `DELETE /api/stream/{id}`: stops the stream(s) of a torrent and frees the cache.
pub async fn remove(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult<ApiJson<Value>> {
    super::torrents::require_owner(&state, &caller, &id)?;
    // A file's streams: its own and any with subtitles burned in.
    let file = file_param(raw.as_deref())?;
    let keys: Vec<StreamKey> = state
        .media
        .of_torrent(&id)
        .iter()
        .map(|s| s.key.clone())
        .filter(|k| file.is_none_or(|f| k.file == f))
        .collect();
    let removed = keys.iter().filter(|k| state.media.remove(k)).count();
    if removed == 0 {
        return Err(ApiError::not_found(format!("no stream for torrent {id}")));
    }
    Ok(ApiJson(json!({ "message": format!("stopped {removed} stream(s) of {id}") })))
}

/// The transcoder service's status, for `/api/services`.
pub fn transcoder_status(state: &AppState) -> Value {
    json!({
        "running": state.media.is_running(),
        "active_pipelines": state.media.active_pipelines(),
        "streams": state.media.stream_count(),
        "encoders": state.media.encoders(),
        "selected_encoder": state.media.selected_encoder(),
    })
}

/// Stops (ending every pipeline and refusing new streams) and/or starts the transcoder.
pub async fn transcoder_control(state: &AppState, stop: bool, start: bool) {
    if stop {
        state.media.stop_service();
    }
    if start {
        state.media.start_service();
    }
}
