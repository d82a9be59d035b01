//! The `torrents` table: every torrent the box should have, with its options.

use rusqlite::{OptionalExtension, Row, params};
use serde::{Deserialize, Serialize};

use super::{db::Store, now_rfc3339};

/// Why a torrent is on the box. Only `Watch` torrents may be evicted by the quota.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Purpose {
    /// Added by a user to keep.
    Keep,
    /// Added only to be watched, through `POST /api/stream`.
    Watch,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Purpose::Keep => "keep",
            Purpose::Watch => "watch",
        }
    }
}

/// One row of `torrents`.
#[derive(Clone, Debug)]
pub struct TorrentRecord {
    pub info_hash: String,
    pub name: Option<String>,
    pub source: String,
    pub torrent_bytes: Option<Vec<u8>>,
    pub added_by: Option<i64>,
    pub added_at: String,
    pub purpose: Purpose,
    pub paused: bool,
    pub only_files: Option<Vec<usize>>,
    pub output_folder: Option<String>,
    pub completed_at: Option<String>,
    pub last_watched_at: Option<String>,
}

#[cfg(test)]
impl TorrentRecord {
    /// A kept magnet `hash`, added at `added_at`, with made-up bytes: for the store's tests.
    pub(crate) fn for_test(hash: &str, added_at: &str) -> Self {
        Self {
            info_hash: hash.into(),
            name: Some(hash.into()),
            source: format!("magnet:?xt=urn:btih:{hash}"),
            torrent_bytes: Some(vec![1, 2, 3]),
            added_by: None,
            added_at: added_at.into(),
            purpose: Purpose::Keep,
            paused: false,
            only_files: None,
            output_folder: None,
            completed_at: None,
            last_watched_at: None,
        }
    }
}

const COLUMNS: &str = "info_hash, name, source, torrent_bytes, added_by, added_at, purpose, \
                       paused, only_files, output_folder, completed_at, last_watched_at";

fn from_row(r: &Row<'_>) -> rusqlite::Result<TorrentRecord> {
    let purpose: String = r.get(6)?;
    let only_files: Option<String> = r.get(8)?;
    Ok(TorrentRecord {
        info_hash: r.get(0)?,
        name: r.get(1)?,
        source: r.get(2)?,
        torrent_bytes: r.get(3)?,
        added_by: r.get(4)?,
        added_at: r.get(5)?,
        purpose: if purpose == "watch" { Purpose::Watch } else { Purpose::Keep },
        paused: r.get(7)?,
        only_files: only_files.and_then(|s| serde_json::from_str(&s).ok()),
        output_folder: r.get(9)?,
        completed_at: r.get(10)?,
        last_watched_at: r.get(11)?,
    })
}

impl Store {
    /// Records a newly added torrent. Fails if the info-hash is already there.
    pub fn insert_torrent(&self, t: &TorrentRecord) -> anyhow::Result<()> {
        self.conn().execute(
            &format!("INSERT INTO torrents ({COLUMNS}) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12)"),
            params![
                t.info_hash,
                t.name,
                t.source,
                t.torrent_bytes,
                t.added_by,
                t.added_at,
                t.purpose.as_str(),
                t.paused,
                t.only_files.as_ref().map(|f| serde_json::to_string(f).unwrap()),
                t.output_folder,
                t.completed_at,
                t.last_watched_at,
            ],
        )?;
        Ok(())
    }

    pub fn torrent(&self, info_hash: &str) -> anyhow::Result<Option<TorrentRecord>> {
        Ok(self
            .conn()
            .query_row(&format!("SELECT {COLUMNS} FROM torrents WHERE info_hash = ?1"), [info_hash], from_row)
            .optional()?)
    }

    /// Every torrent, oldest first.
    pub fn torrents(&self) -> anyhow::Result<Vec<TorrentRecord>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!("SELECT {COLUMNS} FROM torrents ORDER BY added_at"))?;
        let rows = stmt.query_map([], from_row)?.collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// Every torrent in the order added, without its .torrent bytes (for views).
    pub fn torrent_summaries(&self) -> anyhow::Result<Vec<TorrentRecord>> {
        let conn = self.conn();
        let columns = COLUMNS.replace("torrent_bytes", "NULL");
        let mut stmt = conn.prepare_cached(&format!("SELECT {columns} FROM torrents ORDER BY added_at"))?;
        let rows = stmt.query_map([], from_row)?.collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// One page of the torrents in the order added (newest first when `desc`), without
    /// their .torrent bytes, and how many there are in all.
    pub fn torrent_page(&self, desc: bool, skip: usize, take: usize) -> anyhow::Result<(usize, Vec<TorrentRecord>)> {
        let conn = self.conn();
        let total: i64 = conn.query_row("SELECT count(*) FROM torrents", [], |r| r.get(0))?;
        let columns = COLUMNS.replace("torrent_bytes", "NULL");
        let order = if desc { "DESC" } else { "ASC" };
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {columns} FROM torrents ORDER BY added_at {order}, rowid {order} LIMIT ?1 OFFSET ?2"
        ))?;
        let rows = stmt
            .query_map(params![take.min(i64::MAX as usize) as i64, skip.min(i64::MAX as usize) as i64], from_row)?
            .collect::<Result<Vec<_>, _>>()?;
        Ok((total as usize, rows))
    }

    /// Stores the metadata of a magnet once it arrived.
    pub fn set_torrent_metadata(&self, info_hash: &str, name: &str, torrent_bytes: &[u8]) -> anyhow::Result<()> {
        self.conn().execute(
            "UPDATE torrents SET name = ?2, torrent_bytes = ?3 WHERE info_hash = ?1",
            params![info_hash, name, torrent_bytes],
        )?;
        Ok(())
    }

    pub fn set_torrent_paused(&self, info_hash: &str, paused: bool) -> anyhow::Result<()> {
        self.conn().execute("UPDATE torrents SET paused = ?2 WHERE info_hash = ?1", params![info_hash, paused])?;
        Ok(())
    }

    /// Records which files of a torrent to download (`None`: all).
    pub fn set_torrent_files(&self, info_hash: &str, files: Option<&[usize]>) -> anyhow::Result<()> {
        let json = files.map(|f| serde_json::to_string(f).unwrap());
        self.conn().execute("UPDATE torrents SET only_files = ?2 WHERE info_hash = ?1", params![info_hash, json])?;
        Ok(())
    }

    /// Marks a torrent complete, once; returns whether this call did it.
    pub fn mark_torrent_completed(&self, info_hash: &str) -> anyhow::Result<bool> {
        let n = self.conn().execute(
            "UPDATE torrents SET completed_at = ?2 WHERE info_hash = ?1 AND completed_at IS NULL",
            params![info_hash, now_rfc3339()],
        )?;
        Ok(n > 0)
    }

    pub fn touch_torrent_watched(&self, info_hash: &str) -> anyhow::Result<()> {
        self.conn().execute(
            "UPDATE torrents SET last_watched_at = ?2 WHERE info_hash = ?1",
            params![info_hash, now_rfc3339()],
        )?;
        Ok(())
    }

    pub fn delete_torrent(&self, info_hash: &str) -> anyhow::Result<bool> {
        Ok(self.conn().execute("DELETE FROM torrents WHERE info_hash = ?1", [info_hash])? > 0)
    }
}
