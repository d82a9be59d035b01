//! `/announce` and `/scrape` (the BitTorrent HTTP tracker, answered in bencode, with
//! failures as a `failure reason` and HTTP 200 as clients expect; a WebSocket upgrade
//! on `/announce` is WebTorrent's tracker, served by `tracker::websocket`), and
//! `/api/tracker/torrents` (the swarms, as JSON).

use std::net::{IpAddr, SocketAddr};

use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{ConnectInfo, FromRequestParts, RawQuery, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::error::{ApiError, ApiResult};
use super::extract::{ApiQuery, Caller};
use crate::api::AppState;
use crate::tracker::{Announce, SwarmView, bencode, request, websocket};

/// The client's address, from the connection (absent in tests that give none).
pub struct PeerAddr(pub Option<SocketAddr>);

impl<S: Send + Sync> FromRequestParts<S> for PeerAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(PeerAddr(parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0)))
    }
}

fn bencoded(body: Vec<u8>) -> Response {
    let mut r = body.into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

fn failure(reason: &str) -> Response {
    bencoded(bencode::failure(reason))
}

/// `GET /announce`: an HTTP announce, or with `Upgrade: websocket` WebTorrent's.
pub async fn announce(
    State(state): State<AppState>,
    PeerAddr(addr): PeerAddr,
    RawQuery(q): RawQuery,
    req: Request,
) -> Response {
    if wants_websocket(&req) {
        return upgrade(&state, addr, req, None).await;
    }
    announce_for(&state, addr, q, None)
}

/// `GET /announce/{passkey}`: the same, credited to the passkey's user.
pub async fn announce_passkey(
    State(state): State<AppState>,
    PeerAddr(addr): PeerAddr,
    axum::extract::Path(passkey): axum::extract::Path<String>,
    RawQuery(q): RawQuery,
    req: Request,
) -> Response {
    let ws = wants_websocket(&req);
    let user = match state.store.user_by_passkey(&passkey) {
        Ok(Some(u)) => u,
        Ok(None) if ws => return ApiError::forbidden("unknown passkey").into_response(),
        Ok(None) => return failure("unknown passkey: download the .torrent again from this box to get yours"),
        Err(e) => {
            tracing::warn!("cannot look up a passkey: {e:#}");
            return failure("the tracker cannot check passkeys right now");
        }
    };
    if ws {
        return upgrade(&state, addr, req, Some(user)).await;
    }
    announce_for(&state, addr, q, Some(user))
}

fn wants_websocket(req: &Request) -> bool {
    req.headers()
        .get_all(header::UPGRADE)
        .iter()
        .any(|v| v.to_str().is_ok_and(|v| v.split(',').any(|p| p.trim().eq_ignore_ascii_case("websocket"))))
}

/// Upgrades to the WebTorrent tracker's WebSocket (`tracker::websocket::serve`).
async fn upgrade(state: &AppState, addr: Option<SocketAddr>, req: Request, user: Option<i64>) -> Response {
    let Some(addr) = addr else {
        return ApiError::bad_request("cannot tell the address of this client").into_response();
    };
    let (mut parts, _) = req.into_parts();
    let ws = match WebSocketUpgrade::from_request_parts(&mut parts, state).await {
        Ok(ws) => ws,
        Err(e) => {
            return ApiError::bad_request(format!("not a WebSocket handshake: {}", e.body_text())).into_response();
        }
    };
    let (tracker, auth, shutdown) = (state.tracker.clone(), state.auth.clone(), state.shutdown.clone());
    let rate = move |ip| auth.limits.check(crate::auth::Class::Announce, ip);
    let client = websocket::Client { addr, user };
    ws.max_message_size(websocket::HARD_MAX_MESSAGE_BYTES)
        .max_frame_size(websocket::HARD_MAX_MESSAGE_BYTES)
        .on_upgrade(move |socket| websocket::serve(tracker, socket, client, rate, shutdown))
}

fn announce_for(state: &AppState, addr: Option<SocketAddr>, q: Option<String>, user: Option<i64>) -> Response {
    let tracker = &state.tracker;
    if !tracker.is_running() {
        return failure("the tracker of this box is turned off");
    }
    let Some(addr) = addr else {
        return failure("cannot tell the address of this client");
    };
    let req = match Announce::parse(q.as_deref().unwrap_or("")) {
        Ok(r) => r,
        Err(e) => {
            tracing::debug!(client = %addr, "bad announce: {e}");
            return failure(&e.0);
        }
    };
    let ip = match addr.ip() {
        IpAddr::V6(v6) => v6.to_canonical(),
        v4 => v4,
    };
    match tracker.announce_as(&req, ip, user) {
        Ok(reply) => bencoded(reply.encode(req.compact, req.no_peer_id)),
        Err(e) => failure(&e.0),
    }
}

/// `GET /scrape`, for one info-hash, several, or all when none is given.
pub async fn scrape(State(state): State<AppState>, RawQuery(q): RawQuery) -> Response {
    if !state.tracker.is_running() {
        return failure("the tracker of this box is turned off");
    }
    match request::parse_scrape(q.as_deref().unwrap_or("")) {
        Ok(hashes) => bencoded(state.tracker.scrape(&hashes)),
        Err(e) => failure(&e.0),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    page: Option<usize>,
    limit: Option<usize>,
    sort: Option<String>,
    order: Option<String>,
    search: Option<String>,
}

/// `GET /api/tracker/torrents`: swarms with paging, sorting and search. The total
/// before paging is in `X-Total-Count`.
pub async fn list(
    State(state): State<AppState>,
    _caller: Caller,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Response> {
    let mut all: Vec<SwarmView> = state.tracker.swarms();
    if let Some(needle) = q.search.as_deref().map(str::to_lowercase).filter(|s| !s.is_empty()) {
        all.retain(|s| {
            s.info_hash.contains(&needle) || s.name.as_deref().is_some_and(|n| n.to_lowercase().contains(&needle))
        });
    }
    // Ties are broken by info-hash so that pages are stable.
    all.sort_by(|a, b| a.info_hash.cmp(&b.info_hash));
    match q.sort.as_deref() {
        None | Some("") | Some("created") => all.sort_by(|a, b| a.created_at.cmp(&b.created_at)),
        Some("seeders") => all.sort_by_key(|s| s.seeders),
        Some("leechers") => all.sort_by_key(|s| s.leechers),
        Some("completed") => all.sort_by_key(|s| s.completed),
        Some(s) => {
            return Err(ApiError::bad_request(format!(
                "sort {s:?} is not one of seeders, leechers, completed, created"
            )));
        }
    }
    match q.order.as_deref() {
        None | Some("") | Some("desc") => all.reverse(),
        Some("asc") => {}
        Some(o) => return Err(ApiError::bad_request(format!("order {o:?} is not asc or desc"))),
    }
    super::paging::page(all, q.page, q.limit, 50)
}
