//! HTTP Basic credentials (the Transmission RPC's way): a user's name and password,
//! or any name with an API key as the password. Clients send them on every request,
//! so a password checked once is remembered (by its hash) for a few minutes rather
//! than hashed again each time; only checks that hash count against the login limit.

use std::net::IpAddr;

use super::{API_KEY_TAG, Auth, tokens};
use crate::store::UserRecord;

/// How long a checked password is remembered.
const REMEMBER_SECS: i64 = 300;
/// Entries kept at most.
const MAX_SEEN: usize = 1_000;

/// What an `Authorization: Basic` header proved.
#[derive(Debug)]
pub enum Basic {
    /// A user's name and password; the user.
    Password(UserRecord),
    /// An API key as the password; the user and the key's prefix.
    ApiKey(UserRecord, String),
    /// Wrong, unknown or malformed.
    Refused,
    /// Too many failed attempts for this name from this address: seconds to wait.
    Limited(u64),
}

/// The name and password of an `Authorization: Basic …` value.
pub fn parse(header: &str) -> Option<(String, String)> {
    let b64 = header.strip_prefix("Basic ").or_else(|| header.strip_prefix("basic "))?;
    let raw = data_encoding::BASE64.decode(b64.trim().as_bytes()).ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (name, password) = text.split_once(':')?;
    Some((name.to_string(), password.to_string()))
}

impl Auth {
    /// Checks Basic credentials from `ip`. Blocking (may hash a password).
    pub fn check_basic(&self, name: &str, password: &str, ip: IpAddr) -> anyhow::Result<Basic> {
        if password.starts_with(API_KEY_TAG)
            && let Some((u, prefix)) = self.check_api_key(password)?
        {
            return Ok(Basic::ApiKey(u, prefix));
        }
        let key = tokens::hash_secret(&format!("{}:{password}", name.to_lowercase()));
        let now = self.now();
        let known = self.basic_seen.0.lock().unwrap_or_else(|p| p.into_inner()).get(&key).copied();
        if let Some((id, until)) = known
            && until > now
            && let Some(u) = self.store.user(id)?
        {
            return Ok(Basic::Password(u));
        }
        if let Err(secs) = self.limits.check_login(name, ip) {
            return Ok(Basic::Limited(secs));
        }
        let Some(u) = self.check_password(name, password)? else {
            tracing::info!(user = %name.chars().take(64).collect::<String>(), %ip, "failed Basic login");
            return Ok(Basic::Refused);
        };
        let mut seen = self.basic_seen.0.lock().unwrap_or_else(|p| p.into_inner());
        if seen.len() >= MAX_SEEN {
            seen.retain(|_, (_, until)| *until > now);
            if seen.len() >= MAX_SEEN {
                seen.clear();
            }
        }
        seen.insert(key, (u.id, now + REMEMBER_SECS));
        Ok(Basic::Password(u))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn parses() {
        assert_eq!(super::parse("Basic YWxpY2U6czNjcjp0"), Some(("alice".into(), "s3cr:t".into())));
        assert_eq!(super::parse("Bearer x"), None);
        assert_eq!(super::parse("Basic !!"), None);
    }
}
