//! Fixtures for the integration tests: a real swarmcast (engine, store, tracker) in a
//! temp dir, served on 127.0.0.1 with a manual tracker clock, and free ports.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use swarmcast::api::AppState;
use swarmcast::config::Config;
use swarmcast::system::clock::ManualClock;
use swarmcast::tracker::Tracker;

pub struct TestApp {
    pub state: AppState,
    pub addr: SocketAddr,
    pub base: String,
    pub clock: Arc<ManualClock>,
    pub http: reqwest::Client,
    pub tmp: tempfile::TempDir,
}

/// A config for tests: everything in `tmp`, DHT and LSD off, an ephemeral engine port.
pub fn test_config(tmp: &std::path::Path) -> Config {
    let mut c = Config::offline(tmp);
    c.engine.listen_port = free_port();
    c.server.listen = "127.0.0.1".into();
    c
}

/// Starts swarmcast with `tweak` applied to the test config.
pub async fn spawn_app(tweak: impl FnOnce(&mut Config)) -> TestApp {
    let tmp = tempfile::tempdir().unwrap();
    let mut config = test_config(tmp.path());
    tweak(&mut config);
    let mut state = swarmcast::daemon::build(config.clone(), Default::default()).await.unwrap();
    let clock = Arc::new(ManualClock::default());
    state.tracker = Arc::new(Tracker::with_clock(&config.tracker, state.store.clone(), clock.clone()).unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = swarmcast::api::app(state.clone()).into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    // Every request authenticates as an admin, through an API key made the way the
    // CLI makes one.
    let admin = state.auth.setup_first_admin("admin", "correct horse battery", None).unwrap();
    let key = state.auth.create_api_key(admin.id, "tests", None).unwrap().key;
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("x-api-key", key.parse().unwrap());
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .default_headers(headers)
        .build()
        .unwrap();
    TestApp { state, addr, base: format!("http://{addr}"), clock, http, tmp }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub fn download_dir(&self) -> std::path::PathBuf {
        self.state.config.storage.download_dir.clone()
    }
}

/// A port free on 127.0.0.1 right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Bytes that do not compress, from a seed.
pub fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// Percent-encodes every byte (as BitTorrent clients do for info_hash and peer_id).
pub fn enc(b: &[u8]) -> String {
    b.iter().map(|c| format!("%{c:02X}")).collect()
}

/// `(complete, downloaded, incomplete)` of `hash` in a bencoded scrape reply.
pub fn scrape_counts(body: &[u8], hash: &[u8; 20]) -> Option<(u64, u64, u64)> {
    let mut key = b"20:".to_vec();
    key.extend_from_slice(hash);
    let at = body.windows(key.len()).position(|w| w == key.as_slice())? + key.len();
    let rest = std::str::from_utf8(&body[at..]).ok().or_else(|| {
        // Counts are ASCII; stop before any later binary key.
        let end = body[at..].iter().position(|&b| b >= 0x80).unwrap_or(body.len() - at);
        std::str::from_utf8(&body[at..at + end]).ok()
    })?;
    let num = |name: &str| -> Option<u64> {
        let pat = format!("{}:{}i", name.len(), name);
        let i = rest.find(&pat)? + pat.len();
        let j = rest[i..].find('e')?;
        rest[i..i + j].parse().ok()
    };
    Some((num("complete")?, num("downloaded")?, num("incomplete")?))
}

/// Polls `f` every 250 ms until it yields `Some`, for at most `limit`.
pub async fn wait_for<T, F, Fut>(what: &str, limit: Duration, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        if tokio::time::Instant::now() > deadline {
            panic!("timed out after {limit:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// A client that sends `key` as `X-API-Key` on every request.
pub fn client_with_key(key: &str) -> reqwest::Client {
    let mut h = reqwest::header::HeaderMap::new();
    h.insert("x-api-key", key.parse().unwrap());
    reqwest::Client::builder().timeout(Duration::from_secs(30)).default_headers(h).build().unwrap()
}

/// An API key for the user of a session cookie, made over HTTP.
pub async fn api_key_for(base: &str, cookie: &str) -> String {
    let r = reqwest::Client::new()
        .post(format!("{base}/auth/api-keys"))
        .header("cookie", cookie)
        .json(&serde_json::json!({"name": "tests"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "creating an API key failed");
    let v: serde_json::Value = r.json().await.unwrap();
    v["api_key"].as_str().unwrap().to_string()
}
