//! Playback on a swarm with the speed of a real one: a transmission-daemon seeder
//! limited to 1.5× the film's byte rate, the real daemon, and the web UI's player
//! (hls.js) in Debian's Chromium (`tests/it/e2e/playback_shaped.mjs`). After the first
//! `playing`: 30 s of play, a seek to 70 % (not downloaded yet, and late in its
//! segment), 30 s of play, and not one stall. While the player waits for its first
//! segment, the stream's status says what it waits for (`waiting`).
//!
//! Needs `scripts/setup.sh test` (chromium, transmission-daemon, ffmpeg) and the npm
//! packages of `web/` (`make web`).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::fixture::{Daemon, Seeder, info_hash, make_torrent, media};

/// Seconds of film (70 % of it is 3.5 s into a 4 s segment), and its video bitrate (kbit/s).
const FILM_SECS: u32 = 125;
const FILM_KBPS: u32 = 1200;

#[test]
fn hls_js_plays_without_stalls_on_a_swarm_half_again_faster_than_the_film() {
    assert!(Path::new("/usr/bin/chromium").exists(), "/usr/bin/chromium is missing: run `scripts/setup.sh test`");
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    assert!(
        root.join("web/node_modules/hls.js/dist/hls.min.js").exists(),
        "web/node_modules is missing: run `make web`"
    );
    let tmp = tempfile::tempdir().unwrap();
    let seed_dir = tmp.path().join("seed");
    std::fs::create_dir_all(&seed_dir).unwrap();
    let film = seed_dir.join("shaped-film.mp4");
    media::h264_aac_mp4(&film, FILM_SECS, FILM_KBPS);
    let size = std::fs::metadata(&film).unwrap().len();
    // The film's byte rate, and a seeder half again as fast (transmission counts KiB/s).
    let film_rate = size as f64 / FILM_SECS as f64;
    let limit_kib = (film_rate * 1.5 / 1024.0).round() as u32;
    eprintln!("film: {size} bytes, {:.0} KB/s; seeder limited to {limit_kib} KiB/s", film_rate / 1000.0);
    let torrent = make_torrent(&film, &tmp.path().join("film.torrent"), &[]);
    let hash = info_hash(&torrent);
    let seeder = Seeder::start(&torrent, &film, limit_kib);
    let daemon = Daemon::start();

    daemon.add(&seeder.magnet(&hash));
    let cookie = login(&daemon);
    let seek_to = FILM_SECS as f64 * 0.7;
    let mut node = Command::new("node")
        .arg(root.join("tests/it/e2e/playback_shaped.mjs"))
        .env("SWARMCAST_URL", daemon.url(""))
        .env("SESSION_COOKIE", &cookie)
        .env("INFO_HASH", &hash)
        .env("PLAY_BEFORE", "30")
        .env("SEEK_TO", seek_to.to_string())
        .env("PLAY_AFTER", "30")
        .stdout(Stdio::piped())
        .spawn()
        .expect("run node (Node.js 20+)");
    let start = Instant::now();
    // What the status says while the player waits for its first segment.
    let mut waits = Vec::new();
    let status = loop {
        if let Some(status) = node.try_wait().unwrap() {
            break status;
        }
        let (code, st) = daemon.get(&format!("/api/stream/{hash}/status"));
        if code == 200 && st["segments_ready"].as_u64().unwrap_or(0) == 0 && !st["waiting"].is_null() {
            waits.push(st["waiting"].clone());
        }
        if start.elapsed() > Duration::from_secs(300) {
            let _ = node.kill();
            let _ = node.wait();
            panic!("the browser run took more than 300 s");
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let out = std::io::read_to_string(node.stdout.take().unwrap()).unwrap_or_default();
    eprintln!("{out}");
    if !status.success() {
        let log = daemon.log_text();
        eprintln!("--- daemon log (last lines) ---");
        for line in log.lines().rev().take(60).collect::<Vec<_>>().into_iter().rev() {
            eprintln!("{line}");
        }
    }
    assert!(status.success(), "playback stalled or failed ({status}); see the output above");
    assert!(out.contains("RESULT "), "the browser run printed no result");
    eprintln!("waiting, as the status said it: {waits:?}");
    // The index and the first segment's bytes, with the swarm's figures; and the player
    // said so in words.
    let data = waits
        .iter()
        .find(|w| {
            (w["what"] == "index" || w["what"] == "data")
                && w["bytes_needed"].as_u64() > Some(100_000)
                && w["rate"].as_u64() > Some(0)
        })
        .unwrap_or_else(|| panic!("the status never said what the player waits for: {waits:?}"));
    let (needed, have) = (data["bytes_needed"].as_u64().unwrap(), data["bytes_have"].as_u64().unwrap());
    assert!(have <= needed && data["eta_s"].as_f64().is_some(), "{data}");
    assert_eq!(data["peers"].as_u64(), Some(1), "one seeder: {data}");
    assert!(out.contains("state:Fetching "), "the player never said what it waits for");
}

/// Signs in as the admin; returns the session cookie as `name=value`.
fn login(daemon: &Daemon) -> String {
    let r = crate::fixture::http()
        .post(daemon.url("/auth/login"))
        .json(&serde_json::json!({"username": "admin", "password": "correct horse battery"}))
        .send()
        .unwrap();
    assert!(r.status().is_success(), "login: {}", r.status());
    r.headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_string())
        .find(|c| c.starts_with("session="))
        .expect("login sets a session cookie")
}
