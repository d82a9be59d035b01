//! Sessions and remember-me series.
//!
//! A session is a random token in the `session` cookie; the database keeps its
//! SHA-256. It slides: each request moves `last_seen`, and it ends after
//! `session_idle_minutes` without one, or `session_absolute_hours` after login.
//!
//! Remember-me is a series id plus a token in the `remember` cookie. Using it (when
//! the session is gone) opens a new session and rotates the token. A series whose
//! old token comes back after rotation was copied: the whole series and its
//! sessions are revoked.

use super::{Auth, tokens};
use crate::store::{RememberRecord, SessionRecord, UserRecord};

/// `last_seen` is written at most this often per session, in seconds.
const TOUCH_EVERY_SECS: i64 = 15;

/// A new session, and the remember-me cookie value when one was asked for.
#[derive(Clone, Debug)]
pub struct SessionLogin {
    pub token: String,
    pub remember: Option<String>,
}

/// What presenting a remember-me cookie led to.
#[derive(Clone, Debug)]
pub enum RememberOutcome {
    /// A new session; `remember` is the rotated cookie value.
    Renewed { user: UserRecord, login: SessionLogin, token_hash: String },
    /// Unknown or expired series: nothing happens.
    Unknown,
    /// An old token of a live series: the series is revoked.
    Theft,
}

impl Auth {
    fn idle_secs(&self) -> i64 {
        self.config.session_idle_minutes as i64 * 60
    }
    fn absolute_secs(&self) -> i64 {
        self.config.session_absolute_hours as i64 * 3600
    }

    /// Opens a session for a user, with a new remember-me series when asked.
    pub fn login(&self, user_id: i64, remember_me: bool) -> anyhow::Result<SessionLogin> {
        let now = self.now();
        self.store.prune_sessions(now - self.idle_secs(), now - self.absolute_secs(), now)?;
        let remember = if remember_me {
            let series = tokens::random_token(18);
            let token = tokens::random_token(32);
            self.store.insert_remember(&RememberRecord {
                series: series.clone(),
                token_hash: tokens::hash_secret(&token),
                user_id,
                created_at: now,
                expires_at: now + self.config.remember_days as i64 * 86_400,
            })?;
            Some((series, token))
        } else {
            None
        };
        let token = self.new_session(user_id, remember.as_ref().map(|(s, _)| s.as_str()))?;
        Ok(SessionLogin { token, remember: remember.map(|(s, t)| format!("{s}:{t}")) })
    }

    fn new_session(&self, user_id: i64, series: Option<&str>) -> anyhow::Result<String> {
        let now = self.now();
        let token = tokens::random_token(32);
        self.store.insert_session(&SessionRecord {
            token_hash: tokens::hash_secret(&token),
            user_id,
            created_at: now,
            last_seen: now,
            series: series.map(str::to_string),
        })?;
        Ok(token)
    }

    /// The user of a live session, sliding it forward; returns the token's hash too.
    /// An idle or too old session is deleted.
    pub fn check_session(&self, token: &str) -> anyhow::Result<Option<(UserRecord, String)>> {
        let hash = tokens::hash_secret(token);
        let Some(s) = self.store.session(&hash)? else { return Ok(None) };
        let now = self.now();
        if now - s.last_seen >= self.idle_secs() || now - s.created_at >= self.absolute_secs() {
            self.store.delete_session(&hash)?;
            return Ok(None);
        }
        if now - s.last_seen >= TOUCH_EVERY_SECS {
            self.store.touch_session(&hash, now)?;
        }
        Ok(self.store.user(s.user_id)?.map(|u| (u, hash)))
    }

    /// Uses a `remember` cookie value (`series:token`): see the module's doc.
    pub fn use_remember(&self, cookie: &str) -> anyhow::Result<RememberOutcome> {
        let Some((series, token)) = cookie.split_once(':') else { return Ok(RememberOutcome::Unknown) };
        let Some(rec) = self.store.remember(series)? else { return Ok(RememberOutcome::Unknown) };
        let now = self.now();
        if rec.expires_at <= now {
            self.store.delete_remember_series(series)?;
            return Ok(RememberOutcome::Unknown);
        }
        let presented = tokens::hash_secret(token);
        if !tokens::constant_time_eq(&presented, &rec.token_hash) {
            tracing::warn!(user_id = rec.user_id, "a rotated remember-me token was reused; revoking the series");
            self.store.delete_remember_series(series)?;
            return Ok(RememberOutcome::Theft);
        }
        let new_token = tokens::random_token(32);
        if !self.store.rotate_remember(series, &presented, &tokens::hash_secret(&new_token))? {
            // Another request rotated it between our read and write: the same theft case.
            self.store.delete_remember_series(series)?;
            return Ok(RememberOutcome::Theft);
        }
        let Some(user) = self.store.user(rec.user_id)? else { return Ok(RememberOutcome::Unknown) };
        let token = self.new_session(user.id, Some(series))?;
        let token_hash = tokens::hash_secret(&token);
        Ok(RememberOutcome::Renewed {
            user,
            login: SessionLogin { token, remember: Some(format!("{series}:{new_token}")) },
            token_hash,
        })
    }

    /// Ends a session (by its token hash) and the remember-me series it came from
    /// or that the `remember` cookie names.
    pub fn logout(&self, session_hash: Option<&str>, remember_cookie: Option<&str>) -> anyhow::Result<()> {
        if let Some(hash) = session_hash {
            if let Some(series) = self.store.session(hash)?.and_then(|s| s.series) {
                self.store.delete_remember_series(&series)?;
            }
            self.store.delete_session(hash)?;
        }
        if let Some((series, token)) = remember_cookie.and_then(|c| c.split_once(':')) {
            // Only the holder of the current token may end a series this way.
            if let Some(rec) = self.store.remember(series)? {
                if tokens::constant_time_eq(&rec.token_hash, &tokens::hash_secret(token)) {
                    self.store.delete_remember_series(series)?;
                }
            }
        }
        Ok(())
    }
}
