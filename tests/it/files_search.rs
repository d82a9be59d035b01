//! The file browser against traversal attempts over real HTTP, torrent creation's
//! bad inputs, and search against local Torznab servers (fast, slow, failing, and one
//! that repeats another's torrent).

use std::time::Duration;

use crate::fixture::*;
use axum::extract::Path;
use axum::routing::get;
use serde_json::{Value, json};
use swarmcast::config::IndexerConfig;

async fn status_and_json(r: reqwest::Response) -> (u16, Value) {
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn file_browser_refuses_every_traversal() {
    let app = spawn_app(|_| {}).await;
    let root = app.download_dir();
    std::fs::create_dir_all(root.join("films")).unwrap();
    std::fs::write(root.join("films/movie.mp4"), noise(10_000, 5)).unwrap();
    std::fs::write(app.tmp.path().join("secret.txt"), b"top secret").unwrap();
    std::os::unix::fs::symlink(app.tmp.path().join("secret.txt"), root.join("films/link")).unwrap();
    std::os::unix::fs::symlink("/etc", root.join("etc")).unwrap();

    // Raw query strings, exactly as an attacker would send them.
    let attacks = [
        "path=../secret.txt",
        "path=..%2Fsecret.txt",
        "path=%2e%2e%2fsecret.txt",
        "path=films/../../secret.txt",
        "path=films%2F..%2F..%2Fsecret.txt",
        "path=%252e%252e%252fsecret.txt",
        "path=/etc/passwd",
        "path=%2Fetc%2Fpasswd",
        "path=films/movie.mp4%00.txt",
        "path=%00",
        "path=films/link",
        "path=etc/passwd",
        "path=..\\secret.txt",
        "path=....//....//secret.txt",
    ];
    for route in ["/api/files", "/api/files/content"] {
        for attack in attacks {
            let r = app.http.get(app.url(&format!("{route}?{attack}"))).send().await.unwrap();
            let (status, body) = status_and_json(r).await;
            assert!(status == 403 || status == 404, "{route}?{attack} gave {status}: {body}");
            let code = body["error"]["code"].as_str().unwrap_or_default();
            assert!(code == "FORBIDDEN" || code == "NOT_FOUND", "{route}?{attack}: {body}");
            assert!(!body.to_string().contains("top secret"));
        }
        let r = app.http.delete(app.url("/api/files/content?path=../secret.txt")).send().await.unwrap();
        assert_eq!(r.status(), 403);
    }
    assert!(app.tmp.path().join("secret.txt").exists());

    // What is inside works: listing, Range, delete.
    let (s, list) = status_and_json(app.http.get(app.url("/api/files?path=films")).send().await.unwrap()).await;
    assert_eq!(s, 200);
    assert_eq!(list, json!([{"name": "movie.mp4", "type": "file", "size": 10000, "modified": list[0]["modified"]}]));
    let (_, top) = status_and_json(app.http.get(app.url("/api/files")).send().await.unwrap()).await;
    assert_eq!(top.as_array().unwrap().len(), 1, "symlinks out are hidden: {top}");
    let r = app
        .http
        .get(app.url("/api/files/content?path=films/movie.mp4"))
        .header("Range", "bytes=100-199")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 206);
    assert_eq!(r.headers()["content-range"], "bytes 100-199/10000");
    assert_eq!(r.bytes().await.unwrap().to_vec(), noise(10_000, 5)[100..200].to_vec());
    let r = app.http.get(app.url("/api/files/content?path=films")).send().await.unwrap();
    assert_eq!(r.status(), 400);
    let r = app.http.delete(app.url("/api/files/content?path=")).send().await.unwrap();
    assert_eq!(r.status(), 403);
    // Only an administrator deletes: a plain user is refused.
    let r = app
        .http
        .post(app.url("/auth/register"))
        .json(&json!({"username": "viewer", "password": "viewer password 1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let r = reqwest::Client::new()
        .post(app.url("/auth/login"))
        .json(&json!({"username": "viewer", "password": "viewer password 1"}))
        .send()
        .await
        .unwrap();
    let cookie = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_string())
        .find(|c| c.starts_with("session="))
        .unwrap();
    let viewer = client_with_key(&api_key_for(&app.base, &cookie).await);
    let (s, v) =
        status_and_json(viewer.delete(app.url("/api/files/content?path=films/movie.mp4")).send().await.unwrap()).await;
    assert_eq!((s, v["error"]["code"].as_str()), (403, Some("FORBIDDEN")), "{v}");
    assert!(root.join("films/movie.mp4").exists());
    let r = viewer.get(app.url("/api/files/content?path=films/movie.mp4")).send().await.unwrap();
    assert_eq!(r.status(), 200, "a plain user may read");
    let r = app.http.delete(app.url("/api/files/content?path=films/movie.mp4")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(!root.join("films/movie.mp4").exists());
    let r = app.http.get(app.url("/api/files/content?path=films/movie.mp4")).send().await.unwrap();
    assert_eq!(r.status(), 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_refuses_bad_input() {
    let app = spawn_app(|_| {}).await;
    std::fs::write(app.download_dir().join("a.bin"), noise(50_000, 9)).unwrap();
    std::fs::write(app.tmp.path().join("outside.bin"), noise(50_000, 9)).unwrap();
    std::fs::create_dir_all(app.download_dir().join("empty")).unwrap();
    for (body, status) in [
        (json!({"path": "../outside.bin"}), 403),
        (json!({"path": "/etc/hostname"}), 403),
        (json!({"path": "missing.bin"}), 404),
        (json!({"path": ""}), 400),
        (json!({"path": "empty"}), 400),
        (json!({"path": "a.bin", "trackers": ["javascript:alert(1)"]}), 400),
        (json!({"path": "a.bin", "bogus": 1}), 400),
        (json!({"trackers": []}), 400),
    ] {
        let r = app.http.post(app.url("/api/torrents/create")).json(&body).send().await.unwrap();
        let (s, v) = status_and_json(r).await;
        assert_eq!(s, status, "{body}: {v}");
        assert!(v["error"]["code"].is_string(), "{v}");
    }
    let r = app
        .http
        .post(app.url("/api/torrents/create"))
        .json(&json!({"path": "a.bin", "trackers": ["udp://127.0.0.1:1/announce"], "private": true}))
        .send()
        .await
        .unwrap();
    let (s, t) = status_and_json(r).await;
    assert_eq!(s, 201, "{t}");
    assert!(t["magnet_uri"].as_str().unwrap().contains("&tr=udp%3A%2F%2F127%2E0%2E0%2E1%3A1"), "{t}");
    let r = app
        .http
        .post(app.url("/api/torrents/create"))
        .json(&json!({"path": "a.bin", "trackers": ["udp://127.0.0.1:1/announce"], "private": true}))
        .send()
        .await
        .unwrap();
    let (s, v) = status_and_json(r).await;
    assert_eq!((s, v["error"]["code"].as_str()), (409, Some("CONFLICT")));

    // A single file deep in a folder is seeded from where it lies, not downloaded again.
    let deep = app.download_dir().join("films/2024");
    std::fs::create_dir_all(&deep).unwrap();
    std::fs::write(deep.join("clip.mp4"), noise(300_000, 11)).unwrap();
    let r = app
        .http
        .post(app.url("/api/torrents/create"))
        .json(&json!({"path": "films/2024/clip.mp4"}))
        .send()
        .await
        .unwrap();
    let (s, t) = status_and_json(r).await;
    assert_eq!(s, 201, "{t}");
    let id = t["id"].as_str().unwrap().to_string();
    wait_for("the created torrent to seed", Duration::from_secs(30), || async {
        let v: Value = app.http.get(app.url(&format!("/api/torrents/{id}"))).send().await.ok()?.json().await.ok()?;
        (v["status"] == "seeding" && v["progress"] == 100.0).then_some(())
    })
    .await;
    assert_eq!(std::fs::read(deep.join("clip.mp4")).unwrap(), noise(300_000, 11));
}

const FEED_HEAD: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:torznab="http://torznab.com/schemas/2015/feed"><channel><title>test</title>"#;

fn item(title: &str, hash: &str, seeders: u32, peers: u32) -> String {
    format!(
        r#"<item><title>{title}</title><size>734003200</size><link>http://127.0.0.1/dl/{hash}</link>
<torznab:attr name="seeders" value="{seeders}"/><torznab:attr name="peers" value="{peers}"/>
<torznab:attr name="infohash" value="{hash}"/></item>"#
    )
}

const H1: &str = "1111111111111111111111111111111111111111";
const H2: &str = "2222222222222222222222222222222222222222";
const H3: &str = "3333333333333333333333333333333333333333";

/// A Torznab server with one indexer per path: `fast`, `other` (repeats H2 with
/// more seeders), `slow` (never in time), `broken` (HTTP 500), `badkey` (Torznab error).
async fn torznab_server() -> String {
    async fn feed(Path(which): Path<String>, q: axum::extract::RawQuery) -> axum::response::Response {
        use axum::response::IntoResponse;
        let q = q.0.unwrap_or_default();
        assert!(q.contains("apikey=secret"), "{q}");
        let items = match which.as_str() {
            "fast" => {
                if q.contains("imdbid=tt0133093") && q.contains("t=movie") {
                    item("The Matrix 1999", H3, 50, 60)
                } else {
                    item("Big Buck Bunny 1080p", H1, 10, 15) + &item("Big Buck Bunny 720p", H2, 3, 4)
                }
            }
            "other" => item("Big Buck Bunny 720p REPACK", &H2.to_uppercase(), 30, 31),
            "slow" => {
                tokio::time::sleep(Duration::from_secs(30)).await;
                String::new()
            }
            "broken" => return (axum::http::StatusCode::INTERNAL_SERVER_ERROR, "boom").into_response(),
            "badkey" => {
                return r#"<?xml version="1.0"?><error code="100" description="Invalid API Key"/>"#.into_response();
            }
            _ => return axum::http::StatusCode::NOT_FOUND.into_response(),
        };
        ([("content-type", "application/rss+xml")], format!("{FEED_HEAD}{items}</channel></rss>")).into_response()
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new().route("/{which}/api", get(feed));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

fn ix(base: &str, name: &str) -> IndexerConfig {
    IndexerConfig { name: name.into(), url: format!("{base}/{name}/"), api_key: "secret".into() }
}

#[tokio::test]
async fn search_merges_indexers_and_survives_failures() {
    let base = torznab_server().await;
    let b = base.clone();
    let app = spawn_app(move |c| {
        c.search.timeout_secs = 2;
        c.search.indexers = ["fast", "other", "slow", "broken", "badkey"].iter().map(|n| ix(&b, n)).collect();
    })
    .await;
    let started = std::time::Instant::now();
    let r = app.http.get(app.url("/api/search?query=big%20buck")).send().await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(10), "the slow indexer held the search up");
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-search-failed"], "slow, broken, badkey");
    let v: Value = r.json().await.unwrap();
    let results = v.as_array().unwrap();
    assert_eq!(results.len(), 2, "H2 is merged across indexers: {v}");
    assert_eq!(results[0]["info_hash"], H2);
    assert_eq!(results[0]["seeders"], 30);
    assert_eq!(results[0]["leechers"], 1);
    assert_eq!(results[0]["indexer"], "other");
    assert_eq!(results[0]["indexers"], json!(["fast", "other"]));
    assert_eq!(results[1]["info_hash"], H1);
    assert_eq!(results[1]["leechers"], 5);
    assert!(results[1]["magnet_uri"].as_str().unwrap().starts_with(&format!("magnet:?xt=urn:btih:{H1}")));

    let v: Value = app.http.get(app.url("/api/search?query=x&report=true")).send().await.unwrap().json().await.unwrap();
    let reports = v["indexers"].as_array().unwrap();
    let slow = reports.iter().find(|r| r["name"] == "slow").unwrap();
    assert_eq!(slow["ok"], false);
    assert!(slow["error"].as_str().unwrap().contains("within"), "{slow}");
    let bad = reports.iter().find(|r| r["name"] == "badkey").unwrap();
    assert!(bad["error"].as_str().unwrap().contains("Invalid API Key"), "{bad}");

    let v: Value = app.http.get(app.url("/api/search?imdbId=tt0133093")).send().await.unwrap().json().await.unwrap();
    assert_eq!(v[0]["title"], "The Matrix 1999");
    for bad in ["", "?imdbId=matrix", "?query=", "?nope=1"] {
        let (s, v) = status_and_json(app.http.get(app.url(&format!("/api/search{bad}"))).send().await.unwrap()).await;
        assert_eq!(s, 400, "{bad}: {v}");
    }
}

#[tokio::test]
async fn search_fails_only_when_every_indexer_fails() {
    let base = torznab_server().await;
    let b = base.clone();
    let app = spawn_app(move |c| {
        c.search.timeout_secs = 1;
        c.search.indexers = ["slow", "broken", "badkey"].iter().map(|n| ix(&b, n)).collect();
    })
    .await;
    let (s, v) = status_and_json(app.http.get(app.url("/api/search?query=x")).send().await.unwrap()).await;
    assert_eq!(s, 502);
    assert_eq!(v["error"]["code"], "SEARCH_FAILED");
    assert!(v["error"]["message"].as_str().unwrap().contains("broken: HTTP 500"), "{v}");
    let app = spawn_app(|_| {}).await;
    let (s, v) = status_and_json(app.http.get(app.url("/api/search?query=x")).send().await.unwrap()).await;
    assert_eq!((s, v["error"]["code"].as_str()), (502, Some("SEARCH_FAILED")));
}
