//! `/api/health`, `/api/system/status`, `/api/stats`, `/api/activity` and `/metrics`.

use axum::extract::{Query, State};
use axum::response::IntoResponse;
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

static CPU: std::sync::LazyLock<crate::sysinfo::CpuMeter> = std::sync::LazyLock::new(Default::default);

/// `GET /api/system/status`: the machine, the disk against the quota, the encoders.
pub async fn status(State(state): State<AppState>, _caller: Caller) -> ApiResult<ApiJson<Value>> {
    // The settings in force, with run-time changes (`PATCH /api/config`).
    let cfg = state.live();
    let dir = cfg.storage.download_dir.clone();
    let (total, free, _) = crate::quota::space(&dir).unwrap_or_default();
    let used = crate::quota::used_bytes(&dir);
    let quota = Some(cfg.quota.max_bytes).filter(|q| *q > 0);
    let (ram_total, ram_used) = crate::sysinfo::memory();
    let load = crate::sysinfo::load();
    Ok(ApiJson(json!({
        "uptime": state.started.elapsed().as_secs(),
        "version": env!("CARGO_PKG_VERSION"),
        "cpu_pct": CPU.percent(),
        "cpu_count": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        "load": load,
        "ram_total": ram_total,
        "ram_used": ram_used,
        "process_rss": crate::sysinfo::process_rss(),
        "disk": {
            "path": dir.display().to_string(),
            "total": total,
            "free": free,
            "quota": quota,
            "min_free": cfg.quota.min_free_bytes,
            "used_by_downloads": used,
        },
        "temperature_c": crate::sysinfo::temperature_c(),
        "encoders": state.media.encoders(),
        "selected_encoder": state.media.selected_encoder(),
        "encoders_probed": state.media.encoders_probed(),
        "services": {
            "engine": state.engine.is_running(),
            "transcoder": state.media.is_running(),
            "tracker": state.tracker.is_running(),
        },
    })))
}

/// `GET /metrics`: Prometheus text format.
pub async fn metrics(State(state): State<AppState>, _caller: Caller) -> ApiResult<axum::response::Response> {
    use std::fmt::Write;
    let torrents = state.engine.list()?;
    let mut m = String::new();
    let mut gauge = |name: &str, help: &str, samples: &[(String, f64)]| {
        let _ = writeln!(m, "# HELP swarmcast_{name} {help}\n# TYPE swarmcast_{name} gauge");
        for (labels, v) in samples {
            let _ = writeln!(m, "swarmcast_{name}{labels} {v}");
        }
    };
    let sum = |f: fn(&crate::engine::TorrentView) -> u64| torrents.iter().map(f).sum::<u64>() as f64;
    gauge("download_rate_bytes", "Download rate over all torrents, bytes/s.", &[(String::new(), sum(|t| t.download_rate))]);
    gauge("upload_rate_bytes", "Upload rate over all torrents, bytes/s.", &[(String::new(), sum(|t| t.upload_rate))]);
    gauge("peers", "Connected peers over all torrents.", &[(String::new(), sum(|t| t.peers as u64))]);
    let statuses = ["metadata", "checking", "downloading", "seeding", "paused", "error"];
    let counts: Vec<(String, f64)> = statuses
        .iter()
        .map(|s| {
            let n = torrents.iter().filter(|t| t.status.as_str() == *s).count();
            (format!("{{status=\"{s}\"}}"), n as f64)
        })
        .collect();
    gauge("torrents", "Torrents by status.", &counts);
    gauge("streams", "HLS streams known.", &[(String::new(), state.media.stream_count() as f64)]);
    gauge("active_pipelines", "HLS pipelines running.", &[(String::new(), state.media.active_pipelines() as f64)]);
    let enc: Vec<(String, f64)> = state
        .media
        .selected_encoder()
        .map(|e| vec![(format!("{{encoder=\"{e}\"}}"), 1.0)])
        .unwrap_or_default();
    gauge("encoder_in_use", "The H.264 encoder new transcodes use.", &enc);
    let (total, free, _) = crate::quota::space(&state.live().storage.download_dir).unwrap_or_default();
    gauge("disk_total_bytes", "Size of the download volume.", &[(String::new(), total as f64)]);
    gauge("disk_free_bytes", "Free space on the download volume.", &[(String::new(), free as f64)]);
    gauge("process_resident_bytes", "Resident memory of the daemon.", &[(String::new(), crate::sysinfo::process_rss() as f64)]);
    m.push_str(&crate::media::metrics::render());
    Ok((
        [(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        m,
    )
        .into_response())
}
