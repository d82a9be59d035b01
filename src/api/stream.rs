//! `/api/stream`: prepare a torrent's video as HLS, serve its playlists and segments,
//! report and stop streams. Every URI in a playlist is relative to the playlist's own
//! URL and carries the request's `file` and `token` parameters.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::error::{ApiError, ApiJson, ApiResult, Code};
use super::extract::{Caller, query_param};
use super::open::{open_stream, starving};
use crate::api::AppState;
use crate::engine::{self, AddOptions, EngineError};
use crate::media::{MediaError, Stream, StreamKey, playlist};
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
        .map(|f| {
            f.parse::<usize>()
                .map_err(|_| ApiError::bad_request(format!("file {f:?} is not a file index")))
        })
        .transpose()
}

/// Resolves which file of torrent `id` to play: `file` or the auto-selected video.
pub(super) fn pick_file(state: &AppState, id: &str, file: Option<usize>) -> ApiResult<(usize, String, u64)> {
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
    let f = view.files.get(index).ok_or(EngineError::FileNotFound {
        id: id.to_string(),
        index,
    })?;
    if !engine::is_video(&f.name) {
        return Err(ApiError::new(
            Code::NoVideoFile,
            format!("file {index} of torrent {id} is not a video"),
        ));
    }
    Ok((index, f.name.clone(), f.size))
}

/// How long a segment request waits with no peer connected before it says NO_SEEDS.
const NO_SEEDS_AFTER: Duration = Duration::from_secs(10);

/// The longest a player's request waits before it is answered. Players give up on a
/// request after about 30 s (hls.js asks again after 10 s without a first byte), so
/// `media.segment_wait_secs` is held under that.
pub const PLAYER_WAIT_MAX: Duration = Duration::from_secs(25);

/// How long a player's request (playlist or segment) may wait: `segment_wait_secs`,
/// 1 to `PLAYER_WAIT_MAX` s.
fn player_wait(state: &AppState) -> Duration {
    Duration::from_secs(state.live().media.segment_wait_secs).clamp(Duration::from_secs(1), PLAYER_WAIT_MAX)
}

/// `NOT_READY` (503): what the request waited `waited` for, in words and as `waiting`,
/// with a `Retry-After` for when the bytes should be here.
fn not_ready(w: &crate::media::Waiting, converting: bool, waited: Duration) -> ApiError {
    let mut e = ApiError::new(
        Code::NotReady,
        format!("{} (waited {} s); ask again", w.words(converting), waited.as_secs()),
    )
    .retry_after(w.retry_after());
    e.waiting = serde_json::to_value(w).ok();
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

/// `POST /api/stream`.
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<StreamBody>,
) -> ApiResult<ApiJson<Value>> {
    let given: Vec<&String> = [&body.magnet, &body.info_hash, &body.magnet_uri]
        .into_iter()
        .flatten()
        .collect();
    let uri = match given.as_slice() {
        [one] => one.as_str(),
        [] => {
            return Err(ApiError::bad_request(
                "give one of magnet, infoHash or magnet_uri",
            ));
        }
        _ => {
            return Err(ApiError::bad_request(
                "give only one of magnet, infoHash or magnet_uri",
            ));
        }
    };
    if body.info_hash.is_some() && engine::parse_info_hash(uri).is_none() {
        return Err(ApiError::bad_request(
            "infoHash is not 40 hex or 32 base32 characters",
        ));
    }
    let source = engine::parse_uri_async(uri).await?;
    let opts = AddOptions {
        purpose: Some(Purpose::Watch),
        added_by: caller.user_id,
        ..Default::default()
    };
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
    let file_q = if body.file_index.is_some() || default_file != Some(index) {
        format!("&file={index}")
    } else {
        String::new()
    };
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
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/vnd.apple.mpegurl"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    (headers, text).into_response()
}

fn client_key(raw: Option<&str>, headers: &HeaderMap) -> String {
    query_param(raw, "token")
        .or_else(|| {
            headers
                .get(header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        })
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
    let text = playlist::master(
        &format!("{id}/index.m3u8"),
        &query,
        stream.bandwidth,
        stream.size,
        &stream.codecs,
    );
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
        return Ok(playlist_response(
            stream.media_playlist(&carried_query(raw.as_deref())),
        ));
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
                            format!("no peer can supply segment {seg} of torrent {id}: no peer connected for {} s", since.elapsed().as_secs()),
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
    Ok(ApiJson(
        json!({ "message": format!("stopped {removed} stream(s) of {id}") }),
    ))
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
