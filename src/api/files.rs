//! `/api/files` and `/api/files/content`: browse, read (with `Range`) and delete what
//! is in the download dir, and nothing outside it (see `files::confine`).

use axum::extract::State;
use axum::http::{HeaderMap, Method};
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Value, json};

use super::error::{ApiError, ApiJson, ApiResult};
use super::extract::{ApiQuery, Caller};
use super::range;
use super::tracker::PeerAddr;
use crate::api::AppState;
use crate::engine::files::{self, Denied, Entry};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PathQuery {
    #[serde(default)]
    path: String,
}

/// Confines a client's path, logging every refused attempt with who made it.
pub(crate) fn resolve(state: &AppState, path: &str, who: &PeerAddr, caller: Option<&Caller>) -> ApiResult<std::path::PathBuf> {
    files::confine(&state.live().storage.download_dir, path).map_err(|d| match d {
        Denied::Forbidden { path, why } => {
            tracing::warn!(
                client = ?who.0,
                user = ?caller.and_then(|c| c.user_id),
                "refused a path outside the download dir: {path:?}: {why}"
            );
            ApiError::forbidden(format!("path {path:?} is not allowed: {why}"))
        }
        Denied::NotFound(p) => ApiError::not_found(format!("{p:?} does not exist in the download dir")),
    })
}

/// `GET /api/files?path=`: a folder's entries.
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    who: PeerAddr,
    ApiQuery(q): ApiQuery<PathQuery>,
) -> ApiResult<ApiJson<Vec<Entry>>> {
    let path = q.path;
    let real = resolve(&state, &path, &who, Some(&caller))?;
    if !real.is_dir() {
        return Err(ApiError::bad_request(format!("{path:?} is a file, not a folder; read it at /api/files/content")));
    }
    let root = state.live().storage.download_dir.clone();
    let entries = tokio::task::spawn_blocking(move || files::list(&root, &real))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)?;
    Ok(ApiJson(entries))
}

/// `GET|HEAD /api/files/content?path=`: a file's bytes, with `Range`.
pub async fn content(
    State(state): State<AppState>,
    caller: Caller,
    who: PeerAddr,
    method: Method,
    headers: HeaderMap,
    ApiQuery(q): ApiQuery<PathQuery>,
) -> ApiResult<Response> {
    let path = q.path;
    let real = resolve(&state, &path, &who, Some(&caller))?;
    if !real.is_file() {
        return Err(ApiError::bad_request(format!("{path:?} is a folder, not a file; list it at /api/files")));
    }
    let file = tokio::fs::File::open(&real).await.map_err(ApiError::internal)?;
    let len = file.metadata().await.map_err(ApiError::internal)?.len();
    let name = real.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let mime = crate::engine::mime_type(&name);
    range::serve(file, len, mime, &headers, method == Method::HEAD).await
}

/// `DELETE /api/files/content?path=`: admins delete a file or a folder (not the
/// download dir itself). Symlinks are never followed out of it.
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    who: PeerAddr,
    ApiQuery(q): ApiQuery<PathQuery>,
) -> ApiResult<ApiJson<Value>> {
    if !caller.is_admin {
        return Err(ApiError::forbidden("only an administrator can delete files"));
    }
    let path = q.path;
    let real = resolve(&state, &path, &who, Some(&caller))?;
    let root = state.live().storage.download_dir.canonicalize().map_err(ApiError::internal)?;
    if real == root {
        return Err(ApiError::forbidden("the download dir itself cannot be deleted"));
    }
    let is_dir = real.is_dir();
    let target = real.clone();
    tokio::task::spawn_blocking(move || {
        if is_dir { std::fs::remove_dir_all(&target) } else { std::fs::remove_file(&target) }
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(ApiError::internal)?;
    tracing::info!(user = ?caller.user_id, "deleted {}", real.display());
    Ok(ApiJson(json!({ "message": format!("deleted {path}") })))
}
