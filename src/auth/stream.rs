//! Stream tokens: `?token=` on stream URLs, for TVs and players that cannot log in.
//!
//! A token is `<info-hash>.<user id>.<expiry unix secs>.<HMAC-SHA256, base64url>`,
//! signed with a secret made on first start and kept in the state dir. It lets its
//! holder read one torrent's stream and files until it expires.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::Auth;

const SECRET_FILE: &str = "stream-token.key";

/// Why a stream token was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StreamTokenError {
    /// Malformed or not signed by this box: 401.
    #[error("the stream token is not valid")]
    Invalid,
    /// 401.
    #[error("the stream token has expired")]
    Expired,
    /// Valid, but for another torrent: 403.
    #[error("the stream token is for another torrent")]
    WrongTorrent,
}

/// Reads the signing secret, creating it (mode 0600) on first start.
pub fn load_or_create_secret(state_dir: &Path) -> anyhow::Result<[u8; 32]> {
    std::fs::create_dir_all(state_dir)
        .with_context(|| format!("creating state dir {}", state_dir.display()))?;
    let path = state_dir.join(SECRET_FILE);
    match std::fs::read(&path) {
        Ok(bytes) => {
            return bytes.try_into().map_err(|_| {
                anyhow::anyhow!("{} is damaged (not 32 bytes); delete it to make a new one", path.display())
            });
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    }
    let mut secret = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut secret);
    let tmp = path.with_extension("tmp");
    {
        use std::os::unix::fs::OpenOptionsExt;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)
            .with_context(|| format!("creating {}", tmp.display()))?;
        f.write_all(&secret)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, &path).with_context(|| format!("creating {}", path.display()))?;
    Ok(secret)
}

/// What a valid stream token grants.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamGrant {
    pub torrent: String,
    /// The user it was minted for; `None` for the local administrator.
    pub user_id: Option<i64>,
    pub expires_at: i64,
}

impl Auth {
    fn sign(&self, payload: &str) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.stream_secret).expect("any key length");
        mac.update(b"swarmcast stream token v1\n");
        mac.update(payload.as_bytes());
        mac
    }

    /// Mints a token for one torrent (lower-case hex info-hash), valid for
    /// `auth.stream_token_hours`.
    pub fn mint_stream_token(&self, torrent: &str, user_id: Option<i64>) -> String {
        let exp = self.now() + self.config.stream_token_hours as i64 * 3600;
        self.mint_stream_token_until(torrent, user_id, exp)
    }

    /// Mints a token that expires at `expires_at` (unix seconds).
    pub fn mint_stream_token_until(&self, torrent: &str, user_id: Option<i64>, expires_at: i64) -> String {
        let payload = format!("{}.{}.{expires_at}", torrent.to_ascii_lowercase(), user_id.unwrap_or(0));
        let sig = self.sign(&payload).finalize().into_bytes();
        format!("{payload}.{}", data_encoding::BASE64URL_NOPAD.encode(&sig))
    }

    /// Checks a token against the torrent of the requested path.
    pub fn check_stream_token(&self, token: &str, torrent: &str) -> Result<StreamGrant, StreamTokenError> {
        let (payload, sig) = token.rsplit_once('.').ok_or(StreamTokenError::Invalid)?;
        let sig = data_encoding::BASE64URL_NOPAD.decode(sig.as_bytes()).map_err(|_| StreamTokenError::Invalid)?;
        self.sign(payload).verify_slice(&sig).map_err(|_| StreamTokenError::Invalid)?;
        let mut parts = payload.split('.');
        let (Some(id), Some(uid), Some(exp), None) = (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(StreamTokenError::Invalid);
        };
        let uid: i64 = uid.parse().map_err(|_| StreamTokenError::Invalid)?;
        let exp: i64 = exp.parse().map_err(|_| StreamTokenError::Invalid)?;
        if exp <= self.now() {
            return Err(StreamTokenError::Expired);
        }
        if !id.eq_ignore_ascii_case(torrent) {
            return Err(StreamTokenError::WrongTorrent);
        }
        Ok(StreamGrant { torrent: id.to_string(), user_id: (uid != 0).then_some(uid), expires_at: exp })
    }
}
