//! Every route in `api::routes()` answers 401 without credentials, or its
//! documented public answer.

use axum::body::Body;
use axum::http::{Method, StatusCode, header};
use serde_json::json;

use crate::fixture::router::*;

/// (method, path) → the public answer without credentials, for the documented
/// public routes. Every other (method, path) must answer 401.
fn public_answer(method: &Method, path: &str) -> Option<StatusCode> {
    let read = *method == Method::GET || *method == Method::HEAD;
    match path {
        "/api/health" if read => Some(StatusCode::OK),
        "/auth/setup" if read => Some(StatusCode::OK),
        // A user exists already: setup refuses.
        "/auth/setup" if *method == Method::POST => Some(StatusCode::FORBIDDEN),
        // The body carries the walker's right password.
        "/auth/login" if *method == Method::POST => Some(StatusCode::OK),
        // qBittorrent's login takes a form: a JSON body is answered `Fails.` (200).
        "/api/v2/auth/login" if *method == Method::POST => Some(StatusCode::OK),
        // Not open registration: only an admin, so 401 without credentials.
        "/auth/register" if *method == Method::POST => Some(StatusCode::UNAUTHORIZED),
        // The tracker answers every client; bad parameters get a bencoded failure (200).
        "/announce" | "/announce/{passkey}" | "/scrape" if read => Some(StatusCode::OK),
        "/api/openapi.json" | "/docs" if read => Some(StatusCode::OK),
        "/announce" | "/announce/{passkey}" | "/scrape" => Some(StatusCode::METHOD_NOT_ALLOWED),
        // The DLNA server (on here): public and read-only. The walker's JSON body is
        // bad SOAP, answered with a UPnP fault (500); events take only SUBSCRIBE.
        "/dlna/description.xml" | "/dlna/ContentDirectory.xml" | "/dlna/ConnectionManager.xml" if read => {
            Some(StatusCode::OK)
        }
        "/dlna/control/{service}" if *method == Method::POST => Some(StatusCode::INTERNAL_SERVER_ERROR),
        p if p.starts_with("/dlna/") => Some(StatusCode::METHOD_NOT_ALLOWED),
        _ => None,
    }
}

fn concrete(path: &str) -> String {
    path.split('/')
        .map(|seg| match seg {
            "{id}" => "179b3b176a2df09e1d1deee9b52e78ad85ec270c",
            "{index}" => "0",
            "{prefix}" => "sc_00000000",
            "{service}" => "ContentDirectory",
            s if s.starts_with('{') => "1",
            s => s,
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[tokio::test]
async fn every_route_needs_credentials_or_is_documented_public() {
    let env = env_with(|c| {
        c.auth.rate_limit.reads_per_min = 0;
        c.auth.rate_limit.writes_per_min = 0;
        c.auth.rate_limit.auth_attempts = 0;
        c.dlna.enabled = true;
        // DLNA answers only its subnets: the walker asks /dlna/ from loopback.
        c.dlna.interfaces = vec!["lo".into()];
    })
    .await;
    env.add_user("walker", "walker-password", true);
    let routes = swarmcast::api::routes();
    assert!(routes.len() >= 20, "the route table looks incomplete");
    let methods = [Method::GET, Method::HEAD, Method::POST, Method::PUT, Method::PATCH, Method::DELETE];
    let mut checked = 0;
    for (path, _) in &routes {
        let uri = concrete(path);
        for m in &methods {
            let body = json!({"username": "walker", "password": "walker-password"});
            let r = req(m.clone(), &uri)
                .header(header::CONTENT_TYPE, "application/json")
                // A stale cookie and a bad stream token must not help either.
                .header(header::COOKIE, "session=not-a-session")
                .body(Body::from(body.to_string()))
                .unwrap();
            let r =
                if path.starts_with("/dlna/") { env.send_from("127.0.0.1:40000", r).await } else { env.send(r).await };
            match public_answer(m, path) {
                Some(want) => assert_eq!(r.status, want, "{m} {path}: {}", String::from_utf8_lossy(&r.body)),
                None => {
                    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{m} {path} answered without credentials");
                    if *m != Method::HEAD {
                        assert_eq!(r.code(), "UNAUTHORIZED", "{m} {path}");
                    }
                }
            }
            checked += 1;
        }
    }
    assert_eq!(checked, routes.len() * methods.len());
    // The web UI's paths stay public (404 until the UI is served, never 401).
    for p in ["/", "/assets/app.js", "/index.html"] {
        assert_ne!(env.send(get(p)).await.status, StatusCode::UNAUTHORIZED, "{p}");
    }
    // The DLNA server does not answer addresses outside the subnets it serves.
    assert_eq!(env.send(get("/dlna/description.xml")).await.status, StatusCode::FORBIDDEN);
    // Unknown API paths are not an oracle either.
    assert_eq!(env.send(get("/api/nope")).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(env.send(get("/metrics")).await.status, StatusCode::UNAUTHORIZED);
}
