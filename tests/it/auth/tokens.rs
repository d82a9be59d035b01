//! API keys (both headers, expiry, revocation) and stream tokens (right torrent,
//! wrong torrent, expired, forged) against a real seeded torrent.

use axum::body::Body;
use axum::http::{Method, StatusCode, header};
use serde_json::{Value, json};

use crate::fixture::router::*;
use swarmcast::engine::{self, AddOptions, Source};

async fn create_key(env: &Env, cookie: &str, body: Value) -> Value {
    let r = env.send(with_cookie(json_req(Method::POST, "/auth/api-keys", &body), cookie)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", String::from_utf8_lossy(&r.body));
    r.json()
}

fn with_bearer(path: &str, key: &str) -> axum::http::Request<Body> {
    req(Method::GET, path).header(header::AUTHORIZATION, format!("Bearer {key}")).body(Body::empty()).unwrap()
}

fn with_x_api_key(path: &str, key: &str) -> axum::http::Request<Body> {
    req(Method::GET, path).header("x-api-key", key).body(Body::empty()).unwrap()
}

#[tokio::test]
async fn api_keys_headers_expiry_revocation() {
    let env = env().await;
    let s = format!("session={}", env.setup_admin("root", "root-password").await);
    let k = create_key(&env, &s, json!({"name": "script"})).await;
    let key = k["api_key"].as_str().unwrap().to_string();
    let prefix = k["prefix"].as_str().unwrap().to_string();
    assert!(key.starts_with(&prefix) && prefix.starts_with("sc_"), "{k}");
    assert_eq!(k["expires_at"], Value::Null);
    assert_eq!(k["name"], "script");

    // Both headers work; the list never shows the key.
    assert_eq!(env.send(with_bearer("/api/stats", &key)).await.status, StatusCode::OK);
    assert_eq!(env.send(with_x_api_key("/auth/me", &key)).await.json()["username"], "root");
    let list = env.send(with_cookie(get("/auth/api-keys"), &s)).await;
    assert!(!String::from_utf8_lossy(&list.body).contains(&key));
    let listed = &list.json()[0];
    assert_eq!(listed["prefix"], prefix.as_str());
    assert!(listed["last_used_at"].as_str().is_some(), "last_used_at is recorded: {listed}");
    // The database keeps a hash.
    let stored: String = env.state.store.conn().query_row("SELECT key_hash FROM api_keys", [], |r| r.get(0)).unwrap();
    assert!(!stored.contains(&key[prefix.len() + 1..]));

    // A wrong key (right prefix) and a garbage key are refused.
    let forged = format!("{prefix}_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    assert_eq!(env.send(with_bearer("/api/stats", &forged)).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(env.send(with_x_api_key("/api/stats", "nonsense")).await.status, StatusCode::UNAUTHORIZED);

    // API-key callers need no CSRF header: they are not ambient credentials.
    let r = env
        .send(
            req(Method::POST, "/auth/api-keys")
                .header("x-api-key", &key)
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(r#"{"name":"second","expires_days":1}"#))
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let short = r.json()["api_key"].as_str().unwrap().to_string();
    assert!(r.json()["expires_at"].as_str().is_some());
    assert_eq!(env.send(with_bearer("/api/stats", &short)).await.status, StatusCode::OK);
    env.clock.advance_secs(86_400);
    let r = env.send(with_bearer("/api/stats", &short)).await;
    assert_eq!((r.status, r.code().as_str()), (StatusCode::UNAUTHORIZED, "UNAUTHORIZED"), "expired");

    // Revocation takes effect on the very next request.
    let del =
        req(Method::DELETE, &format!("/auth/api-keys/{prefix}")).header("x-api-key", &key).body(Body::empty()).unwrap();
    assert_eq!(env.send(del).await.status, StatusCode::OK);
    assert_eq!(env.send(with_bearer("/api/stats", &key)).await.status, StatusCode::UNAUTHORIZED);
    // (The day that passed also ended the idle session.)
    assert_eq!(env.send(with_cookie(get("/auth/me"), &s)).await.status, StatusCode::UNAUTHORIZED);
    let s = format!("session={}", env.login("root", "root-password", false).await.cookie("session").unwrap().0);
    let again = with_cookie(req(Method::DELETE, &format!("/auth/api-keys/{prefix}")).body(Body::empty()).unwrap(), &s);
    assert_eq!(env.send(again).await.status, StatusCode::NOT_FOUND);

    let r = env.send(with_cookie(json_req(Method::POST, "/auth/api-keys", &json!({"name": ""})), &s)).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = env
        .send(with_cookie(json_req(Method::POST, "/auth/api-keys", &json!({"name": "x", "expires_days": 0})), &s))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
}

/// Seeds a small torrent made from a file in the download dir; returns its id and bytes.
async fn seeded_torrent(env: &Env, name: &str, added_by: Option<i64>) -> (String, Vec<u8>) {
    // A single-file torrent lands at <download dir>/<file name>, where the file already is.
    let path = env.state.config.storage.download_dir.join(format!("{name}.bin"));
    let data: Vec<u8> = (0..200_000u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8 ^ name.len() as u8).collect();
    std::fs::write(&path, &data).unwrap();
    let spawner = librqbit::spawn_utils::BlockingSpawner::new(1);
    let opts = librqbit::CreateTorrentOptions { name: None, trackers: vec![], piece_length: Some(16384) };
    let created = librqbit::create_torrent(&path, opts, &spawner).await.unwrap();
    let t = engine::parse_torrent(created.as_bytes().unwrap()).unwrap();
    let view = env.state.engine.add(Source::Torrent(t), AddOptions { added_by, ..Default::default() }).await.unwrap();
    // The engine checks the existing file; wait (bounded) until it seeds.
    for _ in 0..100 {
        let v = env.state.engine.view(&view.id).unwrap();
        if v.progress >= 100.0 {
            return (view.id, data);
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("torrent never became complete: {:?}", env.state.engine.view(&view.id).unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_tokens_scope_expiry_forgery() {
    let env = env().await;
    let uid = env.add_user("ann", "ann-password", false);
    let (id, data) = seeded_torrent(&env, "one", Some(uid)).await;
    let (other, _) = seeded_torrent(&env, "two", Some(uid)).await;
    assert_ne!(id, other);
    let token = env.state.auth.mint_stream_token(&id, Some(uid));

    let file = |t: &str, tok: &str| get(&format!("/api/torrents/{t}/files/0?token={tok}"));
    // Right torrent: the bytes, with Range.
    let r = tokio::time::timeout(std::time::Duration::from_secs(20), env.send(file(&id, &token))).await.unwrap();
    assert_eq!(r.status, StatusCode::OK, "{}", String::from_utf8_lossy(&r.body[..r.body.len().min(300)]));
    assert_eq!(r.body, data);
    let ranged = req(Method::GET, &format!("/api/torrents/{id}/files/0?token={token}"))
        .header(header::RANGE, "bytes=100-199")
        .body(Body::empty())
        .unwrap();
    let r = env.send(ranged).await;
    assert_eq!(r.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(r.body, data[100..200]);

    // Wrong torrent: 403.
    let r = env.send(file(&other, &token)).await;
    assert_eq!((r.status, r.code().as_str()), (StatusCode::FORBIDDEN, "FORBIDDEN"));
    // The token opens stream routes only.
    assert_eq!(env.send(get(&format!("/api/torrents/{id}?token={token}"))).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(env.send(get(&format!("/api/stats?token={token}"))).await.status, StatusCode::UNAUTHORIZED);
    // The HLS routes accept it (the handler behind them is the media engineer's).
    assert_ne!(env.send(get(&format!("/api/stream/{id}?token={token}"))).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(env.send(get(&format!("/api/stream/{other}?token={token}"))).await.status, StatusCode::FORBIDDEN);

    // Forged: a changed torrent id, a changed expiry, a bad signature, garbage.
    let parts: Vec<&str> = token.split('.').collect();
    let swapped = format!("{other}.{}.{}.{}", parts[1], parts[2], parts[3]);
    let later = format!("{}.{}.{}.{}", parts[0], parts[1], parts[2].parse::<i64>().unwrap() + 999_999, parts[3]);
    let mut bad_sig = token.clone();
    bad_sig.replace_range(token.len() - 3.., "AAA");
    for forged in [swapped.as_str(), later.as_str(), bad_sig.as_str(), "garbage", ""] {
        let r = env.send(file(&id, forged)).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "forged {forged:?}");
        assert_eq!(r.code(), "UNAUTHORIZED");
    }
    let r = env.send(file(&other, &swapped)).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "a re-scoped token is a forgery");

    // Expired: 24 h by default.
    env.clock.advance_secs(24 * 3600 - 10);
    assert_eq!(env.send(file(&id, &token)).await.status, StatusCode::OK);
    env.clock.advance_secs(11);
    let r = env.send(file(&id, &token)).await;
    assert_eq!((r.status, r.code().as_str()), (StatusCode::UNAUTHORIZED, "UNAUTHORIZED"));
    assert!(r.json()["error"]["message"].as_str().unwrap().contains("expired"));

    // A token of a deleted user dies with the user.
    let fresh = env.state.auth.mint_stream_token(&id, Some(uid));
    assert_eq!(env.send(file(&id, &fresh)).await.status, StatusCode::OK);
    env.state.store.delete_user(uid).unwrap();
    assert_eq!(env.send(file(&id, &fresh)).await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn stream_secret_is_made_once_and_kept() {
    let env = env().await;
    let path = env.state.config.storage.state_dir.join("stream-token.key");
    let meta = std::fs::metadata(&path).unwrap();
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    let id = "179b3b176a2df09e1d1deee9b52e78ad85ec270c";
    let token = env.state.auth.mint_stream_token(id, None);
    // A restart reads the same secret: old tokens stay valid.
    let again = swarmcast::auth::Auth::open(&env.state.config, env.state.store.clone(), env.clock.clone()).unwrap();
    assert!(again.check_stream_token(&token, id).is_ok());
}
