//! `/api/health`, `/api/stats` and `/api/activity`.

use axum::extract::{Query, State};
use serde::Deserialize;
use serde_json::{Value, json};

use super::error::{ApiError, ApiJson, ApiResult};
use super::extract::Caller;
use crate::app::AppState;
use crate::engine::Status;
use crate::store::ActivityEntry;

/// Liveness: answers without credentials.
pub async fn health(State(state): State<AppState>) -> ApiJson<Value> {
    ApiJson(json!({
        "status": "ok",
        "version": env!("CARGO_PKG_VERSION"),
        "uptime_s": state.started.elapsed().as_secs(),
    }))
}

/// Session-wide rates, DHT and torrent counts by status.
pub async fn stats(State(state): State<AppState>, _caller: Caller) -> ApiResult<ApiJson<Value>> {
    let torrents = state.engine.list()?;
    let count = |s: Status| torrents.iter().filter(|t| t.status == s).count();
    let session = state.engine.session();
    let dht_nodes = session
        .get_dht()
        .map(|d| d.stats().routing_table_size)
        .unwrap_or(0);
    Ok(ApiJson(json!({
        "download_rate": torrents.iter().map(|t| t.download_rate).sum::<u64>(),
        "upload_rate": torrents.iter().map(|t| t.upload_rate).sum::<u64>(),
        "dht_nodes": dht_nodes,
        "peers": torrents.iter().map(|t| t.peers as u64).sum::<u64>(),
        "torrents": {
            "total": torrents.len(),
            "metadata": count(Status::Metadata),
            "checking": count(Status::Checking),
            "downloading": count(Status::Downloading),
            "seeding": count(Status::Seeding),
            "paused": count(Status::Paused),
            "error": count(Status::Error),
        },
    })))
}

#[derive(Debug, Deserialize)]
pub struct ActivityQuery {
    limit: Option<u32>,
    torrent: Option<String>,
}

pub async fn activity(
    State(state): State<AppState>,
    _caller: Caller,
    query: Result<Query<ActivityQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<ApiJson<Vec<ActivityEntry>>> {
    let Query(q) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    let torrent = q.torrent.map(|t| t.to_ascii_lowercase());
    Ok(ApiJson(state.store.activity(limit, torrent.as_deref()).map_err(ApiError::internal)?))
}
