//! `/api/services`: the daemon's parts — `engine`, `transcoder`, `tracker` — with
//! their status, and start / stop / restart for administrators.

use axum::extract::{Path, State};
use serde_json::{Value, json};

use super::error::{ApiError, ApiJson, ApiResult};
use super::extract::{AdminCaller, Caller};
use crate::api::AppState;

/// The services, in the order they are listed.
pub const SERVICES: &[&str] = &["engine", "transcoder", "tracker"];

pub async fn list(_caller: Caller) -> ApiJson<Value> {
    ApiJson(json!({ "services": SERVICES, "count": SERVICES.len() }))
}

/// Every service's status, by name.
pub async fn all_status(State(state): State<AppState>, _caller: Caller) -> ApiResult<ApiJson<Value>> {
    let mut out = serde_json::Map::new();
    for name in SERVICES {
        out.insert(name.to_string(), service_status(&state, name)?);
    }
    Ok(ApiJson(Value::Object(out)))
}

pub async fn status(
    State(state): State<AppState>,
    _caller: Caller,
    Path(name): Path<String>,
) -> ApiResult<ApiJson<Value>> {
    Ok(ApiJson(service_status(&state, known(&name)?)?))
}

fn known(name: &str) -> ApiResult<&'static str> {
    SERVICES
        .iter()
        .find(|s| **s == name)
        .copied()
        .ok_or_else(|| ApiError::not_found(format!("no service {name:?}; the services are {SERVICES:?}")))
}

fn service_status(state: &AppState, name: &str) -> ApiResult<Value> {
    Ok(match name {
        "engine" => {
            let t = state.engine.totals()?;
            json!({
                "running": state.engine.is_running(),
                "listen_port": t.listen_port,
                "dht_nodes": t.dht_nodes,
                "torrents": t.torrents,
                "peers": t.peers,
                "download_rate": t.download_rate,
                "upload_rate": t.upload_rate,
            })
        }
        "tracker" => {
            let (swarms, peers) = state.tracker.counts();
            json!({ "running": state.tracker.is_running(), "swarms": swarms, "peers": peers })
        }
        "transcoder" => crate::api::stream::transcoder_status(state),
        _ => unreachable!("checked by known()"),
    })
}

#[derive(Clone, Copy)]
enum Action {
    Start,
    Stop,
    Restart,
}

async fn act(state: &AppState, name: &'static str, action: Action) -> ApiResult<ApiJson<Value>> {
    let stop = matches!(action, Action::Stop | Action::Restart);
    let start = matches!(action, Action::Start | Action::Restart);
    match name {
        "engine" => {
            if stop {
                state.engine.stop_service().await;
            }
            if start {
                state.engine.start_service().await.map_err(ApiError::internal)?;
            }
        }
        "tracker" => {
            if stop {
                state.tracker.set_running(false);
            }
            if start {
                state.tracker.set_running(true);
            }
        }
        "transcoder" => crate::api::stream::transcoder_control(state, stop, start).await,
        _ => unreachable!("checked by known()"),
    }
    let verb = match action {
        Action::Start => "started",
        Action::Stop => "stopped",
        Action::Restart => "restarted",
    };
    tracing::info!(service = name, "service {verb}");
    Ok(ApiJson(json!({ "message": format!("{name} {verb}") })))
}

pub async fn start(
    State(state): State<AppState>,
    _admin: AdminCaller,
    Path(name): Path<String>,
) -> ApiResult<ApiJson<Value>> {
    act(&state, known(&name)?, Action::Start).await
}

pub async fn stop(
    State(state): State<AppState>,
    _admin: AdminCaller,
    Path(name): Path<String>,
) -> ApiResult<ApiJson<Value>> {
    act(&state, known(&name)?, Action::Stop).await
}

pub async fn restart(
    State(state): State<AppState>,
    _admin: AdminCaller,
    Path(name): Path<String>,
) -> ApiResult<ApiJson<Value>> {
    act(&state, known(&name)?, Action::Restart).await
}
