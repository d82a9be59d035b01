//! Categories (qBittorrent) and labels (Transmission), one thing: each torrent has at
//! most one, and a category may name the folder its torrents go to.

use std::collections::HashMap;

use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use super::db::Store;

/// A category and the folder its torrents are saved in (relative to the download
/// dir; empty = the default place).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Category {
    pub name: String,
    pub save_path: String,
}

impl Store {
    /// Every category, by name.
    pub fn categories(&self) -> anyhow::Result<Vec<Category>> {
        let conn = self.conn();
        let mut stmt = conn.prepare("SELECT name, save_path FROM categories ORDER BY name")?;
        let rows = stmt
            .query_map([], |r| Ok(Category { name: r.get(0)?, save_path: r.get(1)? }))?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    pub fn category(&self, name: &str) -> anyhow::Result<Option<Category>> {
        Ok(self
            .conn()
            .query_row("SELECT name, save_path FROM categories WHERE name = ?1", [name], |r| {
                Ok(Category { name: r.get(0)?, save_path: r.get(1)? })
            })
            .optional()?)
    }

    /// Creates or changes a category.
    pub fn set_category(&self, c: &Category) -> anyhow::Result<()> {
        self.conn().execute(
            "INSERT INTO categories(name, save_path) VALUES (?1, ?2)
             ON CONFLICT(name) DO UPDATE SET save_path = excluded.save_path",
            params![c.name, c.save_path],
        )?;
        Ok(())
    }

    /// Removes categories; their torrents keep their folders and lose the category.
    pub fn remove_category(&self, name: &str) -> anyhow::Result<()> {
        let conn = self.conn();
        conn.execute("DELETE FROM categories WHERE name = ?1", [name])?;
        conn.execute("UPDATE torrent_categories SET category = NULL WHERE category = ?1", [name])?;
        Ok(())
    }

    /// A torrent's category (`None` = none).
    pub fn torrent_category(&self, info_hash: &str) -> anyhow::Result<Option<String>> {
        Ok(self
            .conn()
            .query_row("SELECT category FROM torrent_categories WHERE info_hash = ?1", [info_hash], |r| r.get(0))
            .optional()?
            .flatten())
    }

    /// Every torrent's category, by info-hash (for lists).
    pub fn torrent_categories(&self) -> anyhow::Result<HashMap<String, String>> {
        let conn = self.conn();
        let mut stmt =
            conn.prepare_cached("SELECT info_hash, category FROM torrent_categories WHERE category IS NOT NULL")?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?
            .collect::<Result<HashMap<_, _>, _>>()?;
        Ok(rows)
    }

    /// Sets (or with `None` clears) a torrent's category. A new category name is
    /// created without a save path.
    pub fn set_torrent_category(&self, info_hash: &str, category: Option<&str>) -> anyhow::Result<()> {
        let conn = self.conn();
        if let Some(c) = category {
            conn.execute("INSERT OR IGNORE INTO categories(name, save_path) VALUES (?1, '')", [c])?;
        }
        conn.execute(
            "INSERT INTO torrent_categories(info_hash, category) VALUES (?1, ?2)
             ON CONFLICT(info_hash) DO UPDATE SET category = excluded.category",
            params![info_hash, category],
        )?;
        Ok(())
    }

    /// The folder a torrent was asked to be saved in (absolute), if any.
    pub fn torrent_save_dir(&self, info_hash: &str) -> anyhow::Result<Option<String>> {
        Ok(self
            .conn()
            .query_row("SELECT save_dir FROM torrent_categories WHERE info_hash = ?1", [info_hash], |r| r.get(0))
            .optional()?
            .flatten())
    }

    pub fn set_torrent_save_dir(&self, info_hash: &str, dir: &str) -> anyhow::Result<()> {
        self.conn().execute(
            "INSERT INTO torrent_categories(info_hash, save_dir) VALUES (?1, ?2)
             ON CONFLICT(info_hash) DO UPDATE SET save_dir = excluded.save_dir",
            params![info_hash, dir],
        )?;
        Ok(())
    }
}

impl Store {
    /// A torrent's tags (qBittorrent), comma-separated; empty when none.
    pub fn torrent_tags(&self, info_hash: &str) -> anyhow::Result<String> {
        Ok(self
            .conn()
            .query_row("SELECT tags FROM torrent_categories WHERE info_hash = ?1", [info_hash], |r| r.get(0))
            .optional()?
            .flatten()
            .unwrap_or_default())
    }

    pub fn set_torrent_tags(&self, info_hash: &str, tags: &str) -> anyhow::Result<()> {
        self.conn().execute(
            "INSERT INTO torrent_categories(info_hash, tags) VALUES (?1, ?2)
             ON CONFLICT(info_hash) DO UPDATE SET tags = excluded.tags",
            params![info_hash, tags],
        )?;
        Ok(())
    }

    /// A small number for each torrent, stable while it is on the box (the
    /// Transmission RPC's torrent ids), by info-hash.
    pub fn torrent_numbers(&self) -> anyhow::Result<HashMap<String, i64>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached("SELECT info_hash, rowid FROM torrents")?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?
            .collect::<Result<HashMap<_, _>, _>>()?;
        Ok(rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::TorrentRecord;

    #[test]
    fn categories_and_cascade() {
        let s = Store::open_in_memory().unwrap();
        let id = "b".repeat(40);
        s.insert_torrent(&TorrentRecord::for_test(&id, "2026-01-01T00:00:00.000Z")).unwrap();
        s.set_category(&Category { name: "tv".into(), save_path: "tv".into() }).unwrap();
        s.set_torrent_category(&id, Some("films")).unwrap();
        s.set_torrent_save_dir(&id, "/d/films").unwrap();
        assert_eq!(s.torrent_category(&id).unwrap().as_deref(), Some("films"));
        assert_eq!(s.categories().unwrap().len(), 2);
        assert_eq!(s.torrent_save_dir(&id).unwrap().as_deref(), Some("/d/films"));
        s.remove_category("films").unwrap();
        assert_eq!(s.torrent_category(&id).unwrap(), None);
        s.delete_torrent(&id).unwrap();
        assert!(s.torrent_categories().unwrap().is_empty());
    }
}
