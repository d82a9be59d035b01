//! `/api/openapi.json`, the API's OpenAPI document (hand-written, embedded), and
//! `/docs`, a page that renders it from assets embedded in the binary (no CDN).
//!
//! Adding a route to the router means adding it to `openapi.json`: a test walks every
//! `.route(` in the sources and fails on any path or method the document lacks.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

/// The OpenAPI 3.1 document.
pub const OPENAPI_JSON: &str = include_str!("openapi.json");
const DOCS_HTML: &str = include_str!("docs.html");

pub async fn openapi() -> Response {
    let mut r = OPENAPI_JSON.into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

pub async fn docs() -> Response {
    let mut r = DOCS_HTML.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'"),
    );
    r
}
