//! One `Config` type, layered: built-in defaults → `/etc/swarmcast/config.toml`
//! (or `--config`) → environment variables.
//!
//! Every key can be set from the environment as `SWARMCAST_` + the key path in upper
//! case with `_` between the parts (`quota.max_bytes` → `SWARMCAST_QUOTA_MAX_BYTES`).
//! The names used by the streaming API we replace work too (`PORT`, `DOWNLOAD_PATH`,
//! `HLS_PATH`, `WARM_CACHE_TIMEOUT_MINUTES`).
//!
//! Layering works on `toml::Value` trees: the defaults are serialised, the file is
//! merged over them, environment variables are matched against the leaf paths the
//! defaults define (so `_` inside a key name is not ambiguous), and the result is
//! deserialised and validated once.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};

/// The default location of the config file.
pub const DEFAULT_CONFIG_PATH: &str = "/etc/swarmcast/config.toml";

/// An example config with every key and its default, shipped in the package.
pub const EXAMPLE_CONFIG: &str = include_str!("../config.example.toml");

/// The speed presets x264 knows (`media.x264_preset`), fastest first.
pub const X264_PRESETS: &[&str] =
    &["ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow", "placebo"];

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
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
    pub webhook_secret: String,
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
    /// Preferred audio languages, in order (`["en", "fr"]`); else the default track.
    pub audio_languages: Vec<String>,
    /// x264's speed preset when transcoding in software.
    pub x264_preset: String,
    /// How long a segment request waits for its segment before failing (seconds).
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
#[derive(Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct IndexerConfig {
    pub name: String,
    /// The Torznab feed, e.g. `http://127.0.0.1:9117/api/v2.0/indexers/all/results/torznab/`;
    /// `api` is appended unless the path already ends in `/api`.
    pub url: String,
    #[serde(default)]
    pub api_key: String,
}

impl std::fmt::Debug for IndexerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IndexerConfig")
            .field("name", &self.name)
            .field("url", &self.url)
            .field("api_key", &if self.api_key.is_empty() { "" } else { "<redacted>" })
            .finish()
    }
}

impl Default for TrackerConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            only_known: false,
            interval_secs: 1800,
            min_interval_secs: 300,
            max_numwant: 200,
            announce_url: String::new(),
        }
    }
}

impl Default for SearchConfig {
    fn default() -> Self {
        Self { indexers: Vec::new(), timeout_secs: 10 }
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            server: ServerConfig::default(),
            storage: StorageConfig::default(),
            engine: EngineConfig::default(),
            media: MediaConfig::default(),
            log: LogConfig::default(),
            quota: QuotaConfig::default(),
            seeding: SeedingConfig::default(),
            watch: WatchConfig::default(),
            hooks: HooksConfig::default(),
            auth: AuthConfig::default(),
            tracker: TrackerConfig::default(),
            search: SearchConfig::default(),
            dlna: DlnaConfig::default(),
            mdns: MdnsConfig::default(),
        }
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self { listen: "0.0.0.0".into(), port: 6991, max_upload_bytes: 10 << 20 }
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
            webhook_secret: String::new(),
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
            audio_languages: Vec::new(),
            x264_preset: "veryfast".into(),
            segment_wait_secs: 90,
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
        Self {
            reads_per_min: 600,
            writes_per_min: 60,
            auth_attempts: 5,
            auth_window_secs: 300,
            announces_per_min: 200,
        }
    }
}

/// Environment names of the streaming API we replace, and the key each one sets.
const LEGACY_ENV: &[(&str, &str)] = &[
    ("PORT", "server.port"),
    ("DOWNLOAD_PATH", "storage.download_dir"),
    ("HLS_PATH", "storage.cache_dir"),
    ("WARM_CACHE_TIMEOUT_MINUTES", "media.warm_cache_minutes"),
];

impl Config {
    /// Loads the layered config. `path` is an explicit `--config`; without it the default
    /// path is read when it exists.
    pub fn load(path: Option<&Path>) -> anyhow::Result<Self> {
        let file = match path {
            Some(p) => Some(
                std::fs::read_to_string(p)
                    .with_context(|| format!("reading config file {}", p.display()))?,
            ),
            None => std::fs::read_to_string(DEFAULT_CONFIG_PATH).ok(),
        };
        let env: BTreeMap<String, String> = std::env::vars().collect();
        Self::from_layers(file.as_deref(), &env)
    }

    /// Builds a config from the file text (if any) and an environment map.
    pub fn from_layers(
        file: Option<&str>,
        env: &BTreeMap<String, String>,
    ) -> anyhow::Result<Self> {
        let mut tree = toml::Value::try_from(Config::default()).expect("defaults serialise");
        if let Some(text) = file {
            let overlay: toml::Value =
                toml::from_str(text).map_err(|e| anyhow::anyhow!("invalid config file: {e}"))?;
            merge(&mut tree, overlay);
        }
        let defaults = tree.clone();
        let mut leaves = Vec::new();
        leaf_paths(&defaults, String::new(), &mut leaves);
        for path in &leaves {
            let name = format!("SWARMCAST_{}", path.replace('.', "_").to_uppercase());
            if let Some(raw) = env.get(&name) {
                set_from_env(&mut tree, path, raw).with_context(|| format!("{name}"))?;
            }
        }
        for (name, path) in LEGACY_ENV {
            if let Some(raw) = env.get(*name) {
                set_from_env(&mut tree, path, raw).with_context(|| format!("{name}"))?;
            }
        }
        let config: Config = serde_path_to_error::deserialize(tree).map_err(|e| {
            anyhow::anyhow!("invalid config: {}: {}", e.path(), e.inner().message().trim())
        })?;
        config.validate()?;
        Ok(config)
    }

    /// Checks what types alone cannot. Each message names the key.
    pub fn validate(&self) -> anyhow::Result<()> {
        if self.server.listen.parse::<std::net::IpAddr>().is_err() {
            bail!("server.listen: {:?} is not an IP address", self.server.listen);
        }
        if self.engine.max_streams == 0 {
            bail!("engine.max_streams: must be at least 1");
        }
        if self.engine.disk_threads == 0 {
            bail!("engine.disk_threads: must be at least 1");
        }
        for t in &self.engine.trackers {
            let ok = url::Url::parse(t)
                .is_ok_and(|u| matches!(u.scheme(), "http" | "https" | "udp"));
            if !ok {
                bail!("engine.trackers: {t:?} is not an http(s) or udp tracker URL");
            }
        }
        crate::settings::validate_disk(self)?;
        let a = &self.auth;
        if a.session_absolute_hours == 0 || a.session_absolute_hours >= 7 * 24 {
            bail!("auth.session_absolute_hours: must be between 1 and 167 (below 7 days)");
        }
        if a.session_idle_minutes == 0 || a.session_idle_minutes > a.session_absolute_hours * 60 {
            bail!("auth.session_idle_minutes: must be between 1 and the absolute cap");
        }
        if a.stream_token_hours == 0 || a.remember_days == 0 {
            bail!("auth.stream_token_hours and auth.remember_days: must be at least 1");
        }
        for net in &a.bypass_subnets {
            if net.parse::<ipnet::IpNet>().is_err() {
                bail!("auth.bypass_subnets: {net:?} is not a CIDR such as 192.168.1.0/24");
            }
        }
        for o in &a.cors_origins {
            if axum::http::HeaderValue::from_str(o).is_err() || !o.starts_with("http") {
                bail!("auth.cors_origins: {o:?} is not an origin such as http://tv.local:8080");
            }
        }
        if self.tracker.interval_secs == 0 || self.tracker.min_interval_secs > self.tracker.interval_secs {
            bail!("tracker.interval_secs: must be at least 1 and at least tracker.min_interval_secs");
        }
        if !self.tracker.announce_url.is_empty()
            && !url::Url::parse(&self.tracker.announce_url).is_ok_and(|u| matches!(u.scheme(), "http" | "https"))
        {
            bail!("tracker.announce_url: {:?} is not an http(s) URL", self.tracker.announce_url);
        }
        for (i, ix) in self.search.indexers.iter().enumerate() {
            if ix.name.trim().is_empty() {
                bail!("search.indexers[{i}].name: must not be empty");
            }
            if !url::Url::parse(&ix.url).is_ok_and(|u| matches!(u.scheme(), "http" | "https")) {
                bail!("search.indexers[{i}].url: {:?} is not an http(s) URL", ix.url);
            }
        }
        if self.search.timeout_secs == 0 {
            bail!("search.timeout_secs: must be at least 1");
        }
        if !(1.0..=30.0).contains(&self.media.segment_seconds) {
            bail!("media.segment_seconds: must be between 1 and 30");
        }
        if !X264_PRESETS.contains(&self.media.x264_preset.as_str()) {
            bail!("media.x264_preset: {:?} is not one of {}", self.media.x264_preset, X264_PRESETS.join(", "));
        }
        if self.media.max_height < 144 {
            bail!("media.max_height: must be at least 144");
        }
        if self.dlna.friendly_name.trim().is_empty() || self.dlna.friendly_name.len() > 64 {
            bail!("dlna.friendly_name: must be 1 to 64 bytes");
        }
        for (key, list) in [("dlna.interfaces", &self.dlna.interfaces), ("mdns.interfaces", &self.mdns.interfaces)] {
            if let Some(bad) = list.iter().find(|i| i.is_empty() || i.len() > 15 || i.contains(['/', ' '])) {
                bail!("{key}: {bad:?} is not an interface name such as eth0");
            }
        }
        if self.log.level.parse::<tracing_subscriber::EnvFilter>().is_err() {
            bail!("log.level: {:?} is not a valid log filter", self.log.level);
        }
        Ok(())
    }

    /// A config that keeps everything under `root` and talks to no one unasked: DHT and
    /// local discovery off, a free BitTorrent port. For tests and benchmarks.
    pub fn offline(root: &Path) -> Self {
        let mut c = Config::default();
        c.storage.state_dir = root.join("state");
        c.storage.download_dir = root.join("downloads");
        c.storage.cache_dir = root.join("cache");
        c.engine.dht = false;
        c.engine.lsd = false;
        c.engine.listen_port = 0;
        c.dlna.enabled = false;
        c.mdns.enabled = false;
        c
    }

    /// The address the HTTP server binds.
    pub fn listen_addr(&self) -> std::net::SocketAddr {
        let ip: std::net::IpAddr = self.server.listen.parse().expect("validated");
        (ip, self.server.port).into()
    }
}

pub(crate) fn merge(base: &mut toml::Value, overlay: toml::Value) {
    match (base, overlay) {
        (toml::Value::Table(b), toml::Value::Table(o)) => {
            for (k, v) in o {
                match b.get_mut(&k) {
                    Some(existing) => merge(existing, v),
                    None => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (b, o) => *b = o,
    }
}

pub(crate) fn leaf_paths(v: &toml::Value, prefix: String, out: &mut Vec<String>) {
    match v {
        toml::Value::Table(t) => {
            for (k, v) in t {
                let p = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                leaf_paths(v, p, out);
            }
        }
        _ => out.push(prefix),
    }
}

/// Sets `path` in `tree` from an environment string, typed like the value already there.
pub(crate) fn set_from_env(tree: &mut toml::Value, path: &str, raw: &str) -> anyhow::Result<()> {
    let mut cur = tree;
    for part in path.split('.') {
        cur = cur
            .get_mut(part)
            .with_context(|| format!("unknown config key {path}"))?;
    }
    *cur = match cur {
        toml::Value::Integer(_) => toml::Value::Integer(
            raw.trim()
                .parse()
                .map_err(|_| anyhow::anyhow!("{path}: {raw:?} is not an integer"))?,
        ),
        toml::Value::Boolean(_) => toml::Value::Boolean(match raw.trim() {
            "1" | "true" | "yes" | "on" => true,
            "0" | "false" | "no" | "off" => false,
            _ => bail!("{path}: {raw:?} is not a boolean"),
        }),
        toml::Value::Float(_) => toml::Value::Float(
            raw.trim()
                .parse()
                .map_err(|_| anyhow::anyhow!("{path}: {raw:?} is not a number"))?,
        ),
        toml::Value::Array(_) => toml::Value::Array(
            raw.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| toml::Value::String(s.to_string()))
                .collect(),
        ),
        _ => toml::Value::String(raw.to_string()),
    };
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn defaults_validate_and_match_example() {
        let c = Config::from_layers(None, &env(&[])).unwrap();
        assert_eq!(c.server.port, 6991);
        let from_example = Config::from_layers(Some(EXAMPLE_CONFIG), &env(&[])).unwrap();
        assert_eq!(c, from_example, "config.example.toml drifted from the defaults");
    }

    #[test]
    fn file_then_env_then_legacy() {
        let file = "[server]\nport = 7000\n[engine]\nmax_streams = 4\n";
        let c = Config::from_layers(
            Some(file),
            &env(&[
                ("SWARMCAST_ENGINE_MAX_STREAMS", "9"),
                ("SWARMCAST_ENGINE_TRACKERS", "http://a/announce, udp://b:1"),
                ("DOWNLOAD_PATH", "/mnt/usb"),
                ("WARM_CACHE_TIMEOUT_MINUTES", "5"),
            ]),
        )
        .unwrap();
        assert_eq!(c.server.port, 7000);
        assert_eq!(c.engine.max_streams, 9);
        assert_eq!(c.engine.trackers.len(), 2);
        assert_eq!(c.storage.download_dir, PathBuf::from("/mnt/usb"));
        assert_eq!(c.media.warm_cache_minutes, 5);
        let c = Config::from_layers(None, &env(&[("PORT", "8080")])).unwrap();
        assert_eq!(c.server.port, 8080);
    }

    #[test]
    fn errors_name_the_key() {
        let e = Config::from_layers(None, &env(&[("SWARMCAST_SERVER_PORT", "x")])).unwrap_err();
        assert!(format!("{e:#}").contains("server.port"), "{e:#}");
        let e = Config::from_layers(Some("[server]\nport = 99999\n"), &env(&[])).unwrap_err();
        assert!(format!("{e:#}").contains("port"), "{e:#}");
        let e = Config::from_layers(Some("[server]\nbogus = 1\n"), &env(&[])).unwrap_err();
        assert!(format!("{e:#}").contains("bogus"), "{e:#}");
        let e = Config::from_layers(Some("[engine]\nmax_streams = 0\n"), &env(&[])).unwrap_err();
        assert!(format!("{e:#}").contains("engine.max_streams"), "{e:#}");
        let e = Config::from_layers(Some("not toml ["), &env(&[])).unwrap_err();
        assert!(format!("{e:#}").contains("invalid config file"), "{e:#}");
    }
}
