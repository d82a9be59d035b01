//! How torrents and settings look in the qBittorrent Web API: the objects of
//! `torrents/info` (and `sync/maindata`), `torrents/properties` and `app/preferences`.

use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::Ctx;
use super::mapping::{self, left_until_done, size_when_done};
use crate::engine::TorrentView;

/// qBittorrent's "no estimate" (100 days).
const ETA_INFINITE: u64 = 8_640_000;

pub fn preferences(ctx: &Ctx) -> Value {
    let c = ctx.engine.live().get();
    let s = &c.seeding;
    let act = match s.action.as_str() {
        "remove" => 1,
        "remove_data" => 3,
        _ => 0,
    };
    json!({
        "save_path": ctx.engine.download_dir(),
        "temp_path_enabled": false,
        "temp_path": "",
        "max_ratio_enabled": s.ratio_limit > 0.0,
        "max_ratio": if s.ratio_limit > 0.0 { s.ratio_limit } else { -1.0 },
        "max_seeding_time_enabled": s.time_limit_minutes > 0,
        "max_seeding_time": if s.time_limit_minutes > 0 { s.time_limit_minutes as i64 } else { -1 },
        "max_ratio_act": act,
        "queueing_enabled": false,
        "dht": true,
        "pex": true,
        "auto_tmm_enabled": false,
        "create_subfolder_enabled": true,
        "start_paused_enabled": false,
        "web_ui_port": c.server.listen.rsplit(':').next().and_then(|p| p.parse::<u16>().ok()),
    })
}

/// One torrent as `torrents/info` and `sync/maindata` give it.
pub fn info(ctx: &Ctx, t: &TorrentView) -> Value {
    let own = ctx.engine.store().torrent_settings(&t.id).unwrap_or_default();
    let global = ctx.engine.live().get().seeding.clone();
    let tags = ctx.engine.store().torrent_tags(&t.id).unwrap_or_default();
    let left = left_until_done(t);
    let want = size_when_done(t);
    let done_at = mapping::unix(t.completed_at.as_deref());
    let eta = match t.eta {
        Some(s) if !mapping::is_complete(t) => s,
        _ => ETA_INFINITE,
    };
    let mut v = json!({
        "hash": t.id,
        "infohash_v1": t.id,
        "infohash_v2": "",
        "name": t.name,
        "state": mapping::qbittorrent_state(t),
        "progress": if want == 0 { 0.0 } else { (want - left.min(want)) as f64 / want as f64 },
        "size": want,
        "total_size": t.size,
        "amount_left": left,
        "completed": want - left.min(want),
        "downloaded": t.downloaded,
        "uploaded": t.uploaded,
        "downloaded_session": t.downloaded,
        "uploaded_session": t.uploaded,
        "dlspeed": t.download_rate,
        "upspeed": t.upload_rate,
        "eta": eta,
        "ratio": t.ratio,
        "category": t.category.clone().unwrap_or_default(),
        "tags": tags.replace(',', ", "),
        "save_path": t.save_path,
        "download_path": "",
        "content_path": t.content_path,
        "root_path": if t.files.len() > 1 { t.content_path.to_string_lossy().into_owned() } else { String::new() },
        "added_on": mapping::unix(Some(&t.added_at)),
        "completion_on": if done_at > 0 { done_at } else { -1 },
        "seeding_time": mapping::seconds_seeding(t),
        "time_active": (time::OffsetDateTime::now_utc().unix_timestamp() - mapping::unix(Some(&t.added_at))).max(0),
    });
    let more = json!({
        "ratio_limit": own.ratio_limit.map(|r| if r <= 0.0 { -1.0 } else { r }).unwrap_or(-2.0),
        "seeding_time_limit": own.seed_time_limit_minutes.map(|m| if m == 0 { -1 } else { m as i64 }).unwrap_or(-2),
        "inactive_seeding_time_limit": -2,
        "max_ratio": own.ratio_limit.unwrap_or(global.ratio_limit),
        "max_seeding_time": own.seed_time_limit_minutes.unwrap_or(global.time_limit_minutes),
        "num_seeds": t.seeds,
        "num_leechs": t.peers.saturating_sub(t.seeds),
        "num_complete": t.seeds,
        "num_incomplete": t.peers.saturating_sub(t.seeds),
        "magnet_uri": t.magnet_uri,
        "priority": 0,
        "auto_tmm": false,
        "force_start": false,
        "super_seeding": false,
        "seq_dl": false,
        "f_l_piece_prio": false,
        "private": false,
        "tracker": "",
        "trackers_count": 0,
        "availability": if t.seeds > 0 { 1.0 } else { -1.0 },
        "dl_limit": -1,
        "up_limit": -1,
        "last_activity": 0,
        "seen_complete": if done_at > 0 { done_at } else { -1 },
    });
    if let (Some(v), Value::Object(more)) = (v.as_object_mut(), more) {
        v.extend(more);
    }
    v
}

pub fn properties(t: &TorrentView) -> Response {
    let done_at = mapping::unix(t.completed_at.as_deref());
    let added = mapping::unix(Some(&t.added_at));
    let mut v = json!({
        "hash": t.id,
        "infohash_v1": t.id,
        "infohash_v2": "",
        "name": t.name,
        "save_path": t.save_path,
        "download_path": "",
        "content_path": t.content_path,
        "creation_date": -1,
        "piece_size": -1,
        "pieces_have": -1,
        "pieces_num": -1,
        "comment": "",
        "created_by": "",
        "is_private": false,
        "total_wasted": 0,
        "total_uploaded": t.uploaded,
        "total_uploaded_session": t.uploaded,
        "total_downloaded": t.downloaded,
        "total_downloaded_session": t.downloaded,
        "total_size": t.size,
        "up_limit": -1,
        "dl_limit": -1,
    });
    let more = json!({
        "time_elapsed": (time::OffsetDateTime::now_utc().unix_timestamp() - added).max(0),
        "seeding_time": mapping::seconds_seeding(t),
        "nb_connections": t.peers,
        "nb_connections_limit": -1,
        "share_ratio": t.ratio,
        "addition_date": added,
        "completion_date": if done_at > 0 { done_at } else { -1 },
        "last_seen": if done_at > 0 { done_at } else { -1 },
        "dl_speed": t.download_rate,
        "dl_speed_avg": 0,
        "up_speed": t.upload_rate,
        "up_speed_avg": 0,
        "eta": match t.eta { Some(s) if !mapping::is_complete(t) => s, _ => ETA_INFINITE },
        "peers": t.peers.saturating_sub(t.seeds),
        "peers_total": t.peers,
        "seeds": t.seeds,
        "seeds_total": t.seeds,
        "reannounce": 0,
        "category": t.category.clone().unwrap_or_default(),
        "popularity": 0,
        "isPrivate": false,
    });
    if let (Some(v), Value::Object(more)) = (v.as_object_mut(), more) {
        v.extend(more);
    }
    axum::Json(v).into_response()
}
