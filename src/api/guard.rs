//! The guard in front of every route, in this order:
//!
//! 1. `Host` must name this box (DNS rebinding), except on the tracker's routes.
//! 2. Rate limit per client address and class. The DLNA routes (`/dlna/…`, public
//!    and read-only, for TVs that cannot log in) stop here: no credentials are read.
//! 3. Authenticate: bypassed address, `X-API-Key`, `Authorization: Bearer`, the
//!    `session` cookie, a `remember` cookie, and on stream routes `?token=`. The
//!    result is a `Caller` in the request's extensions.
//! 4. Default deny: every path under `/api`, `/auth` and `/metrics` needs a caller,
//!    except the public ones in `is_public`. Other paths (the web UI) are public.
//!    On `/transmission/rpc` also HTTP Basic (a user's password, or an API key as
//!    the password); on `/api/v2/…` (the qBittorrent Web API) also the `SID` cookie,
//!    a normal session that `/api/v2/auth/login` sets.
//! 5. A state change authenticated by an ambient credential (cookie, bypassed
//!    address) must come with no foreign `Origin` / `Sec-Fetch-Site`, and a
//!    cookie-authenticated POST (the only state-changing method an HTML form has)
//!    must carry a JSON body or `X-Requested-With`: a cross-site form post cannot pass. Other methods need a
//!    CORS preflight cross-site, which fails unless `auth.cors_origins` allows it.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::{ApiError, Code};
use super::extract::{AuthVia, Caller, client_ip, query_param};
use crate::api::AppState;
use crate::auth::{Class, RememberOutcome, StreamTokenError};

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "session";
/// Name of the remember-me cookie.
pub const REMEMBER_COOKIE: &str = "remember";
/// The qBittorrent Web API's session cookie: a normal session, on `/api/v2/` only.
pub const SID_COOKIE: &str = "SID";
/// Whether `path` is the Transmission RPC's (with or without the slash
/// `transmission-remote` adds): HTTP Basic is taken there only.
pub fn is_transmission_rpc(path: &str) -> bool {
    path == "/transmission/rpc" || path == "/transmission/rpc/"
}

/// Routes that answer without credentials. Everything else under `/api`, `/auth`
/// and `/metrics` needs a caller.
pub fn is_public(method: &Method, path: &str) -> bool {
    let read = method == Method::GET || method == Method::HEAD;
    match path {
        "/api/health" => read,
        // Refuses itself once a user exists; GET says whether setup is needed.
        "/auth/setup" => read || method == Method::POST,
        "/auth/login" | "/api/v2/auth/login" => method == Method::POST,
        // Anyone when `auth.open_registration`; otherwise the handler wants an admin.
        "/auth/register" => method == Method::POST,
        p if is_tracker(p) => true,
        // The API's own description holds no secret; `/docs` renders it.
        "/api/openapi.json" | "/docs" => read,
        _ => !needs_auth_prefix(path),
    }
}

/// The tracker's paths: `/announce`, `/announce/{passkey}`, `/scrape`.
fn is_tracker(path: &str) -> bool {
    path == "/announce"
        || path == "/scrape"
        || path.strip_prefix("/announce/").is_some_and(|k| !k.is_empty() && !k.contains('/'))
}

fn needs_auth_prefix(path: &str) -> bool {
    ["/api", "/auth", "/metrics", "/transmission"]
        .iter()
        .any(|p| path == *p || path.strip_prefix(p).is_some_and(|rest| rest.starts_with('/')))
}

/// The DLNA media server's routes: public, read-only, no credentials.
pub fn is_dlna(path: &str) -> bool {
    path.starts_with("/dlna/")
}

/// Whether `ip` is on a subnet of an interface DLNA serves.
pub fn dlna_subnet(state: &AppState, ip: std::net::IpAddr) -> bool {
    let ip = match ip.to_canonical() {
        std::net::IpAddr::V4(v4) => v4,
        std::net::IpAddr::V6(_) => return false,
    };
    crate::lan::interfaces::addresses(&state.config.dlna.interfaces).iter().any(|a| a.contains(ip))
}

/// The file a stream route reads, when it names one: the index of
/// `/api/torrents/{id}/files/{index}`, or the `file` parameter of `/api/stream/{id}…`.
fn stream_route_file(path: &str, query: Option<&str>) -> Option<usize> {
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match segs.as_slice() {
        ["api", "torrents", _, "files", index] => Some(index.parse().unwrap_or(usize::MAX)),
        _ => query_param(query, "file").map(|f| f.parse().unwrap_or(usize::MAX)),
    }
}

/// The torrent a stream route reads, when the request may use `?token=`:
/// `GET|HEAD /api/stream/{id}[/…]` and `/api/torrents/{id}/files/{index}`.
pub fn stream_route_torrent(method: &Method, path: &str) -> Option<String> {
    if method != Method::GET && method != Method::HEAD {
        return None;
    }
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match segs.as_slice() {
        ["api", "stream", id, ..] if !id.is_empty() => Some(id.to_ascii_lowercase()),
        ["api", "torrents", id, "files", index] if !id.is_empty() && !index.is_empty() => Some(id.to_ascii_lowercase()),
        _ => None,
    }
}

fn class_of(method: &Method, path: &str) -> Class {
    if is_tracker(path) {
        Class::Announce
    } else if is_dlna(path) {
        // SOAP control is a POST, but every action is a read.
        Class::Read
    } else if path.strip_prefix("/api/v2/").is_some_and(crate::compat::qbittorrent::is_read) {
        Class::Read
    } else if is_transmission_rpc(path) {
        // Every RPC call is a POST, the many reads (`torrent-get` polls) too.
        Class::Read
    } else if stream_route_torrent(method, path).is_some() {
        Class::Stream
    } else if method == Method::GET || method == Method::HEAD || method == Method::OPTIONS {
        Class::Read
    } else {
        Class::Write
    }
}

/// The value of a cookie in the request's `Cookie` headers.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim_matches('"'))
        .filter(|v| !v.is_empty())
}

/// A `Set-Cookie` value; `max_age` `Some(0)` clears the cookie.
pub fn set_cookie(state: &AppState, name: &str, value: &str, max_age: Option<u64>) -> HeaderValue {
    let mut c = format!("{name}={value}; HttpOnly; SameSite=Lax; Path=/");
    if let Some(age) = max_age {
        c.push_str(&format!("; Max-Age={age}"));
    }
    if state.config.auth.behind_tls_proxy {
        c.push_str("; Secure");
    }
    HeaderValue::from_str(&c).expect("cookie values are base64url")
}

/// What authentication found.
enum Found {
    Caller(Caller),
    /// Credentials were presented and refused (a bad key, an expired token).
    Refused(ApiError),
    None,
}

pub async fn guard(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    let method = req.method().clone();
    let tracker = is_tracker(&path);

    // 1. Host: every `Host` header, or the URI's authority (HTTP/2).
    if !tracker {
        let mut hosts: Vec<String> =
            req.headers().get_all(header::HOST).iter().map(|h| h.to_str().unwrap_or("\u{fffd}").to_string()).collect();
        if hosts.is_empty() {
            hosts.extend(req.uri().authority().map(|a| a.to_string()));
        }
        for host in hosts {
            if !state.auth.hosts.allows(&host) {
                let shown: String = host.chars().take(100).collect();
                return ApiError::forbidden(format!(
                    "host {shown:?} is not one of this box's names; add it to auth.allowed_hosts"
                ))
                .into_response();
            }
        }
    }

    // 2. Rate limit.
    let ip = client_ip(req.extensions());
    if let Err(secs) = state.auth.limits.check(class_of(&method, &path), ip) {
        let mut e = ApiError::new(Code::RateLimited, format!("too many requests; retry in {secs} s"));
        e.retry_after = Some(secs);
        return e.into_response();
    }

    if is_dlna(&path) {
        // The TV-facing server answers only the subnets DLNA serves (when off, its
        // routes answer 404 by themselves).
        if state.config.dlna.enabled && !dlna_subnet(&state, ip) {
            return ApiError::forbidden("the DLNA server answers only on the subnets it serves (dlna.interfaces)")
                .into_response();
        }
        return next.run(req).await;
    }

    // 3. Authenticate. Blocking database work runs off the async threads.
    let headers = req.headers().clone();
    let query = req.uri().query().map(str::to_string);
    let st = state.clone();
    let (p, m) = (path.clone(), method.clone());
    let found = tokio::task::spawn_blocking(move || authenticate(&st, &headers, query.as_deref(), &m, &p, ip))
        .await
        .unwrap_or_else(|e| Ok((Found::Refused(ApiError::internal(e)), None)));
    let (found, renewed) = match found {
        Ok(f) => f,
        Err(e) => return ApiError::internal(format!("{e:#}")).into_response(),
    };

    // 4. Default deny.
    let caller = match found {
        Found::Caller(c) => Some(c),
        Found::Refused(e) if !is_public(&method, &path) => return e.into_response(),
        Found::Refused(_) | Found::None => None,
    };
    if caller.is_none() && !is_public(&method, &path) {
        let mut resp = ApiError::unauthorized("log in, or send an API key").into_response();
        if is_transmission_rpc(&path) {
            // Transmission clients (curl's "any auth") send credentials once asked.
            resp.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"swarmcast\""));
        }
        return resp;
    }

    // 5. Cross-site requests.
    if let Some(c) = &caller {
        let cookie = matches!(c.via, AuthVia::Session { .. });
        let ambient = cookie || c.via == AuthVia::Bypass;
        // The qBittorrent API's clients post forms with their `SID` (SameSite)
        // cookie: only the Origin checks apply to it.
        let sid = cookie && path.starts_with("/api/v2/") && self::cookie(req.headers(), SESSION_COOKIE).is_none();
        if ambient && !is_safe(&method) {
            // A bypassed address is mostly scripts and the CLI (no Origin, any body);
            // a browser there still sends its Origin and is checked by it.
            if let Err(e) = check_same_site(req.headers(), cookie && !sid && method == Method::POST) {
                return e.into_response();
            }
        }
        req.extensions_mut().insert(c.clone());
    }

    let mut resp = next.run(req).await;
    if let Some((session, remember)) = renewed {
        let days = state.config.auth.remember_days * 86_400;
        resp.headers_mut().append(header::SET_COOKIE, set_cookie(&state, SESSION_COOKIE, &session, None));
        if let Some(remember) = remember {
            resp.headers_mut().append(header::SET_COOKIE, set_cookie(&state, REMEMBER_COOKIE, &remember, Some(days)));
        }
    }
    resp
}

fn is_safe(m: &Method) -> bool {
    m == Method::GET || m == Method::HEAD || m == Method::OPTIONS
}

/// A browser sends a cross-site form post with a form content type, no custom
/// header, and a foreign `Origin` / `Sec-Fetch-Site`.
fn check_same_site(headers: &HeaderMap, post: bool) -> Result<(), ApiError> {
    let refuse = || ApiError::forbidden("cross-site request refused");
    if headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) == Some("cross-site") {
        return Err(refuse());
    }
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("");
        let origin_host = origin.split_once("://").map(|(_, h)| h).unwrap_or(origin);
        if origin == "null" || !origin_host.eq_ignore_ascii_case(host) {
            return Err(refuse());
        }
    }
    if !post {
        return Ok(());
    }
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.trim_start().to_ascii_lowercase().starts_with("application/json"));
    if json || headers.contains_key("x-requested-with") {
        Ok(())
    } else {
        Err(ApiError::forbidden("a state change with a session cookie needs a JSON body or an X-Requested-With header"))
    }
}

/// A session opened from a remember-me cookie: its token, and the rotated cookie.
type Renewed = Option<(String, Option<String>)>;

/// Finds the caller of a request; the second value is a session renewed from a
/// remember-me cookie (its session token and rotated remember cookie).
fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
    query: Option<&str>,
    method: &Method,
    path: &str,
    ip: std::net::IpAddr,
) -> anyhow::Result<(Found, Renewed)> {
    let auth = &state.auth;
    let user_caller = |u: crate::store::UserRecord, via: AuthVia| Caller {
        user_id: Some(u.id),
        is_admin: u.is_admin,
        username: Some(u.username),
        via,
    };

    // API keys: explicit, so a wrong one is an error rather than "no credentials".
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")));
    let key = headers.get("x-api-key").and_then(|v| v.to_str().ok()).or(bearer);
    if let Some(key) = key {
        return Ok(match auth.check_api_key(key)? {
            Some((u, prefix)) => (Found::Caller(user_caller(u, AuthVia::ApiKey { prefix })), None),
            None => (Found::Refused(ApiError::unauthorized("the API key is unknown, revoked or expired")), None),
        });
    }

    if is_transmission_rpc(path)
        && let Some((name, password)) =
            headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(crate::auth::basic::parse)
    {
        use crate::auth::Basic;
        return Ok(match auth.check_basic(&name, &password, ip)? {
            Basic::Password(u) => (Found::Caller(user_caller(u, AuthVia::Basic)), None),
            Basic::ApiKey(u, prefix) => (Found::Caller(user_caller(u, AuthVia::ApiKey { prefix })), None),
            Basic::Refused => (Found::Refused(ApiError::unauthorized("wrong username or password")), None),
            Basic::Limited(secs) => {
                let mut e = ApiError::new(Code::RateLimited, format!("too many failed logins; retry in {secs} s"));
                e.retry_after = Some(secs);
                (Found::Refused(e), None)
            }
        });
    }
    let session = cookie(headers, SESSION_COOKIE)
        .or_else(|| if path.starts_with("/api/v2/") { cookie(headers, SID_COOKIE) } else { None });
    if let Some(token) = session
        && let Some((u, token_hash)) = auth.check_session(token)?
    {
        return Ok((Found::Caller(user_caller(u, AuthVia::Session { token_hash })), None));
    }
    if let Some(value) = cookie(headers, REMEMBER_COOKIE)
        && let RememberOutcome::Renewed { user, login, token_hash } = auth.use_remember(value)?
    {
        let renewed = Some((login.token, login.remember));
        return Ok((Found::Caller(user_caller(user, AuthVia::Session { token_hash })), renewed));
    }

    if auth.bypasses(ip) {
        return Ok((Found::Caller(Caller::local_admin()), None));
    }

    if let Some(torrent) = stream_route_torrent(method, path)
        && let Some(token) = query_param(query, "token")
    {
        return Ok(match auth.check_stream_token_for(&token, &torrent, stream_route_file(path, query)) {
            Ok(grant) if grant.dlna && !(state.config.dlna.enabled && dlna_subnet(state, ip)) => (
                Found::Refused(ApiError::unauthorized(
                    "the stream token is the DLNA server's, which is off or does not serve this address",
                )),
                None,
            ),
            Ok(grant) => {
                let user = match grant.user_id {
                    Some(id) => auth.store().user(id)?,
                    None => None,
                };
                if grant.user_id.is_some() && user.is_none() {
                    (Found::Refused(ApiError::unauthorized("the stream token's user is gone")), None)
                } else {
                    let caller = Caller {
                        user_id: grant.user_id,
                        is_admin: false,
                        username: user.map(|u| u.username),
                        via: AuthVia::StreamToken { torrent: grant.torrent },
                    };
                    (Found::Caller(caller), None)
                }
            }
            Err(e @ (StreamTokenError::WrongTorrent | StreamTokenError::WrongFile)) => {
                (Found::Refused(ApiError::forbidden(e.to_string())), None)
            }
            Err(e) => (Found::Refused(ApiError::unauthorized(e.to_string())), None),
        });
    }
    Ok((Found::None, None))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_routes() {
        let g = Method::GET;
        assert_eq!(stream_route_torrent(&g, "/api/stream/ABC").as_deref(), Some("abc"));
        assert_eq!(stream_route_torrent(&g, "/api/stream/abc/seg-1.ts").as_deref(), Some("abc"));
        assert_eq!(stream_route_torrent(&g, "/api/torrents/abc/files/0").as_deref(), Some("abc"));
        assert_eq!(stream_route_torrent(&g, "/api/torrents/abc/files"), None);
        assert_eq!(stream_route_torrent(&g, "/api/torrents/abc"), None);
        assert_eq!(stream_route_torrent(&g, "/api/stream"), None);
        assert_eq!(stream_route_torrent(&Method::DELETE, "/api/stream/abc"), None);
        assert!(is_public(&g, "/"));
        assert!(is_public(&g, "/assets/app.js"));
        assert!(is_public(&g, "/apix"));
        assert!(!is_public(&g, "/api"));
        assert!(!is_public(&g, "/metrics"));
        assert!(!is_public(&Method::DELETE, "/api/health"));
    }

    #[test]
    fn cookies() {
        let mut h = HeaderMap::new();
        h.append(header::COOKIE, "a=1; session=abc-_x".parse().unwrap());
        h.append(header::COOKIE, "remember=s:t".parse().unwrap());
        assert_eq!(cookie(&h, "session"), Some("abc-_x"));
        assert_eq!(cookie(&h, "remember"), Some("s:t"));
        assert_eq!(cookie(&h, "x"), None);
    }
}
