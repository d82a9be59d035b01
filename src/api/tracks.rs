//! A stream's tracks: `GET /api/stream/{id}/tracks`, the subtitle renditions of the
//! master playlist, and `GET /api/stream/{id}/subtitles/{name}` (a whole track as one
//! WebVTT file, its segmented playlist, and its segments).

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use tokio::io::AsyncReadExt;

use super::error::{ApiError, ApiJson, ApiResult, Code};
use super::open::open_stream;
use super::open::{carried_query, file_param, open_for_player, pick_file};
use crate::api::AppState;
use crate::media::subtitles::{self, Cue, TextFormat};
use crate::media::tracks::{self, SubSource, TrackList};
use crate::media::{Stream, TorrentSource, renditions, subextract};

/// The largest sidecar subtitle file read (bytes).
const MAX_SIDECAR: u64 = 16 << 20;

/// The audio and subtitle tracks of file `index` (named `name`) of torrent `id`.
pub fn track_list(state: &AppState, id: &str, name: &str, stream: &Stream) -> TrackList {
    let view = state.engine.view(id).ok();
    let files = view.as_ref().map(|v| v.files.as_slice()).unwrap_or_default();
    let videos = files.iter().filter(|f| f.is_video).count();
    let sidecars = tracks::sidecars(name, files.iter().map(|f| (f.index, f.name.as_str())), videos);
    let audio_tracks = tracks::audio_tracks(&stream.info, &state.live().media.audio_languages);
    let audio_language = audio_tracks.iter().find(|a| a.default).and_then(|a| a.language.clone());
    TrackList {
        subtitle_tracks: tracks::subtitle_tracks(
            &stream.info,
            &stream.info.subtitles,
            sidecars,
            audio_language.as_deref(),
        ),
        audio_tracks,
    }
}

/// The master playlist `text` with a rendition for every audio track and every
/// supported subtitle track.
/// With `audio=N` (a player that ignores renditions) the audio is in the main
/// segments, so no audio rendition is offered.
pub fn with_renditions(state: &AppState, id: &str, name: &str, stream: &Stream, text: &str, query: &str) -> String {
    let mut list = track_list(state, id, name, stream);
    if query.split('&').any(|p| p.starts_with("audio=")) {
        list.audio_tracks.clear();
    }
    // With `burn=N` the subtitles are in the picture.
    if query.split('&').any(|p| p.starts_with("burn=")) {
        list.subtitle_tracks.clear();
    }
    let uri = |kind: &str, n: usize| {
        let uri = format!("{id}/{kind}/{n}.m3u8");
        if query.is_empty() { uri } else { format!("{uri}?{query}") }
    };
    tracks::with_renditions(
        text,
        &list.audio_tracks,
        &list.subtitle_tracks,
        |n| uri("audio", n),
        |n| uri("subtitles", n),
    )
}

/// `GET /api/stream/{id}/audio/{name}`: `{n}.m3u8`, the playlist of audio rendition n,
/// or `{n}-{i}.ts`, its segment i (AAC stereo, audio-only MPEG-TS on the video's grid).
pub async fn audio(
    State(state): State<AppState>,
    Path((id, file)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let seg = renditions::parse_segment_name(&file);
    let playlist = file.strip_suffix(".m3u8").and_then(|n| n.parse::<usize>().ok());
    let n = seg.map(|s| s.0).or(playlist).ok_or_else(|| {
        ApiError::not_found(format!("no audio file {file:?}: ask for {{n}}.m3u8 or {{n}}-{{segment}}.ts"))
    })?;
    let (index, name, _) = pick_file(&state, &id, file_param(raw.as_deref())?)?;
    let stream = open_for(&state, &id, index, &name, raw.as_deref()).await?;
    if n >= stream.info.audio.len() {
        return Err(ApiError::not_found(format!(
            "file {index} of torrent {id} has {} audio track(s); there is no track {n}",
            stream.info.audio.len()
        )));
    }
    let Some((_, i)) = seg else {
        return Ok(with_type(
            "application/vnd.apple.mpegurl",
            renditions::playlist(&stream.grid, n, &carried_query(raw.as_deref())),
        ));
    };
    let bytes = audio_segment(&state, &id, index, &name, &stream, n, i).await?;
    let mut h = HeaderMap::new();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("video/MP2T"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("max-age=3600"));
    Ok((h, bytes).into_response())
}

/// Segment `i` of audio rendition `n` (AAC stereo, audio-only MPEG-TS on the video's grid).
pub async fn audio_segment(
    state: &AppState,
    id: &str,
    index: usize,
    name: &str,
    stream: &Stream,
    n: usize,
    i: usize,
) -> ApiResult<Vec<u8>> {
    let Some(track) = stream.info.audio.get(n) else {
        return Err(ApiError::not_found(format!(
            "file {index} of torrent {id} has {} audio track(s); there is no track {n}",
            stream.info.audio.len()
        )));
    };
    if i >= stream.grid.count {
        return Err(ApiError::not_found(format!("no audio segment {i}: the stream has {}", stream.grid.count)));
    }
    let start = stream.grid.start_ns(i);
    let end = start + stream.grid.duration_of(i);
    let copy = track.codec == "audio/aac" && track.channels == 2;
    let source = TorrentSource { engine: state.engine.clone(), id: id.to_string(), index, name: name.to_string() };
    let timeout = Duration::from_secs(state.live().media.segment_wait_secs);
    let key = (n, track.stream_key.clone());
    let mut tries = 0;
    loop {
        tries += 1;
        match renditions::segment(&source, key.clone(), (start, end), (copy, Some(track.codec.clone())), timeout).await
        {
            Ok(b) => return Ok(b),
            // A run that failed (not one that timed out) is tried once more.
            Err(e) if tries < 2 && !format!("{e:#}").contains("longer than") => {
                tracing::warn!("audio rendition {n} segment {i} of {id}/{index}, trying again: {e:#}");
            }
            Err(e) => {
                tracing::warn!("audio rendition {n} segment {i} of {id}/{index}: {e:#}");
                return Err(ApiError::new(
                    Code::StreamFailed,
                    format!("audio segment {i} of track {n} could not be made: {e}"),
                ));
            }
        }
    }
}

/// `bytes`, main segment `i`, with its audio replaced by audio track `n` (`audio=N`),
/// unless `n` already is the muxed one. The video is untouched.
#[allow(clippy::too_many_arguments)] // the segment request's parts, as the handler has them
pub async fn with_audio(
    state: &AppState,
    id: &str,
    index: usize,
    name: &str,
    stream: &Stream,
    n: usize,
    i: usize,
    bytes: Vec<u8>,
) -> ApiResult<Vec<u8>> {
    if stream.audio == Some(n) {
        return Ok(bytes);
    }
    let audio = audio_segment(state, id, index, name, stream, n, i).await?;
    crate::media::tsaudio::replace_audio(&bytes, &audio).map_err(|e| {
        ApiError::new(Code::StreamFailed, format!("segment {i} with audio track {n} could not be muxed: {e:#}"))
    })
}

/// The `audio` query parameter: an audio track of `stream`.
pub fn audio_param(raw: Option<&str>, stream: &Stream) -> ApiResult<Option<usize>> {
    let Some(v) = super::extract::query_param(raw, "audio") else { return Ok(None) };
    let n =
        v.parse::<usize>().map_err(|_| ApiError::bad_request(format!("audio {v:?} is not an audio track index")))?;
    if n >= stream.info.audio.len() {
        return Err(ApiError::bad_request(format!(
            "audio={n}: the file has {} audio track(s), counted from 0",
            stream.info.audio.len()
        )));
    }
    Ok(Some(n))
}

/// The stream a request asks for: file `index`'s, or with `burn=N` its transcode with
/// subtitle track N burned into the picture (a stream of its own, on its own grid).
pub async fn open_for(
    state: &AppState,
    id: &str,
    index: usize,
    name: &str,
    raw: Option<&str>,
) -> ApiResult<Arc<Stream>> {
    let base = open_for_player(state, id, index, name).await?;
    let Some(v) = super::extract::query_param(raw, "burn") else { return Ok(base) };
    let n =
        v.parse::<usize>().map_err(|_| ApiError::bad_request(format!("burn {v:?} is not a subtitle track index")))?;
    let list = track_list(state, id, name, &base);
    let Some(track) = list.subtitle_tracks.get(n) else {
        return Err(ApiError::bad_request(format!(
            "burn={n}: the file has {} subtitle track(s), counted from 0",
            list.subtitle_tracks.len()
        )));
    };
    if !track.supported {
        return Err(ApiError::bad_request(format!(
            "burn={n}: track {n} is {} (pictures); only text subtitles can be burned in",
            track.format
        )));
    }
    let cues = load(state, id, index, name, &base, track).await?;
    let key = base.key.clone().burned(Some(n));
    let source =
        Arc::new(TorrentSource { engine: state.engine.clone(), id: id.to_string(), index, name: name.to_string() });
    let timeout = Duration::from_secs(state.live().media.probe_timeout_secs);
    let stream = state.media.open(&key, source, timeout).await.map_err(|e| {
        tracing::warn!("stream {key} cannot be prepared: {e:#}");
        ApiError::new(
            Code::StreamFailed,
            format!("the video with subtitle track {n} burned in could not be prepared: {e}"),
        )
    })?;
    let _ = stream.burn_cues.set(cues);
    Ok(stream)
}

/// `GET /api/stream/{id}/tracks`.
pub async fn list(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult<ApiJson<TrackList>> {
    let (index, name, _) = pick_file(&state, &id, file_param(raw.as_deref())?)?;
    let stream = open_stream(&state, &id, index, &name).await?;
    Ok(ApiJson(track_list(&state, &id, &name, &stream)))
}

/// What a `subtitles/{name}` path asks for.
enum Want {
    Whole(usize),
    Playlist(usize),
    Segment(usize, usize),
}

fn parse_name(name: &str) -> Option<Want> {
    if let Some((n, i)) = subtitles::parse_segment_name(name) {
        return Some(Want::Segment(n, i));
    }
    if let Some(n) = name.strip_suffix(".m3u8") {
        return n.parse().ok().map(Want::Playlist);
    }
    name.strip_suffix(".vtt")?.parse().ok().map(Want::Whole)
}

/// `GET /api/stream/{id}/subtitles/{name}`: `{n}.vtt`, `{n}.m3u8` or `{n}-{i}.vtt`.
pub async fn subtitle(
    State(state): State<AppState>,
    Path((id, sub)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let want = parse_name(&sub).ok_or_else(|| {
        ApiError::not_found(format!("no subtitle file {sub:?}: ask for {{n}}.vtt, {{n}}.m3u8 or {{n}}-{{segment}}.vtt"))
    })?;
    let (index, name, _) = pick_file(&state, &id, file_param(raw.as_deref())?)?;
    let stream = open_stream(&state, &id, index, &name).await?;
    let n = match want {
        Want::Whole(n) | Want::Playlist(n) | Want::Segment(n, _) => n,
    };
    let list = track_list(&state, &id, &name, &stream);
    let track = list.subtitle_tracks.get(n).ok_or_else(|| {
        ApiError::not_found(format!(
            "file {index} of torrent {id} has {} subtitle track(s); there is no track {n}",
            list.subtitle_tracks.len()
        ))
    })?;
    if !track.supported {
        return Err(ApiError::new(
            Code::BadRequest,
            format!(
                "subtitle track {n} is {} (pictures), which cannot be turned into text; burn it in with burn={n}",
                track.format
            ),
        ));
    }
    if let Want::Playlist(n) = want {
        let text = subtitles::playlist(&stream.grid, n, &carried_query(raw.as_deref()));
        return Ok(with_type("application/vnd.apple.mpegurl", text));
    }
    if let Want::Segment(_, i) = want
        && i >= stream.grid.count
    {
        return Err(ApiError::not_found(format!("no subtitle segment {i}: the stream has {}", stream.grid.count)));
    }
    let cues = load(&state, &id, index, &name, &stream, track).await?;
    let text = match want {
        Want::Segment(_, i) => subtitles::segment_vtt(&cues, &stream.grid, i),
        _ => subtitles::to_vtt(&cues),
    };
    Ok(with_type("text/vtt; charset=utf-8", text))
}

fn with_type(content_type: &'static str, text: String) -> Response {
    let mut h = HeaderMap::new();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    (h, text).into_response()
}

/// The cues of `track`, read once per stream.
async fn load(
    state: &AppState,
    id: &str,
    index: usize,
    name: &str,
    stream: &Stream,
    track: &tracks::SubtitleTrack,
) -> ApiResult<Arc<Vec<Cue>>> {
    let live = state.live().media.clone();
    let timeout = Duration::from_secs(live.segment_wait_secs.max(live.probe_timeout_secs));
    let (engine, id_s) = (state.engine.clone(), id.to_string());
    let res = match (&track.source, track.file) {
        (SubSource::Sidecar, Some(file)) => {
            let format = TextFormat::from_name(
                &engine.view(id).map(|v| v.files.get(file).map(|f| f.name.clone())).ok().flatten().unwrap_or_default(),
            );
            state
                .media
                .subtitle_cues(&stream.key, track.index, async move {
                    let format = format.ok_or_else(|| anyhow::anyhow!("not a text subtitle file"))?;
                    let read = async {
                        let r = engine.open_file(&id_s, file).await?;
                        let mut bytes = Vec::new();
                        r.take(MAX_SIDECAR).read_to_end(&mut bytes).await?;
                        anyhow::Ok(bytes)
                    };
                    let bytes = tokio::time::timeout(timeout, read)
                        .await
                        .map_err(|_| anyhow::anyhow!("the subtitle file did not arrive within {timeout:?}"))??;
                    Ok(subtitles::parse(&subtitles::decode(&bytes), format))
                })
                .await
        }
        _ => {
            let source = TorrentSource { engine, id: id_s, index, name: name.to_string() };
            let n = (track.stream, stream.info.subtitles.get(track.stream).and_then(|s| s.stream_key.clone()));
            state
                .media
                .subtitle_cues(&stream.key, track.index, async move { subextract::extract(&source, n, timeout).await })
                .await
        }
    };
    res.map_err(|e| {
        tracing::warn!("subtitle track {} of {id}/{index}: {e:#}", track.index);
        ApiError::new(Code::StreamFailed, format!("subtitle track {} could not be read: {e}", track.index))
    })
}
