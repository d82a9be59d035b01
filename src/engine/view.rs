//! The torrent object of the API, built from the engine's live state and the store.

use serde::Serialize;

/// A torrent's status. Transitions:
///
/// ```text
/// add magnet ─▶ metadata ─(metadata)─▶ checking ─▶ downloading ─(all pieces)─▶ seeding
/// add .torrent ───────────────────────▶ checking ─┘      │  ▲                    │
///                  any ─(stop)─▶ paused ─(start)─────────┘  └── (file selection grows)
///                  any ─(fatal I/O, metadata failure, quota)─▶ error ─(start)─▶ checking
///                  any ─(DELETE)─▶ removed (only ever seen in events)
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Metadata,
    Checking,
    Downloading,
    Seeding,
    Paused,
    Error,
    Removed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Metadata => "metadata",
            Status::Checking => "checking",
            Status::Downloading => "downloading",
            Status::Seeding => "seeding",
            Status::Paused => "paused",
            Status::Error => "error",
            Status::Removed => "removed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "metadata" => Status::Metadata,
            "checking" => Status::Checking,
            "downloading" => Status::Downloading,
            "seeding" => Status::Seeding,
            "paused" => Status::Paused,
            "error" => Status::Error,
            "removed" => Status::Removed,
            _ => return None,
        })
    }
}

/// One file of a torrent.
#[derive(Clone, Debug, Serialize)]
pub struct FileView {
    pub index: usize,
    pub name: String,
    pub size: u64,
    /// Percent of the file's bytes verified, 0–100.
    pub progress: f64,
    pub is_video: bool,
    /// Whether the file is selected for download.
    pub selected: bool,
}

/// The API's torrent object.
#[derive(Clone, Debug, Serialize)]
pub struct TorrentView {
    pub id: String,
    pub name: String,
    pub status: Status,
    pub progress: f64,
    pub size: u64,
    pub downloaded: u64,
    pub uploaded: u64,
    pub download_rate: u64,
    pub upload_rate: u64,
    pub peers: u32,
    pub seeds: u32,
    /// Seconds to completion, when known.
    pub eta: Option<u64>,
    pub ratio: f64,
    pub magnet_uri: String,
    pub files: Vec<FileView>,
    pub video_file: Option<usize>,
    pub added_at: String,
    pub completed_at: Option<String>,
    pub error: Option<String>,
    /// `keep` or `watch` (added through `/api/stream`, evictable when complete).
    pub purpose: crate::store::Purpose,
    pub added_by: Option<i64>,
    /// Its category (label), if any.
    pub category: Option<String>,
    /// The folder that holds the torrent's content (its file, or its own folder).
    #[serde(skip)]
    pub save_path: std::path::PathBuf,
    /// The torrent's content on disk: its one file, or its own folder.
    #[serde(skip)]
    pub content_path: std::path::PathBuf,
}

/// One connected peer.
#[derive(Clone, Debug, Serialize)]
pub struct PeerView {
    pub ip: String,
    pub port: u16,
    pub client: Option<String>,
    /// Percent of the torrent the peer has, when it told us.
    pub progress: Option<f64>,
    pub down_speed: u64,
    pub up_speed: u64,
    pub downloaded: u64,
    pub uploaded: u64,
    pub connection: Option<String>,
}

pub fn percent(part: u64, total: u64) -> f64 {
    if total == 0 {
        return 0.0;
    }
    let p = part as f64 * 100.0 / total as f64;
    (p * 10.0).floor() / 10.0
}
