//! The config's schema: every section and key with its default. Comments on the
//! fields are the documentation `config.example.toml` repeats.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::secret::Secret;

/// The speed presets x264 knows (`media.x264_preset`), fastest first.
pub const X264_PRESETS: &[&str] =
    &["ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow", "placebo"];

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub server: ServerConfig,
    pub storage: StorageConfig,
    pub engine: EngineConfig,
    pub media: MediaConfig,
    pub log: LogConfig,
    pub quota: QuotaConfig,
    pub seeding: SeedingConfig,
    pub watch: WatchConfig,
    pub hooks: HooksConfig,
    pub auth: AuthConfig,
    pub tracker: TrackerConfig,
    pub search: SearchConfig,
    pub dlna: DlnaConfig,
    pub mdns: MdnsConfig,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Address the HTTP API and web UI listen on.
    pub listen: String,
    pub port: u16,
    /// Largest accepted request body (a .torrent upload), in bytes.
    pub max_upload_bytes: u64,
    /// A client must send a request's headers within this many seconds.
    pub header_read_timeout_secs: u64,
    /// Open connections at most; more wait in the kernel's queue.
    pub max_connections: u32,
    /// Open connections from one address at most; more are closed at once.
    pub max_connections_per_address: u32,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct StorageConfig {
    /// SQLite database, engine resume state, secrets. Never on the download disk.
    pub state_dir: PathBuf,
    /// Where torrents are downloaded to.
    pub download_dir: PathBuf,
    /// HLS segment cache.
    pub cache_dir: PathBuf,
    /// Unfinished downloads go here when set (empty = off); finished ones move out.
    pub incomplete_dir: PathBuf,
    /// Finished torrents move here and seed on from it when set (empty = off).
    pub library_dir: PathBuf,
}

/// Disk quota and free-space reserve of the download dir.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct QuotaConfig {
    /// Most bytes everything under the download dir may take; 0 = no quota.
    pub max_bytes: u64,
    /// Free bytes always kept on the download volume; below it downloads pause.
    pub min_free_bytes: u64,
    /// How often free space is measured (seconds).
    pub check_interval_secs: u64,
    /// A watch torrent watched this recently counts as being watched: never evicted.
    pub watching_grace_secs: u64,
}

/// Seeding rules applied by the maintenance task; per-torrent settings override them.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct SeedingConfig {
    /// Stop seeding at this upload/size ratio; 0 = no limit.
    pub ratio_limit: f64,
    /// Stop seeding this many minutes after completion; 0 = no limit.
    pub time_limit_minutes: u64,
    /// What happens at a limit: `pause`, `remove` or `remove_data`.
    pub action: String,
    /// How often the maintenance task runs (seconds).
    pub interval_secs: u64,
}

/// A folder watched for dropped `.torrent` and `.magnet` files.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct WatchConfig {
    /// The folder; empty = off.
    pub dir: PathBuf,
    /// How often it is scanned (seconds).
    pub interval_secs: u64,
}

/// Lifecycle hooks: executables and webhooks run on torrent events.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct HooksConfig {
    /// Every executable file here runs on each event.
    pub dir: PathBuf,
    /// A hook still running after this is killed (seconds).
    pub timeout_secs: u64,
    /// URLs that get each event POSTed as JSON.
    pub webhooks: Vec<String>,
    /// HMAC-SHA256 key of the `X-Swarmcast-Signature` header; empty = unsigned.
    pub webhook_secret: Secret,
    /// Attempts per webhook delivery, with exponential backoff between them.
    pub webhook_attempts: u32,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct EngineConfig {
    /// BitTorrent listen port (TCP and uTP); 0 picks a free one.
    pub listen_port: u16,
    pub dht: bool,
    /// Local service discovery (BEP 14) multicast.
    pub lsd: bool,
    /// Ask the router to forward the listen port (UPnP IGD).
    pub upnp_port_forward: bool,
    /// Trackers added to every torrent.
    pub trackers: Vec<String>,
    /// Connected peers per torrent.
    pub peer_limit: u32,
    /// Readers (range requests, HLS pipelines) open at once over all torrents. Each
    /// holds one of the engine's blocking-thread permits; the engine gets this many
    /// plus `disk_threads`, so readers waiting for pieces can never starve disk writes.
    pub max_streams: u32,
    /// Blocking-thread permits kept for disk writes and hashing.
    pub disk_threads: u32,
    /// How long `POST /api/stream` waits for a magnet's metadata.
    pub metadata_timeout_secs: u64,
    /// Global rate limits in bytes/s; 0 means unlimited.
    pub download_limit: u64,
    pub upload_limit: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct MediaConfig {
    /// Keep produced segments this long after their last use.
    pub warm_cache_minutes: u64,
    /// Pin an H.264 encoder element (`x264enc`, `vah264enc`, …); empty picks the best
    /// verified one. A pinned encoder that fails its test falls back to the others.
    pub encoder: String,
    /// Encoder elements never to use.
    pub exclude_encoders: Vec<String>,
    /// Transcoded video is scaled down to at most this height.
    pub max_height: u32,
    /// Target segment length in seconds (a whole number of frames near it).
    pub segment_seconds: f64,
    /// How many segments a pipeline may run ahead of the furthest one asked for.
    pub run_ahead_segments: u32,
    /// A pipeline nobody asked anything of for this long stops (seconds).
    pub idle_timeout_secs: u64,
    /// Size cap of the segment cache (MiB); the least recently used go first.
    pub cache_max_mb: u64,
    /// Size cap of the segment cache in bytes; when not 0 it replaces `cache_max_mb`.
    pub cache_max_bytes: u64,
    /// Audio channels of transcoded audio: 2 (stereo, 5.1/7.1 downmixed) or 6 (5.1 AAC).
    pub audio_channels: u32,
    /// Preferred audio languages, in order (`["en", "fr"]`); else the default track.
    /// Also read as `preferred_audio_languages`.
    #[serde(alias = "preferred_audio_languages")]
    pub audio_languages: Vec<String>,
    /// x264's speed preset when transcoding in software.
    pub x264_preset: String,
    /// x264 speed preset of the first segments after a start or a seek, while a player
    /// waits (the faster of this and `x264_preset` is used); the stream goes on at
    /// `x264_preset` once it is a few segments ahead. Set it to `x264_preset` for full
    /// quality from the first frame at the cost of a slower start.
    pub x264_start_preset: String,
    /// How long a player's playlist or segment request waits before it is answered
    /// `NOT_READY` (503, `Retry-After`) when its segment or the film's index is still
    /// coming (seconds; at most 25, as players give up at about 30).
    pub segment_wait_secs: u64,
    /// How long probing a file may take (seconds).
    pub probe_timeout_secs: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// A tracing filter: `info`, `debug`, `swarmcast=debug,librqbit=warn`, …
    pub level: String,
}

/// The built-in BitTorrent tracker (`/announce`, `/scrape`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct TrackerConfig {
    pub enabled: bool,
    /// Track only torrents this box has (added or created); others get a failure reason.
    pub only_known: bool,
    /// Seconds between announces asked of clients; a peer silent for twice this expires.
    pub interval_secs: u64,
    /// Clients must not announce more often than this (seconds).
    pub min_interval_secs: u64,
    /// Most peers returned by one announce, whatever `numwant` asks.
    pub max_numwant: u32,
    /// A swarm with no announce for this long (seconds) is forgotten, its completed
    /// count too.
    pub swarm_idle_secs: u64,
    /// Most swarms one address may have started and that are still tracked.
    pub max_swarms_per_address: u32,
    /// The announce URL put in torrents this box creates; empty derives it from the
    /// request's Host header (`http://<host>/announce`).
    pub announce_url: String,
}

/// The UPnP AV / DLNA media server that TVs and players find on the LAN.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct DlnaConfig {
    pub enabled: bool,
    /// Interfaces it announces itself on and answers searches from (`["eth0"]`);
    /// empty = every non-loopback interface with an IPv4 address. `lo` may be named.
    pub interfaces: Vec<String>,
    /// The name TVs show.
    pub friendly_name: String,
}

/// mDNS: `swarmcast.local`, `_http._tcp` and `_swarmcast._tcp` on the LAN.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct MdnsConfig {
    pub enabled: bool,
    /// Interfaces it answers on, as `dlna.interfaces`; empty = every non-loopback one.
    pub interfaces: Vec<String>,
}

impl Default for DlnaConfig {
    fn default() -> Self {
        Self { enabled: true, interfaces: Vec::new(), friendly_name: "swarmcast".into() }
    }
}

impl Default for MdnsConfig {
    fn default() -> Self {
        Self { enabled: true, interfaces: Vec::new() }
    }
}

/// Torznab search (`/api/search`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct SearchConfig {
    /// Indexers queried in parallel (Jackett / Prowlarr Torznab feeds).
    pub indexers: Vec<IndexerConfig>,
    /// Per-indexer time limit, in seconds.
    pub timeout_secs: u64,
}

/// One Torznab indexer.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct IndexerConfig {
    pub name: String,
    /// The Torznab feed, e.g. `http://127.0.0.1:9117/api/v2.0/indexers/all/results/torznab/`;
    /// `api` is appended unless the path already ends in `/api`.
    pub url: String,
    #[serde(default)]
    pub api_key: Secret,
}

impl Default for TrackerConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            only_known: false,
            interval_secs: 1800,
            min_interval_secs: 300,
            max_numwant: 200,
            swarm_idle_secs: 7 * 86_400,
            max_swarms_per_address: 200,
            announce_url: String::new(),
        }
    }
}

impl Default for SearchConfig {
    fn default() -> Self {
        Self { indexers: Vec::new(), timeout_secs: 10 }
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: "0.0.0.0".into(),
            port: 6991,
            max_upload_bytes: 10 << 20,
            header_read_timeout_secs: 10,
            max_connections: 512,
            max_connections_per_address: 64,
        }
    }
}

impl Default for StorageConfig {
    fn default() -> Self {
        Self {
            state_dir: "./data/state".into(),
            download_dir: "./data/downloads".into(),
            cache_dir: "./data/cache".into(),
            incomplete_dir: PathBuf::new(),
            library_dir: PathBuf::new(),
        }
    }
}

impl Default for QuotaConfig {
    fn default() -> Self {
        Self { max_bytes: 0, min_free_bytes: 512 << 20, check_interval_secs: 5, watching_grace_secs: 900 }
    }
}

impl Default for SeedingConfig {
    fn default() -> Self {
        Self { ratio_limit: 0.0, time_limit_minutes: 0, action: "pause".into(), interval_secs: 60 }
    }
}

impl Default for WatchConfig {
    fn default() -> Self {
        Self { dir: PathBuf::new(), interval_secs: 2 }
    }
}

impl Default for HooksConfig {
    fn default() -> Self {
        Self {
            dir: "/etc/swarmcast/hooks.d".into(),
            timeout_secs: 30,
            webhooks: Vec::new(),
            webhook_secret: Secret::default(),
            webhook_attempts: 5,
        }
    }
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            listen_port: 4240,
            dht: true,
            lsd: true,
            upnp_port_forward: false,
            trackers: Vec::new(),
            peer_limit: 128,
            max_streams: 16,
            disk_threads: 8,
            metadata_timeout_secs: 60,
            download_limit: 0,
            upload_limit: 0,
        }
    }
}

impl Default for MediaConfig {
    fn default() -> Self {
        Self {
            warm_cache_minutes: 30,
            encoder: String::new(),
            exclude_encoders: Vec::new(),
            max_height: 1080,
            segment_seconds: 4.0,
            run_ahead_segments: 8,
            idle_timeout_secs: 60,
            cache_max_mb: 2048,
            cache_max_bytes: 0,
            audio_channels: 2,
            audio_languages: Vec::new(),
            x264_preset: "veryfast".into(),
            x264_start_preset: "superfast".into(),
            segment_wait_secs: 20,
            probe_timeout_secs: 60,
        }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        Self { level: "info".into() }
    }
}

/// Accounts, sessions, tokens and LAN hardening.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// Let anyone create a plain account through `/auth/register`.
    pub open_registration: bool,
    /// A session ends after this long without a request.
    pub session_idle_minutes: u64,
    /// A session ends this long after login, however active; below 7 days (168 h).
    pub session_absolute_hours: u64,
    /// Lifetime of a remember-me series.
    pub remember_days: u64,
    /// Lifetime of a stream token from `POST /api/stream`.
    pub stream_token_hours: u64,
    /// Requests from loopback need no credentials.
    pub bypass_localhost: bool,
    /// Requests from these CIDRs need no credentials (`192.168.1.0/24`).
    pub bypass_subnets: Vec<String>,
    /// Set `Secure` on cookies: the daemon is reached through a TLS proxy.
    pub behind_tls_proxy: bool,
    /// Host names accepted besides localhost, IP literals, the hostname and `*.local`
    /// (`box.example.net`, `*.example.net`).
    pub allowed_hosts: Vec<String>,
    /// Origins allowed by CORS; empty turns CORS off.
    pub cors_origins: Vec<String>,
    pub rate_limit: RateLimitConfig,
}

/// Per-client-address request limits; 0 turns a class off.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimitConfig {
    pub reads_per_min: u32,
    pub writes_per_min: u32,
    /// Login, setup and register attempts per username and address per window.
    pub auth_attempts: u32,
    pub auth_window_secs: u64,
    pub announces_per_min: u32,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            open_registration: false,
            session_idle_minutes: 24 * 60,
            session_absolute_hours: 6 * 24,
            remember_days: 30,
            stream_token_hours: 24,
            bypass_localhost: false,
            bypass_subnets: Vec::new(),
            behind_tls_proxy: false,
            allowed_hosts: Vec::new(),
            cors_origins: Vec::new(),
            rate_limit: RateLimitConfig::default(),
        }
    }
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        Self { reads_per_min: 600, writes_per_min: 60, auth_attempts: 5, auth_window_secs: 300, announces_per_min: 200 }
    }
}
