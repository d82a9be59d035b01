//! The `sessions`, `remember_tokens` and `api_keys` tables. Only hashes of the
//! secrets are stored; the secrets themselves live in the clients.

use rusqlite::{OptionalExtension, params};

use super::db::Store;

/// One row of `sessions`.
#[derive(Clone, Debug)]
pub struct SessionRecord {
    pub token_hash: String,
    pub user_id: i64,
    pub created_at: i64,
    pub last_seen: i64,
    pub series: Option<String>,
}

/// One row of `remember_tokens`.
#[derive(Clone, Debug)]
pub struct RememberRecord {
    pub series: String,
    pub token_hash: String,
    /// The token before the last rotation, and when it was rotated.
    pub prev_hash: Option<String>,
    pub rotated_at: Option<i64>,
    pub user_id: i64,
    pub created_at: i64,
    pub expires_at: i64,
}

/// One row of `api_keys`.
#[derive(Clone, Debug)]
pub struct ApiKeyRecord {
    pub prefix: String,
    pub key_hash: String,
    pub user_id: i64,
    pub name: String,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub last_used_at: Option<i64>,
}

const API_KEY_COLUMNS: &str = "prefix, key_hash, user_id, name, created_at, expires_at, last_used_at";

fn api_key_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ApiKeyRecord> {
    Ok(ApiKeyRecord {
        prefix: r.get(0)?,
        key_hash: r.get(1)?,
        user_id: r.get(2)?,
        name: r.get(3)?,
        created_at: r.get(4)?,
        expires_at: r.get(5)?,
        last_used_at: r.get(6)?,
    })
}

impl Store {
    // --- sessions ---

    pub fn insert_session(&self, s: &SessionRecord) -> anyhow::Result<()> {
        self.conn().execute(
            "INSERT INTO sessions(token_hash, user_id, created_at, last_seen, series)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![s.token_hash, s.user_id, s.created_at, s.last_seen, s.series],
        )?;
        Ok(())
    }

    pub fn session(&self, token_hash: &str) -> anyhow::Result<Option<SessionRecord>> {
        Ok(self
            .conn()
            .query_row(
                "SELECT token_hash, user_id, created_at, last_seen, series FROM sessions
                 WHERE token_hash = ?1",
                [token_hash],
                |r| {
                    Ok(SessionRecord {
                        token_hash: r.get(0)?,
                        user_id: r.get(1)?,
                        created_at: r.get(2)?,
                        last_seen: r.get(3)?,
                        series: r.get(4)?,
                    })
                },
            )
            .optional()?)
    }

    pub fn touch_session(&self, token_hash: &str, now: i64) -> anyhow::Result<()> {
        self.conn().execute("UPDATE sessions SET last_seen = ?2 WHERE token_hash = ?1", params![token_hash, now])?;
        Ok(())
    }

    pub fn delete_session(&self, token_hash: &str) -> anyhow::Result<()> {
        self.conn().execute("DELETE FROM sessions WHERE token_hash = ?1", [token_hash])?;
        Ok(())
    }

    /// Ends every session of a user but `keep` (a token hash), and every remember-me
    /// series but the one `keep` came from.
    pub fn delete_other_sessions(&self, user_id: i64, keep: Option<&str>) -> anyhow::Result<()> {
        let conn = self.conn();
        let keep_series: Option<String> = match keep {
            Some(k) => conn
                .query_row("SELECT series FROM sessions WHERE token_hash = ?1", [k], |r| r.get(0))
                .optional()?
                .flatten(),
            None => None,
        };
        conn.execute(
            "DELETE FROM sessions WHERE user_id = ?1 AND (?2 IS NULL OR token_hash != ?2)",
            params![user_id, keep],
        )?;
        conn.execute(
            "DELETE FROM remember_tokens WHERE user_id = ?1 AND (?2 IS NULL OR series != ?2)",
            params![user_id, keep_series],
        )?;
        Ok(())
    }

    /// Drops sessions idle since `idle_before` or created before `created_before`,
    /// and expired remember-me series.
    pub fn prune_sessions(&self, idle_before: i64, created_before: i64, now: i64) -> anyhow::Result<usize> {
        let conn = self.conn();
        let n = conn.execute(
            "DELETE FROM sessions WHERE last_seen < ?1 OR created_at < ?2",
            params![idle_before, created_before],
        )?;
        let m = conn.execute("DELETE FROM remember_tokens WHERE expires_at < ?1", [now])?;
        Ok(n + m)
    }

    // --- remember-me series ---

    pub fn insert_remember(&self, r: &RememberRecord) -> anyhow::Result<()> {
        self.conn().execute(
            "INSERT INTO remember_tokens(series, token_hash, user_id, created_at, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![r.series, r.token_hash, r.user_id, r.created_at, r.expires_at],
        )?;
        Ok(())
    }

    pub fn remember(&self, series: &str) -> anyhow::Result<Option<RememberRecord>> {
        Ok(self
            .conn()
            .query_row(
                "SELECT series, token_hash, user_id, created_at, expires_at, prev_hash, rotated_at
                 FROM remember_tokens WHERE series = ?1",
                [series],
                |r| {
                    Ok(RememberRecord {
                        series: r.get(0)?,
                        token_hash: r.get(1)?,
                        user_id: r.get(2)?,
                        created_at: r.get(3)?,
                        expires_at: r.get(4)?,
                        prev_hash: r.get(5)?,
                        rotated_at: r.get(6)?,
                    })
                },
            )
            .optional()?)
    }

    /// Replaces the series' token if it is still `old_hash`; false when another
    /// request rotated it first.
    pub fn rotate_remember(&self, series: &str, old_hash: &str, new_hash: &str, now: i64) -> anyhow::Result<bool> {
        Ok(self.conn().execute(
            "UPDATE remember_tokens SET token_hash = ?3, prev_hash = ?2, rotated_at = ?4
             WHERE series = ?1 AND token_hash = ?2",
            params![series, old_hash, new_hash, now],
        )? > 0)
    }

    /// Deletes a remember-me series and every session it made.
    pub fn delete_remember_series(&self, series: &str) -> anyhow::Result<()> {
        let conn = self.conn();
        conn.execute("DELETE FROM sessions WHERE series = ?1", [series])?;
        conn.execute("DELETE FROM remember_tokens WHERE series = ?1", [series])?;
        Ok(())
    }

    // --- API keys ---

    pub fn insert_api_key(&self, k: &ApiKeyRecord) -> anyhow::Result<()> {
        self.conn().execute(
            &format!("INSERT INTO api_keys({API_KEY_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"),
            params![k.prefix, k.key_hash, k.user_id, k.name, k.created_at, k.expires_at, k.last_used_at],
        )?;
        Ok(())
    }

    pub fn api_key(&self, prefix: &str) -> anyhow::Result<Option<ApiKeyRecord>> {
        Ok(self
            .conn()
            .query_row(&format!("SELECT {API_KEY_COLUMNS} FROM api_keys WHERE prefix = ?1"), [prefix], api_key_row)
            .optional()?)
    }

    /// A user's keys (every key when `user_id` is `None`), oldest first.
    pub fn api_keys(&self, user_id: Option<i64>) -> anyhow::Result<Vec<ApiKeyRecord>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "SELECT {API_KEY_COLUMNS} FROM api_keys WHERE ?1 IS NULL OR user_id = ?1
             ORDER BY created_at, prefix"
        ))?;
        let rows = stmt.query_map([user_id], api_key_row)?.collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    pub fn touch_api_key(&self, prefix: &str, now: i64) -> anyhow::Result<()> {
        self.conn().execute("UPDATE api_keys SET last_used_at = ?2 WHERE prefix = ?1", params![prefix, now])?;
        Ok(())
    }

    /// Deletes a key, of one user when `user_id` is given; false when there was none.
    pub fn delete_api_key(&self, prefix: &str, user_id: Option<i64>) -> anyhow::Result<bool> {
        Ok(self.conn().execute(
            "DELETE FROM api_keys WHERE prefix = ?1 AND (?2 IS NULL OR user_id = ?2)",
            params![prefix, user_id],
        )? > 0)
    }

    /// Deletes every key of a user; returns how many there were.
    pub fn delete_api_keys_of(&self, user_id: i64) -> anyhow::Result<usize> {
        Ok(self.conn().execute("DELETE FROM api_keys WHERE user_id = ?1", params![user_id])?)
    }
}
