//! `/api/health`, `/api/system/status`, `/api/stats`, `/api/activity` and `/metrics`.

use axum::extract::State;
use axum::response::IntoResponse;
use serde::Deserialize;
use serde_json::{Value, json};

use super::error::{ApiError, ApiJson, ApiResult};
use super::extract::{ApiQuery, Caller};
use crate::api::AppState;
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
    let t = state.engine.totals()?;
    let count = |s: Status| t.by_status.get(&s).copied().unwrap_or(0);
    Ok(ApiJson(json!({
        "download_rate": t.download_rate,
        "upload_rate": t.upload_rate,
        "dht_nodes": t.dht_nodes,
        "peers": t.peers,
        "torrents": {
            "total": t.torrents,
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
    ApiQuery(q): ApiQuery<ActivityQuery>,
) -> ApiResult<ApiJson<Vec<ActivityEntry>>> {
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    let torrent = q.torrent.map(|t| t.to_ascii_lowercase());
    Ok(ApiJson(state.store.activity(limit, torrent.as_deref()).map_err(ApiError::internal)?))
}

static CPU: std::sync::LazyLock<crate::system::sysinfo::CpuMeter> = std::sync::LazyLock::new(Default::default);

/// `GET /api/system/status`: the machine, the disk against the quota, the encoders.
pub async fn status(State(state): State<AppState>, _caller: Caller) -> ApiResult<ApiJson<Value>> {
    // The settings in force, with run-time changes (`PATCH /api/config`).
    let cfg = state.live();
    let dir = cfg.storage.download_dir.clone();
    let (total, free, _) = crate::engine::quota::space(&dir).unwrap_or_default();
    let used = crate::engine::quota::used_bytes(&dir);
    let quota = Some(cfg.quota.max_bytes).filter(|q| *q > 0);
    let (ram_total, ram_used) = crate::system::sysinfo::memory();
    let load = crate::system::sysinfo::load();
    Ok(ApiJson(json!({
        "uptime": state.started.elapsed().as_secs(),
        "version": env!("CARGO_PKG_VERSION"),
        "cpu_pct": CPU.percent(),
        "cpu_count": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        "load": load,
        "ram_total": ram_total,
        "ram_used": ram_used,
        "process_rss": crate::system::sysinfo::process_rss(),
        "disk": {
            "path": dir.display().to_string(),
            "total": total,
            "free": free,
            "quota": quota,
            "min_free": cfg.quota.min_free_bytes,
            "used_by_downloads": used,
        },
        "temperature_c": crate::system::sysinfo::temperature_c(),
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
    let t = state.engine.totals()?;
    let mut m = String::new();
    let mut gauge = |name: &str, help: &str, samples: &[(String, f64)]| {
        let _ = writeln!(m, "# HELP swarmcast_{name} {help}\n# TYPE swarmcast_{name} gauge");
        for (labels, v) in samples {
            let _ = writeln!(m, "swarmcast_{name}{labels} {v}");
        }
    };
    gauge(
        "download_rate_bytes",
        "Download rate over all torrents, bytes/s.",
        &[(String::new(), t.download_rate as f64)],
    );
    gauge("upload_rate_bytes", "Upload rate over all torrents, bytes/s.", &[(String::new(), t.upload_rate as f64)]);
    gauge("peers", "Connected peers over all torrents.", &[(String::new(), t.peers as f64)]);
    let statuses =
        [Status::Metadata, Status::Checking, Status::Downloading, Status::Seeding, Status::Paused, Status::Error];
    let counts: Vec<(String, f64)> = statuses
        .iter()
        .map(|s| {
            let n = t.by_status.get(s).copied().unwrap_or(0);
            (format!("{{status=\"{}\"}}", s.as_str()), n as f64)
        })
        .collect();
    gauge("torrents", "Torrents by status.", &counts);
    gauge("streams", "HLS streams known.", &[(String::new(), state.media.stream_count() as f64)]);
    gauge("active_pipelines", "HLS pipelines running.", &[(String::new(), state.media.active_pipelines() as f64)]);
    let enc: Vec<(String, f64)> =
        state.media.selected_encoder().map(|e| vec![(format!("{{encoder=\"{e}\"}}"), 1.0)]).unwrap_or_default();
    gauge("encoder_in_use", "The H.264 encoder new transcodes use.", &enc);
    let (total, free, _) = crate::engine::quota::space(&state.live().storage.download_dir).unwrap_or_default();
    gauge("disk_total_bytes", "Size of the download volume.", &[(String::new(), total as f64)]);
    gauge("disk_free_bytes", "Free space on the download volume.", &[(String::new(), free as f64)]);
    gauge(
        "process_resident_bytes",
        "Resident memory of the daemon.",
        &[(String::new(), crate::system::sysinfo::process_rss() as f64)],
    );
    m.push_str(&crate::media::metrics::render());
    Ok(([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], m).into_response())
}
