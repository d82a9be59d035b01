//! The `tracker_swarms` table: each tracked swarm's completed-download count, so that
//! scrape's `downloaded` survives a restart. Peers themselves are never persisted.

use super::db::Store;

impl Store {
    /// Every persisted swarm: `(info_hash, downloaded, created_at)`.
    pub fn tracker_swarms(&self) -> anyhow::Result<Vec<(String, u64, String)>> {
        let conn = self.conn();
        let mut stmt = conn.prepare("SELECT info_hash, downloaded, created_at FROM tracker_swarms")?;
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as u64, r.get(2)?)))?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// Forgets swarms (their completed counts).
    pub fn delete_tracker_swarms(&self, info_hashes: &[String]) -> anyhow::Result<()> {
        let conn = self.conn();
        let mut stmt = conn.prepare("DELETE FROM tracker_swarms WHERE info_hash = ?1")?;
        for h in info_hashes {
            stmt.execute([h])?;
        }
        Ok(())
    }

    /// Records a swarm's completed count.
    pub fn set_tracker_downloaded(&self, info_hash: &str, downloaded: u64, created_at: &str) -> anyhow::Result<()> {
        self.conn().execute(
            "INSERT INTO tracker_swarms(info_hash, downloaded, created_at) VALUES (?1, ?2, ?3)
             ON CONFLICT(info_hash) DO UPDATE SET downloaded = excluded.downloaded",
            rusqlite::params![info_hash, downloaded as i64, created_at],
        )?;
        Ok(())
    }
}

impl Store {
    /// `info_hash → name` of every torrent with a known name (names for the swarm list).
    pub fn torrent_names(&self) -> anyhow::Result<std::collections::HashMap<String, String>> {
        let conn = self.conn();
        let mut stmt = conn.prepare("SELECT info_hash, name FROM torrents WHERE name IS NOT NULL")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<Result<_, _>>()?;
        Ok(rows)
    }
}
