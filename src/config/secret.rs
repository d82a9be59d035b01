//! The one way a secret is kept out of sight: a `Secret` value shows as `<redacted>`
//! in `Debug`, and as `********` wherever the config is shown (`GET /api/config`,
//! `swarmcast config`); it serialises as itself only where the config is stored or
//! layered, which is the default.

use std::cell::Cell;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// How a set secret is shown.
pub const MASK: &str = "********";

/// How a `Secret` serialises on this thread now.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// As itself: the config is being stored or layered.
    Plain,
    /// As the mask when set (`shown`).
    Masked,
    /// As a marker, even when empty (`keys`).
    Marked,
}

/// What `keys` looks for.
const MARKER: &str = "\u{0}secret";

thread_local! {
    static MODE: Cell<Mode> = const { Cell::new(Mode::Plain) };
}

/// A secret config value (a webhook key, an indexer's API key). Empty means unset.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }

    /// The secret itself, for the one place that uses it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Self {
        Self(s.to_string())
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_empty() { "\"\"" } else { "<redacted>" })
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match MODE.get() {
            Mode::Masked if !self.0.is_empty() => s.serialize_str(MASK),
            Mode::Marked => s.serialize_str(MARKER),
            _ => s.serialize_str(&self.0),
        }
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Self)
    }
}

/// Runs `f` (a serialisation meant to be shown) with every `Secret` masked.
pub fn shown<T>(f: impl FnOnce() -> T) -> T {
    with_mode(Mode::Masked, f)
}

/// The dotted keys of every `Secret` in `value` (`hooks.webhook_secret`).
pub fn keys<T: Serialize>(value: &T) -> Vec<String> {
    fn walk(v: &serde_json::Value, prefix: &str, out: &mut Vec<String>) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, c) in m {
                    let key = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                    walk(c, &key, out);
                }
            }
            serde_json::Value::Array(a) => a.iter().for_each(|c| walk(c, prefix, out)),
            serde_json::Value::String(s) if s == MARKER => out.push(prefix.to_string()),
            _ => {}
        }
    }
    let mut out = Vec::new();
    if let Ok(v) = with_mode(Mode::Marked, || serde_json::to_value(value)) {
        walk(&v, "", &mut out);
    }
    out.dedup();
    out
}

fn with_mode<T>(mode: Mode, f: impl FnOnce() -> T) -> T {
    struct Reset(Mode);
    impl Drop for Reset {
        fn drop(&mut self) {
            MODE.set(self.0);
        }
    }
    let _reset = Reset(MODE.replace(mode));
    f()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masked_only_when_shown() {
        let s = Secret::from("hunter2");
        assert_eq!(format!("{s:?}"), "<redacted>");
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"hunter2\"");
        assert_eq!(shown(|| serde_json::to_string(&s).unwrap()), format!("\"{MASK}\""));
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"hunter2\"");
        assert_eq!(shown(|| serde_json::to_string(&Secret::default()).unwrap()), "\"\"");
        assert_eq!(keys(&crate::config::Config::default()), vec!["hooks.webhook_secret".to_string()]);
    }
}
