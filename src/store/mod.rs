//! SQLite state: one connection in WAL mode, versioned migrations, one module per
//! table family. The database is the source of truth for what the box should have.

mod activity;
mod categories;
mod torrent_settings;
mod auth_tokens;
mod torrents;
mod users;
mod tracker;
mod watch;
mod passkeys;
mod db;

pub use activity::ActivityEntry;
pub use auth_tokens::{ApiKeyRecord, RememberRecord, SessionRecord};
pub use categories::Category;
pub use db::{Store, format_time, now_rfc3339};
pub use torrent_settings::{PendingMove, TorrentSettings};
pub use torrents::{Purpose, TorrentRecord};
pub use users::{InsertUserError, UserRecord};
pub use watch::{WatchRecord, WatchSource};
