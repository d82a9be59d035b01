//! Credentials and cross-site rules on the download-client surfaces, in process:
//! the Transmission session-id handshake, HTTP Basic (password, API key, the login
//! rate limit) on the RPC only, and the qBittorrent `SID` session with its Origin check.

use axum::body::Body;
use axum::http::{Method, StatusCode, header};
use serde_json::json;

use crate::fixture::router::*;

fn basic(user: &str, password: &str) -> String {
    format!("Basic {}", data_encoding::BASE64.encode(format!("{user}:{password}").as_bytes()))
}

fn rpc(auth: Option<&str>, session: Option<&str>, method: &str) -> axum::http::Request<Body> {
    let mut r = req(Method::POST, "/transmission/rpc");
    if let Some(a) = auth {
        r = r.header(header::AUTHORIZATION, a);
    }
    if let Some(s) = session {
        r = r.header("x-transmission-session-id", s);
    }
    r.body(Body::from(json!({"method": method, "tag": 7}).to_string())).unwrap()
}

fn form(path: &str) -> axum::http::request::Builder {
    req(Method::POST, path).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
}

#[tokio::test]
async fn transmission_handshake_basic_auth_and_limits() {
    let env = env().await;
    env.add_user("sonarr", "sonarr-password-1", false);

    // No credentials: 401 with a Basic challenge.
    let r = env.send(rpc(None, None, "session-get")).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.headers[header::WWW_AUTHENTICATE].to_str().unwrap().starts_with("Basic "));

    // Credentials without the session id: 409 carrying it.
    let good = basic("sonarr", "sonarr-password-1");
    let r = env.send(rpc(Some(&good), None, "session-get")).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    let sid = r.headers["x-transmission-session-id"].to_str().unwrap().to_string();
    let r = env.send(rpc(Some(&good), Some("stale"), "session-get")).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    let r = env.send(rpc(Some(&good), Some(&sid), "session-get")).await;
    assert_eq!(r.status, StatusCode::OK);
    let v = r.json();
    assert_eq!(v["result"], "success");
    assert_eq!(v["tag"], 7);
    assert_eq!(v["arguments"]["rpc-version"], 17);
    let r = env.send(rpc(Some(&good), Some(&sid), "no-such-method")).await;
    assert!(r.json()["result"].as_str().unwrap().contains("not recognized"));

    // An API key as the password, whatever the name.
    let key = env
        .state
        .auth
        .create_api_key(env.state.store.user_by_name("sonarr").unwrap().unwrap().id, "rpc", None)
        .unwrap()
        .key;
    let r = env.send(rpc(Some(&basic("anything", &key)), Some(&sid), "session-stats")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", String::from_utf8_lossy(&r.body));

    // Checks count against the login limit (5 per 5 min per name and address; the
    // first good one above was one); the right password, once checked, is not
    // hashed or counted again.
    for _ in 0..4 {
        let r = env.send(rpc(Some(&basic("sonarr", "wrong")), Some(&sid), "session-get")).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    let r = env.send(rpc(Some(&basic("sonarr", "wrong")), Some(&sid), "session-get")).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(r.headers.contains_key(header::RETRY_AFTER));
    let r = env.send(rpc(Some(&good), Some(&sid), "session-get")).await;
    assert_eq!(r.status, StatusCode::OK, "a checked password still works");

    // Basic is for the RPC only.
    let r = env
        .send(req(Method::GET, "/api/torrents").header(header::AUTHORIZATION, &good).body(Body::empty()).unwrap())
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = env
        .send(
            req(Method::GET, "/api/v2/torrents/info").header(header::AUTHORIZATION, &good).body(Body::empty()).unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn qbittorrent_sid_is_a_session_with_origin_checks() {
    let env = env().await;
    env.add_user("radarr", "radarr-password-1", false);
    let body = "username=radarr&password=wrong";
    let r = env.send(form("/api/v2/auth/login").body(Body::from(body)).unwrap()).await;
    assert_eq!((r.status, r.body.as_slice()), (StatusCode::OK, b"Fails.".as_slice()));
    assert!(r.cookie("SID").is_none());
    let body = "username=radarr&password=radarr-password-1";
    let r = env.send(form("/api/v2/auth/login").body(Body::from(body)).unwrap()).await;
    assert_eq!(r.body, b"Ok.");
    let (sid, set) = r.cookie("SID").expect("SID cookie");
    assert!(set.contains("HttpOnly") && set.contains("SameSite=Strict"), "{set}");
    let cookie = format!("SID={sid}");

    // A normal session: the same user on /api/v2, but not a `session` cookie elsewhere.
    let r = env.send(with_cookie(get("/api/v2/app/webapiVersion"), &cookie)).await;
    assert_eq!((r.status, r.body.as_slice()), (StatusCode::OK, b"2.11.2".as_slice()));
    let r = env.send(with_cookie(get("/api/torrents"), &cookie)).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);

    // A form post with the SID works from the tool; from another site it is refused.
    let body = "category=tv&savePath=tv";
    let r =
        env.send(with_cookie(form("/api/v2/torrents/createCategory").body(Body::from(body)).unwrap(), &cookie)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", String::from_utf8_lossy(&r.body));
    assert!(env.state.engine.download_dir().join("tv").is_dir(), "the category's folder is made");
    let body = "category=evil&savePath=evil";
    let r = env
        .send(with_cookie(
            form("/api/v2/torrents/createCategory")
                .header(header::ORIGIN, "http://evil.example")
                .body(Body::from(body))
                .unwrap(),
            &cookie,
        ))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = env
        .send(with_cookie(
            form("/api/v2/torrents/createCategory")
                .header("sec-fetch-site", "cross-site")
                .body(Body::from(body))
                .unwrap(),
            &cookie,
        ))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // A save path outside the download dir is refused.
    for bad in ["/etc", "../up", "tv/../../x"] {
        let body = format!("category=x{}&savePath={bad}", bad.len());
        let r = env
            .send(with_cookie(form("/api/v2/torrents/createCategory").body(Body::from(body.clone())).unwrap(), &cookie))
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}: {}", String::from_utf8_lossy(&r.body));
    }
    // State changes take POST; reads answer GET.
    let r = env.send(with_cookie(get("/api/v2/torrents/categories"), &cookie)).await;
    assert_eq!(
        r.json()["tv"]["savePath"].as_str().unwrap(),
        env.state.engine.download_dir().join("tv").to_str().unwrap()
    );
    let r = env.send(with_cookie(get("/api/v2/torrents/delete?hashes=all"), &cookie)).await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);

    // Logout ends the session.
    let r = env.send(with_cookie(req(Method::POST, "/api/v2/auth/logout").body(Body::empty()).unwrap(), &cookie)).await;
    assert_eq!(r.status, StatusCode::OK);
    let r = env.send(with_cookie(get("/api/v2/app/version"), &cookie)).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}
