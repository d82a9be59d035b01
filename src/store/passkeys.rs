//! Users' tracker passkeys and the uploaded/downloaded bytes credited to them.

use rusqlite::{OptionalExtension, params};

use super::db::Store;

/// A new random passkey: 32 lowercase hex digits.
fn fresh() -> String {
    hex::encode(rand::random::<[u8; 16]>())
}

impl Store {
    /// The user's passkey, made on first use; `None` when there is no such user.
    pub fn passkey(&self, user: i64) -> anyhow::Result<Option<String>> {
        let conn = self.conn();
        let row: Option<Option<String>> =
            conn.query_row("SELECT passkey FROM users WHERE id = ?1", [user], |r| r.get(0)).optional()?;
        match row {
            None => Ok(None),
            Some(Some(k)) => Ok(Some(k)),
            Some(None) => {
                let k = fresh();
                conn.execute("UPDATE users SET passkey = ?1 WHERE id = ?2", params![k, user])?;
                Ok(Some(k))
            }
        }
    }

    /// Replaces the user's passkey; the old one stops working at once.
    pub fn renew_passkey(&self, user: i64) -> anyhow::Result<Option<String>> {
        let k = fresh();
        let n = self.conn().execute("UPDATE users SET passkey = ?1 WHERE id = ?2", params![k, user])?;
        Ok((n > 0).then_some(k))
    }

    /// The user a passkey belongs to.
    pub fn user_by_passkey(&self, passkey: &str) -> anyhow::Result<Option<i64>> {
        Ok(self.conn().query_row("SELECT id FROM users WHERE passkey = ?1", [passkey], |r| r.get(0)).optional()?)
    }

    /// Adds bytes to a user's tracker totals.
    pub fn credit(&self, user: i64, uploaded: u64, downloaded: u64) -> anyhow::Result<()> {
        self.conn().execute(
            "UPDATE users SET tracker_uploaded = tracker_uploaded + ?1, tracker_downloaded = tracker_downloaded + ?2 WHERE id = ?3",
            params![uploaded as i64, downloaded as i64, user],
        )?;
        Ok(())
    }

    /// A user's credited `(uploaded, downloaded)`.
    pub fn credited(&self, user: i64) -> anyhow::Result<Option<(u64, u64)>> {
        Ok(self
            .conn()
            .query_row("SELECT tracker_uploaded, tracker_downloaded FROM users WHERE id = ?1", [user], |r| {
                Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64))
            })
            .optional()?)
    }

    /// Marks a torrent made by this box as private: its announces need a passkey.
    pub fn set_tracker_private(&self, info_hash: &str) -> anyhow::Result<()> {
        self.conn().execute("INSERT OR IGNORE INTO tracker_private(info_hash) VALUES (?1)", [info_hash])?;
        Ok(())
    }

    /// Whether announces for `info_hash` need a passkey.
    pub fn is_tracker_private(&self, info_hash: &str) -> anyhow::Result<bool> {
        Ok(self
            .conn()
            .query_row("SELECT 1 FROM tracker_private WHERE info_hash = ?1", [info_hash], |_| Ok(()))
            .optional()?
            .is_some())
    }
}
