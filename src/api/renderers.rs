//! `/api/renderers`: UPnP MediaRenderers (TVs) on the LAN, and playing a torrent's
//! stream on one ("Play on…") with a remote: pause, resume, seek, stop, volume, status.

use std::time::Duration;

use axum::extract::{Path, State};
use serde::Deserialize;
use serde_json::{Value, json};

use super::error::{ApiError, ApiJson, ApiResult, Code};
use super::extract::Caller;
use crate::api::AppState;
use crate::lan::renderers::Renderer;
use crate::lan::renderers::control::{self, AvTransport};

/// How long `play` waits for the renderer to start before it seeks to `position_s`.
const START_WAIT: Duration = Duration::from_secs(20);

fn refused(e: String) -> ApiError {
    ApiError::new(Code::ServiceUnavailable, format!("the renderer: {e}"))
}

async fn renderer(state: &AppState, id: &str) -> ApiResult<Renderer> {
    state.renderers.get(id).await.ok_or_else(|| ApiError::not_found(format!("no renderer {id} on the LAN")))
}

fn av<'a>(state: &'a AppState, r: &'a Renderer) -> AvTransport<'a> {
    AvTransport { client: state.renderers.client(), url: &r.av_transport }
}

/// `GET /api/renderers` (query `refresh=1` searches again now).
pub async fn list(
    State(state): State<AppState>,
    _caller: Caller,
    axum::extract::RawQuery(raw): axum::extract::RawQuery,
) -> ApiResult<ApiJson<Vec<Value>>> {
    let fresh = super::extract::query_param(raw.as_deref(), "refresh").is_some_and(|v| v == "1" || v == "true");
    let mut out = Vec::new();
    for r in state.renderers.list(fresh).await {
        // The state is the renderer's own; one that does not answer says so.
        let st = match tokio::time::timeout(Duration::from_secs(2), av(&state, &r).transport()).await {
            Ok(Ok(t)) => t.state,
            _ => "UNREACHABLE".to_string(),
        };
        let mut v = serde_json::to_value(&r).map_err(ApiError::internal)?;
        v["state"] = json!(st);
        out.push(v);
    }
    Ok(ApiJson(out))
}

/// The body of `POST /api/renderers/{id}/play`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlayBody {
    pub torrent: String,
    pub file: Option<usize>,
    pub position_s: Option<f64>,
}

/// `POST /api/renderers/{id}/play`: the renderer fetches the HLS stream from the box's
/// address on its subnet, with a stream token.
pub async fn play(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<PlayBody>,
) -> ApiResult<ApiJson<Value>> {
    if body.position_s.is_some_and(|p| !p.is_finite() || p < 0.0) {
        return Err(ApiError::bad_request("position_s must be a number of seconds, 0 or more"));
    }
    let torrent = body.torrent.to_ascii_lowercase();
    let view = state.engine.view(&torrent)?;
    let user = super::watch::user_key(&caller);
    let index = match body.file.or_else(|| super::watch::first_unwatched(&state, user, &torrent)).or(view.video_file) {
        Some(i) => i,
        None => return Err(ApiError::new(Code::NoVideoFile, format!("torrent {torrent} has no playable video file"))),
    };
    let f =
        view.files.get(index).ok_or_else(|| ApiError::not_found(format!("torrent {torrent} has no file {index}")))?;
    if !crate::engine::is_video(&f.name) {
        return Err(ApiError::new(Code::NoVideoFile, format!("file {index} of torrent {torrent} is not a video")));
    }
    let r = renderer(&state, &id).await?;
    // Probe first, so the playlist the TV fetches covers the whole film at once.
    let stream = super::open::open_stream(&state, &torrent, index, &f.name).await?;
    let token = state.auth.mint_stream_token(&torrent, caller.user_id);
    // The media playlist: TVs (and GStreamer 1.20's hlsdemux) handle a plain media
    // playlist with muxed audio better than a master with renditions.
    let url = format!(
        "http://{}:{}/api/stream/{torrent}/index.m3u8?file={index}&token={token}",
        r.local_ip, state.config.server.port
    );
    let title =
        if view.files.len() > 1 { f.name.rsplit('/').next().unwrap_or(&f.name).to_string() } else { view.name.clone() };
    let meta = control::didl(&title, &url, crate::lan::dlna::HLS_PROTOCOL_INFO);
    let t = av(&state, &r);
    // A renderer playing something else must stop before it takes a new URI.
    let _ = t.stop().await;
    t.set_uri(&url, &meta).await.map_err(refused)?;
    t.play().await.map_err(refused)?;
    state.renderers.set_playing(&r.id, Some((torrent.clone(), index)));
    let position = body.position_s.unwrap_or(0.0);
    if position > 0.0 {
        // Seek once the renderer has the stream open (TVs refuse a Seek while TRANSITIONING).
        let deadline = tokio::time::Instant::now() + START_WAIT;
        loop {
            if let Ok(tr) = t.transport().await
                && tr.state == "PLAYING"
            {
                break;
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(ApiError::new(
                    Code::ServiceUnavailable,
                    format!(
                        "the renderer did not start playing within {} s, so it was not sent to {position} s",
                        START_WAIT.as_secs()
                    ),
                ));
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        t.seek(position).await.map_err(refused)?;
    }
    Ok(ApiJson(json!({
        "message": format!("{} plays {}", r.name, title),
        "url": url,
        "torrent": torrent,
        "file": index,
        "duration_s": stream.info.duration.as_secs_f64(),
    })))
}

/// `POST /api/renderers/{id}/pause`.
pub async fn pause(State(state): State<AppState>, _c: Caller, Path(id): Path<String>) -> ApiResult<ApiJson<Value>> {
    let r = renderer(&state, &id).await?;
    av(&state, &r).pause().await.map_err(refused)?;
    Ok(ApiJson(json!({ "message": "paused" })))
}

/// `POST /api/renderers/{id}/resume`.
pub async fn resume(State(state): State<AppState>, _c: Caller, Path(id): Path<String>) -> ApiResult<ApiJson<Value>> {
    let r = renderer(&state, &id).await?;
    av(&state, &r).play().await.map_err(refused)?;
    Ok(ApiJson(json!({ "message": "playing" })))
}

/// `POST /api/renderers/{id}/stop`.
pub async fn stop(State(state): State<AppState>, _c: Caller, Path(id): Path<String>) -> ApiResult<ApiJson<Value>> {
    let r = renderer(&state, &id).await?;
    av(&state, &r).stop().await.map_err(refused)?;
    state.renderers.set_playing(&r.id, None);
    Ok(ApiJson(json!({ "message": "stopped" })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeekBody {
    pub position_s: f64,
}

/// `POST /api/renderers/{id}/seek`.
pub async fn seek(
    State(state): State<AppState>,
    _c: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<SeekBody>,
) -> ApiResult<ApiJson<Value>> {
    if !body.position_s.is_finite() || body.position_s < 0.0 {
        return Err(ApiError::bad_request("position_s must be a number of seconds, 0 or more"));
    }
    let r = renderer(&state, &id).await?;
    av(&state, &r).seek(body.position_s).await.map_err(refused)?;
    Ok(ApiJson(json!({ "message": format!("sent to {}", control::format_time(body.position_s)) })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VolumeBody {
    pub volume: u8,
}

/// `POST /api/renderers/{id}/volume`: `{volume}` 0–100.
pub async fn volume(
    State(state): State<AppState>,
    _c: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<VolumeBody>,
) -> ApiResult<ApiJson<Value>> {
    if body.volume > 100 {
        return Err(ApiError::bad_request("volume is 0 to 100"));
    }
    let r = renderer(&state, &id).await?;
    let url = r
        .rendering_control
        .as_deref()
        .ok_or_else(|| ApiError::new(Code::ServiceUnavailable, "this renderer offers no volume control"))?;
    control::set_volume(state.renderers.client(), url, body.volume).await.map_err(refused)?;
    Ok(ApiJson(json!({ "message": format!("volume {}", body.volume) })))
}

/// `GET /api/renderers/{id}/status`.
pub async fn status(State(state): State<AppState>, _c: Caller, Path(id): Path<String>) -> ApiResult<ApiJson<Value>> {
    let r = renderer(&state, &id).await?;
    let t = av(&state, &r).transport().await.map_err(refused)?;
    let volume = match &r.rendering_control {
        Some(u) => control::volume(state.renderers.client(), u).await.ok().flatten(),
        None => None,
    };
    // Only what the box sent counts as its torrent: a TV may play something else.
    let playing = state.renderers.playing(&r.id).filter(|(id, _)| t.uri.contains(&format!("/api/stream/{id}")));
    Ok(ApiJson(json!({
        "state": t.state,
        "position_s": t.position_s,
        "duration_s": t.duration_s,
        "torrent": playing.as_ref().map(|p| p.0.clone()),
        "file": playing.as_ref().map(|p| p.1),
        "volume": volume,
        "name": r.name,
    })))
}
