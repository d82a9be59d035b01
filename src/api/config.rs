//! `/api/config` (read and change settings at run time), `/api/maintenance/run`, and
//! `/api/torrents/{id}/settings` (per-torrent seeding and speed limits, purpose and
//! output folder). All admin only.

use std::path::PathBuf;

use axum::extract::{Path, State};
use serde_json::{Value, json};

use super::error::{ApiError, ApiJson, ApiResult};
use super::extract::Caller;
use crate::api::AppState;
use crate::store::Purpose;

fn require_admin(caller: &Caller) -> ApiResult<()> {
    if caller.is_admin { Ok(()) } else { Err(ApiError::forbidden("only an administrator may do this")) }
}

/// `GET /api/config`: the settings in force, secrets redacted.
pub async fn get(State(state): State<AppState>, caller: Caller) -> ApiResult<ApiJson<Value>> {
    require_admin(&caller)?;
    Ok(ApiJson(crate::config::live::redacted(&state.live())))
}

/// `PATCH /api/config`: a JSON object of keys (nested or dotted) → new values. The
/// whole change is validated first; a bad value is refused naming its key.
pub async fn patch(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<Value>,
) -> ApiResult<ApiJson<Value>> {
    require_admin(&caller)?;
    let engine = state.engine.clone();
    let (config, changed) = tokio::task::spawn_blocking(move || engine.live().patch(&body))
        .await
        .map_err(ApiError::internal)?
        .map_err(|e| ApiError::bad_request(format!("{e:#}")))?;
    if changed.iter().any(|k| k.starts_with("engine.") && k.ends_with("_limit")) {
        crate::engine::library::apply_global_limits(
            &state.engine,
            config.engine.download_limit,
            config.engine.upload_limit,
        );
    }
    tracing::info!(keys = ?changed, "settings changed at run time");
    let _ = state.store.log_activity("config_changed", None, None, Some(&changed.join(", ")));
    Ok(ApiJson(crate::config::live::redacted(&config)))
}

/// `POST /api/maintenance/run`: applies the seeding rules once, now.
pub async fn maintenance(State(state): State<AppState>, caller: Caller) -> ApiResult<ApiJson<Value>> {
    require_admin(&caller)?;
    let applied = crate::automation::seeding::run_once(&state.engine, &crate::system::clock::SystemClock)
        .await
        .map_err(ApiError::internal)?;
    Ok(ApiJson(json!({ "applied": applied })))
}

/// `GET /api/torrents/{id}/settings`.
pub async fn torrent_settings(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<ApiJson<Value>> {
    require_admin(&caller)?;
    let view = state.engine.view(&id)?;
    settings_body(&state, &id, view.purpose)
}

fn settings_body(state: &AppState, id: &str, purpose: Purpose) -> ApiResult<ApiJson<Value>> {
    let s = state.store.torrent_settings(id).map_err(ApiError::internal)?;
    let folder = state.engine.handle(id).map(|h| h.output_folder().display().to_string());
    let mut v = serde_json::to_value(s).map_err(ApiError::internal)?;
    v["purpose"] = json!(purpose);
    v["output_folder"] = json!(folder);
    Ok(ApiJson(v))
}

/// `PATCH /api/torrents/{id}/settings`: any of `ratio_limit`, `seed_time_limit_minutes`,
/// `seed_action`, `download_limit`, `upload_limit` (null clears an override),
/// `purpose` (`keep`/`watch`) and `output_folder` (moves the files there).
pub async fn patch_torrent_settings(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Value>,
) -> ApiResult<ApiJson<Value>> {
    require_admin(&caller)?;
    let view = state.engine.view(&id)?;
    let Value::Object(map) = body else { return Err(ApiError::bad_request("the body must be a JSON object")) };
    let mut s = state.store.torrent_settings(&id).map_err(ApiError::internal)?;
    let mut purpose = None;
    let mut folder = None;
    for (k, v) in &map {
        let bad = |what: &str| ApiError::bad_request(format!("{k}: {what}"));
        let uint = || {
            if v.is_null() {
                Ok(None)
            } else {
                v.as_u64().map(Some).ok_or_else(|| bad("must be a non-negative integer or null"))
            }
        };
        match k.as_str() {
            "ratio_limit" => {
                s.ratio_limit = match v {
                    Value::Null => None,
                    v => Some(v.as_f64().filter(|r| *r >= 0.0).ok_or_else(|| bad("must be a ratio ≥ 0 or null"))?),
                }
            }
            "seed_time_limit_minutes" => s.seed_time_limit_minutes = uint()?,
            "download_limit" => s.download_limit = uint()?,
            "upload_limit" => s.upload_limit = uint()?,
            "seed_action" => {
                s.seed_action = match v {
                    Value::Null => None,
                    Value::String(a) if ["pause", "remove", "remove_data"].contains(&a.as_str()) => Some(a.clone()),
                    _ => return Err(bad("must be pause, remove or remove_data")),
                }
            }
            "purpose" => {
                purpose = Some(match v.as_str() {
                    Some("keep") => Purpose::Keep,
                    Some("watch") => Purpose::Watch,
                    _ => return Err(bad("must be keep or watch")),
                })
            }
            "output_folder" => {
                let p = v.as_str().filter(|p| !p.is_empty()).ok_or_else(|| bad("must be a folder path"))?;
                let mut c = (*state.live()).clone();
                c.watch.dir = PathBuf::from(p); // checked like every configured path
                c.validate()
                    .and_then(|_| crate::config::live::check_paths(&c))
                    .map_err(|e| bad(&format!("{e:#}").replace("watch.dir: ", "")))?;
                folder = Some(PathBuf::from(p));
            }
            _ => return Err(bad("unknown setting")),
        }
    }
    let limits_before = crate::engine::library::torrent_ratelimits(&state.store, &id);
    state.store.set_torrent_settings(&id, &s).map_err(ApiError::internal)?;
    if let Some(p) = purpose {
        state.store.set_torrent_purpose(&id, p).map_err(ApiError::internal)?;
    }
    if let Some(dir) = folder {
        crate::engine::library::move_torrent(&state.engine, &id, &dir)
            .await
            .map_err(|e| ApiError::bad_request(format!("output_folder: {e:#}")))?;
    } else if crate::engine::library::torrent_ratelimits(&state.store, &id) != limits_before
        && state.engine.handle(&id).is_some()
    {
        crate::engine::library::readd(&state.engine, &id, None).await.map_err(ApiError::internal)?;
    }
    settings_body(&state, &id, purpose.unwrap_or(view.purpose))
}
