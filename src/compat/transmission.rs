//! The Transmission RPC (`POST /transmission/rpc`, RPC version 17): the
//! `X-Transmission-Session-Id` handshake, then one JSON method per request.

use std::sync::OnceLock;

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::mapping::{self, left_until_done, size_when_done};
use super::{Ctx, Who};
use crate::engine::{self, AddOptions, EngineError, Source, TorrentView};
use crate::store::TorrentSettings;

/// The session-id header.
pub const SESSION_HEADER: &str = "x-transmission-session-id";

/// This daemon's session id (new at each start), which every request must echo: a
/// page on another site cannot read it, so cannot forge a request with it.
pub fn session_id() -> &'static str {
    static ID: OnceLock<String> = OnceLock::new();
    ID.get_or_init(|| crate::auth::tokens::random_token(24))
}

/// Answers one RPC request.
pub async fn rpc(ctx: &Ctx, who: &Who, headers: &HeaderMap, body: &[u8]) -> Response {
    let sent = headers.get(SESSION_HEADER).and_then(|v| v.to_str().ok());
    if sent != Some(session_id()) {
        let mut r = (
            StatusCode::CONFLICT,
            [(header::CONTENT_TYPE, "text/html; charset=UTF-8")],
            format!("<h1>409: Conflict</h1><p>Your request had an invalid session-id header.</p><p><code>{SESSION_HEADER}: {}</code></p>", session_id()),
        )
            .into_response();
        r.headers_mut().insert(SESSION_HEADER, HeaderValue::from_static(session_id()));
        return r;
    }
    let req: Value = match serde_json::from_slice(body) {
        Ok(v @ Value::Object(_)) => v,
        _ => {
            return (StatusCode::BAD_REQUEST, "the body is not a JSON object with a `method`").into_response();
        }
    };
    let method = req["method"].as_str().unwrap_or("");
    let args = req.get("arguments").cloned().unwrap_or_else(|| json!({}));
    let (result, arguments) = match call(ctx, who, method, &args).await {
        Ok(a) => ("success".to_string(), a),
        Err(e) => (e, json!({})),
    };
    let mut out = json!({ "result": result, "arguments": arguments });
    if let Some(tag) = req.get("tag") {
        out["tag"] = tag.clone();
    }
    let mut r = axum::Json(out).into_response();
    r.headers_mut().insert(SESSION_HEADER, HeaderValue::from_static(session_id()));
    r
}

fn err(e: EngineError) -> String {
    e.to_string()
}

async fn call(ctx: &Ctx, who: &Who, method: &str, args: &Value) -> Result<Value, String> {
    let engine = &ctx.engine;
    match method {
        "session-get" => Ok(session_get(ctx)),
        "session-set" => Ok(json!({})),
        "session-stats" => {
            let t = engine.totals().map_err(err)?;
            let paused = t.by_status.get(&engine::Status::Paused).copied().unwrap_or(0);
            let stats = json!({"uploadedBytes": 0, "downloadedBytes": 0, "filesAdded": 0, "sessionCount": 1, "secondsActive": 0});
            Ok(json!({
                "activeTorrentCount": t.torrents - paused,
                "pausedTorrentCount": paused,
                "torrentCount": t.torrents,
                "downloadSpeed": t.download_rate,
                "uploadSpeed": t.upload_rate,
                "cumulative-stats": stats,
                "current-stats": stats,
            }))
        }
        "free-space" => {
            let dir = engine.download_dir().to_path_buf();
            let (total, free, _) = engine::quota::space(&dir).map_err(|e| e.to_string())?;
            Ok(json!({ "path": dir, "size-bytes": free, "total_size": total }))
        }
        "torrent-add" => torrent_add(ctx, who, args).await,
        "torrent-get" => torrent_get(ctx, args),
        "torrent-start" | "torrent-start-now" => {
            for t in pick(ctx, args)? {
                who.may_change(&t).map_err(err)?;
                engine.start(&t.id).await.map_err(err)?;
            }
            Ok(json!({}))
        }
        "torrent-stop" => {
            for t in pick(ctx, args)? {
                who.may_change(&t).map_err(err)?;
                engine.stop(&t.id).await.map_err(err)?;
            }
            Ok(json!({}))
        }
        "torrent-remove" => {
            let delete = args["delete-local-data"].as_bool().unwrap_or(false);
            for t in pick(ctx, args)? {
                who.may_change(&t).map_err(err)?;
                engine.remove(&t.id, delete).await.map_err(err)?;
            }
            Ok(json!({}))
        }
        "torrent-set" => {
            for t in pick(ctx, args)? {
                who.may_change(&t).map_err(err)?;
                torrent_set(ctx, &t, args)?;
            }
            Ok(json!({}))
        }
        // Pieces are verified as they arrive and on every start; nothing to queue.
        "torrent-verify" | "torrent-reannounce" => {
            pick(ctx, args)?;
            Ok(json!({}))
        }
        "queue-move-top" | "queue-move-up" | "queue-move-down" | "queue-move-bottom" => Ok(json!({})),
        other => Err(format!("method name not recognized: {:?}", other.chars().take(64).collect::<String>())),
    }
}

fn session_get(ctx: &Ctx) -> Value {
    let c = ctx.engine.live().get();
    let s = &c.seeding;
    json!({
        "version": format!("4.0.6 (swarmcast {})", env!("CARGO_PKG_VERSION")),
        "rpc-version": 17,
        "rpc-version-minimum": 14,
        "rpc-version-semver": "5.3.0",
        "session-id": session_id(),
        "download-dir": ctx.engine.download_dir(),
        "incomplete-dir-enabled": false,
        "seedRatioLimit": s.ratio_limit,
        "seedRatioLimited": s.ratio_limit > 0.0,
        "idle-seeding-limit": s.time_limit_minutes,
        "idle-seeding-limit-enabled": s.time_limit_minutes > 0,
        "download-queue-enabled": false,
        "seed-queue-enabled": false,
        "speed-limit-down-enabled": false,
        "speed-limit-up-enabled": false,
        "dht-enabled": true,
        "pex-enabled": true,
        "encryption": "preferred",
        "units": {
            "speed-units": ["kB/s", "MB/s", "GB/s", "TB/s"], "speed-bytes": 1000,
            "size-units": ["kB", "MB", "GB", "TB"], "size-bytes": 1000,
            "memory-units": ["KiB", "MiB", "GiB", "TiB"], "memory-bytes": 1024,
        },
    })
}

/// `ids`: absent = all; a number; a hash; or a list of numbers and hashes;
/// `"recently-active"` = all.
fn pick(ctx: &Ctx, args: &Value) -> Result<Vec<TorrentView>, String> {
    let all = ctx.engine.list().map_err(err)?;
    let numbers = ctx.engine.store().torrent_numbers().map_err(|e| e.to_string())?;
    let wanted: Vec<&Value> = match args.get("ids") {
        None | Some(Value::Null) => return Ok(all),
        Some(Value::String(s)) if s == "recently-active" => return Ok(all),
        Some(Value::Array(a)) => a.iter().collect(),
        Some(one) => vec![one],
    };
    let mut out = Vec::new();
    for w in wanted {
        let hit = all.iter().find(|t| match w {
            Value::Number(n) => n.as_i64().is_some_and(|n| numbers.get(&t.id) == Some(&n)),
            Value::String(s) => s.eq_ignore_ascii_case(&t.id),
            _ => false,
        });
        match hit {
            Some(t) => out.push(t.clone()),
            None if w.is_number() || w.is_string() => {}
            None => return Err(format!("torrent id {w} is not a number or a hash")),
        }
    }
    Ok(out)
}

async fn torrent_add(ctx: &Ctx, who: &Who, args: &Value) -> Result<Value, String> {
    let source = if let Some(meta) = args["metainfo"].as_str() {
        let clean: String = meta.chars().filter(|c| !c.is_whitespace()).collect();
        let bytes =
            data_encoding::BASE64.decode(clean.as_bytes()).map_err(|e| format!("metainfo is not base64: {e}"))?;
        Source::Torrent(engine::parse_torrent(bytes.into()).map_err(err)?)
    } else if let Some(f) = args["filename"].as_str() {
        engine::parse_uri(f).map_err(err)?
    } else {
        return Err("give `filename` (a magnet or URL) or `metainfo` (a base64 .torrent)".into());
    };
    let save_dir = match args["download-dir"].as_str().filter(|d| !d.is_empty()) {
        Some(d) => Some(ctx.engine.save_dir(d).map_err(err)?),
        None => None,
    };
    let category = args["labels"].as_array().and_then(|l| l.first()).and_then(Value::as_str).map(str::to_string);
    if let Some(c) = &category
        && !super::valid_category(c)
    {
        return Err(format!("label {c:?} is not a valid label"));
    }
    let opts = AddOptions {
        paused: args["paused"].as_bool().unwrap_or(false),
        added_by: who.user_id,
        category,
        save_dir,
        ..Default::default()
    };
    let numbers = |id: &str| ctx.engine.store().torrent_numbers().ok().and_then(|n| n.get(id).copied());
    match ctx.engine.add(source, opts).await {
        Ok(t) => Ok(json!({"torrent-added": {"id": numbers(&t.id), "hashString": t.id, "name": t.name}})),
        Err(EngineError::AlreadyAdded(id)) => {
            let t = ctx.engine.view(&id).map_err(err)?;
            Ok(json!({"torrent-duplicate": {"id": numbers(&t.id), "hashString": t.id, "name": t.name}}))
        }
        Err(e) => Err(err(e)),
    }
}

fn torrent_set(ctx: &Ctx, t: &TorrentView, args: &Value) -> Result<(), String> {
    if let Some(labels) = args["labels"].as_array() {
        let first = labels.first().and_then(Value::as_str);
        if let Some(c) = first
            && !super::valid_category(c)
        {
            return Err(format!("label {c:?} is not a valid label"));
        }
        ctx.engine.set_category(&t.id, first).map_err(err)?;
    }
    let store = ctx.engine.store();
    let mut s: TorrentSettings = store.torrent_settings(&t.id).map_err(|e| e.to_string())?;
    let before = s.clone();
    // seedRatioMode: 0 global, 1 this torrent's limit, 2 unlimited.
    match args["seedRatioMode"].as_i64() {
        Some(0) => s.ratio_limit = None,
        Some(2) => s.ratio_limit = Some(0.0),
        _ => {}
    }
    if let Some(r) = args["seedRatioLimit"].as_f64()
        && args["seedRatioMode"].as_i64().is_none_or(|m| m == 1)
    {
        s.ratio_limit = mapping::ratio_limit(r);
    }
    // The idle limit is kept as the seeding-time limit (minutes).
    match args["seedIdleMode"].as_i64() {
        Some(0) => s.seed_time_limit_minutes = None,
        Some(2) => s.seed_time_limit_minutes = Some(0),
        _ => {}
    }
    if let Some(m) = args["seedIdleLimit"].as_i64()
        && args["seedIdleMode"].as_i64().is_none_or(|m| m == 1)
    {
        s.seed_time_limit_minutes = mapping::minutes_limit(m);
    }
    if s != before {
        store.set_torrent_settings(&t.id, &s).map_err(|e| e.to_string())?;
    }
    Ok(())
}

fn torrent_get(ctx: &Ctx, args: &Value) -> Result<Value, String> {
    let torrents = pick(ctx, args)?;
    let numbers = ctx.engine.store().torrent_numbers().map_err(|e| e.to_string())?;
    let global = ctx.engine.live().get().seeding.clone();
    let fields: Vec<String> = match args["fields"].as_array() {
        Some(f) => f.iter().filter_map(Value::as_str).map(str::to_string).collect(),
        None => ["id", "hashString", "name", "status", "percentDone"].map(String::from).to_vec(),
    };
    let list: Vec<Value> = torrents
        .iter()
        .map(|t| {
            let own = ctx.engine.store().torrent_settings(&t.id).unwrap_or_default();
            let mut o = Map::new();
            for f in &fields {
                if let Some(v) = field(t, f, numbers.get(&t.id).copied().unwrap_or(0), &own, &global) {
                    o.insert(f.clone(), v);
                }
            }
            Value::Object(o)
        })
        .collect();
    Ok(json!({ "torrents": list }))
}

/// One field of a torrent, as Transmission names and computes it.
fn field(
    t: &TorrentView,
    name: &str,
    number: i64,
    own: &TorrentSettings,
    global: &crate::config::SeedingConfig,
) -> Option<Value> {
    let done = mapping::is_complete(t);
    let left = left_until_done(t);
    let want = size_when_done(t);
    let err_code = if t.error.is_some() { 3 } else { 0 };
    let dir = t.save_path.to_string_lossy().into_owned();
    Some(match name {
        "id" => json!(number),
        "hashString" => json!(t.id),
        "name" => json!(t.name),
        "status" => json!(mapping::transmission_status(t)),
        "totalSize" => json!(t.size),
        "sizeWhenDone" => json!(want),
        "leftUntilDone" => json!(left),
        "haveValid" => json!(want - left.min(want)),
        "haveUnchecked" | "corruptEver" | "desiredAvailable" | "recheckProgress" | "queuePosition" => json!(0),
        "percentDone" => json!(if want == 0 { 0.0 } else { (want - left.min(want)) as f64 / want as f64 }),
        "metadataPercentComplete" => json!(if t.status == engine::Status::Metadata { 0.0 } else { 1.0 }),
        "eta" => json!(match t.eta {
            Some(s) => s as i64,
            None if done => -1,
            None => -2,
        }),
        "etaIdle" => json!(-1),
        "error" => json!(err_code),
        "errorString" => json!(t.error.clone().unwrap_or_default()),
        "downloadDir" => json!(dir),
        "isFinished" => json!(done && t.status == engine::Status::Paused),
        "isStalled" => json!(t.download_rate == 0 && !done),
        "isPrivate" => json!(false),
        "labels" => json!(t.category.iter().collect::<Vec<_>>()),
        "uploadRatio" => json!(t.ratio),
        "seedRatioLimit" => json!(own.ratio_limit.unwrap_or(global.ratio_limit)),
        "seedRatioMode" => json!(match own.ratio_limit {
            None => 0,
            Some(r) if r <= 0.0 => 2,
            Some(_) => 1,
        }),
        "seedIdleLimit" => json!(own.seed_time_limit_minutes.unwrap_or(global.time_limit_minutes)),
        "seedIdleMode" => json!(match own.seed_time_limit_minutes {
            None => 0,
            Some(0) => 2,
            Some(_) => 1,
        }),
        "secondsSeeding" => json!(mapping::seconds_seeding(t)),
        "secondsDownloading" => json!(0),
        "addedDate" | "startDate" => json!(mapping::unix(Some(&t.added_at))),
        "doneDate" => json!(mapping::unix(t.completed_at.as_deref())),
        "activityDate" => json!(if t.download_rate + t.upload_rate > 0 {
            time::OffsetDateTime::now_utc().unix_timestamp()
        } else {
            0
        }),
        "dateCreated" => json!(0),
        "rateDownload" => json!(t.download_rate),
        "rateUpload" => json!(t.upload_rate),
        "peersConnected" => json!(t.peers),
        // Peers data flows with (clients show "Idle" when neither way does).
        "peersSendingToUs" => json!(if t.download_rate > 0 { t.seeds.max(1) } else { 0 }),
        "peersGettingFromUs" => json!(if t.upload_rate > 0 { t.peers.saturating_sub(t.seeds).max(1) } else { 0 }),
        "webseedsSendingToUs" => json!(0),
        "uploadedEver" => json!(t.uploaded),
        "downloadedEver" => json!(t.downloaded),
        "magnetLink" => json!(t.magnet_uri),
        "comment" | "creator" => json!(""),
        "trackers" | "trackerStats" | "peers" | "webseeds" => json!([]),
        "files" => json!(
            t.files
                .iter()
                .map(|f| json!({
                    "name": mapping::client_file_name(t, &f.name),
                    "length": f.size,
                    "bytesCompleted": ((f.size as f64 * f.progress / 100.0) as u64).min(f.size),
                }))
                .collect::<Vec<_>>()
        ),
        "fileStats" => json!(
            t.files
                .iter()
                .map(|f| json!({
                    "bytesCompleted": ((f.size as f64 * f.progress / 100.0) as u64).min(f.size),
                    "wanted": f.selected,
                    "priority": 0,
                }))
                .collect::<Vec<_>>()
        ),
        "priorities" => json!(t.files.iter().map(|_| 0).collect::<Vec<_>>()),
        "wanted" => json!(t.files.iter().map(|f| i32::from(f.selected)).collect::<Vec<_>>()),
        "pieceCount" | "pieceSize" => json!(0),
        "bandwidthPriority" => json!(0),
        "honorsSessionLimits" => json!(true),
        _ => return None,
    })
}
