//! Run-time settings: the live `Config` the daemon runs with, changed through
//! `PATCH /api/config`, validated like the file and environment layers, persisted in
//! the `settings` table (as `config.<key>` → JSON) and applied over the file/env
//! config on every start.

use std::path::Path;
use std::sync::{Arc, RwLock};

use anyhow::{Context, bail};
use serde_json::Value;

use super::layers::{self, path_keys};
use super::sections::Config;
use crate::store::Store;

/// Prefix of the rows this module owns in the `settings` table.
const PREFIX: &str = "config.";

/// Keys (or key prefixes ending in `.`) that can change while the daemon runs. Never
/// `hooks.`: what names a program to run (or a host to post to) comes only from the
/// config file.
const RUNTIME_KEYS: &[&str] = &[
    "storage.download_dir",
    "storage.incomplete_dir",
    "storage.library_dir",
    "engine.download_limit",
    "engine.upload_limit",
    "quota.",
    "seeding.",
    "watch.",
    "media.",
];

/// The config the daemon runs with now. Readers take a cheap snapshot with `get`.
pub struct Live {
    current: RwLock<Arc<Config>>,
    store: Store,
}

impl Live {
    pub fn new(config: Config, store: Store) -> Self {
        Self { current: RwLock::new(Arc::new(config)), store }
    }

    /// A snapshot of the current config.
    pub fn get(&self) -> Arc<Config> {
        self.current.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Applies a change: `body` is a JSON object, nested like `GET /api/config`
    /// (`{"quota": {"max_bytes": 1}}`) or flat by key (`{"quota.max_bytes": 1}`).
    /// Returns the new config and the keys that changed. Nothing is applied or
    /// persisted unless the whole change is valid; errors name the key.
    pub fn patch(&self, body: &Value) -> anyhow::Result<(Arc<Config>, Vec<String>)> {
        let Value::Object(_) = body else { bail!("the body must be a JSON object of config keys") };
        let mut changes = Vec::new();
        flatten(body, String::new(), &mut changes);
        if changes.is_empty() {
            bail!("no config keys given");
        }
        let old = self.get();
        let mut tree = toml::Value::try_from(&*old).context("serialising the config")?;
        let mut changed = Vec::new();
        for (key, value) in &changes {
            if !runtime_changeable(key) {
                bail!("{key}: cannot be changed at run time (set it in the config file)");
            }
            set_json(&mut tree, key, value)?;
            changed.push(key.clone());
        }
        let new = from_tree(tree)?;
        check_paths(&new)?;
        for (key, value) in &changes {
            self.store.set_setting(&format!("{PREFIX}{key}"), &value.to_string())?;
        }
        let new = Arc::new(new);
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = new.clone();
        Ok((new, changed))
    }
}

/// Whether `key` may change while the daemon runs.
pub fn runtime_changeable(key: &str) -> bool {
    RUNTIME_KEYS.iter().any(|k| if k.ends_with('.') { key.starts_with(k) } else { key == *k })
}

/// Whether a key holds a secret (a `Secret` field), whose value is never shown.
pub fn is_secret(key: &str) -> bool {
    super::secret::keys(&Config::default()).iter().any(|k| k == key)
}

/// The config as JSON, every secret masked.
pub fn redacted(config: &Config) -> Value {
    super::secret::shown(|| serde_json::to_value(config).expect("config serialises"))
}

/// Applies the overrides persisted by earlier `PATCH /api/config` calls over `config`.
/// An override that no longer fits (a key that went away, a value now invalid) is
/// logged and skipped, so an upgrade never keeps the daemon from starting.
pub fn apply_persisted(store: &Store, config: Config) -> anyhow::Result<Config> {
    let rows: Vec<(String, String)> = {
        let conn = store.conn();
        let mut stmt = conn.prepare("SELECT key, value FROM settings WHERE key LIKE 'config.%' ORDER BY key")?;
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<Result<_, _>>()?
    };
    let mut current = config;
    for (key, raw) in rows {
        let key = &key[PREFIX.len()..];
        if !runtime_changeable(key) {
            tracing::warn!("ignoring the stored setting {key}: it can only be set in the config file");
            continue;
        }
        let attempt = (|| -> anyhow::Result<Config> {
            let value: Value = serde_json::from_str(&raw).context("stored value is not JSON")?;
            let mut tree = toml::Value::try_from(&current)?;
            set_json(&mut tree, key, &value)?;
            from_tree(tree)
        })();
        match attempt {
            Ok(c) => current = c,
            Err(e) => tracing::warn!("ignoring the stored setting {key}: {e:#}"),
        }
    }
    Ok(current)
}

fn flatten(v: &Value, prefix: String, out: &mut Vec<(String, Value)>) {
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                let p = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                flatten(child, p, out);
            }
        }
        other => out.push((prefix, other.clone())),
    }
}

/// Sets one leaf of the config tree from JSON, typed like the value already there.
fn set_json(tree: &mut toml::Value, key: &str, value: &Value) -> anyhow::Result<()> {
    let mut cur = &mut *tree;
    for part in key.split('.') {
        cur = cur.get_mut(part).with_context(|| format!("{key}: unknown config key"))?;
    }
    if cur.is_table() {
        bail!("{key}: is a section, not a key");
    }
    *cur = match (&*cur, value) {
        // Strings go through the same typed parser as environment variables.
        (_, Value::String(s)) if !cur.is_str() => {
            let mut t = tree_with(cur.clone());
            layers::set_from_env(&mut t, "v", s)
                .map_err(|e| anyhow::anyhow!("{key}{}", e.to_string().trim_start_matches('v')))?;
            t.get("v").cloned().expect("set above")
        }
        (toml::Value::Float(_), Value::Number(n)) => {
            toml::Value::Float(n.as_f64().with_context(|| format!("{key}: {n} is not a number"))?)
        }
        (toml::Value::Integer(_), Value::Number(n)) => {
            toml::Value::Integer(n.as_i64().with_context(|| format!("{key}: {n} is not an integer"))?)
        }
        (_, Value::Null) => bail!("{key}: null is not a value; give the value to set"),
        (_, v) => toml::Value::try_from(v).map_err(|e| anyhow::anyhow!("{key}: {e}"))?,
    };
    Ok(())
}

fn tree_with(v: toml::Value) -> toml::Value {
    let mut t = toml::map::Map::new();
    t.insert("v".into(), v);
    toml::Value::Table(t)
}

fn from_tree(tree: toml::Value) -> anyhow::Result<Config> {
    let c: Config = serde_path_to_error::deserialize(tree)
        .map_err(|e| anyhow::anyhow!("{}: {}", e.path(), e.inner().message().trim()))?;
    c.validate()?;
    Ok(c)
}

/// Checks every configured download-side path on the filesystem: it exists or can be
/// created, it is a writable directory, and it is not inside the state dir (also after
/// following symlinks). Creates missing ones. The error names the key.
pub fn check_paths(c: &Config) -> anyhow::Result<()> {
    let state = std::fs::canonicalize(&c.storage.state_dir).unwrap_or(c.storage.state_dir.clone());
    for (key, p) in path_keys(c) {
        if p.as_os_str().is_empty() {
            continue;
        }
        check_dir(p).map_err(|e| anyhow::anyhow!("{key}: {}: {e}", p.display()))?;
        let real = std::fs::canonicalize(p).unwrap_or(p.to_path_buf());
        if real.starts_with(&state) {
            bail!("{key}: {} is inside the state dir {}", p.display(), state.display());
        }
        if state.starts_with(&real) {
            bail!("{key}: {} contains the state dir {}", p.display(), state.display());
        }
    }
    Ok(())
}

fn check_dir(p: &Path) -> Result<(), String> {
    if p.exists() && !p.is_dir() {
        return Err("exists and is not a directory".into());
    }
    std::fs::create_dir_all(p).map_err(|e| format!("cannot be created: {e}"))?;
    let probe = p.join(format!(".swarmcast-write-test-{}", std::process::id()));
    std::fs::write(&probe, b"").map_err(|e| format!("is not writable: {e}"))?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn live() -> (tempfile::TempDir, Live) {
        let dir = tempfile::tempdir().unwrap();
        let mut c = Config::default();
        c.storage.state_dir = dir.path().join("state");
        c.storage.download_dir = dir.path().join("dl");
        let store = Store::open(&c.storage.state_dir).unwrap();
        (dir, Live::new(c, store))
    }

    #[test]
    fn patch_validates_persists_and_reapplies() {
        let (dir, live) = live();
        let (c, changed) = live
            .patch(&serde_json::json!({"quota": {"max_bytes": 1000}, "seeding.ratio_limit": 2, "engine.upload_limit": "300"}))
            .unwrap();
        assert_eq!(c.quota.max_bytes, 1000);
        assert_eq!(c.seeding.ratio_limit, 2.0);
        assert_eq!(c.engine.upload_limit, 300);
        assert_eq!(changed.len(), 3);
        for (body, key) in [
            (serde_json::json!({"seeding": {"action": "explode"}}), "seeding.action"),
            (serde_json::json!({"quota.max_bytes": -1}), "quota.max_bytes"),
            (serde_json::json!({"quota.max_bytes": "lots"}), "quota.max_bytes"),
            (serde_json::json!({"server.port": 1}), "server.port"),
            (serde_json::json!({"nope.key": 1}), "nope.key"),
            (serde_json::json!({"storage.download_dir": dir.path().join("state/x")}), "storage.download_dir"),
            (serde_json::json!({"storage.library_dir": dir.path()}), "storage.library_dir"),
            (serde_json::json!({"hooks.webhooks": ["ftp://x"]}), "hooks.webhooks"),
            (serde_json::json!({"hooks.dir": "/usr/bin"}), "hooks.dir"),
            (serde_json::json!({"hooks": {"dir": "/bin"}}), "hooks.dir"),
        ] {
            let e = format!("{:#}", live.patch(&body).unwrap_err());
            assert!(e.contains(key), "{body}: {e}");
        }
        assert_eq!(live.get().quota.max_bytes, 1000, "a refused patch changes nothing");
        let c =
            apply_persisted(&live.store, Config { storage: live.get().storage.clone(), ..Config::default() }).unwrap();
        assert_eq!(c.quota.max_bytes, 1000);
        assert_eq!(c.engine.upload_limit, 300);
    }

    #[test]
    fn secrets_are_redacted() {
        let mut c = Config::default();
        c.hooks.webhook_secret = "hunter2".into();
        let v = redacted(&c);
        assert_eq!(v["hooks"]["webhook_secret"], "********");
        assert!(!v.to_string().contains("hunter2"));
    }
}
