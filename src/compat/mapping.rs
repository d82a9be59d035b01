//! How a swarmcast torrent looks to each client: Transmission's numeric `status`,
//! qBittorrent's `state` strings, times as Unix seconds, and seeding limits in each
//! client's units.
//!
//! ```text
//! swarmcast status   Transmission status      qBittorrent state (v5 names)
//! metadata           4 downloading            metaDL (stoppedDL when stopped)
//! checking           2 checking               checkingDL / checkingUP (complete)
//! downloading        4 downloading            downloading (data flows) / stalledDL
//! seeding            6 seeding                uploading (data flows) / stalledUP
//! paused             0 stopped                stoppedDL / stoppedUP (complete)
//! error              0 stopped, error 3       error / missingFiles (folder gone)
//! ```
//! There is no queue: `queuedDL`/`queuedUP` and Transmission's 1, 3 and 5 are never
//! reported.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::engine::{Status, TorrentView};

/// Transmission's `status`: 0 stopped, 1 check-wait, 2 checking, 3 download-wait,
/// 4 downloading, 5 seed-wait, 6 seeding.
pub fn transmission_status(t: &TorrentView) -> i64 {
    match t.status {
        Status::Paused | Status::Error | Status::Removed => 0,
        Status::Checking => 2,
        Status::Metadata | Status::Downloading => 4,
        Status::Seeding => 6,
    }
}

/// Whether the torrent has every selected byte.
pub fn is_complete(t: &TorrentView) -> bool {
    t.progress >= 100.0 || t.completed_at.is_some() && t.status != Status::Metadata
}

/// qBittorrent's `state`.
pub fn qbittorrent_state(t: &TorrentView) -> &'static str {
    let done = is_complete(t);
    match t.status {
        Status::Metadata => "metaDL",
        Status::Checking if done => "checkingUP",
        Status::Checking => "checkingDL",
        Status::Downloading if t.download_rate > 0 => "downloading",
        Status::Downloading => "stalledDL",
        Status::Seeding if t.upload_rate > 0 => "uploading",
        Status::Seeding => "stalledUP",
        Status::Paused if done => "stoppedUP",
        Status::Paused => "stoppedDL",
        Status::Error if t.error.as_deref().is_some_and(|e| e.starts_with(crate::engine::disk::FOLDER_MISSING)) => {
            "missingFiles"
        }
        Status::Error | Status::Removed => "error",
    }
}

/// Unix seconds of an RFC 3339 time (0 when unknown).
pub fn unix(rfc3339: Option<&str>) -> i64 {
    rfc3339.and_then(|s| OffsetDateTime::parse(s, &Rfc3339).ok()).map(|t| t.unix_timestamp()).unwrap_or(0)
}

/// Seconds since the torrent completed (its seeding time), 0 before.
pub fn seconds_seeding(t: &TorrentView) -> i64 {
    match t.completed_at.as_deref() {
        Some(_) => (OffsetDateTime::now_utc().unix_timestamp() - unix(t.completed_at.as_deref())).max(0),
        None => 0,
    }
}

/// Bytes of the selected files not yet verified.
pub fn left_until_done(t: &TorrentView) -> u64 {
    t.files
        .iter()
        .filter(|f| f.selected)
        .map(|f| f.size - ((f.size as f64 * f.progress / 100.0) as u64).min(f.size))
        .sum()
}

/// Bytes of the selected files.
pub fn size_when_done(t: &TorrentView) -> u64 {
    if t.files.is_empty() {
        return t.size;
    }
    t.files.iter().filter(|f| f.selected).map(|f| f.size).sum()
}

/// A file's name as the clients show it: inside the torrent's own folder when it
/// has several files.
pub fn client_file_name(t: &TorrentView, name: &str) -> String {
    if t.files.len() > 1 || t.content_path.is_dir() {
        let folder = t.content_path.file_name().map(|n| n.to_string_lossy().into_owned());
        format!("{}/{name}", folder.unwrap_or_else(|| t.name.clone()))
    } else {
        name.to_string()
    }
}

/// A ratio limit from a client: qBittorrent `-2` / Transmission mode 0 = the global
/// rule (`None`), `-1` / mode 2 = no limit (`Some(0.0)`, which the seeding rules read
/// as none), else the limit.
pub fn ratio_limit(v: f64) -> Option<f64> {
    if v <= -2.0 {
        None
    } else if v < 0.0 {
        Some(0.0)
    } else {
        Some(v)
    }
}

/// A seeding-time limit in minutes from a client: `-2` = global, `-1` = none (0).
pub fn minutes_limit(v: i64) -> Option<u64> {
    match v {
        i64::MIN..=-2 => None,
        -1 => Some(0),
        m => Some(m as u64),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_and_times() {
        assert_eq!(ratio_limit(-2.0), None);
        assert_eq!(ratio_limit(-1.0), Some(0.0));
        assert_eq!(ratio_limit(1.5), Some(1.5));
        assert_eq!(minutes_limit(-2), None);
        assert_eq!(minutes_limit(-1), Some(0));
        assert_eq!(minutes_limit(90), Some(90));
        assert_eq!(unix(Some("1970-01-01T00:01:00.000Z")), 60);
        assert_eq!(unix(None), 0);
    }
}
