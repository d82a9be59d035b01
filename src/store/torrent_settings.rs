//! Per-torrent disk settings (`torrent_settings`: seeding limits and speed limits) and
//! the torrent columns the disk manager changes (purpose, output folder).

use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};

use super::{Purpose, db::Store};

/// Per-torrent overrides; `None` falls back to the global setting.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TorrentSettings {
    /// Upload/size ratio at which seeding stops.
    pub ratio_limit: Option<f64>,
    /// Minutes of seeding after completion at which seeding stops.
    pub seed_time_limit_minutes: Option<u64>,
    /// `pause`, `remove` or `remove_data`.
    pub seed_action: Option<String>,
    /// Bytes/s; 0 = unlimited.
    pub download_limit: Option<u64>,
    pub upload_limit: Option<u64>,
}

const MOVE_PREFIX: &str = "move.";

/// A move of a torrent's files under way: from which folder to which, and the files
/// (relative paths).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PendingMove {
    pub from: std::path::PathBuf,
    pub to: std::path::PathBuf,
    pub files: Vec<std::path::PathBuf>,
}

impl Store {
    /// A torrent's overrides (all `None` when it has none).
    pub fn torrent_settings(&self, info_hash: &str) -> anyhow::Result<TorrentSettings> {
        Ok(self
            .conn()
            .query_row(
                "SELECT ratio_limit, seed_time_limit_minutes, seed_action, download_limit, upload_limit
                 FROM torrent_settings WHERE info_hash = ?1",
                [info_hash],
                |r| {
                    Ok(TorrentSettings {
                        ratio_limit: r.get(0)?,
                        seed_time_limit_minutes: r.get::<_, Option<i64>>(1)?.map(|v| v as u64),
                        seed_action: r.get(2)?,
                        download_limit: r.get::<_, Option<i64>>(3)?.map(|v| v as u64),
                        upload_limit: r.get::<_, Option<i64>>(4)?.map(|v| v as u64),
                    })
                },
            )
            .optional()?
            .unwrap_or_default())
    }

    pub fn set_torrent_settings(&self, info_hash: &str, s: &TorrentSettings) -> anyhow::Result<()> {
        self.conn().execute(
            "INSERT INTO torrent_settings(info_hash, ratio_limit, seed_time_limit_minutes, seed_action,
                                          download_limit, upload_limit)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT(info_hash) DO UPDATE SET ratio_limit = excluded.ratio_limit,
                seed_time_limit_minutes = excluded.seed_time_limit_minutes,
                seed_action = excluded.seed_action, download_limit = excluded.download_limit,
                upload_limit = excluded.upload_limit",
            params![
                info_hash,
                s.ratio_limit,
                s.seed_time_limit_minutes.map(|v| v as i64),
                s.seed_action,
                s.download_limit.map(|v| v as i64),
                s.upload_limit.map(|v| v as i64),
            ],
        )?;
        Ok(())
    }

    pub fn set_torrent_purpose(&self, info_hash: &str, purpose: Purpose) -> anyhow::Result<()> {
        let p = match purpose {
            Purpose::Keep => "keep",
            Purpose::Watch => "watch",
        };
        self.conn().execute("UPDATE torrents SET purpose = ?2 WHERE info_hash = ?1", params![info_hash, p])?;
        Ok(())
    }

    /// Records where a torrent's files are (its librqbit output folder).
    pub fn set_torrent_output_folder(&self, info_hash: &str, folder: &str) -> anyhow::Result<()> {
        self.conn()
            .execute("UPDATE torrents SET output_folder = ?2 WHERE info_hash = ?1", params![info_hash, folder])?;
        Ok(())
    }

    /// Journals a move of a torrent's files before the first file moves, so that a
    /// move cut by a crash or power cut is finished on the next start.
    pub fn begin_move(&self, info_hash: &str, m: &PendingMove) -> anyhow::Result<()> {
        self.set_setting(&format!("{MOVE_PREFIX}{info_hash}"), &serde_json::to_string(m)?)
    }

    /// The move of `info_hash` is over (done, or undone).
    pub fn end_move(&self, info_hash: &str) -> anyhow::Result<()> {
        self.conn().execute("DELETE FROM settings WHERE key = ?1", [format!("{MOVE_PREFIX}{info_hash}")])?;
        Ok(())
    }

    /// Moves begun and not ended, by info-hash.
    pub fn pending_moves(&self) -> anyhow::Result<Vec<(String, PendingMove)>> {
        let conn = self.conn();
        let mut stmt = conn.prepare("SELECT key, value FROM settings WHERE key LIKE 'move.%' ORDER BY key")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
        let mut out = Vec::new();
        for row in rows {
            let (key, value) = row?;
            match serde_json::from_str(&value) {
                Ok(m) => out.push((key[MOVE_PREFIX.len()..].to_string(), m)),
                Err(e) => tracing::warn!("ignoring an unreadable move journal entry {key}: {e}"),
            }
        }
        Ok(out)
    }

    /// Sets a torrent's completion time (the maintenance tests inject a clock).
    pub fn set_torrent_completed_at(&self, info_hash: &str, at: &str) -> anyhow::Result<()> {
        self.conn().execute("UPDATE torrents SET completed_at = ?2 WHERE info_hash = ?1", params![info_hash, at])?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::TorrentRecord;

    #[test]
    fn settings_round_trip_and_cascade() {
        let s = Store::open_in_memory().unwrap();
        let rec = TorrentRecord::for_test(&"a".repeat(40), "2026-01-01T00:00:00.000Z");
        s.insert_torrent(&rec).unwrap();
        assert_eq!(s.torrent_settings(&rec.info_hash).unwrap(), TorrentSettings::default());
        let t = TorrentSettings { ratio_limit: Some(1.5), upload_limit: Some(100), ..Default::default() };
        s.set_torrent_settings(&rec.info_hash, &t).unwrap();
        assert_eq!(s.torrent_settings(&rec.info_hash).unwrap(), t);
        s.set_torrent_purpose(&rec.info_hash, Purpose::Watch).unwrap();
        assert_eq!(s.torrent(&rec.info_hash).unwrap().unwrap().purpose, Purpose::Watch);
        s.delete_torrent(&rec.info_hash).unwrap();
        assert_eq!(s.torrent_settings(&rec.info_hash).unwrap(), TorrentSettings::default());
    }
}
