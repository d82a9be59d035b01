//! `watch`: where each user stopped in each file, for resume, "continue watching",
//! the next episode and the DLNA bookmark.

use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use super::{db::Store, now_rfc3339};

/// Past this share of its duration a file counts as watched.
pub const WATCHED_SHARE: f64 = 0.9;

/// One user's place in one file.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct WatchRecord {
    pub torrent_id: String,
    pub file_index: usize,
    pub name: String,
    pub position_s: f64,
    pub duration_s: Option<f64>,
    pub watched: bool,
    pub updated_at: String,
}

/// Who said where the user is: the player itself, or the box from the segments a
/// player fetched (a TV that cannot report).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WatchSource {
    Player,
    Segments,
}

/// How long a player's own report outranks positions followed from segments.
const PLAYER_WINS_SECS: i64 = 60;

/// Whether `position_s` of `duration_s` counts as watched.
pub fn is_watched(position_s: f64, duration_s: Option<f64>) -> bool {
    duration_s.is_some_and(|d| d > 0.0 && position_s >= d * WATCHED_SHARE)
}

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<WatchRecord> {
    Ok(WatchRecord {
        torrent_id: r.get(0)?,
        file_index: r.get::<_, i64>(1)? as usize,
        name: r.get(2)?,
        position_s: r.get(3)?,
        duration_s: r.get(4)?,
        watched: r.get::<_, i64>(5)? != 0,
        updated_at: r.get(6)?,
    })
}

const COLUMNS: &str = "info_hash, file_index, name, position_s, duration_s, watched, updated_at";

impl Store {
    /// Records where `user` is in a file. A file once watched stays watched. A position
    /// followed from segments does not overwrite a player's report of the last minute.
    /// Returns whether the row was written.
    #[allow(clippy::too_many_arguments)]
    pub fn put_watch(
        &self,
        user: i64,
        torrent: &str,
        file: usize,
        name: &str,
        position_s: f64,
        duration_s: Option<f64>,
        source: WatchSource,
    ) -> anyhow::Result<bool> {
        let now = now_rfc3339();
        let watched = is_watched(position_s, duration_s);
        let src = match source {
            WatchSource::Player => "player",
            WatchSource::Segments => "segments",
        };
        let conn = self.conn();
        if source == WatchSource::Segments {
            let recent: Option<String> = conn
                .query_row(
                    "SELECT updated_at FROM watch WHERE user_id = ?1 AND info_hash = ?2 AND file_index = ?3
                     AND source = 'player'",
                    params![user, torrent, file as i64],
                    |r| r.get(0),
                )
                .optional()?;
            if let Some(at) = recent
                && let Ok(t) = time::OffsetDateTime::parse(&at, &time::format_description::well_known::Rfc3339)
                && (time::OffsetDateTime::now_utc() - t).whole_seconds() < PLAYER_WINS_SECS
            {
                return Ok(false);
            }
        }
        conn.execute(
            "INSERT INTO watch(user_id, info_hash, file_index, name, position_s, duration_s, watched, source, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
             ON CONFLICT(user_id, info_hash, file_index) DO UPDATE SET name = excluded.name,
                position_s = excluded.position_s,
                duration_s = COALESCE(excluded.duration_s, watch.duration_s),
                watched = MAX(watch.watched, excluded.watched), source = excluded.source,
                updated_at = excluded.updated_at",
            params![user, torrent, file as i64, name, position_s, duration_s, watched as i64, src, now],
        )?;
        // A position without a duration may cross 90 % of a duration known before.
        conn.execute(
            "UPDATE watch SET watched = 1 WHERE user_id = ?1 AND info_hash = ?2 AND file_index = ?3
             AND duration_s > 0 AND position_s >= duration_s * ?4",
            params![user, torrent, file as i64, WATCHED_SHARE],
        )?;
        Ok(true)
    }

    /// One user's place in one file.
    pub fn watch(&self, user: i64, torrent: &str, file: usize) -> anyhow::Result<Option<WatchRecord>> {
        Ok(self
            .conn()
            .query_row(
                &format!("SELECT {COLUMNS} FROM watch WHERE user_id = ?1 AND info_hash = ?2 AND file_index = ?3"),
                params![user, torrent, file as i64],
                row,
            )
            .optional()?)
    }

    /// A user's list, most recent first.
    pub fn watch_list(&self, user: i64) -> anyhow::Result<Vec<WatchRecord>> {
        let conn = self.conn();
        let mut st = conn
            .prepare(&format!("SELECT {COLUMNS} FROM watch WHERE user_id = ?1 ORDER BY updated_at DESC, rowid DESC"))?;
        let rows = st.query_map([user], row)?.collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// A user's places in the files of one torrent.
    pub fn watch_of_torrent(&self, user: i64, torrent: &str) -> anyhow::Result<Vec<WatchRecord>> {
        let conn = self.conn();
        let mut st = conn.prepare(&format!(
            "SELECT {COLUMNS} FROM watch WHERE user_id = ?1 AND info_hash = ?2 ORDER BY file_index"
        ))?;
        let rows = st.query_map(params![user, torrent], row)?.collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// Every file's latest place by anyone (what a TV, which has no user, resumes at).
    pub fn watch_latest_all(&self) -> anyhow::Result<Vec<WatchRecord>> {
        let conn = self.conn();
        let mut st = conn.prepare(&format!(
            // SQLite takes the bare columns from the row holding the MAX.
            "SELECT {COLUMNS}, MAX(updated_at) FROM watch GROUP BY info_hash, file_index"
        ))?;
        let rows = st.query_map([], row)?.collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// Forgets a user's place in a file; whether there was one.
    pub fn delete_watch(&self, user: i64, torrent: &str, file: usize) -> anyhow::Result<bool> {
        Ok(self.conn().execute(
            "DELETE FROM watch WHERE user_id = ?1 AND info_hash = ?2 AND file_index = ?3",
            params![user, torrent, file as i64],
        )? > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_watched_and_order() {
        let s = Store::open_in_memory().unwrap();
        assert!(s.put_watch(1, "a", 0, "A.mkv", 100.0, Some(1000.0), WatchSource::Player).unwrap());
        std::thread::sleep(std::time::Duration::from_millis(5));
        s.put_watch(1, "b", 2, "B.mkv", 950.0, Some(1000.0), WatchSource::Player).unwrap();
        s.put_watch(2, "a", 0, "A.mkv", 5.0, None, WatchSource::Player).unwrap();
        let l = s.watch_list(1).unwrap();
        assert_eq!(l.iter().map(|r| r.torrent_id.as_str()).collect::<Vec<_>>(), ["b", "a"]);
        assert!(l[0].watched && !l[1].watched);
        // Going back keeps it watched; a duration known before still applies.
        s.put_watch(1, "b", 2, "B.mkv", 10.0, None, WatchSource::Player).unwrap();
        let b = s.watch(1, "b", 2).unwrap().unwrap();
        assert!(b.watched && b.position_s == 10.0 && b.duration_s == Some(1000.0));
        s.put_watch(1, "a", 0, "A.mkv", 901.0, None, WatchSource::Player).unwrap();
        assert!(s.watch(1, "a", 0).unwrap().unwrap().watched);
        // Segments do not overwrite a fresh player report.
        assert!(!s.put_watch(1, "a", 0, "A.mkv", 12.0, None, WatchSource::Segments).unwrap());
        assert!(s.put_watch(3, "a", 0, "A.mkv", 12.0, None, WatchSource::Segments).unwrap());
        assert_eq!(s.watch_latest_all().unwrap().len(), 2);
        assert!(s.delete_watch(1, "a", 0).unwrap());
        assert!(!s.delete_watch(1, "a", 0).unwrap());
        assert_eq!(s.watch_of_torrent(2, "a").unwrap().len(), 1);
    }
}
