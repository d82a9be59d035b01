//! `/api/files` and `/api/files/content`: browse, read (with `Range`) and delete what
//! is in the download dir, upload into it, and nothing outside it (see `files::confine`).

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
pub(crate) fn resolve(
    state: &AppState,
    path: &str,
    who: &PeerAddr,
    caller: Option<&Caller>,
) -> ApiResult<std::path::PathBuf> {
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
    tokio::task::spawn_blocking(
        move || {
            if is_dir { std::fs::remove_dir_all(&target) } else { std::fs::remove_file(&target) }
        },
    )
    .await
    .map_err(ApiError::internal)?
    .map_err(ApiError::internal)?;
    tracing::info!(user = ?caller.user_id, "deleted {}", real.display());
    Ok(ApiJson(json!({ "message": format!("deleted {path}") })))
}

/// One uploaded file, as answered.
#[derive(Debug, serde::Serialize)]
pub struct Uploaded {
    name: String,
    path: String,
    size: u64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UploadQuery {
    path: Option<String>,
    overwrite: Option<bool>,
}

/// The part file an upload streams into, removed unless it was moved into place.
struct PartFile(Option<std::path::PathBuf>);

impl Drop for PartFile {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// `POST /api/files/upload`: multipart `file` fields (one or more) into the folder
/// `path` (a field before the files, or a query parameter; made if missing) of the
/// download dir. Each file streams into a part file beside its target and is moved
/// into place when complete; the upload limit counts the whole body, the quota the
/// bytes written. An existing file is kept (409) unless `overwrite=true`.
pub async fn upload(
    State(state): State<AppState>,
    caller: Caller,
    who: PeerAddr,
    ApiQuery(q): ApiQuery<UploadQuery>,
    req: axum::extract::Request,
) -> ApiResult<(axum::http::StatusCode, ApiJson<Vec<Uploaded>>)> {
    use axum::extract::FromRequest;
    use tokio::io::AsyncWriteExt;
    let limit = state.config.server.max_upload_bytes;
    let mut multipart = axum::extract::Multipart::from_request(req, &state)
        .await
        .map_err(|e| ApiError::bad_request(format!("expected a multipart/form-data body: {}", e.body_text())))?;
    let bad = |e: axum::extract::multipart::MultipartError| {
        ApiError::bad_request(format!("malformed multipart body: {}", e.body_text()))
    };
    let root = state.live().storage.download_dir.clone();
    let engine = state.engine.clone();
    let budget = tokio::task::spawn_blocking(move || crate::engine::quota::budget(&engine, ""))
        .await
        .map_err(ApiError::internal)??;
    let mut folder_req = q.path.unwrap_or_default();
    let mut overwrite = q.overwrite.unwrap_or(false);
    let mut seen: u64 = 0;
    let mut written: u64 = 0;
    let mut out = Vec::new();
    while let Some(mut field) = multipart.next_field().await.map_err(bad)? {
        match field.name() {
            Some("path") => {
                folder_req = field.text().await.map_err(bad)?;
                continue;
            }
            Some("overwrite") => {
                overwrite = field.text().await.map_err(bad)?.trim() == "true";
                continue;
            }
            Some("file") => {}
            other => {
                return Err(ApiError::bad_request(format!(
                    "unknown multipart field {other:?}; expected `file` and `path`"
                )));
            }
        }
        let name = field.file_name().map(str::trim).unwrap_or_default().to_string();
        if let Err(why) = files::check_name(&name) {
            tracing::warn!(client = ?who.0, user = ?caller.user_id, "refused an upload named {name:?}: {why}");
            return Err(ApiError::forbidden(format!("file name {name:?} is not allowed: {why}")));
        }
        let (r, f) = (root.clone(), folder_req.clone());
        let folder = tokio::task::spawn_blocking(move || files::make_folder(&r, &f))
            .await
            .map_err(ApiError::internal)?
            .map_err(|d| match d {
                Denied::Forbidden { path, why } => {
                    tracing::warn!(client = ?who.0, user = ?caller.user_id, "refused an upload into {path:?}: {why}");
                    ApiError::forbidden(format!("folder {path:?} is not allowed: {why}"))
                }
                Denied::NotFound(p) => ApiError::not_found(format!("folder {p:?} cannot be made in the download dir")),
            })?;
        let target = folder.join(&name);
        let rel = |p: &std::path::Path| {
            let root = root.canonicalize().unwrap_or_else(|_| root.clone());
            p.strip_prefix(&root).unwrap_or(p).to_string_lossy().into_owned()
        };
        if target.symlink_metadata().is_ok() && !overwrite {
            return Err(ApiError::new(
                super::error::Code::Conflict,
                format!("{} already exists; send overwrite=true to replace it", rel(&target)),
            ));
        }
        let part_path = folder.join(format!(".{name}.{:016x}.part", rand::random::<u64>()));
        let mut part = PartFile(Some(part_path.clone()));
        let mut file = tokio::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&part_path)
            .await
            .map_err(ApiError::internal)?;
        let mut size = 0u64;
        while let Some(chunk) = field.chunk().await.map_err(bad)? {
            seen += chunk.len() as u64;
            if seen > limit {
                drop(file);
                drop(part);
                drain(&mut field, limit.saturating_mul(16), seen).await;
                return Err(ApiError::new(
                    super::error::Code::PayloadTooLarge,
                    format!(
                        "the upload is over the limit of {} (server.max_upload_bytes)",
                        crate::system::disk::human(limit)
                    ),
                ));
            }
            written += chunk.len() as u64;
            if budget.shortfall(written) > 0 {
                drop(file);
                drop(part);
                return Err(ApiError::new(
                    super::error::Code::QuotaExceeded,
                    format!(
                        "the upload does not fit: {} more would go over the download quota or the free-space reserve",
                        crate::system::disk::human(budget.shortfall(written))
                    ),
                ));
            }
            size += chunk.len() as u64;
            file.write_all(&chunk).await.map_err(ApiError::internal)?;
        }
        file.sync_all().await.map_err(ApiError::internal)?;
        drop(file);
        let placed = if overwrite {
            tokio::fs::rename(&part_path, &target).await
        } else {
            // A hard link refuses an existing name atomically.
            tokio::fs::hard_link(&part_path, &target).await
        };
        match placed {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(ApiError::new(
                    super::error::Code::Conflict,
                    format!("{} already exists; send overwrite=true to replace it", rel(&target)),
                ));
            }
            Err(e) => return Err(ApiError::internal(e)),
        }
        if overwrite {
            part.0 = None;
        }
        drop(part);
        tracing::info!(user = ?caller.user_id, "uploaded {} ({size} bytes)", target.display());
        out.push(Uploaded { name, path: rel(&target), size });
    }
    if out.is_empty() {
        return Err(ApiError::bad_request("multipart field `file` is missing"));
    }
    Ok((axum::http::StatusCode::CREATED, ApiJson(out)))
}

/// Reads on and discards the rest of an oversize body, up to `cap` bytes in all, so
/// the client gets to read the 413.
async fn drain(field: &mut axum::extract::multipart::Field<'_>, cap: u64, mut seen: u64) {
    while seen < cap {
        match field.chunk().await {
            Ok(Some(c)) => seen += c.len() as u64,
            _ => break,
        }
    }
}
