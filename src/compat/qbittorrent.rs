//! The qBittorrent Web API v2 (`/api/v2/…`, as qBittorrent 5.0 / WebAPI 2.11): form
//! or query parameters in, JSON or `Ok.` out. `auth/login` opens a normal swarmcast
//! session whose token is the `SID` cookie.

use std::collections::HashMap;

use axum::extract::{FromRequest, Multipart, Request};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::mapping;
use super::qbittorrent_json::{info, preferences, properties};
use super::{Ctx, Who};
use crate::engine::{self, AddOptions, EngineError, Source, Status, TorrentView};
use crate::store::{Category, TorrentSettings};

/// The version this API answers as.
pub const APP_VERSION: &str = "v5.0.0";
pub const WEBAPI_VERSION: &str = "2.11.2";
/// Bodies larger than this are refused (form fields and .torrent files).
const MAX_BODY: usize = 16 << 20;

/// The parameters of a request: the query, the form fields, and any .torrent files.
#[derive(Default)]
struct Params {
    fields: HashMap<String, String>,
    torrents: Vec<bytes::Bytes>,
}

impl Params {
    fn get(&self, k: &str) -> Option<&str> {
        self.fields.get(k).map(String::as_str)
    }
    fn flag(&self, k: &str) -> bool {
        self.get(k).is_some_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
    }
}

/// A failure, as qBittorrent reports them: a status and a line of text.
struct Fail(StatusCode, String);

impl From<EngineError> for Fail {
    fn from(e: EngineError) -> Self {
        let status = match &e {
            EngineError::NotFound(_) => StatusCode::NOT_FOUND,
            EngineError::BadInput(_) | EngineError::AlreadyAdded(_) => StatusCode::BAD_REQUEST,
            EngineError::QuotaExceeded(_) => StatusCode::INSUFFICIENT_STORAGE,
            EngineError::Stopped => StatusCode::SERVICE_UNAVAILABLE,
            EngineError::Internal(e) => {
                tracing::error!("qBittorrent API: {e:#}");
                return Fail(StatusCode::INTERNAL_SERVER_ERROR, "internal error; see the daemon's log".into());
            }
            _ => StatusCode::CONFLICT,
        };
        Fail(status, e.to_string())
    }
}

fn internal(e: anyhow::Error) -> Fail {
    EngineError::Internal(e).into()
}

type Reply = Result<Response, Fail>;

fn ok_text() -> Reply {
    Ok((StatusCode::OK, [(header::CONTENT_TYPE, "text/plain; charset=UTF-8")], "Ok.").into_response())
}

fn json_reply(v: Value) -> Reply {
    Ok(axum::Json(v).into_response())
}

fn text(s: &str) -> Reply {
    Ok((StatusCode::OK, [(header::CONTENT_TYPE, "text/plain; charset=UTF-8")], s.to_string()).into_response())
}

/// Whether an endpoint only reads (clients such as qbittorrent-api POST those too,
/// so the rate limit counts them as reads by this, not by the method).
pub fn is_read(endpoint: &str) -> bool {
    matches!(
        endpoint,
        "app/version"
            | "app/webapiVersion"
            | "app/buildInfo"
            | "app/preferences"
            | "app/defaultSavePath"
            | "torrents/info"
            | "torrents/properties"
            | "torrents/files"
            | "torrents/categories"
            | "torrents/tags"
            | "transfer/info"
            | "sync/maindata"
    )
}

/// Answers one request to `/api/v2/{endpoint}`. `who` is `None` only for the public
/// `auth/login`. `ip` is for the login rate limit.
pub async fn handle(ctx: &Ctx, who: Option<&Who>, ip: std::net::IpAddr, req: Request) -> Response {
    let path = req.uri().path().to_string();
    let endpoint = path.strip_prefix("/api/v2/").unwrap_or("").to_string();
    let method = req.method().clone();
    let params = match read_params(req).await {
        Ok(p) => p,
        Err(f) => return f.into_response(),
    };
    let result = match (endpoint.as_str(), who) {
        ("auth/login", _) => login(ctx, ip, &params).await,
        (_, None) => Err(Fail(StatusCode::FORBIDDEN, "Forbidden".into())),
        (e, Some(who)) => {
            if !is_read(e) && method != Method::POST {
                Err(Fail(StatusCode::METHOD_NOT_ALLOWED, format!("{e} takes POST")))
            } else {
                call(ctx, who, e, &params).await
            }
        }
    };
    match result {
        Ok(r) => r,
        Err(f) => f.into_response(),
    }
}

impl IntoResponse for Fail {
    fn into_response(self) -> Response {
        (self.0, [(header::CONTENT_TYPE, "text/plain; charset=UTF-8")], self.1).into_response()
    }
}

async fn read_params(req: Request) -> Result<Params, Fail> {
    let mut p = Params::default();
    if let Some(q) = req.uri().query() {
        p.fields.extend(url::form_urlencoded::parse(q.as_bytes()).into_owned());
    }
    let ct = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_ascii_lowercase();
    let bad = |e: String| Fail(StatusCode::BAD_REQUEST, e);
    if ct.starts_with("multipart/form-data") {
        let mut mp = Multipart::from_request(req, &()).await.map_err(|e| bad(e.body_text()))?;
        let mut total = 0usize;
        while let Some(field) = mp.next_field().await.map_err(|e| bad(e.body_text()))? {
            let name = field.name().unwrap_or("").to_string();
            let is_file = field.file_name().is_some() || name == "torrents";
            let data = field.bytes().await.map_err(|e| bad(e.body_text()))?;
            total += data.len();
            if total > MAX_BODY {
                return Err(Fail(StatusCode::PAYLOAD_TOO_LARGE, "the request is too large".into()));
            }
            if name == "torrents" && is_file {
                p.torrents.push(data);
            } else {
                p.fields.insert(name, String::from_utf8_lossy(&data).into_owned());
            }
        }
    } else {
        let body = axum::body::to_bytes(req.into_body(), MAX_BODY)
            .await
            .map_err(|_| Fail(StatusCode::PAYLOAD_TOO_LARGE, "the request is too large".into()))?;
        if ct.starts_with("application/x-www-form-urlencoded") || ct.is_empty() {
            p.fields.extend(url::form_urlencoded::parse(&body).into_owned());
        }
    }
    Ok(p)
}

/// `auth/login`: a user's name and password, or an API key as the password.
/// `Ok.` with the `SID` cookie; `Fails.` otherwise (as qBittorrent, status 200).
async fn login(ctx: &Ctx, ip: std::net::IpAddr, p: &Params) -> Reply {
    let name = p.get("username").unwrap_or("").to_string();
    let password = p.get("password").unwrap_or("").to_string();
    if let Err(secs) = ctx.auth.limits.check_login(&name, ip) {
        let mut r =
            Fail(StatusCode::TOO_MANY_REQUESTS, format!("too many failed logins; retry in {secs} s")).into_response();
        r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
        return Ok(r);
    }
    let auth = ctx.auth.clone();
    let login = tokio::task::spawn_blocking(move || -> anyhow::Result<Option<String>> {
        let user = match auth.check_password(&name, &password)? {
            Some(u) => Some(u),
            None if password.starts_with(crate::auth::API_KEY_TAG) => auth.check_api_key(&password)?.map(|(u, _)| u),
            None => None,
        };
        match user {
            Some(u) => Ok(Some(auth.login(u.id, false)?.token)),
            None => {
                tracing::info!(user = %name.chars().take(64).collect::<String>(), %ip, "failed qBittorrent API login");
                Ok(None)
            }
        }
    })
    .await
    .map_err(|e| internal(e.into()))?
    .map_err(internal)?;
    let Some(token) = login else { return text("Fails.") };
    let mut cookie = format!("SID={token}; HttpOnly; SameSite=Strict; Path=/");
    if ctx.secure_cookies {
        cookie.push_str("; Secure");
    }
    let mut r = ok_text()?;
    r.headers_mut().insert(header::SET_COOKIE, HeaderValue::from_str(&cookie).map_err(|e| internal(e.into()))?);
    Ok(r)
}

async fn call(ctx: &Ctx, who: &Who, endpoint: &str, p: &Params) -> Reply {
    let engine = &ctx.engine;
    match endpoint {
        "auth/logout" => {
            let auth = ctx.auth.clone();
            let hash = who.session_hash.clone();
            tokio::task::spawn_blocking(move || auth.logout(hash.as_deref(), None))
                .await
                .map_err(|e| internal(e.into()))?
                .map_err(internal)?;
            let mut r = ok_text()?;
            r.headers_mut().insert(header::SET_COOKIE, HeaderValue::from_static("SID=; HttpOnly; Path=/; Max-Age=0"));
            Ok(r)
        }
        "app/version" => text(APP_VERSION),
        "app/webapiVersion" => text(WEBAPI_VERSION),
        "app/buildInfo" => {
            json_reply(json!({"qt": "", "libtorrent": "librqbit", "boost": "", "openssl": "", "bitness": 64}))
        }
        "app/defaultSavePath" => text(&engine.download_dir().to_string_lossy()),
        "app/preferences" => json_reply(preferences(ctx)),
        "app/setPreferences" => ok_text(),
        "torrents/info" => {
            let list = filtered(ctx, p)?;
            json_reply(Value::Array(list.iter().map(|t| info(ctx, t)).collect()))
        }
        "torrents/properties" => Ok(properties(&one(ctx, p)?)),
        "torrents/files" => {
            let t = one(ctx, p)?;
            let files: Vec<Value> = t
                .files
                .iter()
                .map(|f| {
                    json!({
                        "index": f.index,
                        "name": mapping::client_file_name(&t, &f.name),
                        "size": f.size,
                        "progress": f.progress / 100.0,
                        "priority": i32::from(f.selected),
                        "is_seed": f.progress >= 100.0,
                        "piece_range": [0, 0],
                        "availability": if f.progress >= 100.0 { 1.0 } else { -1.0 },
                    })
                })
                .collect();
            json_reply(Value::Array(files))
        }
        "torrents/add" => add(ctx, who, p).await,
        "torrents/delete" => {
            let delete = p.flag("deleteFiles");
            for t in targets(ctx, p)? {
                who.may_change(&t)?;
                engine.remove(&t.id, delete).await?;
            }
            ok_text()
        }
        "torrents/pause" | "torrents/stop" => {
            for t in targets(ctx, p)? {
                who.may_change(&t)?;
                engine.stop(&t.id).await?;
            }
            ok_text()
        }
        "torrents/resume" | "torrents/start" => {
            for t in targets(ctx, p)? {
                who.may_change(&t)?;
                engine.start(&t.id).await?;
            }
            ok_text()
        }
        "torrents/setCategory" => {
            let c = p.get("category").unwrap_or("");
            if !c.is_empty() && engine.store().category(c).map_err(internal)?.is_none() {
                return Err(Fail(StatusCode::CONFLICT, "Incorrect category name".into()));
            }
            for t in targets(ctx, p)? {
                who.may_change(&t)?;
                engine.set_category(&t.id, Some(c))?;
            }
            ok_text()
        }
        "torrents/categories" => {
            let mut out = Map::new();
            for c in engine.store().categories().map_err(internal)? {
                let path = category_path(ctx, &c);
                out.insert(c.name.clone(), json!({"name": c.name, "savePath": path}));
            }
            json_reply(Value::Object(out))
        }
        "torrents/createCategory" | "torrents/editCategory" => {
            let name = p.get("category").unwrap_or("").trim().to_string();
            if !super::valid_category(&name) {
                return Err(Fail(StatusCode::BAD_REQUEST, "Invalid category name".into()));
            }
            let exists = engine.store().category(&name).map_err(internal)?.is_some();
            if exists == (endpoint == "torrents/createCategory") {
                return Err(Fail(StatusCode::CONFLICT, "Unable to create category".into()));
            }
            let save_path = match p.get("savePath").map(str::trim).filter(|s| !s.is_empty()) {
                Some(s) => relative(ctx, &engine.save_dir(s)?),
                None => String::new(),
            };
            engine.store().set_category(&Category { name, save_path }).map_err(internal)?;
            ok_text()
        }
        "torrents/removeCategories" => {
            for name in p.get("categories").unwrap_or("").split('\n').filter(|c| !c.is_empty()) {
                engine.store().remove_category(name).map_err(internal)?;
            }
            ok_text()
        }
        "torrents/addTags" | "torrents/removeTags" => {
            let given: Vec<&str> =
                p.get("tags").unwrap_or("").split(',').map(str::trim).filter(|t| !t.is_empty()).collect();
            for t in targets(ctx, p)? {
                who.may_change(&t)?;
                let have = engine.store().torrent_tags(&t.id).map_err(internal)?;
                let mut tags: Vec<String> = have.split(',').filter(|s| !s.is_empty()).map(str::to_string).collect();
                if endpoint == "torrents/addTags" {
                    for g in &given {
                        if !tags.iter().any(|x| x == g) {
                            tags.push(g.to_string());
                        }
                    }
                } else {
                    tags.retain(|x| !given.contains(&x.as_str()));
                }
                engine.store().set_torrent_tags(&t.id, &tags.join(",")).map_err(internal)?;
            }
            ok_text()
        }
        "torrents/tags" => {
            let mut all: Vec<String> = Vec::new();
            for t in engine.list()? {
                for tag in engine.store().torrent_tags(&t.id).map_err(internal)?.split(',').filter(|s| !s.is_empty()) {
                    if !all.iter().any(|a| a == tag) {
                        all.push(tag.to_string());
                    }
                }
            }
            json_reply(json!(all))
        }
        "torrents/setShareLimits" => {
            for t in targets(ctx, p)? {
                who.may_change(&t)?;
                share_limits(ctx, &t.id, p)?;
            }
            ok_text()
        }
        // No queue, no priorities to move: accepted, nothing to do (qBittorrent
        // answers 409 when queueing is off, which Sonarr tolerates).
        "torrents/topPrio" | "torrents/bottomPrio" | "torrents/increasePrio" | "torrents/decreasePrio" => {
            Err(Fail(StatusCode::CONFLICT, "Torrent queueing must be enabled".into()))
        }
        "torrents/setForceStart" => {
            if p.flag("value") {
                for t in targets(ctx, p)? {
                    who.may_change(&t)?;
                    engine.start(&t.id).await?;
                }
            }
            ok_text()
        }
        "transfer/info" => {
            let t = engine.totals()?;
            json_reply(json!({
                "dl_info_speed": t.download_rate, "dl_info_data": 0,
                "up_info_speed": t.upload_rate, "up_info_data": 0,
                "dl_rate_limit": 0, "up_rate_limit": 0,
                "dht_nodes": t.dht_nodes, "connection_status": "connected",
            }))
        }
        "sync/maindata" => {
            let rid = p.get("rid").and_then(|r| r.parse::<i64>().ok()).unwrap_or(0);
            let mut torrents = Map::new();
            for t in engine.list()? {
                torrents.insert(t.id.clone(), info(ctx, &t));
            }
            let mut categories = Map::new();
            for c in engine.store().categories().map_err(internal)? {
                let path = category_path(ctx, &c);
                categories.insert(c.name.clone(), json!({"name": c.name, "savePath": path}));
            }
            let t = engine.totals()?;
            let (_, free, _) = engine::quota::space(engine.download_dir()).unwrap_or((0, 0, 0));
            // Always a full update: a client may be sent one at any time.
            json_reply(json!({
                "rid": rid + 1,
                "full_update": true,
                "torrents": torrents,
                "categories": categories,
                "tags": [],
                "server_state": {
                    "dl_info_speed": t.download_rate, "up_info_speed": t.upload_rate,
                    "dl_info_data": 0, "up_info_data": 0, "free_space_on_disk": free,
                    "dht_nodes": t.dht_nodes, "connection_status": "connected",
                    "queueing": false, "use_alt_speed_limits": false,
                },
            }))
        }
        _ => Err(Fail(StatusCode::NOT_FOUND, format!("no such endpoint: {endpoint}"))),
    }
}

/// A category's save path as the clients see it: absolute.
fn category_path(ctx: &Ctx, c: &Category) -> String {
    if c.save_path.is_empty() {
        String::new()
    } else {
        ctx.engine.download_dir().join(&c.save_path).to_string_lossy().into_owned()
    }
}

/// A folder inside the download dir, relative to it.
fn relative(ctx: &Ctx, dir: &std::path::Path) -> String {
    let root = ctx.engine.download_dir().canonicalize().unwrap_or_else(|_| ctx.engine.download_dir().to_path_buf());
    dir.strip_prefix(&root).unwrap_or(dir).to_string_lossy().into_owned()
}

/// The torrents of `hashes` (`|`-separated, or `all`).
fn targets(ctx: &Ctx, p: &Params) -> Result<Vec<TorrentView>, Fail> {
    let hashes = p.get("hashes").unwrap_or("");
    let all = ctx.engine.list()?;
    if hashes == "all" {
        return Ok(all);
    }
    let wanted: Vec<String> =
        hashes.split('|').map(|h| h.trim().to_ascii_lowercase()).filter(|h| !h.is_empty()).collect();
    Ok(all.into_iter().filter(|t| wanted.contains(&t.id)).collect())
}

/// The torrent of `hash`; 404 as qBittorrent when unknown.
fn one(ctx: &Ctx, p: &Params) -> Result<TorrentView, Fail> {
    let hash = p.get("hash").unwrap_or("").trim().to_ascii_lowercase();
    ctx.engine.view(&hash).map_err(|_| Fail(StatusCode::NOT_FOUND, "Torrent hash was not found".into()))
}

/// `torrents/info` with its filters and paging.
fn filtered(ctx: &Ctx, p: &Params) -> Result<Vec<TorrentView>, Fail> {
    let mut list = ctx.engine.list()?;
    if let Some(h) = p.get("hashes").filter(|h| !h.is_empty()) {
        let wanted: Vec<String> = h.split('|').map(|h| h.trim().to_ascii_lowercase()).collect();
        list.retain(|t| wanted.contains(&t.id));
    }
    if let Some(c) = p.get("category") {
        // An empty category means "without a category".
        list.retain(|t| t.category.as_deref().unwrap_or("") == c);
    }
    if let Some(tag) = p.get("tag") {
        let store = ctx.engine.store();
        list.retain(|t| {
            let tags = store.torrent_tags(&t.id).unwrap_or_default();
            if tag.is_empty() { tags.is_empty() } else { tags.split(',').any(|x| x == tag) }
        });
    }
    if let Some(f) = p.get("filter").filter(|f| !f.is_empty() && *f != "all") {
        list.retain(|t| {
            let state = mapping::qbittorrent_state(t);
            let active = t.download_rate + t.upload_rate > 0;
            match f {
                "downloading" => matches!(state, "downloading" | "stalledDL" | "metaDL" | "checkingDL" | "queuedDL"),
                "seeding" => matches!(state, "uploading" | "stalledUP" | "checkingUP" | "queuedUP"),
                "completed" => mapping::is_complete(t),
                "paused" | "stopped" => t.status == Status::Paused,
                "resumed" | "running" => t.status != Status::Paused,
                "active" => active,
                "inactive" => !active,
                "stalled" => matches!(state, "stalledDL" | "stalledUP"),
                "stalled_uploading" => state == "stalledUP",
                "stalled_downloading" => state == "stalledDL",
                "checking" => state.starts_with("checking"),
                "moving" => false,
                "errored" => matches!(state, "error" | "missingFiles"),
                _ => true,
            }
        });
    }
    if p.get("sort") == Some("name") {
        list.sort_by_key(|t| t.name.to_lowercase());
    }
    if p.flag("reverse") {
        list.reverse();
    }
    let offset = p.get("offset").and_then(|o| o.parse::<usize>().ok()).unwrap_or(0);
    let limit = p.get("limit").and_then(|o| o.parse::<usize>().ok()).filter(|l| *l > 0).unwrap_or(usize::MAX);
    Ok(list.into_iter().skip(offset).take(limit).collect())
}

/// `torrents/add`: `urls` (one per line) and/or `.torrent` files.
async fn add(ctx: &Ctx, who: &Who, p: &Params) -> Reply {
    let category = p.get("category").map(str::trim).filter(|c| !c.is_empty()).map(str::to_string);
    if let Some(c) = &category
        && !super::valid_category(c)
    {
        return Err(Fail(StatusCode::BAD_REQUEST, "Invalid category name".into()));
    }
    // An explicit save path wins; else the category's own.
    let save_dir = match p.get("savepath").map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) => Some(ctx.engine.save_dir(s)?),
        None => match &category {
            Some(c) => match ctx.engine.store().category(c).map_err(internal)? {
                Some(cat) if !cat.save_path.is_empty() => Some(ctx.engine.save_dir(&cat.save_path)?),
                _ => None,
            },
            None => None,
        },
    };
    let paused = p.flag("paused") || p.flag("stopped");
    let mut sources = Vec::new();
    for url in p.get("urls").unwrap_or("").split(['\n', '\r']).map(str::trim).filter(|u| !u.is_empty()) {
        sources.push(engine::parse_uri(url)?);
    }
    for bytes in &p.torrents {
        sources.push(Source::Torrent(engine::parse_torrent(bytes.clone())?));
    }
    if sources.is_empty() {
        return Err(Fail(StatusCode::BAD_REQUEST, "give `urls` or `torrents`".into()));
    }
    let tags = p.get("tags").unwrap_or("").to_string();
    for source in sources {
        let opts = AddOptions {
            paused,
            added_by: who.user_id,
            category: category.clone(),
            save_dir: save_dir.clone(),
            ..Default::default()
        };
        let t = match ctx.engine.add(source, opts).await {
            Ok(t) => t,
            // As qBittorrent 5: a torrent already there is not an error.
            Err(EngineError::AlreadyAdded(_)) => continue,
            Err(e) => return Err(e.into()),
        };
        if !tags.trim().is_empty() {
            let clean: Vec<&str> = tags.split(',').map(str::trim).filter(|t| !t.is_empty()).collect();
            ctx.engine.store().set_torrent_tags(&t.id, &clean.join(",")).map_err(internal)?;
        }
        if p.get("ratioLimit").is_some() || p.get("seedingTimeLimit").is_some() {
            share_limits(ctx, &t.id, p)?;
        }
    }
    ok_text()
}

/// `ratioLimit` and `seedingTimeLimit` (minutes; `-2` global, `-1` none) become the
/// torrent's own seeding rules.
fn share_limits(ctx: &Ctx, id: &str, p: &Params) -> Result<(), Fail> {
    let store = ctx.engine.store();
    let mut s: TorrentSettings = store.torrent_settings(id).map_err(internal)?;
    let bad = |k: &str| Fail(StatusCode::BAD_REQUEST, format!("{k} is not a number"));
    if let Some(r) = p.get("ratioLimit") {
        s.ratio_limit = mapping::ratio_limit(r.trim().parse::<f64>().map_err(|_| bad("ratioLimit"))?);
    }
    if let Some(m) = p.get("seedingTimeLimit") {
        s.seed_time_limit_minutes =
            mapping::minutes_limit(m.trim().parse::<i64>().map_err(|_| bad("seedingTimeLimit"))?);
    }
    store.set_torrent_settings(id, &s).map_err(internal)?;
    Ok(())
}
