//! Request extractors shared by the handlers.
//!
//! `Caller` is who is making a request. The guard middleware (`api::guard`)
//! authenticates every request and leaves a `Caller` in its extensions; a handler
//! that takes a `Caller` cannot be reached without credentials, and `AdminCaller`
//! only by an administrator.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::extract::connect_info::MockConnectInfo;
use axum::extract::{ConnectInfo, FromRequestParts, OptionalFromRequestParts};
use axum::http::Extensions;
use axum::http::request::Parts;

use super::error::ApiError;
use crate::api::AppState;

/// How a caller proved who they are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuthVia {
    /// The `session` cookie (or a remember-me cookie that renewed it); carries the
    /// session token's hash.
    Session { token_hash: String },
    /// `Authorization: Bearer` or `X-API-Key`; carries the key's prefix.
    ApiKey { prefix: String },
    /// `?token=` on a stream route; valid for this torrent only.
    StreamToken { torrent: String },
    /// `auth.bypass_localhost` / `auth.bypass_subnets`.
    Bypass,
    /// HTTP Basic with a user's name and password (the Transmission RPC only).
    Basic,
}

/// The authenticated caller of a request.
#[derive(Clone, Debug)]
pub struct Caller {
    /// The user's id; `None` for the local administrator (an address that bypasses
    /// auth) or a stream token minted by it.
    pub user_id: Option<i64>,
    pub is_admin: bool,
    /// The user's name, when there is a user.
    pub username: Option<String>,
    pub via: AuthVia,
}

impl Caller {
    /// The administrator of a request from a bypassed address.
    pub fn local_admin() -> Self {
        Caller { user_id: None, is_admin: true, username: None, via: AuthVia::Bypass }
    }

    /// Whether the caller may change or remove a torrent added by `added_by`:
    /// admins may touch any, users their own.
    pub fn can_manage(&self, added_by: Option<i64>) -> bool {
        self.is_admin || (self.user_id.is_some() && self.user_id == added_by && !self.is_stream_token())
    }

    pub fn is_stream_token(&self) -> bool {
        matches!(self.via, AuthVia::StreamToken { .. })
    }

    /// A stream token for `torrent` (lower-case hex info-hash) minted for this caller;
    /// `POST /api/stream` returns it, and playlists carry it.
    pub fn stream_token(&self, state: &AppState, torrent: &str) -> String {
        state.auth.mint_stream_token(torrent, self.user_id)
    }

    /// Fails with 403 unless the caller may manage a torrent added by `added_by`.
    pub fn require_manage(&self, added_by: Option<i64>, what: &str) -> Result<(), ApiError> {
        if self.can_manage(added_by) {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!("only its owner or an administrator may change {what}")))
        }
    }
}

/// Mints a stream token for a torrent on behalf of a caller (see `Caller::stream_token`).
pub fn mint_stream_token(state: &AppState, caller: &Caller, torrent: &str) -> String {
    caller.stream_token(state, torrent)
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &AppState) -> Result<Self, ApiError> {
        parts.extensions.get::<Caller>().cloned().ok_or_else(|| ApiError::unauthorized("log in, or send an API key"))
    }
}

impl OptionalFromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &AppState) -> Result<Option<Self>, ApiError> {
        Ok(parts.extensions.get::<Caller>().cloned())
    }
}

/// A caller who is an administrator: 401 without credentials, 403 for other users.
#[derive(Clone, Debug)]
pub struct AdminCaller(pub Caller);

impl FromRequestParts<AppState> for AdminCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let caller = <Caller as FromRequestParts<AppState>>::from_request_parts(parts, state).await?;
        if caller.is_admin && !caller.is_stream_token() {
            Ok(AdminCaller(caller))
        } else {
            Err(ApiError::forbidden("only an administrator may do this"))
        }
    }
}

/// The client's address, from `ConnectInfo` (`MockConnectInfo` in tests);
/// `0.0.0.0` when the server was built without it.
pub fn client_ip(ext: &Extensions) -> IpAddr {
    ext.get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
        .or_else(|| ext.get::<MockConnectInfo<SocketAddr>>().map(|c| c.0.ip()))
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
}

/// The client's address as an extractor.
#[derive(Clone, Copy, Debug)]
pub struct ClientIp(pub IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientIp(client_ip(&parts.extensions)))
    }
}

/// `Query<T>` whose rejection is the contract's `BAD_REQUEST` body.
pub struct ApiQuery<T>(pub T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(q)| ApiQuery(q))
            .map_err(|e| ApiError::bad_request(e.body_text()))
    }
}

/// The first `name=` parameter of a query, percent-decoded.
pub fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    url::form_urlencoded::parse(query?.as_bytes()).find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}
