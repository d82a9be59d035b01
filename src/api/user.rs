//! `/api/user/me`, `/api/user/{id}/stats` and `POST /api/user/me/passkey`: a user's
//! tracker passkey and the bytes the built-in tracker credited to it.

use axum::extract::{Path, State};
use serde_json::{Value, json};

use super::error::{ApiError, ApiJson, ApiResult};
use super::extract::Caller;
use crate::api::AppState;

fn ratio(up: u64, down: u64) -> Value {
    if down == 0 { Value::Null } else { json!(up as f64 / down as f64) }
}

fn signed_in(caller: &Caller) -> ApiResult<i64> {
    caller.user_id.ok_or_else(|| ApiError::unauthorized("sign in as a user to have a passkey"))
}

/// `GET /api/user/me`: `{id, username, passkey, uploaded, downloaded, ratio}`.
pub async fn me(State(state): State<AppState>, caller: Caller) -> ApiResult<ApiJson<Value>> {
    let id = signed_in(&caller)?;
    let user = state.store.user(id).map_err(ApiError::internal)?.ok_or_else(|| ApiError::not_found("no such user"))?;
    let passkey = state.store.passkey(id).map_err(ApiError::internal)?;
    let (up, down) = state.store.credited(id).map_err(ApiError::internal)?.unwrap_or_default();
    Ok(ApiJson(json!({
        "id": id, "username": user.username, "passkey": passkey,
        "uploaded": up, "downloaded": down, "ratio": ratio(up, down),
    })))
}

/// `GET /api/user/{id}/stats`: a user's own, or anyone's for an admin.
pub async fn stats(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> ApiResult<ApiJson<Value>> {
    let id: i64 = id.parse().map_err(|_| ApiError::bad_request(format!("user id {id:?} is not a number")))?;
    if caller.user_id != Some(id) && !caller.is_admin {
        return Err(ApiError::forbidden("only an administrator sees other users' stats"));
    }
    let user = state
        .store
        .user(id)
        .map_err(ApiError::internal)?
        .ok_or_else(|| ApiError::not_found(format!("no user {id}")))?;
    let (up, down) = state.store.credited(id).map_err(ApiError::internal)?.unwrap_or_default();
    let (seeding, leeching, completed) = state.tracker.user_counts(id);
    Ok(ApiJson(json!({
        "id": id, "username": user.username, "uploaded": up, "downloaded": down, "ratio": ratio(up, down),
        "seeding": seeding, "leeching": leeching, "completed": completed,
    })))
}

/// `POST /api/user/me/passkey`: a new passkey; the old one stops working.
pub async fn new_passkey(State(state): State<AppState>, caller: Caller) -> ApiResult<ApiJson<Value>> {
    let id = signed_in(&caller)?;
    let passkey = state
        .store
        .renew_passkey(id)
        .map_err(ApiError::internal)?
        .ok_or_else(|| ApiError::not_found("no such user"))?;
    Ok(ApiJson(json!({ "passkey": passkey })))
}
