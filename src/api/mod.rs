//! The HTTP API: the whole route table in `routes`, one module of handlers per
//! resource, one error type, and the guard (Host, rate limits, auth) in front.

mod auth;
mod compat;
mod create;
mod dlna;
mod config;
mod config_keys;
pub mod error;
mod events;
pub mod extract;
mod follow;
mod files;
mod user;
pub mod guard;
pub mod open;
pub mod openapi;
pub mod paging;
pub mod playlist;
pub mod range;
mod search;
mod renderers;
mod services;
pub mod state;
pub mod stream;
mod system;
mod torrents;
mod tracker;
mod tracks;
pub mod watch;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{MethodRouter, any, delete, get, patch, post};

use error::ApiError;
pub use state::AppState;

/// Every route of the daemon, in one table. `app` builds the router from it and the
/// route-walk test sends every method to every path here without credentials, so a
/// route added here cannot escape auth. Add new routes to this list only.
pub fn routes() -> Vec<(&'static str, MethodRouter<AppState>)> {
    vec![
        ("/api/health", get(system::health)),
        ("/api/stats", get(system::stats)),
        ("/api/system/status", get(system::status)),
        ("/metrics", get(system::metrics)),
        ("/api/activity", get(system::activity)),
        ("/api/events", get(events::events)),
        ("/api/torrents", get(torrents::list).post(torrents::add)),
        ("/api/torrents/", get(torrents::list).post(torrents::add)),
        // The upload handler bounds its own body (413 in the contract's format).
        ("/api/torrents/upload", post(torrents::upload).layer(DefaultBodyLimit::disable())),
        ("/api/torrents/{id}", get(torrents::get).delete(torrents::remove)),
        ("/api/torrents/{id}/start", post(torrents::start)),
        ("/api/torrents/{id}/stop", post(torrents::stop)),
        ("/api/torrents/{id}/peers", get(torrents::peers)),
        ("/api/torrents/{id}/files", post(torrents::select_files)),
        ("/api/torrents/{id}/torrent", get(torrents::torrent_file)),
        ("/api/torrents/{id}/files/{index}", get(torrents::file).head(torrents::file)),
        // Disk: per-torrent limits, run-time settings, seeding rules now.
        ("/api/torrents/{id}/settings", get(config::torrent_settings).patch(config::patch_torrent_settings)),
        ("/api/config", get(config::get).patch(config::patch)),
        ("/api/config/keys", get(config_keys::keys)),
        ("/api/maintenance/run", post(config::maintenance)),
        // Streaming (HLS).
        ("/api/stream", post(stream::create)),
        ("/api/stream/{id}", get(stream::master).delete(stream::remove)),
        ("/api/stream/{id}/status", get(stream::status)),
        ("/api/stream/{id}/tracks", get(tracks::list)),
        ("/api/stream/{id}/subtitles/{name}", get(tracks::subtitle)),
        ("/api/stream/{id}/audio/{name}", get(tracks::audio)),
        ("/api/stream/{id}/{segment}", get(stream::segment)),
        ("/api/playlist.m3u", get(playlist::m3u)),
        // Watching: where each user stopped; playing on a TV.
        ("/api/watch", get(watch::list)),
        ("/api/watch/{id}/{file_index}", axum::routing::put(watch::put).delete(watch::remove)),
        ("/api/renderers", get(renderers::list)),
        ("/api/renderers/{id}/play", post(renderers::play)),
        ("/api/renderers/{id}/pause", post(renderers::pause)),
        ("/api/renderers/{id}/resume", post(renderers::resume)),
        ("/api/renderers/{id}/stop", post(renderers::stop)),
        ("/api/renderers/{id}/seek", post(renderers::seek)),
        ("/api/renderers/{id}/volume", post(renderers::volume)),
        ("/api/renderers/{id}/status", get(renderers::status)),
        // Accounts.
        ("/auth/setup", get(auth::setup_status).post(auth::setup)),
        ("/auth/register", post(auth::register)),
        ("/auth/login", post(auth::login)),
        ("/auth/logout", post(auth::logout)),
        ("/auth/me", get(auth::me)),
        ("/auth/password", patch(auth::change_password)),
        ("/auth/api-keys", get(auth::list_api_keys).post(auth::create_api_key)),
        ("/auth/api-keys/{prefix}", delete(auth::revoke_api_key)),
        ("/api/users", get(auth::list_users)),
        ("/api/users/{id}", patch(auth::patch_user).delete(auth::delete_user)),
        // Services and the system.
        ("/api/services", get(services::list)),
        ("/api/services/status", get(services::all_status)),
        ("/api/services/{name}/status", get(services::status)),
        ("/api/services/{name}/start", post(services::start)),
        ("/api/services/{name}/stop", post(services::stop)),
        ("/api/services/{name}/restart", post(services::restart)),
        // Torrent creation, files, search, docs.
        ("/api/torrents/create", post(create::create)),
        ("/api/files", get(files::list)),
        ("/api/files/content", get(files::content).head(files::content).delete(files::delete)),
        ("/api/user/me", get(user::me)),
        ("/api/user/me/passkey", post(user::new_passkey)),
        ("/api/user/{id}/stats", get(user::stats)),
        ("/api/files/upload", post(files::upload).layer(DefaultBodyLimit::disable())),
        ("/api/search", get(search::search)),
        ("/api/openapi.json", get(openapi::openapi)),
        ("/docs", get(openapi::docs)),
        // The DLNA media server: public and read-only (TVs cannot log in); 404 when off.
        ("/dlna/description.xml", get(dlna::description)),
        ("/dlna/ContentDirectory.xml", get(dlna::content_directory_scpd)),
        ("/dlna/ConnectionManager.xml", get(dlna::connection_manager_scpd)),
        ("/dlna/control/{service}", post(dlna::control)),
        ("/dlna/event/{service}", any(dlna::event)),
        // The tracker: public, in the "tracker announces" rate-limit class.
        ("/api/tracker/torrents", get(tracker::list)),
        ("/announce", get(tracker::announce)),
        ("/announce/{passkey}", get(tracker::announce_passkey)),
        ("/scrape", get(tracker::scrape)),
        // Download-client compatibility (Sonarr, Radarr, …): the Transmission RPC
        // and the qBittorrent Web API, over the same engine (src/compat).
        ("/transmission/rpc", post(compat::transmission)),
        ("/transmission/rpc/", post(compat::transmission)),
        ("/api/v2/auth/login", post(compat::qbittorrent)),
        ("/api/v2/auth/logout", post(compat::qbittorrent)),
        ("/api/v2/app/version", get(compat::qbittorrent).post(compat::qbittorrent)),
        ("/api/v2/app/webapiVersion", get(compat::qbittorrent).post(compat::qbittorrent)),
        ("/api/v2/app/buildInfo", get(compat::qbittorrent).post(compat::qbittorrent)),
        ("/api/v2/app/preferences", get(compat::qbittorrent).post(compat::qbittorrent)),
        ("/api/v2/app/defaultSavePath", get(compat::qbittorrent).post(compat::qbittorrent)),
        ("/api/v2/torrents/info", get(compat::qbittorrent).post(compat::qbittorrent)),
        ("/api/v2/torrents/properties", get(compat::qbittorrent).post(compat::qbittorrent)),
        ("/api/v2/torrents/files", get(compat::qbittorrent).post(compat::qbittorrent)),
        ("/api/v2/torrents/categories", get(compat::qbittorrent).post(compat::qbittorrent)),
        ("/api/v2/torrents/tags", get(compat::qbittorrent).post(compat::qbittorrent)),
        ("/api/v2/torrents/add", post(compat::qbittorrent).layer(DefaultBodyLimit::max(16 << 20))),
        ("/api/v2/torrents/delete", post(compat::qbittorrent)),
        ("/api/v2/torrents/pause", post(compat::qbittorrent)),
        ("/api/v2/torrents/resume", post(compat::qbittorrent)),
        ("/api/v2/torrents/stop", post(compat::qbittorrent)),
        ("/api/v2/torrents/start", post(compat::qbittorrent)),
        ("/api/v2/torrents/setCategory", post(compat::qbittorrent)),
        ("/api/v2/torrents/createCategory", post(compat::qbittorrent)),
        ("/api/v2/torrents/editCategory", post(compat::qbittorrent)),
        ("/api/v2/torrents/removeCategories", post(compat::qbittorrent)),
        ("/api/v2/torrents/addTags", post(compat::qbittorrent)),
        ("/api/v2/torrents/removeTags", post(compat::qbittorrent)),
        ("/api/v2/torrents/setShareLimits", post(compat::qbittorrent)),
        ("/api/v2/torrents/setForceStart", post(compat::qbittorrent)),
        ("/api/v2/torrents/topPrio", post(compat::qbittorrent)),
        ("/api/v2/torrents/bottomPrio", post(compat::qbittorrent)),
        ("/api/v2/transfer/info", get(compat::qbittorrent).post(compat::qbittorrent)),
        ("/api/v2/sync/maindata", get(compat::qbittorrent).post(compat::qbittorrent)),
    ]
}

/// Builds the router. Tests call this with `oneshot`; `serve` binds it to a socket.
pub fn app(state: AppState) -> Router {
    let body_limit = state.config.server.max_upload_bytes as usize;
    let mut router = Router::new();
    for (path, handlers) in routes() {
        router = router.route(path, handlers);
    }
    let router = router
        // The web UI answers every other GET; unknown API paths still get the JSON 404.
        .fallback(fallback)
        .method_not_allowed_fallback(|| async {
            ApiError::new(error::Code::MethodNotAllowed, "method not allowed on this route")
        })
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(axum::middleware::from_fn_with_state(state.clone(), guard::guard));
    let router = match cors(&state) {
        Some(layer) => router.layer(layer),
        None => router,
    };
    router.with_state(state)
}

/// CORS for the configured origins only; off when `auth.cors_origins` is empty.
fn cors(state: &AppState) -> Option<tower_http::cors::CorsLayer> {
    use axum::http::{HeaderName, HeaderValue, Method, header};
    let origins: Vec<HeaderValue> =
        state.config.auth.cors_origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()).collect();
    if origins.is_empty() {
        return None;
    }
    Some(
        tower_http::cors::CorsLayer::new()
            .allow_origin(origins)
            .allow_credentials(true)
            .allow_methods([Method::GET, Method::HEAD, Method::POST, Method::PATCH, Method::DELETE])
            .allow_headers([
                header::CONTENT_TYPE,
                header::AUTHORIZATION,
                header::RANGE,
                HeaderName::from_static("x-api-key"),
                HeaderName::from_static("x-requested-with"),
            ]),
    )
}

/// Anything no route matched: the web UI's pages and files, else the API's 404.
async fn fallback(
    method: axum::http::Method,
    uri: axum::http::Uri,
    headers: axum::http::HeaderMap,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    crate::web::page(&method, &uri, &headers)
        .unwrap_or_else(|| error::ApiError::not_found("no such route").into_response())
}
