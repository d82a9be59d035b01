//! `/api/torrents`: add, list, inspect, start, stop and remove torrents, their peers,
//! their .torrent file, and raw file bytes with `Range`.

use axum::extract::{FromRequest, Multipart, Path, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::error::{ApiError, ApiJson, ApiResult, Code};
use super::extract::{ApiQuery, Caller};
use super::range;
use crate::api::AppState;
use crate::engine::{self, AddOptions, PeerView, Source, Status, TorrentView};

/// The body of `POST /api/torrents`: one of the sources, plus options.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddBody {
    pub magnet_uri: Option<String>,
    pub uri: Option<String>,
    pub info_hash: Option<String>,
    /// Start downloading at once (default true).
    pub start: Option<bool>,
    /// Indices of the files to download.
    pub files: Option<Vec<usize>>,
}

impl AddBody {
    async fn source(&self) -> ApiResult<Source> {
        let given: Vec<&String> = [&self.magnet_uri, &self.uri, &self.info_hash].into_iter().flatten().collect();
        match given.as_slice() {
            [] => Err(ApiError::bad_request("give one of magnet_uri, uri or info_hash")),
            [one] => {
                if self.info_hash.is_some() && engine::parse_info_hash(one).is_none() {
                    return Err(ApiError::bad_request(format!(
                        "info_hash {:?} is not 40 hex or 32 base32 characters",
                        one.chars().take(64).collect::<String>()
                    )));
                }
                Ok(engine::parse_uri_async(one).await?)
            }
            _ => Err(ApiError::bad_request("give only one of magnet_uri, uri or info_hash")),
        }
    }
}

pub async fn add(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<AddBody>,
) -> ApiResult<(StatusCode, ApiJson<TorrentView>)> {
    let source = body.source().await?;
    let opts = AddOptions {
        paused: !body.start.unwrap_or(true),
        only_files: body.files.clone(),
        purpose: None,
        added_by: caller.user_id,
        ..Default::default()
    };
    let t = state.engine.add(source, opts).await?;
    Ok((StatusCode::CREATED, ApiJson(t)))
}

/// `POST /api/torrents/upload`: multipart field `file` holding a .torrent.
///
/// The body is read here, not through the router's body limit, so that an oversize
/// upload is drained (up to a cap) and answered with 413 rather than a reset
/// connection the client cannot read an answer from.
pub async fn upload(
    State(state): State<AppState>,
    caller: Caller,
    req: axum::extract::Request,
) -> ApiResult<(StatusCode, ApiJson<TorrentView>)> {
    let limit = state.config.server.max_upload_bytes as usize;
    let (parts, body) = req.into_parts();
    let bytes = read_bounded(body, limit).await?;
    let req = axum::extract::Request::from_parts(parts, axum::body::Body::from(bytes));
    let mut multipart = Multipart::from_request(req, &state)
        .await
        .map_err(|e| ApiError::bad_request(format!("expected a multipart/form-data body: {}", e.body_text())))?;
    let bad = |e: axum::extract::multipart::MultipartError| {
        ApiError::bad_request(format!("malformed multipart body: {}", e.body_text()))
    };
    let mut start = true;
    let mut file = None;
    while let Some(field) = multipart.next_field().await.map_err(bad)? {
        match field.name() {
            Some("file") | Some("torrent") => file = Some(field.bytes().await.map_err(bad)?),
            Some("start") => start = field.text().await.map_err(bad)?.trim() != "false",
            _ => {}
        }
    }
    let bytes = file.ok_or_else(|| ApiError::bad_request("multipart field `file` is missing"))?;
    let torrent = engine::parse_torrent(bytes)?;
    let opts = AddOptions { paused: !start, added_by: caller.user_id, ..Default::default() };
    let t = state.engine.add(Source::Torrent(torrent), opts).await?;
    Ok((StatusCode::CREATED, ApiJson(t)))
}

/// Reads a body of at most `limit` bytes. A larger one is read on and discarded up to
/// `DRAIN_FACTOR × limit`, so the client gets to read the 413.
async fn read_bounded(body: axum::body::Body, limit: usize) -> ApiResult<bytes::Bytes> {
    const DRAIN_FACTOR: usize = 16;
    let mut stream = body.into_data_stream();
    let mut buf = bytes::BytesMut::new();
    let mut seen = 0usize;
    while let Some(chunk) = futures::StreamExt::next(&mut stream).await {
        let chunk = chunk.map_err(|e| ApiError::bad_request(format!("reading the body: {e}")))?;
        seen += chunk.len();
        if seen <= limit {
            buf.extend_from_slice(&chunk);
        } else if seen > limit.saturating_mul(DRAIN_FACTOR) {
            break;
        }
    }
    if seen > limit {
        return Err(ApiError::new(Code::PayloadTooLarge, format!("upload is larger than the limit of {limit} bytes")));
    }
    Ok(buf.freeze())
}

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    page: Option<usize>,
    limit: Option<usize>,
    sort: Option<String>,
    order: Option<String>,
    status: Option<String>,
    search: Option<String>,
    /// Only torrents of this category (label).
    category: Option<String>,
}

/// `GET /api/torrents/`. The total before paging is in `X-Total-Count`.
pub async fn list(
    State(state): State<AppState>,
    _caller: Caller,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Response> {
    // The plain list (no filter, in the order added): only the page's torrents are
    // looked at, not every one on the box.
    let plain = q.status.as_deref().unwrap_or("").is_empty()
        && q.category.as_deref().unwrap_or("").is_empty()
        && q.search.as_deref().unwrap_or("").is_empty()
        && matches!(q.sort.as_deref(), None | Some("") | Some("added"));
    if plain {
        let desc = match q.order.as_deref() {
            None | Some("") | Some("asc") => false,
            Some("desc") => true,
            Some(o) => return Err(ApiError::bad_request(format!("order {o:?} is not asc or desc"))),
        };
        let (skip, take) = super::paging::bounds(q.page, q.limit, 100)?;
        let (total, json) = state.list_cache.page(&state.engine, desc, skip, take)?;
        let mut resp = ([(axum::http::header::CONTENT_TYPE, "application/json")], json).into_response();
        resp.headers_mut().insert("x-total-count", axum::http::HeaderValue::from(total));
        return Ok(resp);
    }
    let mut all = state.engine.list()?;
    if let Some(s) = q.status.as_deref().filter(|s| !s.is_empty()) {
        let status = Status::parse(s).ok_or_else(|| {
            ApiError::bad_request(format!(
                "status {s:?} is not one of metadata, checking, downloading, seeding, paused, error, removed"
            ))
        })?;
        all.retain(|t| t.status == status);
    }
    if let Some(c) = q.category.as_deref().filter(|c| !c.is_empty()) {
        all.retain(|t| t.category.as_deref() == Some(c));
    }
    if let Some(needle) = q.search.as_deref().map(str::to_lowercase).filter(|s| !s.is_empty()) {
        all.retain(|t| t.name.to_lowercase().contains(&needle) || t.id.contains(&needle));
    }
    let desc = match q.order.as_deref() {
        None | Some("") => q.sort.is_some() && q.sort.as_deref() != Some("name"),
        Some("asc") => false,
        Some("desc") => true,
        Some(o) => return Err(ApiError::bad_request(format!("order {o:?} is not asc or desc"))),
    };
    match q.sort.as_deref() {
        None | Some("") | Some("added") => all.sort_by(|a, b| a.added_at.cmp(&b.added_at)),
        Some("name") => all.sort_by_key(|t| t.name.to_lowercase()),
        Some("size") => all.sort_by_key(|t| t.size),
        Some("progress") => all.sort_by(|a, b| a.progress.total_cmp(&b.progress)),
        Some("seeds") => all.sort_by_key(|t| t.seeds),
        Some(s) => {
            return Err(ApiError::bad_request(format!("sort {s:?} is not one of added, name, size, progress, seeds")));
        }
    }
    if desc {
        all.reverse();
    }
    super::paging::page(all, q.page, q.limit, 100)
}

pub async fn get(
    State(state): State<AppState>,
    _caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<ApiJson<TorrentView>> {
    Ok(ApiJson(state.engine.view(&normalize_id(&id))?))
}

#[derive(Debug, Deserialize)]
pub struct RemoveQuery {
    #[serde(default)]
    delete_files: Option<String>,
}

pub async fn remove(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<RemoveQuery>,
) -> ApiResult<ApiJson<serde_json::Value>> {
    let delete_files = match q.delete_files.as_deref() {
        None | Some("") | Some("false") | Some("0") => false,
        Some("true") | Some("1") => true,
        Some(v) => return Err(ApiError::bad_request(format!("delete_files {v:?} is not true or false"))),
    };
    require_owner(&state, &caller, &id)?;
    state.engine.remove(&normalize_id(&id), delete_files).await?;
    Ok(ApiJson(json!({ "message": "Torrent removed successfully" })))
}

pub async fn start(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<ApiJson<TorrentView>> {
    require_owner(&state, &caller, &id)?;
    Ok(ApiJson(state.engine.start(&normalize_id(&id)).await?))
}

pub async fn stop(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<ApiJson<TorrentView>> {
    require_owner(&state, &caller, &id)?;
    Ok(ApiJson(state.engine.stop(&normalize_id(&id)).await?))
}

/// The body of `POST /api/torrents/{id}/files`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilesBody {
    /// Indices of the files to download.
    pub files: Vec<usize>,
}

/// `POST /api/torrents/{id}/files`: choose the files to download once metadata is known.
pub async fn select_files(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<FilesBody>,
) -> ApiResult<ApiJson<TorrentView>> {
    require_owner(&state, &caller, &id)?;
    Ok(ApiJson(state.engine.select_files(&normalize_id(&id), body.files).await?))
}

pub async fn peers(
    State(state): State<AppState>,
    _caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<ApiJson<Vec<PeerView>>> {
    Ok(ApiJson(state.engine.peers(&normalize_id(&id))?))
}

/// `GET /api/torrents/{id}/torrent`: the .torrent file.
pub async fn torrent_file(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let (name, mut bytes) = state.engine.torrent_file(&normalize_id(&id))?;
    // The built-in tracker's announce URL carries the caller's passkey.
    if let Some(u) = caller.user_id
        && let Some(key) = state.store.passkey(u).map_err(ApiError::internal)?
    {
        let own = super::create::own_announce_url(&state, &headers);
        if let Some(b) = crate::tracker::passkey_url::embed(&bytes, &own, &key) {
            bytes = b.into();
        }
    }
    let safe: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() || " .-_()[]".contains(c) { c } else { '_' }).collect();
    Ok((
        [
            (header::CONTENT_TYPE, "application/x-bittorrent".to_string()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{safe}.torrent\"")),
        ],
        bytes,
    )
        .into_response())
}

/// `GET|HEAD /api/torrents/{id}/files/{index}`: raw bytes with `Range`.
pub async fn file(
    State(state): State<AppState>,
    _caller: Caller,
    method: Method,
    Path((id, index)): Path<(String, String)>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let id = normalize_id(&id);
    let index: usize = index.parse().map_err(|_| ApiError::not_found(format!("torrent {id} has no file {index:?}")))?;
    let reader = state.engine.open_file(&id, index).await?;
    state.engine.touch_watched(&id);
    let len = reader.len();
    let mime = engine::mime_type(reader.name());
    let mut resp = range::serve(reader, len, mime, &headers, method == Method::HEAD).await?;
    // What DLNA TVs (Samsung, LG) want of a media resource.
    let h = resp.headers_mut();
    h.insert("transferMode.dlna.org", axum::http::HeaderValue::from_static("Streaming"));
    if let Ok(v) = axum::http::HeaderValue::from_str(&crate::lan::dlna::content_features()) {
        h.insert("contentFeatures.dlna.org", v);
    }
    // Samsung TVs ask for the subtitle file with `getCaptionInfo.sec: 1`.
    if headers.contains_key("getcaptioninfo.sec")
        && let Ok(view) = state.engine.view(&id)
        && let Some(name) = view.files.get(index).map(|f| f.name.clone())
        && let Some(sub) = crate::lan::dlna::directory::sidecar_subtitle(&view, &name)
    {
        let token = state.auth.mint_stream_token(&id, None);
        let url =
            format!("{}/api/torrents/{id}/files/{sub}?token={token}", super::playlist::base_url(&state, &headers));
        if let Ok(v) = axum::http::HeaderValue::from_str(&url) {
            resp.headers_mut().insert("CaptionInfo.sec", v);
        }
    }
    Ok(resp)
}

/// Plain users may change only the torrents they added; admins any.
pub(super) fn require_owner(state: &AppState, caller: &Caller, id: &str) -> ApiResult<()> {
    let t = state.engine.view(&normalize_id(id))?;
    caller.require_manage(t.added_by, &format!("torrent {}", t.id))
}

/// Info-hashes are matched in lower case.
fn normalize_id(id: &str) -> String {
    id.trim().to_ascii_lowercase()
}
