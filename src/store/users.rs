//! The `users` table: accounts with their argon2id password hashes.

use rusqlite::{OptionalExtension, Row, params};

use super::db::Store;

/// One row of `users`.
#[derive(Clone, Debug)]
pub struct UserRecord {
    pub id: i64,
    pub username: String,
    pub email: Option<String>,
    pub password_hash: String,
    pub is_admin: bool,
    /// Unix seconds.
    pub created_at: i64,
}

const COLUMNS: &str = "id, username, email, password_hash, is_admin, created_at";

fn from_row(r: &Row<'_>) -> rusqlite::Result<UserRecord> {
    Ok(UserRecord {
        id: r.get(0)?,
        username: r.get(1)?,
        email: r.get(2)?,
        password_hash: r.get(3)?,
        is_admin: r.get(4)?,
        created_at: r.get(5)?,
    })
}

/// Why a user could not be inserted.
#[derive(Debug, thiserror::Error)]
pub enum InsertUserError {
    #[error("the username is taken")]
    Taken,
    /// `insert_first_user` found an existing user.
    #[error("a user already exists")]
    NotFirst,
    #[error(transparent)]
    Db(#[from] rusqlite::Error),
}

impl Store {
    /// Inserts a user; the username is unique without regard to case.
    pub fn insert_user(
        &self,
        username: &str,
        email: Option<&str>,
        password_hash: &str,
        is_admin: bool,
        now: i64,
    ) -> Result<UserRecord, InsertUserError> {
        let conn = self.conn();
        let n = conn.execute(
            "INSERT INTO users(username, email, password_hash, is_admin, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT(username) DO NOTHING",
            params![username, email, password_hash, is_admin, now],
        )?;
        if n == 0 {
            return Err(InsertUserError::Taken);
        }
        let id = conn.last_insert_rowid();
        Ok(conn.query_row(&format!("SELECT {COLUMNS} FROM users WHERE id = ?1"), [id], from_row)?)
    }

    /// Inserts the first user as an admin, atomically failing if any user exists.
    pub fn insert_first_user(
        &self,
        username: &str,
        email: Option<&str>,
        password_hash: &str,
        now: i64,
    ) -> Result<UserRecord, InsertUserError> {
        let conn = self.conn();
        let n = conn.execute(
            "INSERT INTO users(username, email, password_hash, is_admin, created_at)
             SELECT ?1, ?2, ?3, 1, ?4 WHERE NOT EXISTS (SELECT 1 FROM users)",
            params![username, email, password_hash, now],
        )?;
        if n == 0 {
            return Err(InsertUserError::NotFirst);
        }
        let id = conn.last_insert_rowid();
        Ok(conn.query_row(&format!("SELECT {COLUMNS} FROM users WHERE id = ?1"), [id], from_row)?)
    }

    pub fn user_count(&self) -> anyhow::Result<i64> {
        Ok(self.conn().query_row("SELECT COUNT(*) FROM users", [], |r| r.get(0))?)
    }

    pub fn admin_count(&self) -> anyhow::Result<i64> {
        Ok(self.conn().query_row("SELECT COUNT(*) FROM users WHERE is_admin = 1", [], |r| r.get(0))?)
    }

    pub fn user(&self, id: i64) -> anyhow::Result<Option<UserRecord>> {
        Ok(self.conn().query_row(&format!("SELECT {COLUMNS} FROM users WHERE id = ?1"), [id], from_row).optional()?)
    }

    /// Looks a user up by name, without regard to case.
    pub fn user_by_name(&self, username: &str) -> anyhow::Result<Option<UserRecord>> {
        Ok(self
            .conn()
            .query_row(&format!("SELECT {COLUMNS} FROM users WHERE username = ?1"), [username], from_row)
            .optional()?)
    }

    /// Every user, by id.
    pub fn users(&self) -> anyhow::Result<Vec<UserRecord>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!("SELECT {COLUMNS} FROM users ORDER BY id"))?;
        let rows = stmt.query_map([], from_row)?.collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    pub fn set_user_password(&self, id: i64, password_hash: &str) -> anyhow::Result<bool> {
        Ok(self.conn().execute("UPDATE users SET password_hash = ?2 WHERE id = ?1", params![id, password_hash])? > 0)
    }

    pub fn set_user_admin(&self, id: i64, is_admin: bool) -> anyhow::Result<bool> {
        Ok(self.conn().execute("UPDATE users SET is_admin = ?2 WHERE id = ?1", params![id, is_admin])? > 0)
    }

    /// Deletes a user with its sessions, remember-me series and API keys (cascade).
    pub fn delete_user(&self, id: i64) -> anyhow::Result<bool> {
        Ok(self.conn().execute("DELETE FROM users WHERE id = ?1", [id])? > 0)
    }
}
