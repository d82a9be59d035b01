//! `GET /api/config/keys`: what a settings form needs to know of each config key — its
//! section, type, unit, allowed values, help text (the comment above it in the example
//! config) and whether it can change at run time or needs the config file and a restart.

use std::collections::HashMap;

use axum::extract::State;
use serde::Serialize;
use serde_json::Value;

use super::error::{ApiError, ApiJson, ApiResult};
use super::extract::Caller;
use crate::api::AppState;

/// Keys whose value is one of a fixed list.
const CHOICES: &[(&str, &[&str])] = &[
    ("seeding.action", &["pause", "remove", "remove_data"]),
    ("media.x264_preset", crate::config::X264_PRESETS),
    ("media.x264_start_preset", crate::config::X264_PRESETS),
];

/// One config key, as `GET /api/config/keys` describes it.
#[derive(Debug, Serialize, PartialEq)]
pub struct KeyInfo {
    /// Dotted key, as `PATCH /api/config` takes it (`seeding.action`).
    pub key: String,
    /// The section: the first part of the key.
    pub section: String,
    /// `boolean`, `integer`, `number`, `string`, `list` (of strings) or `table` (a list of objects).
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Whether `PATCH /api/config` accepts it; otherwise it is set in the config file and
    /// takes effect on the next start.
    pub runtime: bool,
    /// Whether its value is hidden (`********`) in `GET /api/config`.
    pub secret: bool,
    pub unit: Option<&'static str>,
    pub choices: Option<Vec<&'static str>>,
    pub help: String,
}

/// `GET /api/config/keys`: every key of `GET /api/config`, in its order. Admin only.
pub async fn keys(State(state): State<AppState>, caller: Caller) -> ApiResult<ApiJson<Vec<KeyInfo>>> {
    if !caller.is_admin {
        return Err(ApiError::forbidden("only an administrator may do this"));
    }
    Ok(ApiJson(describe(&crate::config::live::redacted(&state.live()))))
}

/// Describes every leaf of a config as served by `GET /api/config`.
pub fn describe(config: &Value) -> Vec<KeyInfo> {
    let help = help_texts(crate::config::EXAMPLE_CONFIG);
    let mut out = Vec::new();
    walk(config, "", &help, &mut out);
    out
}

fn walk(v: &Value, prefix: &str, help: &HashMap<String, String>, out: &mut Vec<KeyInfo>) {
    let Value::Object(map) = v else { return };
    for (k, child) in map {
        let key = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
        let kind = match child {
            Value::Object(_) => {
                walk(child, &key, help, out);
                continue;
            }
            Value::Bool(_) => "boolean",
            Value::Number(n) if n.is_f64() => "number",
            Value::Number(_) => "integer",
            Value::Array(a) if a.iter().any(Value::is_object) => "table",
            Value::Array(_) if key == "search.indexers" => "table",
            Value::Array(_) => "list",
            _ => "string",
        };
        out.push(KeyInfo {
            section: key.split('.').next().unwrap_or_default().to_string(),
            kind,
            runtime: crate::config::live::runtime_changeable(&key),
            secret: crate::config::live::is_secret(&key),
            unit: unit(&key),
            choices: CHOICES.iter().find(|(c, _)| *c == key).map(|(_, v)| v.to_vec()),
            help: help.get(&key).cloned().unwrap_or_default(),
            key,
        });
    }
}

/// The unit of a key's value, from its name.
fn unit(key: &str) -> Option<&'static str> {
    let last = key.rsplit('.').next().unwrap_or(key);
    Some(match last {
        "download_limit" | "upload_limit" => "bytes/s",
        "ratio_limit" => "ratio",
        "port" | "listen_port" => "port",
        _ if last.ends_with("_secs") => "seconds",
        _ if last.ends_with("_minutes") => "minutes",
        _ if last.ends_with("_hours") => "hours",
        _ if last.ends_with("_days") => "days",
        _ if last.ends_with("_bytes") => "bytes",
        _ if last.ends_with("_mb") => "MiB",
        _ if last.ends_with("_per_min") => "per minute",
        "segment_seconds" => "seconds",
        "max_height" => "pixels",
        "peer_limit" => "peers",
        _ => return None,
    })
}

/// The comment lines right above each key of the example config, by dotted key. A key
/// without its own comment shares the one of the key right above it (`upload_limit`
/// under `download_limit`); a blank line or a new section ends a comment's reach.
fn help_texts(example: &str) -> HashMap<String, String> {
    let mut out = HashMap::new();
    let mut section = String::new();
    let mut comment: Vec<&str> = Vec::new();
    let mut last = String::new();
    for line in example.lines().map(str::trim) {
        if line.is_empty() {
            comment.clear();
            last.clear();
        } else if let Some(c) = line.strip_prefix('#') {
            if !last.is_empty() {
                comment.clear();
                last.clear();
            }
            comment.push(c.trim());
        } else if line.starts_with('[') {
            section = line.trim_matches(['[', ']']).trim().to_string();
            comment.clear();
            last.clear();
        } else if let Some((k, _)) = line.split_once('=') {
            let key = format!("{section}.{}", k.trim());
            let text = if comment.is_empty() { out.get(&last).cloned().unwrap_or_default() } else { comment.join(" ") };
            // Comments about the example lines below a key (`[[search.indexers]]`) are not help.
            let text = text.split(" For example:").next().unwrap_or_default().to_string();
            out.insert(key.clone(), text);
            comment.clear();
            last = key;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_is_described_with_help_runtime_and_choices() {
        let keys = describe(&crate::config::live::redacted(&crate::config::Config::default()));
        let get = |k: &str| keys.iter().find(|i| i.key == k).unwrap_or_else(|| panic!("{k} missing"));
        let action = get("seeding.action");
        assert!(action.runtime);
        assert_eq!(action.choices.as_deref(), Some(&["pause", "remove", "remove_data"][..]));
        assert!(action.help.contains("What happens at a limit"), "{}", action.help);
        assert!(!get("server.port").runtime);
        assert_eq!(get("engine.upload_limit").unit, Some("bytes/s"));
        assert!(get("engine.upload_limit").help.contains("rate limits"), "shares the comment above");
        assert_eq!(get("engine.trackers").kind, "list");
        assert_eq!(get("search.indexers").kind, "table");
        assert!(!get("search.indexers").help.contains("jackett"), "{}", get("search.indexers").help);
        assert_eq!(get("seeding.ratio_limit").kind, "number");
        assert_eq!(get("auth.rate_limit.reads_per_min").section, "auth");
        assert!(get("hooks.webhook_secret").secret);
        // Every key but the section-less ones has help from the example config.
        let missing: Vec<_> = keys.iter().filter(|k| k.help.is_empty()).map(|k| k.key.as_str()).collect();
        assert!(missing.len() <= 6, "keys without help: {missing:?}");
    }
}
