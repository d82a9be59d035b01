//! The download-client surfaces of `crate::compat` on the route table: the guard has
//! found the caller; these hand the request to the Transmission RPC or the
//! qBittorrent Web API.

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::HeaderMap;
use axum::response::Response;

use super::extract::{AuthVia, Caller, ClientIp};
use crate::api::AppState;
use crate::compat::{Ctx, Who};

fn ctx(state: &AppState) -> Ctx {
    Ctx { engine: state.engine.clone(), auth: state.auth.clone(), secure_cookies: state.config.auth.behind_tls_proxy }
}

fn who(c: &Caller) -> Who {
    Who {
        user_id: c.user_id,
        is_admin: c.is_admin && !c.is_stream_token(),
        session_hash: match &c.via {
            AuthVia::Session { token_hash } => Some(token_hash.clone()),
            _ => None,
        },
    }
}

/// `POST /transmission/rpc`.
pub async fn transmission(State(state): State<AppState>, caller: Caller, headers: HeaderMap, body: Bytes) -> Response {
    crate::compat::transmission::rpc(&ctx(&state), &who(&caller), &headers, &body).await
}

/// Every `/api/v2/…` route; the endpoint is the path.
pub async fn qbittorrent(
    State(state): State<AppState>,
    caller: Option<Caller>,
    ClientIp(ip): ClientIp,
    req: Request,
) -> Response {
    let who = caller.as_ref().map(who);
    crate::compat::qbittorrent::handle(&ctx(&state), who.as_ref(), ip, req).await
}
