//! Issue 17, security and data safety, through the router: hooks settings only from
//! the file, no fetches of loopback/LAN on a user's behalf, DLNA tokens scoped and
//! revocable, credentials ending with a password change, ownership, common passwords,
//! storage paths apart from the state dir.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::fixture::router::*;

const HASH: &str = "179b3b176a2df09e1d1deee9b52e78ad85ec270c";

fn body_text(r: &Resp) -> String {
    String::from_utf8_lossy(&r.body).into_owned()
}

fn ck(session: &str) -> String {
    format!("session={session}")
}

#[tokio::test]
async fn hooks_settings_come_only_from_the_file() {
    let env = env().await;
    let admin = ck(&env.setup_admin("root", "root-password").await);
    for body in [
        json!({"hooks.dir": "/usr/bin"}),
        json!({"hooks": {"dir": "/bin"}}),
        json!({"hooks.webhooks": ["http://127.0.0.1:1/"]}),
        json!({"hooks.timeout_secs": 5}),
    ] {
        let r = env.send(with_cookie(json_req(Method::PATCH, "/api/config", &body), &admin)).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}: {}", body_text(&r));
        assert!(r.json()["error"]["message"].as_str().unwrap().contains("config file"), "{}", body_text(&r));
    }
    let c = env.send(with_cookie(get("/api/config"), &admin)).await.json();
    assert_ne!(c["hooks"]["dir"], "/usr/bin");
    // A row stored by an older version is not applied at the next start.
    env.state.store.set_setting("config.hooks.dir", "\"/usr/bin\"").unwrap();
    let again = swarmcast::config::live::apply_persisted(&env.state.store, (*env.state.config).clone()).unwrap();
    assert_ne!(again.hooks.dir, std::path::PathBuf::from("/usr/bin"));
}

/// A TCP listener on loopback that counts the connections it gets; `answer` is
/// written to each.
fn listener(answer: Option<String>) -> (u16, Arc<AtomicUsize>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    l.set_nonblocking(true).unwrap();
    let hits = Arc::new(AtomicUsize::new(0));
    let h = hits.clone();
    std::thread::spawn(move || {
        let until = Instant::now() + Duration::from_secs(60);
        while Instant::now() < until {
            match l.accept() {
                Ok((mut s, _)) => {
                    h.fetch_add(1, Ordering::SeqCst);
                    s.set_nonblocking(false).unwrap();
                    s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
                    let mut buf = [0u8; 2048];
                    let _ = s.read(&mut buf);
                    if let Some(a) = &answer {
                        let _ = s.write_all(a.as_bytes());
                    }
                }
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    });
    (port, hits)
}

#[tokio::test]
async fn torrent_urls_never_reach_loopback_or_the_lan() {
    let (target, target_hits) = listener(Some("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nde".into()));
    let redirect = format!(
        "HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:{target}/x.torrent\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    let (named, named_hits) = listener(Some(redirect));
    // The admin named one indexer, on this box: only that host:port may be fetched.
    let env = env_with(|c| {
        c.search.indexers.push(swarmcast::config::IndexerConfig {
            name: "jackett".into(),
            url: format!("http://127.0.0.1:{named}/api"),
            api_key: Default::default(),
        })
    })
    .await;
    env.setup_admin("root", "root-password").await;
    env.add_user("bob", "bob-password", false);
    let bob = ck(&env.login("bob", "bob-password", false).await.cookie("session").unwrap().0);
    for uri in [
        format!("http://127.0.0.1:{target}/x.torrent"),
        format!("http://localhost:{target}/x.torrent"),
        format!("http://[::1]:{target}/x.torrent"),
        format!("http://0.0.0.0:{target}/x.torrent"),
        "http://169.254.169.254/latest/meta-data/".to_string(),
        // Allowed host, redirected to loopback: checked again after the redirect.
        format!("http://127.0.0.1:{named}/dl/1.torrent"),
    ] {
        let r = env.send(with_cookie(json_req(Method::POST, "/api/torrents/", &json!({"uri": uri})), &bob)).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{uri}: {}", body_text(&r));
        let msg = r.json()["error"]["message"].as_str().unwrap().to_string();
        assert!(msg.contains("refused"), "{uri}: {msg}");
        // The other side's status line or body never shows (the ports may hold "200" or "302").
        let without_ports = msg.replace(&target.to_string(), "").replace(&named.to_string(), "");
        assert!(
            !without_ports.contains("200") && !without_ports.contains("302") && !msg.contains("Found"),
            "the answer of the other side leaks: {msg}"
        );
    }
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(target_hits.load(Ordering::SeqCst), 0, "the loopback listener was contacted");
    assert_eq!(named_hits.load(Ordering::SeqCst), 1, "the named host is fetched (once)");
}

#[tokio::test]
async fn dlna_tokens_open_one_file_and_die_with_dlna() {
    let on = env_with(|c| {
        c.dlna.enabled = true;
        c.dlna.interfaces = vec!["lo".into()];
        c.auth.bypass_localhost = false;
    })
    .await;
    // /dlna/ answers only the subnets DLNA serves.
    assert_eq!(on.send_from("127.0.0.1:4000", get("/dlna/description.xml")).await.status, StatusCode::OK);
    let r = on.send_from("192.0.2.7:4000", get("/dlna/description.xml")).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", body_text(&r));

    let exp = on.state.auth.now() + 3600;
    let token = on.state.auth.mint_scoped_token(HASH, Some(0), swarmcast::auth::TokenOwner::Dlna, exp);
    let file = |i: usize| get(&format!("/api/torrents/{HASH}/files/{i}?token={token}"));
    // The film's file passes the guard (then 404: no such torrent here).
    let r = on.send_from("127.0.0.1:4000", file(0)).await;
    assert!(!matches!(r.status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN), "{}", body_text(&r));
    // The .txt beside it does not.
    let r = on.send_from("127.0.0.1:4000", file(1)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", body_text(&r));
    let r = on.send_from("127.0.0.1:4000", get(&format!("/api/stream/{HASH}?file=1&token={token}"))).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", body_text(&r));
    // Nor from outside the DLNA subnets.
    assert_eq!(on.send_from("192.0.2.7:4000", file(0)).await.status, StatusCode::UNAUTHORIZED);

    // DLNA off: the same token (same secret: same state dir) is refused.
    let off_config = {
        let mut c = (*on.state.config).clone();
        c.dlna.enabled = false;
        c
    };
    let mut off_state = on.state.clone();
    off_state.config = Arc::new(off_config);
    let off = Env { state: off_state, clock: on.clock.clone(), dir: tempfile::tempdir().unwrap() };
    let r = off.send_from("127.0.0.1:4000", file(0)).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", body_text(&r));
}

#[tokio::test]
async fn password_changes_end_tokens_and_resets_end_keys() {
    let env = env().await;
    let admin = ck(&env.setup_admin("root", "root-password").await);
    let uid = env.add_user("ann", "ann-password", false);
    let ann = ck(&env.login("ann", "ann-password", false).await.cookie("session").unwrap().0);
    let r = env.send(with_cookie(json_req(Method::POST, "/auth/api-keys", &json!({"name": "script"})), &ann)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", body_text(&r));
    let key = r.json()["api_key"].as_str().unwrap().to_string();
    let with_key = || req(Method::GET, "/auth/me").header("x-api-key", key.as_str()).body(Body::empty()).unwrap();
    assert_eq!(env.send(with_key()).await.status, StatusCode::OK);
    let token = env.state.auth.mint_stream_token(HASH, Some(uid));
    let stream = || get(&format!("/api/stream/{HASH}?token={token}"));
    assert_ne!(env.send(stream()).await.status, StatusCode::UNAUTHORIZED);

    // Her own change: other sessions and every stream token end; her API key stays.
    let r = env
        .send(with_cookie(
            json_req(
                Method::PATCH,
                "/auth/password",
                &json!({"current_password": "ann-password", "new_password": "ann-new-password"}),
            ),
            &ann,
        ))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", body_text(&r));
    let r = env.send(stream()).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "a stream token outlived the password: {}", body_text(&r));
    assert_eq!(env.send(with_key()).await.status, StatusCode::OK);

    // An admin reset: her API keys end too.
    let r = env
        .send(with_cookie(
            json_req(Method::PATCH, &format!("/api/users/{uid}"), &json!({"password": "reset-password"})),
            &admin,
        ))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", body_text(&r));
    assert_eq!(env.send(with_key()).await.status, StatusCode::UNAUTHORIZED, "an API key outlived an admin reset");
    assert_eq!(env.send(with_cookie(get("/auth/me"), &ann)).await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn file_selection_and_stream_removal_need_the_owner() {
    let env = env().await;
    let admin = ck(&env.setup_admin("root", "root-password").await);
    env.add_user("bob", "bob-password", false);
    env.add_user("carol", "carol-password", false);
    let bob = ck(&env.login("bob", "bob-password", false).await.cookie("session").unwrap().0);
    let carol = ck(&env.login("carol", "carol-password", false).await.cookie("session").unwrap().0);
    let r = env
        .send(with_cookie(json_req(Method::POST, "/api/torrents/", &json!({"info_hash": HASH, "start": false})), &bob))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", body_text(&r));
    let select = |c: &str| {
        with_cookie(json_req(Method::POST, &format!("/api/torrents/{HASH}/files"), &json!({"files": [0]})), c)
    };
    let unstream = |c: &str| {
        with_cookie(
            req(Method::DELETE, &format!("/api/stream/{HASH}"))
                .header("x-requested-with", "fetch")
                .body(Body::empty())
                .unwrap(),
            c,
        )
    };
    for r in [env.send(select(&carol)).await, env.send(unstream(&carol)).await] {
        assert_eq!((r.status, r.code().as_str()), (StatusCode::FORBIDDEN, "FORBIDDEN"), "{}", body_text(&r));
        assert!(r.json()["error"]["message"].as_str().unwrap().contains("owner"));
    }
    // The owner and an admin get past the rule (no metadata / no stream yet).
    for c in [&bob, &admin] {
        assert_ne!(env.send(select(c)).await.status, StatusCode::FORBIDDEN);
        assert_eq!(env.send(unstream(c)).await.status, StatusCode::NOT_FOUND);
    }
}

#[tokio::test]
async fn common_passwords_are_refused_in_words() {
    let env = env_with(|c| c.auth.rate_limit.auth_attempts = 0).await;
    for pw in ["password", "Password", "12345678", "iloveyou", "qwertyuiop"] {
        let r = env.send(json_req(Method::POST, "/auth/setup", &json!({"username": "root", "password": pw}))).await;
        assert_eq!((r.status, r.code().as_str()), (StatusCode::BAD_REQUEST, "BAD_REQUEST"), "{pw}: {}", body_text(&r));
        assert!(r.json()["error"]["message"].as_str().unwrap().contains("commonly used"), "{}", body_text(&r));
    }
    let admin = ck(&env.setup_admin("root", "root-password").await);
    let r = env
        .send(with_cookie(
            json_req(Method::POST, "/auth/register", &json!({"username": "bob", "password": "trustno1"})),
            &admin,
        ))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", body_text(&r));
}

#[tokio::test]
async fn storage_paths_may_not_contain_the_state_dir() {
    let env = env().await;
    let admin = ck(&env.setup_admin("root", "root-password").await);
    let state = env.state.config.storage.state_dir.clone();
    let parent = state.parent().unwrap().to_path_buf();
    for (key, path) in
        [("storage.download_dir", &parent), ("storage.library_dir", &parent), ("storage.download_dir", &state)]
    {
        let r = env.send(with_cookie(json_req(Method::PATCH, "/api/config", &json!({ key: path })), &admin)).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{key}={}: {}", path.display(), body_text(&r));
        assert!(body_text(&r).contains("state dir"), "{}", body_text(&r));
    }
}

/// Reads from `s` until it closes (true) or `limit` passes (false).
fn closed_within(s: &mut std::net::TcpStream, limit: Duration) -> bool {
    let until = Instant::now() + limit;
    let mut buf = [0u8; 1024];
    while Instant::now() < until {
        s.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
            Err(_) => return true,
        }
    }
    false
}

fn connect_from(local: &str, port: u16) -> std::net::TcpStream {
    let sock = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    sock.bind(&local.parse::<std::net::SocketAddr>().unwrap().into()).unwrap();
    sock.connect(&format!("127.0.0.1:{port}").parse::<std::net::SocketAddr>().unwrap().into()).unwrap();
    sock.into()
}

#[test]
fn slow_header_clients_are_dropped_while_others_are_served() {
    use crate::fixture::daemon::Daemon;
    let d = Daemon::start_with(&[
        ("SWARMCAST_SERVER_HEADER_READ_TIMEOUT_SECS", "2"),
        ("SWARMCAST_SERVER_MAX_CONNECTIONS_PER_ADDRESS", "8"),
    ]);
    // Eight slow-loris clients from 127.0.0.2: headers trickle, never end.
    let mut slow: Vec<_> = (0..8).map(|_| connect_from("127.0.0.2:0", d.port)).collect();
    for s in &mut slow {
        s.write_all(b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: a").unwrap();
    }
    // A ninth from that address is closed at once.
    let mut ninth = connect_from("127.0.0.2:0", d.port);
    let _ = ninth.write_all(b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    assert!(closed_within(&mut ninth, Duration::from_secs(3)), "the per-address cap did not hold");
    // Others are served meanwhile.
    let (status, _) = d.get("/api/health");
    assert_eq!(status, 200);
    // The slow ones are dropped after the header-read timeout.
    let started = Instant::now();
    for s in &mut slow {
        let _ = s.write_all(b"b");
        assert!(closed_within(s, Duration::from_secs(8)), "a slow-headers client was kept open");
    }
    assert!(started.elapsed() < Duration::from_secs(8));
    // And the address may connect again.
    let mut again = connect_from("127.0.0.2:0", d.port);
    let request = format!("GET /api/health HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\n\r\n", d.port);
    again.write_all(request.as_bytes()).unwrap();
    let mut text = String::new();
    again.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let _ = again.read_to_string(&mut text);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
}
