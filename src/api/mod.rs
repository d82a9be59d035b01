//! The HTTP API: the whole route table in `app`, one module of handlers per resource,
//! and one error type.

mod config;
pub mod error;
pub mod extract;
pub mod range;
mod system;
mod torrents;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};

use crate::app::AppState;
use error::ApiError;

/// Builds the router. Tests call this with `oneshot`; `serve` binds it to a socket.
pub fn app(state: AppState) -> Router {
    let body_limit = state.config.server.max_upload_bytes as usize;
    Router::new()
        .route("/api/health", get(system::health))
        .route("/api/stats", get(system::stats))
        .route("/api/activity", get(system::activity))
        .route("/api/torrents", get(torrents::list).post(torrents::add))
        .route("/api/torrents/", get(torrents::list).post(torrents::add))
        .route(
            "/api/torrents/upload",
            post(torrents::upload).layer(DefaultBodyLimit::disable()),
        )
        .route("/api/torrents/{id}", get(torrents::get).delete(torrents::remove))
        .route("/api/torrents/{id}/start", post(torrents::start))
        .route("/api/torrents/{id}/stop", post(torrents::stop))
        .route("/api/torrents/{id}/peers", get(torrents::peers))
        .route("/api/torrents/{id}/torrent", get(torrents::torrent_file))
        .route("/api/torrents/{id}/files/{index}", get(torrents::file).head(torrents::file))
        .route(
            "/api/torrents/{id}/settings",
            get(config::torrent_settings).patch(config::patch_torrent_settings),
        )
        .route("/api/config", get(config::get).patch(config::patch))
        .route("/api/maintenance/run", post(config::maintenance))
        .fallback(|| async { ApiError::not_found("no such route") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(error::Code::MethodNotAllowed, "method not allowed on this route")
        })
        .layer(DefaultBodyLimit::max(body_limit))
        .with_state(state)
}
