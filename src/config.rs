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
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// A tracing filter: `info`, `debug`, `swarmcast=debug,librqbit=warn`, …
    pub level: String,
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
        Self { warm_cache_minutes: 30 }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        Self { level: "info".into() }
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
        if self.log.level.parse::<tracing_subscriber::EnvFilter>().is_err() {
            bail!("log.level: {:?} is not a valid log filter", self.log.level);
        }
        Ok(())
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
