//! The LAN web UI: the files Vite built from `web/`, embedded in the binary by
//! `build.rs`, served at `/` and `/assets/...`, with an SPA fallback to `index.html`.

use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

mod assets {
    include!(concat!(env!("OUT_DIR"), "/web_assets.rs"));
}

/// Path prefixes that belong to the API; unknown paths under them get the API's
/// JSON 404, never the UI's `index.html`.
const API_PREFIXES: &[&str] = &["/api/", "/auth/", "/announce", "/scrape", "/metrics"];

/// Everything the UI loads comes from the box itself; hls.js runs a worker from a
/// `blob:` URL, plays through MediaSource (`blob:` media) and gives each subtitle track
/// an empty `data:,WEBVTT` source (without it Safari drops cues when a track is hidden).
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; \
     media-src 'self' blob: data:; worker-src 'self' blob:; connect-src 'self'; object-src 'none'; \
     base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

/// An embedded file, or the UI for any other page path; `None` for API paths and
/// methods other than GET/HEAD, which the API answers with its own 404.
pub fn page(method: &Method, uri: &Uri, headers: &HeaderMap) -> Option<Response> {
    let path = uri.path();
    let api = path == "/api" || path == "/auth" || API_PREFIXES.iter().any(|p| path.starts_with(p));
    if api || (method != Method::GET && method != Method::HEAD) {
        return None;
    }
    Some(asset_or_index(method, path, headers))
}

fn asset_or_index(method: &Method, path: &str, headers: &HeaderMap) -> Response {
    if let Some(asset) = find(path) {
        return serve(asset, headers, *method == Method::HEAD);
    }
    // A missing hashed asset is a real 404: answering index.html would hand a script
    // tag HTML and hide the error.
    if path.starts_with("/assets/") || (path.contains('.') && !path.ends_with(".html")) {
        return (StatusCode::NOT_FOUND, [(header::CONTENT_TYPE, "text/plain")], "not found\n").into_response();
    }
    serve(find("/index.html").expect("the UI has an index.html"), headers, *method == Method::HEAD)
}

struct Asset {
    path: &'static str,
    bytes: &'static [u8],
    etag: &'static str,
}

fn find(path: &str) -> Option<Asset> {
    let path = if path == "/" { "/index.html" } else { path };
    assets::ASSETS.iter().find(|(p, _, _)| *p == path).map(|&(path, bytes, etag)| Asset { path, bytes, etag })
}

fn serve(asset: Asset, req: &HeaderMap, head: bool) -> Response {
    // Hashed names under /assets/ never change; everything else is revalidated.
    let cache = if asset.path.starts_with("/assets/") { "public, max-age=31536000, immutable" } else { "no-cache" };
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type(asset.path)));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    headers.insert(header::ETAG, HeaderValue::from_static(asset.etag));
    headers.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    if asset.path == "/index.html" {
        headers.insert("x-frame-options", HeaderValue::from_static("DENY"));
        headers.insert("referrer-policy", HeaderValue::from_static("same-origin"));
        headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    }
    let fresh = req
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == asset.etag || t.trim() == "*"));
    if fresh {
        return (StatusCode::NOT_MODIFIED, headers).into_response();
    }
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(asset.bytes.len()));
    if head {
        return (StatusCode::OK, headers).into_response();
    }
    (StatusCode::OK, headers, asset.bytes).into_response()
}

/// The content type of an embedded file, by extension.
pub fn content_type(path: &str) -> &'static str {
    let ext = path.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
    match ext {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "webmanifest" => "application/manifest+json",
        "woff2" => "font/woff2",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;

    async fn fallback(method: Method, uri: Uri, headers: HeaderMap) -> Response {
        page(&method, &uri, &headers).unwrap_or_else(|| StatusCode::NOT_FOUND.into_response())
    }

    fn app() -> axum::Router {
        axum::Router::new().fallback(fallback)
    }

    async fn get(path: &str, etag: Option<&str>) -> Response {
        let mut req = Request::get(path);
        if let Some(t) = etag {
            req = req.header(header::IF_NONE_MATCH, t);
        }
        app().oneshot(req.body(Body::empty()).unwrap()).await.unwrap()
    }

    #[tokio::test]
    async fn index_and_spa_fallback_are_html_and_not_cached() {
        for path in ["/", "/torrents/abc", "/admin/settings"] {
            let r = get(path, None).await;
            assert_eq!(r.status(), StatusCode::OK, "{path}");
            assert_eq!(r.headers()[header::CONTENT_TYPE], "text/html; charset=utf-8");
            assert_eq!(r.headers()[header::CACHE_CONTROL], "no-cache");
        }
    }

    #[tokio::test]
    async fn hashed_assets_are_immutable_with_their_type() {
        let js = assets::ASSETS
            .iter()
            .find(|(p, _, _)| p.starts_with("/assets/") && p.ends_with(".js"))
            .expect("a built script");
        let r = get(js.0, None).await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()[header::CONTENT_TYPE], "text/javascript; charset=utf-8");
        assert!(r.headers()[header::CACHE_CONTROL].to_str().unwrap().contains("immutable"));
        let again = get(js.0, Some(js.2)).await;
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    }

    #[tokio::test]
    async fn api_paths_and_missing_assets_are_404() {
        // API paths are left to the API, which answers its own JSON 404.
        for path in ["/api/nope", "/auth/whatever"] {
            assert!(page(&Method::GET, &path.parse().unwrap(), &HeaderMap::new()).is_none());
        }
        assert!(page(&Method::POST, &"/".parse().unwrap(), &HeaderMap::new()).is_none());
        assert_eq!(get("/assets/missing-123.js", None).await.status(), StatusCode::NOT_FOUND);
    }
}
