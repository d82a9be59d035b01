//! The layers of the config: built-in defaults → the file → environment variables,
//! merged as `toml::Value` trees, deserialised and validated once.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use super::sections::*;

/// The default location of the config file.
pub const DEFAULT_CONFIG_PATH: &str = "/etc/swarmcast/config.toml";

/// An example config with every key and its default, shipped in the package.
pub const EXAMPLE_CONFIG: &str = include_str!("../../config.example.toml");

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
            Some(p) => {
                Some(std::fs::read_to_string(p).with_context(|| format!("reading config file {}", p.display()))?)
            }
            None => std::fs::read_to_string(DEFAULT_CONFIG_PATH).ok(),
        };
        let env: BTreeMap<String, String> = std::env::vars().collect();
        Self::from_layers(file.as_deref(), &env)
    }

    /// Builds a config from the file text (if any) and an environment map.
    pub fn from_layers(file: Option<&str>, env: &BTreeMap<String, String>) -> anyhow::Result<Self> {
        let mut tree = toml::Value::try_from(Config::default()).expect("defaults serialise");
        if let Some(text) = file {
            let overlay: toml::Value = toml::from_str(text).map_err(|e| anyhow::anyhow!("invalid config file: {e}"))?;
            merge(&mut tree, overlay);
        }
        let defaults = tree.clone();
        let mut leaves = Vec::new();
        leaf_paths(&defaults, String::new(), &mut leaves);
        for path in &leaves {
            let name = format!("SWARMCAST_{}", path.replace('.', "_").to_uppercase());
            if let Some(raw) = env.get(&name) {
                set_from_env(&mut tree, path, raw).with_context(|| name.to_string())?;
            }
        }
        for (name, path) in LEGACY_ENV {
            if let Some(raw) = env.get(*name) {
                set_from_env(&mut tree, path, raw).with_context(|| name.to_string())?;
            }
        }
        let config: Config = serde_path_to_error::deserialize(tree)
            .map_err(|e| anyhow::anyhow!("invalid config: {}: {}", e.path(), e.inner().message().trim()))?;
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
            let ok = url::Url::parse(t).is_ok_and(|u| matches!(u.scheme(), "http" | "https" | "udp"));
            if !ok {
                bail!("engine.trackers: {t:?} is not an http(s) or udp tracker URL");
            }
        }
        validate_disk(self)?;
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
        if !X264_PRESETS.contains(&self.media.x264_start_preset.as_str()) {
            bail!(
                "media.x264_start_preset: {:?} is not one of {}",
                self.media.x264_start_preset,
                X264_PRESETS.join(", ")
            );
        }
        if !matches!(self.media.audio_channels, 2 | 6) {
            bail!("media.audio_channels: must be 2 (stereo) or 6 (5.1)");
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
        cur = cur.get_mut(part).with_context(|| format!("unknown config key {path}"))?;
    }
    *cur = match cur {
        toml::Value::Integer(_) => {
            toml::Value::Integer(raw.trim().parse().map_err(|_| anyhow::anyhow!("{path}: {raw:?} is not an integer"))?)
        }
        toml::Value::Boolean(_) => toml::Value::Boolean(match raw.trim() {
            "1" | "true" | "yes" | "on" => true,
            "0" | "false" | "no" | "off" => false,
            _ => bail!("{path}: {raw:?} is not a boolean"),
        }),
        toml::Value::Float(_) => {
            toml::Value::Float(raw.trim().parse().map_err(|_| anyhow::anyhow!("{path}: {raw:?} is not a number"))?)
        }
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

/// Checks what the disk section needs beyond types. Each message names the key.
pub(super) fn validate_disk(c: &Config) -> anyhow::Result<()> {
    if !["pause", "remove", "remove_data"].contains(&c.seeding.action.as_str()) {
        bail!("seeding.action: {:?} is not one of pause, remove, remove_data", c.seeding.action);
    }
    if !c.seeding.ratio_limit.is_finite() || c.seeding.ratio_limit < 0.0 {
        bail!("seeding.ratio_limit: must be 0 (no limit) or a positive ratio");
    }
    for (key, v) in [
        ("seeding.interval_secs", c.seeding.interval_secs),
        ("watch.interval_secs", c.watch.interval_secs),
        ("quota.check_interval_secs", c.quota.check_interval_secs),
        ("hooks.timeout_secs", c.hooks.timeout_secs),
        ("server.header_read_timeout_secs", c.server.header_read_timeout_secs),
        ("server.max_connections", c.server.max_connections as u64),
        ("server.max_connections_per_address", c.server.max_connections_per_address as u64),
        ("tracker.swarm_idle_secs", c.tracker.swarm_idle_secs),
        ("tracker.max_swarms_per_address", c.tracker.max_swarms_per_address as u64),
    ] {
        if v == 0 {
            bail!("{key}: must be at least 1");
        }
    }
    if c.hooks.webhook_attempts == 0 {
        bail!("hooks.webhook_attempts: must be at least 1");
    }
    for u in &c.hooks.webhooks {
        if !url::Url::parse(u).is_ok_and(|u| matches!(u.scheme(), "http" | "https")) {
            bail!("hooks.webhooks: {u:?} is not an http(s) URL");
        }
    }
    if c.storage.download_dir.as_os_str().is_empty() {
        bail!("storage.download_dir: must not be empty");
    }
    for (key, p) in path_keys(c) {
        if !p.as_os_str().is_empty() && lexically_inside(p, &c.storage.state_dir) {
            bail!(
                "{key}: {} is inside the state dir {}; keep downloads apart from state",
                p.display(),
                c.storage.state_dir.display()
            );
        }
        if !p.as_os_str().is_empty() && lexically_inside(&c.storage.state_dir, p) {
            bail!(
                "{key}: {} contains the state dir {}, whose keys and database must not be reachable through the files API; keep downloads apart from state",
                p.display(),
                c.storage.state_dir.display()
            );
        }
    }
    Ok(())
}

/// The download-side paths, by key.
pub(super) fn path_keys(c: &Config) -> [(&'static str, &Path); 4] {
    [
        ("storage.download_dir", &c.storage.download_dir),
        ("storage.incomplete_dir", &c.storage.incomplete_dir),
        ("storage.library_dir", &c.storage.library_dir),
        ("watch.dir", &c.watch.dir),
    ]
}

pub(super) fn lexically_inside(p: &Path, dir: &Path) -> bool {
    let abs = |p: &Path| -> PathBuf {
        let p = if p.is_absolute() { p.to_path_buf() } else { std::env::current_dir().unwrap_or_default().join(p) };
        let mut out = PathBuf::new();
        for c in p.components() {
            match c {
                std::path::Component::ParentDir => {
                    out.pop();
                }
                std::path::Component::CurDir => {}
                c => out.push(c),
            }
        }
        out
    };
    abs(p).starts_with(abs(dir))
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
        let e = Config::from_layers(None, &env(&[("SWARMCAST_STORAGE_DOWNLOAD_DIR", "./data")])).unwrap_err();
        assert!(
            format!("{e:#}").contains("storage.download_dir") && format!("{e:#}").contains("contains the state dir"),
            "{e:#}"
        );
        let e = Config::from_layers(None, &env(&[("SWARMCAST_STORAGE_LIBRARY_DIR", "/")])).unwrap_err();
        assert!(format!("{e:#}").contains("storage.library_dir"), "{e:#}");
        let e = Config::from_layers(Some("not toml ["), &env(&[])).unwrap_err();
        assert!(format!("{e:#}").contains("invalid config file"), "{e:#}");
    }
}
