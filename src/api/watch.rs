//! `/api/watch`: where each user stopped (resume, "continue watching"), the next
//! episode, and following players that cannot report from the segments they fetch.

use std::time::Duration;

use axum::extract::{Path, State};
use serde::Deserialize;
use serde_json::{Value, json};

use super::error::{ApiError, ApiJson, ApiResult};
use super::extract::Caller;
use crate::api::AppState;
use crate::engine::episodes;
use crate::media::StreamKey;
use crate::store::{WatchRecord, WatchSource};

/// How close to the end the next episode is prepared.
const PREPARE_NEXT_WITHIN_S: f64 = 120.0;

/// The store's key for a caller: the user's id, 0 for the local administrator.
pub fn user_key(caller: &Caller) -> i64 {
    caller.user_id.unwrap_or(0)
}

/// The body of `PUT /api/watch/{id}/{file_index}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PutBody {
    pub position_s: f64,
    pub duration_s: Option<f64>,
}

fn file_name(state: &AppState, id: &str, index: usize) -> ApiResult<String> {
    let view = state.engine.view(id)?;
    view.files
        .get(index)
        .map(|f| f.name.clone())
        .ok_or_else(|| ApiError::not_found(format!("torrent {id} has no file {index}")))
}

/// The duration of a file's stream, when it was probed.
fn stream_duration(state: &AppState, id: &str, index: usize) -> Option<f64> {
    state.media.get(&StreamKey::new(id, index)).map(|s| s.info.duration.as_secs_f64()).filter(|d| *d > 0.0)
}

/// The path's torrent id (lower-cased) and file index.
fn ids(id: &str, index: &str) -> ApiResult<(String, usize)> {
    let id = id.to_ascii_lowercase();
    let index = index.parse().map_err(|_| ApiError::not_found(format!("torrent {id} has no file {index:?}")))?;
    Ok((id, index))
}

/// `GET /api/watch`: the caller's list, most recent first.
pub async fn list(State(state): State<AppState>, caller: Caller) -> ApiResult<ApiJson<Vec<WatchRecord>>> {
    let known: std::collections::HashSet<String> =
        state.engine.list().unwrap_or_default().into_iter().map(|t| t.id).collect();
    let rows = state.store.watch_list(user_key(&caller)).map_err(ApiError::internal)?;
    // A removed torrent's place stays (it may come back) but is not offered.
    Ok(ApiJson(rows.into_iter().filter(|r| known.contains(&r.torrent_id)).collect()))
}

/// `PUT /api/watch/{id}/{file_index}`.
pub async fn put(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, index)): Path<(String, String)>,
    ApiJson(body): ApiJson<PutBody>,
) -> ApiResult<ApiJson<Value>> {
    let (id, index) = ids(&id, &index)?;
    if !body.position_s.is_finite() || body.position_s < 0.0 {
        return Err(ApiError::bad_request("position_s must be a number of seconds, 0 or more"));
    }
    if body.duration_s.is_some_and(|d| !d.is_finite() || d <= 0.0) {
        return Err(ApiError::bad_request("duration_s must be a number of seconds above 0"));
    }
    let name = file_name(&state, &id, index)?;
    let duration = body.duration_s.or_else(|| stream_duration(&state, &id, index));
    let user = user_key(&caller);
    state
        .store
        .put_watch(user, &id, index, &name, body.position_s, duration, WatchSource::Player)
        .map_err(ApiError::internal)?;
    near_end(&state, &id, index, body.position_s, duration);
    let rec = state.store.watch(user, &id, index).map_err(ApiError::internal)?;
    Ok(ApiJson(json!({ "message": "position saved", "watch": rec })))
}

/// `DELETE /api/watch/{id}/{file_index}`.
pub async fn remove(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, index)): Path<(String, String)>,
) -> ApiResult<ApiJson<Value>> {
    let (id, index) = ids(&id, &index)?;
    if !state.store.delete_watch(user_key(&caller), &id, index).map_err(ApiError::internal)? {
        return Err(ApiError::not_found(format!("no place kept for file {index} of torrent {id}")));
    }
    Ok(ApiJson(json!({ "message": "forgotten" })))
}

/// The file a stream of torrent `id` starts with when none is asked for: a season
/// pack's first episode the user has not watched; `None` = the default video.
pub fn first_unwatched(state: &AppState, user: i64, id: &str) -> Option<usize> {
    let view = state.engine.view(id).ok()?;
    let watched: Vec<usize> = state
        .store
        .watch_of_torrent(user, id)
        .unwrap_or_default()
        .into_iter()
        .filter(|r| r.watched)
        .map(|r| r.file_index)
        .collect();
    episodes::first_unwatched(view.files.iter().map(|f| f.name.as_str()), |i| watched.contains(&i))
}

/// `resumeAt` (0 once watched) and `next` for `POST /api/stream`.
pub fn resume_and_next(state: &AppState, user: i64, id: &str, index: usize) -> (f64, Value) {
    let resume = state.store.watch(user, id, index).ok().flatten().filter(|r| !r.watched).map_or(0.0, |r| r.position_s);
    (resume, next_episode(state, id, index))
}

/// `{torrentId, fileIndex, name}` of the episode after file `index`, or null.
pub fn next_episode(state: &AppState, id: &str, index: usize) -> Value {
    let Ok(view) = state.engine.view(id) else { return Value::Null };
    match episodes::next_after(view.files.iter().map(|f| f.name.as_str()), index) {
        Some(n) => json!({ "torrentId": id, "fileIndex": n, "name": view.files[n].name }),
        None => Value::Null,
    }
}

/// Near the end of an episode, prepares the next one: opens its stream (probing it,
/// reading its index) and makes its first segment, so it starts at once.
fn near_end(state: &AppState, id: &str, index: usize, position_s: f64, duration: Option<f64>) {
    let Some(d) = duration else { return };
    if position_s < d - PREPARE_NEXT_WITHIN_S && position_s < d * 0.85 {
        return;
    }
    let Ok(view) = state.engine.view(id) else { return };
    let Some(next) = episodes::next_after(view.files.iter().map(|f| f.name.as_str()), index) else { return };
    if !state.watch_follow.prepare(id, next) {
        return;
    }
    let (state2, id2, name) = (state.clone(), id.to_string(), view.files[next].name.clone());
    crate::system::spawn("prepare-next-episode", &state.shutdown, async move {
        let stream = match super::open::open_stream(&state2, &id2, next, &name).await {
            Ok(s) => s,
            Err(e) => {
                tracing::info!("next episode {id2}/{next} not prepared: {}", e.message);
                return Ok(());
            }
        };
        let wait = Duration::from_secs(state2.live().media.segment_wait_secs);
        match stream.segment(0, "prepare-next", wait).await {
            Ok(_) => tracing::info!("next episode {id2}/{next} ready: its first segment is made"),
            Err(e) => tracing::info!("next episode {id2}/{next}: first segment not made: {e}"),
        }
        Ok(())
    });
}

/// Follows a player that fetched segment `seg` (starting at `start_s`) with a stream
/// token: its place becomes that segment's start, written at most every few seconds
/// while it fetches in order, and at once when it jumps (a seek).
pub fn follow_segment(state: &AppState, caller: &Caller, id: &str, index: usize, seg: usize, start_s: f64) {
    if !caller.is_stream_token() {
        return;
    }
    let user = user_key(caller);
    if !state.watch_follow.fetched(user, id, index, seg) {
        return;
    }
    let Ok(name) = file_name(state, id, index) else { return };
    let duration = stream_duration(state, id, index);
    if let Err(e) = state.store.put_watch(user, id, index, &name, start_s, duration, WatchSource::Segments) {
        tracing::warn!("cannot keep the place of {id}/{index}: {e:#}");
    }
    near_end(state, id, index, start_s, duration);
}
