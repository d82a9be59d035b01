//! The one way a secret is kept out of sight: a `Secret` value shows as `<redacted>`
//! in `Debug`, and as `********` wherever the config is shown (`GET /api/config`,
//! `swarmcast config`); it serialises as itself only where the config is stored or
//! layered, which is the default.

use std::cell::Cell;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// How a set secret is shown.
pub const MASK: &str = "********";

thread_local! {
    /// Set while `shown` serialises: every `Secret` writes the mask instead of itself.
    static MASKING: Cell<bool> = const { Cell::new(false) };
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
        f.write_str(if self.0.is_empty() {
            "\"\""
        } else {
            "<redacted>"
        })
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if MASKING.get() && !self.0.is_empty() {
            s.serialize_str(MASK)
        } else {
            s.serialize_str(&self.0)
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
    struct Reset(bool);
    impl Drop for Reset {
        fn drop(&mut self) {
            MASKING.set(self.0);
        }
    }
    let _reset = Reset(MASKING.replace(true));
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
        assert_eq!(
            shown(|| serde_json::to_string(&s).unwrap()),
            format!("\"{MASK}\"")
        );
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"hunter2\"");
        assert_eq!(
            shown(|| serde_json::to_string(&Secret::default()).unwrap()),
            "\"\""
        );
    }
}
