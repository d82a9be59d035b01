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

mod layers;
pub mod live;
mod secret;
mod sections;

pub use layers::{DEFAULT_CONFIG_PATH, EXAMPLE_CONFIG};
pub use secret::{Secret, shown};
pub use sections::*;
