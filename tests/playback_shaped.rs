//! Playback on a swarm with the speed of a real one: a transmission-daemon seeder
//! limited to 1.5× the film's byte rate, the real daemon, and hls.js in Debian's
//! Chromium (`tests/e2e/playback_shaped.mjs`). After the first `playing`: 30 s of play,
//! a seek to 70 % (not downloaded yet), 30 s of play, and not one stall.
//!
//! Needs `scripts/setup.sh test` (chromium, transmission-daemon, ffmpeg) and the npm
//! packages of `web/` (`make web`).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Daemon, Seeder, info_hash, make_torrent, media};

/// Seconds of film, and its video bitrate (kbit/s).
const FILM_SECS: u32 = 120;
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

    let (status, body) = daemon.post("/api/stream", serde_json::json!({ "magnet": seeder.magnet(&hash) }));
    assert_eq!(status, 200, "POST /api/stream: {body}");
    assert_eq!(body["mode"], "passthrough", "{body}");
    let hls_url = daemon.url(body["hlsUrl"].as_str().unwrap());
    let seek_to = (FILM_SECS as f64 * 0.7).round();
    let mut node = Command::new("node")
        .arg(root.join("tests/e2e/playback_shaped.mjs"))
        .env("SWARMCAST_URL", daemon.url(""))
        .env("HLS_URL", &hls_url)
        .env("PLAY_BEFORE", "30")
        .env("SEEK_TO", seek_to.to_string())
        .env("PLAY_AFTER", "30")
        .stdout(Stdio::piped())
        .spawn()
        .expect("run node (Node.js 20+)");
    let start = Instant::now();
    let status = loop {
        if let Some(status) = node.try_wait().unwrap() {
            break status;
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
}
