//! Stream tokens: `?token=` on stream URLs, for TVs and players that cannot log in.
//!
//! A token is `<info-hash>.<file index or *>.<user id, 0 or dlna>.<user generation>.
//! <expiry unix secs>.<HMAC-SHA256, base64url>`, signed with a secret made on first
//! start and kept in the state dir. It lets its holder read one torrent's stream and
//! files (or one file of it) until it expires, its user's password changes, or (for
//! DLNA's tokens) DLNA is turned off.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::Auth;

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
    /// Valid, but for another file of the torrent: 403.
    #[error("the stream token is for another file")]
    WrongFile,
    /// Its user is gone or changed password: 401.
    #[error("the stream token was revoked (its user's password changed, or the user is gone)")]
    Revoked,
}

/// What a valid stream token grants.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamGrant {
    pub torrent: String,
    /// The one file it opens; `None`: every file of the torrent.
    pub file: Option<usize>,
    /// The user it was minted for; `None` for the local administrator and DLNA.
    pub user_id: Option<i64>,
    /// Minted by the DLNA server: dies when DLNA is turned off.
    pub dlna: bool,
    pub expires_at: i64,
}

/// Whom a token is minted for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenOwner {
    /// A user (`None`: the local administrator of a bypassed address).
    User(Option<i64>),
    /// The DLNA server, for a TV on the LAN.
    Dlna,
}

/// A user's token generation: changes with the password hash, so a password change
/// or reset ends every stream token of the user.
fn generation(password_hash: &str) -> String {
    use sha2::Digest;
    hex::encode(&Sha256::digest(format!("stream token generation\n{password_hash}").as_bytes())[..6])
}

impl Auth {
    fn sign(&self, payload: &str) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.stream_secret).expect("any key length");
        mac.update(b"swarmcast stream token v2\n");
        mac.update(payload.as_bytes());
        mac
    }

    /// Mints a token for every file of one torrent (lower-case hex info-hash), valid
    /// for `auth.stream_token_hours`.
    pub fn mint_stream_token(&self, torrent: &str, user_id: Option<i64>) -> String {
        let exp = self.now() + self.config.stream_token_hours as i64 * 3600;
        self.mint_stream_token_until(torrent, user_id, exp)
    }

    /// Mints a token for one file of a torrent, valid for `auth.stream_token_hours`.
    pub fn mint_file_token(&self, torrent: &str, file: usize, user_id: Option<i64>) -> String {
        let exp = self.now() + self.config.stream_token_hours as i64 * 3600;
        self.mint_scoped_token(torrent, Some(file), TokenOwner::User(user_id), exp)
    }

    /// Mints a token for every file of a torrent that expires at `expires_at` (unix seconds).
    pub fn mint_stream_token_until(&self, torrent: &str, user_id: Option<i64>, expires_at: i64) -> String {
        self.mint_scoped_token(torrent, None, TokenOwner::User(user_id), expires_at)
    }

    /// Mints a token for one file (`None`: every file) of a torrent. A user's token
    /// carries the user's generation; a user that is gone gets a token that never works.
    pub fn mint_scoped_token(&self, torrent: &str, file: Option<usize>, owner: TokenOwner, expires_at: i64) -> String {
        let (who, generation) = match owner {
            TokenOwner::Dlna => ("dlna".to_string(), "0".to_string()),
            TokenOwner::User(None) => ("0".to_string(), "0".to_string()),
            TokenOwner::User(Some(id)) => {
                let g = self.store.user(id).ok().flatten().map(|u| generation(&u.password_hash));
                (id.to_string(), g.unwrap_or_else(|| "gone".into()))
            }
        };
        let file = file.map_or("*".to_string(), |f| f.to_string());
        let payload = format!("{}.{file}.{who}.{generation}.{expires_at}", torrent.to_ascii_lowercase());
        let sig = self.sign(&payload).finalize().into_bytes();
        format!("{payload}.{}", data_encoding::BASE64URL_NOPAD.encode(&sig))
    }

    /// Checks a token against the torrent of the requested path (any file).
    pub fn check_stream_token(&self, token: &str, torrent: &str) -> Result<StreamGrant, StreamTokenError> {
        self.check_stream_token_for(token, torrent, None)
    }

    /// Checks a token against the torrent and file (when the route names one) of the
    /// requested path, and its user's generation. Blocking (reads the user).
    pub fn check_stream_token_for(
        &self,
        token: &str,
        torrent: &str,
        file: Option<usize>,
    ) -> Result<StreamGrant, StreamTokenError> {
        let (payload, sig) = token.rsplit_once('.').ok_or(StreamTokenError::Invalid)?;
        let sig = data_encoding::BASE64URL_NOPAD.decode(sig.as_bytes()).map_err(|_| StreamTokenError::Invalid)?;
        self.sign(payload).verify_slice(&sig).map_err(|_| StreamTokenError::Invalid)?;
        let parts: Vec<&str> = payload.split('.').collect();
        let [id, scope, who, generation_given, exp] = parts.as_slice() else {
            return Err(StreamTokenError::Invalid);
        };
        let exp: i64 = exp.parse().map_err(|_| StreamTokenError::Invalid)?;
        if exp <= self.now() {
            return Err(StreamTokenError::Expired);
        }
        if !id.eq_ignore_ascii_case(torrent) {
            return Err(StreamTokenError::WrongTorrent);
        }
        let scope: Option<usize> = match *scope {
            "*" => None,
            s => Some(s.parse().map_err(|_| StreamTokenError::Invalid)?),
        };
        if let (Some(scope), Some(file)) = (scope, file)
            && scope != file
        {
            return Err(StreamTokenError::WrongFile);
        }
        let (user_id, dlna) = match *who {
            "dlna" => (None, true),
            uid => {
                let uid: i64 = uid.parse().map_err(|_| StreamTokenError::Invalid)?;
                (uid != 0).then_some(uid).map_or(Ok::<_, StreamTokenError>((None, false)), |uid| {
                    let user = self.store.user(uid).ok().flatten().ok_or(StreamTokenError::Revoked)?;
                    if generation(&user.password_hash) != *generation_given {
                        return Err(StreamTokenError::Revoked);
                    }
                    Ok((Some(uid), false))
                })?
            }
        };
        Ok(StreamGrant { torrent: id.to_string(), file: scope, user_id, dlna, expires_at: exp })
    }
}
