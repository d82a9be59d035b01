//! The database: the connection, the versioned migrations, and the time format the
//! tables store.

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use anyhow::Context;
use rusqlite::Connection;

/// Migrations, applied in order; `PRAGMA user_version` counts the ones applied.
/// Never edit a released entry: append a new one.
const MIGRATIONS: &[&str] = &[
    // 1: torrents and the activity log.
    r#"
    CREATE TABLE torrents (
        info_hash     TEXT PRIMARY KEY,
        name          TEXT,
        source        TEXT NOT NULL,          -- the magnet (with x.pe / tr) the torrent came from
        torrent_bytes BLOB,                   -- the .torrent once metadata is known
        added_by      INTEGER,                -- user id, NULL for the CLI / watch folder
        added_at      TEXT NOT NULL,
        purpose       TEXT NOT NULL DEFAULT 'keep',   -- keep | watch
        paused        INTEGER NOT NULL DEFAULT 0,     -- what the user asked for
        only_files    TEXT,                   -- JSON array of file indices, NULL = all
        output_folder TEXT,
        completed_at  TEXT,
        last_watched_at TEXT
    );
    CREATE TABLE activity (
        id         INTEGER PRIMARY KEY AUTOINCREMENT,
        time       TEXT NOT NULL,
        event      TEXT NOT NULL,
        torrent_id TEXT,
        name       TEXT,
        detail     TEXT
    );
    CREATE INDEX activity_torrent ON activity(torrent_id, id);
    CREATE TABLE settings (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    "#,
    // 2: accounts: users, sessions, remember-me series, API keys. Times are unix seconds.
    r#"
    CREATE TABLE users (
        id            INTEGER PRIMARY KEY AUTOINCREMENT,
        username      TEXT NOT NULL UNIQUE COLLATE NOCASE,
        email         TEXT,
        password_hash TEXT NOT NULL,          -- argon2id PHC string
        is_admin      INTEGER NOT NULL DEFAULT 0,
        created_at    INTEGER NOT NULL
    );
    CREATE TABLE sessions (
        token_hash  TEXT PRIMARY KEY,         -- SHA-256 of the cookie's token
        user_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        created_at  INTEGER NOT NULL,
        last_seen   INTEGER NOT NULL,
        series      TEXT                      -- the remember-me series that made it
    );
    CREATE INDEX sessions_user ON sessions(user_id);
    CREATE TABLE remember_tokens (
        series      TEXT PRIMARY KEY,
        token_hash  TEXT NOT NULL,            -- SHA-256 of the current token of the series
        user_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        created_at  INTEGER NOT NULL,
        expires_at  INTEGER NOT NULL
    );
    CREATE TABLE api_keys (
        prefix       TEXT PRIMARY KEY,        -- the visible part, e.g. sc_3F7KQ2XA
        key_hash     TEXT NOT NULL,           -- SHA-256 of the whole key
        user_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        name         TEXT NOT NULL,
        created_at   INTEGER NOT NULL,
        expires_at   INTEGER,
        last_used_at INTEGER
    );
    CREATE INDEX api_keys_user ON api_keys(user_id);
    "#,
    // 3: completed counts of the built-in tracker's swarms.
    r#"
    CREATE TABLE IF NOT EXISTS tracker_swarms (
        info_hash  TEXT PRIMARY KEY,
        downloaded INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL
    );
    "#,
    // 4: remember-me rotation grace: the token before the last rotation, and when.
    r#"
    ALTER TABLE remember_tokens ADD COLUMN prev_hash TEXT;
    ALTER TABLE remember_tokens ADD COLUMN rotated_at INTEGER;
    "#,
    // 5: per-torrent seeding and speed limits (disk manager).
    r#"
    CREATE TABLE torrent_settings (
        info_hash   TEXT PRIMARY KEY REFERENCES torrents(info_hash) ON DELETE CASCADE,
        ratio_limit REAL,
        seed_time_limit_minutes INTEGER,
        seed_action TEXT,                     -- pause | remove | remove_data
        download_limit INTEGER,               -- bytes/s, 0 = unlimited
        upload_limit   INTEGER
    );
    "#,
    // 6: where each user stopped in each file (resume, continue watching). user_id 0 is
    // the local administrator (an address that bypasses auth).
    r#"
    CREATE TABLE watch (
        user_id    INTEGER NOT NULL,
        info_hash  TEXT NOT NULL,
        file_index INTEGER NOT NULL,
        name       TEXT NOT NULL,
        position_s REAL NOT NULL,
        duration_s REAL,
        watched    INTEGER NOT NULL DEFAULT 0,
        source     TEXT NOT NULL DEFAULT 'player',   -- player (reported) | segments (followed)
        updated_at TEXT NOT NULL,
        PRIMARY KEY (user_id, info_hash, file_index)
    );
    CREATE INDEX watch_recent ON watch(user_id, updated_at);
    "#,
    // 7: categories (qBittorrent) / labels (Transmission): one per torrent, each with a
    // save path; and the folder a torrent was asked to go to.
    r#"
    CREATE TABLE categories (
        name      TEXT PRIMARY KEY,
        save_path TEXT NOT NULL DEFAULT ''    -- relative to the download dir; '' = default
    );
    CREATE TABLE torrent_categories (
        info_hash TEXT PRIMARY KEY REFERENCES torrents(info_hash) ON DELETE CASCADE,
        category  TEXT,
        save_dir  TEXT,                       -- absolute; NULL = the default place
        tags      TEXT                        -- comma-separated (qBittorrent tags)
    );
    "#,
    // 8: the built-in tracker's passkeys and the bytes credited to each user.
    r#"
    ALTER TABLE users ADD COLUMN passkey TEXT;
    ALTER TABLE users ADD COLUMN tracker_uploaded INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE users ADD COLUMN tracker_downloaded INTEGER NOT NULL DEFAULT 0;
    CREATE UNIQUE INDEX users_passkey ON users(passkey);
    CREATE TABLE tracker_private (info_hash TEXT PRIMARY KEY);
    "#,
];

/// A handle to the database; cheap to clone.
#[derive(Clone)]
pub struct Store {
    conn: Arc<Mutex<Connection>>,
}

impl Store {
    /// Opens (creating if needed) the database in `state_dir` and migrates it.
    pub fn open(state_dir: &Path) -> anyhow::Result<Self> {
        std::fs::create_dir_all(state_dir).with_context(|| format!("creating state dir {}", state_dir.display()))?;
        let path = state_dir.join("swarmcast.db");
        let conn = Connection::open(&path).with_context(|| format!("opening database {}", path.display()))?;
        Self::init(conn)
    }

    /// An in-memory database, for tests.
    pub fn open_in_memory() -> anyhow::Result<Self> {
        Self::init(Connection::open_in_memory()?)
    }

    fn init(mut conn: Connection) -> anyhow::Result<Self> {
        conn.pragma_update(None, "journal_mode", "WAL")?;
        // FULL: a commit survives a power cut, not only a crash.
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        migrate(&mut conn)?;
        Ok(Self { conn: Arc::new(Mutex::new(conn)) })
    }

    /// Locks the connection. Hold it only for a few statements.
    pub fn conn(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `PRAGMA integrity_check`, returning its first line (`ok` when sound).
    pub fn integrity_check(&self) -> anyhow::Result<String> {
        Ok(self.conn().query_row("PRAGMA integrity_check", [], |r| r.get(0))?)
    }

    pub fn setting(&self, key: &str) -> anyhow::Result<Option<String>> {
        use rusqlite::OptionalExtension;
        Ok(self.conn().query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| r.get(0)).optional()?)
    }

    pub fn set_setting(&self, key: &str, value: &str) -> anyhow::Result<()> {
        self.conn().execute(
            "INSERT INTO settings(key, value) VALUES (?1, ?2)
             ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            [key, value],
        )?;
        Ok(())
    }
}

fn migrate(conn: &mut Connection) -> anyhow::Result<()> {
    let version: usize = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version > MIGRATIONS.len() {
        anyhow::bail!(
            "the database is at schema version {version}, newer than this build knows ({}); \
             refusing to run an older swarmcast on it",
            MIGRATIONS.len()
        );
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql).with_context(|| format!("migration {}", i + 1))?;
        tx.pragma_update(None, "user_version", i + 1)?;
        tx.commit()?;
    }
    Ok(())
}

/// The current time as the contract's RFC 3339 UTC string with milliseconds.
pub fn now_rfc3339() -> String {
    format_time(time::OffsetDateTime::now_utc())
}

pub fn format_time(t: time::OffsetDateTime) -> String {
    let f = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
    t.to_offset(time::UtcOffset::UTC).format(&f).expect("formattable")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{PendingMove, TorrentRecord};

    #[test]
    fn migrates_and_reopens() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(dir.path()).unwrap();
        s.set_setting("k", "v").unwrap();
        drop(s);
        let s = Store::open(dir.path()).unwrap();
        assert_eq!(s.setting("k").unwrap().as_deref(), Some("v"));
        assert_eq!(s.integrity_check().unwrap(), "ok");
    }

    #[test]
    fn pages_torrents_in_the_order_added_without_their_bytes() {
        let s = Store::open_in_memory().unwrap();
        for (h, t) in [("b", "2026-01-02"), ("a", "2026-01-01"), ("c", "2026-01-03")] {
            s.insert_torrent(&TorrentRecord::for_test(h, t)).unwrap();
        }
        let (total, page) = s.torrent_page(false, 1, 5).unwrap();
        assert_eq!(total, 3);
        assert_eq!(page.iter().map(|r| r.info_hash.as_str()).collect::<Vec<_>>(), ["b", "c"]);
        assert!(page[0].torrent_bytes.is_none());
        let (_, page) = s.torrent_page(true, 0, 1).unwrap();
        assert_eq!(page[0].info_hash, "c");
    }

    #[test]
    fn move_journal_round_trips() {
        let s = Store::open_in_memory().unwrap();
        let m = PendingMove { from: "/in".into(), to: "/lib/x".into(), files: vec!["x/1.mkv".into()] };
        s.begin_move("h1", &m).unwrap();
        s.set_setting("config.quota.max_bytes", "5").unwrap();
        assert_eq!(s.pending_moves().unwrap(), vec![("h1".to_string(), m)]);
        s.end_move("h1").unwrap();
        assert!(s.pending_moves().unwrap().is_empty());
        assert_eq!(s.setting("config.quota.max_bytes").unwrap().as_deref(), Some("5"));
    }

    #[test]
    fn time_format() {
        let t = time::macros::datetime!(2026-11-02 10:30:00.123 UTC);
        assert_eq!(format_time(t), "2026-11-02T10:30:00.123Z");
    }
}
