//! The activity log: what happened to which torrent, newest last.

use rusqlite::params;
use serde::Serialize;

use super::{db::Store, now_rfc3339};

/// One activity log entry, as `/api/activity` returns it.
#[derive(Clone, Debug, Serialize)]
pub struct ActivityEntry {
    pub time: String,
    pub event: String,
    pub torrent_id: Option<String>,
    pub name: Option<String>,
    pub detail: Option<String>,
}

impl Store {
    pub fn log_activity(
        &self,
        event: &str,
        torrent_id: Option<&str>,
        name: Option<&str>,
        detail: Option<&str>,
    ) -> anyhow::Result<()> {
        self.conn().execute(
            "INSERT INTO activity(time, event, torrent_id, name, detail) VALUES (?1,?2,?3,?4,?5)",
            params![now_rfc3339(), event, torrent_id, name, detail],
        )?;
        Ok(())
    }

    /// The newest `limit` entries, newest first, optionally for one torrent.
    pub fn activity(&self, limit: u32, torrent_id: Option<&str>) -> anyhow::Result<Vec<ActivityEntry>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT time, event, torrent_id, name, detail FROM activity
             WHERE ?1 IS NULL OR torrent_id = ?1 ORDER BY id DESC LIMIT ?2",
        )?;
        let rows = stmt
            .query_map(params![torrent_id, limit], |r| {
                Ok(ActivityEntry {
                    time: r.get(0)?,
                    event: r.get(1)?,
                    torrent_id: r.get(2)?,
                    name: r.get(3)?,
                    detail: r.get(4)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }
}
