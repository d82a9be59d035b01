//! End-to-end test of the web UI in a real browser: a real transmission-daemon seeds a
//! film made by ffmpeg on loopback, the built `swarmcast` daemon runs on a free port,
//! and `tests/it/e2e/ui.spec.mjs` drives Debian's Chromium through playwright-core.
//!
//! Screenshots land in `target/ui-artifacts/`. Needs `scripts/setup.sh test`
//! (chromium and the seeder's packages) and the npm packages of `web/` (`make web`,
//! or the build itself).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::fixture::{Daemon, Seeder, info_hash, make_torrent, media};

#[test]
fn web_ui_in_chromium() {
    assert!(
        Path::new("/usr/bin/chromium").exists(),
        "/usr/bin/chromium is missing: run `scripts/setup.sh test`"
    );
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let tmp = tempfile::tempdir().unwrap();
    let seed_dir = tmp.path().join("seed");
    std::fs::create_dir_all(&seed_dir).unwrap();
    let film = seed_dir.join("swarmcast-e2e-film.mp4");
    media::h264_aac_mp4(&film, 60, 600);
    let torrent = make_torrent(&film, &tmp.path().join("film.torrent"), &[]);
    let hash = info_hash(&torrent);
    // About 600 KiB/s: the 5 MB download takes several seconds, long enough to watch.
    let seeder = Seeder::start(&torrent, &film, 600);
    let magnet = format!("{}&dn=swarmcast-e2e-film.mp4", seeder.magnet(&hash));
    // A second torrent, never seeded, uploaded as a .torrent file: its file list is
    // known at once, so the test can choose files.
    let folder = tmp.path().join("extras/swarmcast-e2e-extras");
    std::fs::create_dir_all(&folder).unwrap();
    for (name, len) in [
        ("a-film.mkv", 300_000),
        ("b-notes.txt", 20_000),
        ("c-subtitles.srt", 10_000),
    ] {
        std::fs::write(folder.join(name), vec![b'x'; len]).unwrap();
    }
    let extras = make_torrent(&folder, &tmp.path().join("extras.torrent"), &[]);
    // No account yet: the browser does the first-run setup.
    let daemon = Daemon::start_without_setup(&[]);

    let artifacts = root.join("target/ui-artifacts");
    std::fs::create_dir_all(&artifacts).unwrap();
    let mut node = Command::new("node")
        .arg(root.join("tests/it/e2e/ui.spec.mjs"))
        .env("SWARMCAST_URL", daemon.url(""))
        .env("E2E_MAGNET", &magnet)
        .env("E2E_TORRENT_FILE", &extras)
        .env("E2E_TORRENT_FILE_HASH", info_hash(&extras))
        .env("E2E_DOWNLOAD_DIR", daemon.download_dir())
        .env("E2E_ARTIFACTS", &artifacts)
        .env("E2E_DAEMON_PID", daemon.pid().to_string())
        .spawn()
        .expect("run node (Node.js 20+)");
    let start = Instant::now();
    let status = loop {
        if let Some(status) = node.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > Duration::from_secs(420) {
            let _ = node.kill();
            let _ = node.wait();
            panic!("the browser test took more than 420 s");
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    if !status.success() {
        let log = daemon.log_text();
        let tail: Vec<&str> = log.lines().rev().take(40).collect();
        eprintln!("--- daemon log (last lines) ---");
        for line in tail.iter().rev() {
            eprintln!("{line}");
        }
    }
    assert!(
        status.success(),
        "the browser test failed ({status}); see its output above"
    );
}
