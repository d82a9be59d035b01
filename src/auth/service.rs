//! The auth service: users and their passwords, API keys, and the state every check
//! shares (rate limits, the Host policy, the stream-token secret).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use anyhow::Context;

use super::rate_limit::RateLimiter;
use super::{host, password, tokens};
use crate::config::{AuthConfig, Config};
use crate::store::{ApiKeyRecord, InsertUserError, Store, UserRecord};
use crate::system::clock::Clock;

/// Visible start of every API key.
pub const API_KEY_TAG: &str = "sc_";
/// Length of an API key's prefix: the tag and 8 hex digits.
const API_KEY_PREFIX_LEN: usize = 11;
/// `last_used_at` is written at most this often per key, in seconds.
const TOUCH_EVERY_SECS: i64 = 60;

/// Why an account operation failed, in words for the client.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("{0}")]
    Invalid(String),
    #[error("user {0:?} already exists")]
    Taken(String),
    #[error("a user already exists; setup is done")]
    SetupDone,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// A newly created API key; `key` is shown once and never stored.
#[derive(Clone, Debug)]
pub struct NewApiKey {
    pub key: String,
    pub record: ApiKeyRecord,
}

/// The auth service, shared by every request.
pub struct Auth {
    pub(super) store: Store,
    pub(super) config: AuthConfig,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) stream_secret: [u8; 32],
    pub(super) bypass: Vec<ipnet::IpNet>,
    /// Per-address and per-login request limits.
    pub limits: RateLimiter,
    /// Which `Host` headers name this box.
    pub hosts: host::HostPolicy,
    /// HTTP Basic credentials checked lately (see `basic`).
    pub(super) basic_seen: Seen,
}

impl std::fmt::Debug for Auth {
    // The secret stays out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth").field("config", &self.config).field("clock", &self.clock).finish()
    }
}

impl Auth {
    /// Builds the service, creating the stream-token secret in the state dir on first start.
    pub fn open(config: &Config, store: Store, clock: Arc<dyn Clock>) -> anyhow::Result<Self> {
        let stream_secret = tokens::load_or_create_secret(&config.storage.state_dir)?;
        let bypass = config
            .auth
            .bypass_subnets
            .iter()
            .map(|s| s.parse().with_context(|| format!("auth.bypass_subnets: {s:?}")))
            .collect::<anyhow::Result<Vec<ipnet::IpNet>>>()?;
        Ok(Self {
            store,
            limits: RateLimiter::new(config.auth.rate_limit.clone(), clock.clone()),
            hosts: host::HostPolicy::new(&config.auth.allowed_hosts),
            config: config.auth.clone(),
            clock,
            stream_secret,
            bypass,
            basic_seen: Default::default(),
        })
    }

    /// The service for the command-line tools: no stream-token secret is read or
    /// created (the tools mint no tokens, and must not create files the daemon owns).
    pub fn for_tools(config: &Config, store: Store, clock: Arc<dyn Clock>) -> anyhow::Result<Self> {
        let mut secret = [0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut secret);
        Ok(Self {
            store,
            limits: RateLimiter::new(config.auth.rate_limit.clone(), clock.clone()),
            hosts: host::HostPolicy::new(&config.auth.allowed_hosts),
            config: config.auth.clone(),
            clock,
            stream_secret: secret,
            bypass: Vec::new(),
            basic_seen: Default::default(),
        })
    }

    pub fn config(&self) -> &AuthConfig {
        &self.config
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Unix seconds now, by the injected clock.
    pub fn now(&self) -> i64 {
        self.clock.now()
    }

    /// Whether a request from `ip` needs no credentials (`bypass_localhost`, `bypass_subnets`).
    pub fn bypasses(&self, ip: std::net::IpAddr) -> bool {
        let ip = match ip {
            std::net::IpAddr::V6(v6) => v6.to_ipv4_mapped().map(Into::into).unwrap_or(ip),
            v4 => v4,
        };
        (self.config.bypass_localhost && ip.is_loopback()) || self.bypass.iter().any(|n| n.contains(&ip))
    }

    // --- users ---

    /// Creates a user after checking the name and password. Blocking (hashes).
    pub fn create_user(
        &self,
        username: &str,
        password: &str,
        email: Option<&str>,
        is_admin: bool,
    ) -> Result<UserRecord, AccountError> {
        check_username(username)?;
        password::check_policy(password).map_err(AccountError::Invalid)?;
        let hash = password::hash(password)?;
        self.store.insert_user(username, email, &hash, is_admin, self.now()).map_err(|e| match e {
            InsertUserError::Taken => AccountError::Taken(username.to_string()),
            e => AccountError::Internal(e.into()),
        })
    }

    /// Creates the first user, an admin, only while no user exists. Blocking.
    pub fn setup_first_admin(
        &self,
        username: &str,
        password: &str,
        email: Option<&str>,
    ) -> Result<UserRecord, AccountError> {
        check_username(username)?;
        password::check_policy(password).map_err(AccountError::Invalid)?;
        if self.store.user_count()? > 0 {
            return Err(AccountError::SetupDone);
        }
        let hash = password::hash(password)?;
        self.store.insert_first_user(username, email, &hash, self.now()).map_err(|e| match e {
            InsertUserError::NotFirst | InsertUserError::Taken => AccountError::SetupDone,
            e => AccountError::Internal(e.into()),
        })
    }

    /// Checks a username and password; an unknown user takes as long as a wrong
    /// password. Blocking.
    pub fn check_password(&self, username: &str, password: &str) -> anyhow::Result<Option<UserRecord>> {
        let user = if password.len() > password::MAX_LEN { None } else { self.store.user_by_name(username)? };
        let ok = password::verify(password, user.as_ref().map(|u| u.password_hash.as_str()));
        Ok(user.filter(|_| ok))
    }

    /// Sets a new password and ends every other session and remember-me series of
    /// the user (all of them when `keep_session` is `None`), and (the token generation
    /// follows the password hash) every stream token. Blocking.
    pub fn set_password(
        &self,
        user_id: i64,
        new_password: &str,
        keep_session: Option<&str>,
    ) -> Result<(), AccountError> {
        password::check_policy(new_password).map_err(AccountError::Invalid)?;
        let hash = password::hash(new_password)?;
        if !self.store.set_user_password(user_id, &hash)? {
            return Err(AccountError::Invalid(format!("user {user_id} does not exist")));
        }
        self.store.delete_other_sessions(user_id, keep_session)?;
        self.basic_seen.forget_all();
        Ok(())
    }

    /// An administrator's reset: a new password, and every session, remember-me
    /// series, stream token and API key of the user ends. Blocking.
    pub fn reset_password(&self, user_id: i64, new_password: &str) -> Result<(), AccountError> {
        self.set_password(user_id, new_password, None)?;
        self.store.delete_api_keys_of(user_id)?;
        Ok(())
    }

    // --- API keys ---

    /// Creates an API key for a user; the key is returned once.
    pub fn create_api_key(
        &self,
        user_id: i64,
        name: &str,
        expires_days: Option<u32>,
    ) -> Result<NewApiKey, AccountError> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(AccountError::Invalid("the key's name must have 1 to 100 characters".into()));
        }
        if expires_days == Some(0) || expires_days.is_some_and(|d| d > 3650) {
            return Err(AccountError::Invalid("expires_days must be between 1 and 3650".into()));
        }
        let now = self.now();
        for _ in 0..5 {
            let prefix = format!("{API_KEY_TAG}{}", tokens::random_hex(4));
            if self.store.api_key(&prefix)?.is_some() {
                continue;
            }
            let key = format!("{prefix}_{}", tokens::random_token(32));
            let record = ApiKeyRecord {
                prefix,
                key_hash: tokens::hash_secret(&key),
                user_id,
                name: name.to_string(),
                created_at: now,
                expires_at: expires_days.map(|d| now + i64::from(d) * 86_400),
                last_used_at: None,
            };
            self.store.insert_api_key(&record)?;
            return Ok(NewApiKey { key, record });
        }
        Err(AccountError::Internal(anyhow::anyhow!("could not find a free API key prefix")))
    }

    /// The user behind an API key, if the key is known, matches and has not expired.
    /// Records `last_used_at`.
    pub fn check_api_key(&self, key: &str) -> anyhow::Result<Option<(UserRecord, String)>> {
        let key = key.trim();
        if key.len() <= API_KEY_PREFIX_LEN || !key.is_char_boundary(API_KEY_PREFIX_LEN) {
            return Ok(None);
        }
        let prefix = &key[..API_KEY_PREFIX_LEN];
        let Some(rec) = self.store.api_key(prefix)? else { return Ok(None) };
        if !tokens::constant_time_eq(&rec.key_hash, &tokens::hash_secret(key)) {
            return Ok(None);
        }
        let now = self.now();
        if rec.expires_at.is_some_and(|e| e <= now) {
            return Ok(None);
        }
        if rec.last_used_at.is_none_or(|t| now - t >= TOUCH_EVERY_SECS) {
            self.store.touch_api_key(prefix, now)?;
        }
        Ok(self.store.user(rec.user_id)?.map(|u| (u, rec.prefix)))
    }
}

/// 1 to 64 characters: letters, digits, `.`, `_`, `-`.
pub fn check_username(name: &str) -> Result<(), AccountError> {
    let ok =
        !name.is_empty() && name.len() <= 64 && name.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
    if ok {
        Ok(())
    } else {
        Err(AccountError::Invalid("a username has 1 to 64 characters: letters, digits, '.', '_' or '-'".into()))
    }
}

/// Recently checked credentials: hash of `name:password` → (user id, until).
#[derive(Debug, Default)]
pub(super) struct Seen(pub(super) Mutex<HashMap<String, (i64, i64)>>);

impl Seen {
    pub(super) fn forget_all(&self) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }
}
