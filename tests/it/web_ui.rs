//! End-to-end test of the web UI in a real browser: a real transmission-daemon seeds a
//! film made by ffmpeg on loopback, the built `swarmcast` daemon runs on a free port,
//! and `tests/it/e2e/ui.spec.mjs` drives Debian's Chromium through playwright-core.
//! `watching_in_chromium` walks resume, "Continue watching" and the next episode with
//! `tests/it/e2e/watching.spec.mjs`.
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
    assert!(Path::new("/usr/bin/chromium").exists(), "/usr/bin/chromium is missing: run `scripts/setup.sh test`");
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
    for (name, len) in [("a-film.mkv", 300_000), ("b-notes.txt", 20_000), ("c-subtitles.srt", 10_000)] {
        std::fs::write(folder.join(name), vec![b'x'; len]).unwrap();
    }
    let extras = make_torrent(&folder, &tmp.path().join("extras.torrent"), &[]);
    // No account yet: the browser does the first-run setup.
    let daemon = Daemon::start_without_setup(&[]);

    let artifacts = root.join("target/ui-artifacts");
    std::fs::create_dir_all(&artifacts).unwrap();
    let node = Command::new("node")
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
    finish(node, &daemon, Duration::from_secs(420));
}

/// Waits for the browser run (at most `limit`), prints the daemon's last lines when it
/// failed, and fails the test with it.
fn finish(mut node: std::process::Child, daemon: &Daemon, limit: Duration) {
    let start = Instant::now();
    let status = loop {
        if let Some(status) = node.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > limit {
            let _ = node.kill();
            let _ = node.wait();
            panic!("the browser test took more than {} s", limit.as_secs());
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
    assert!(status.success(), "the browser test failed ({status}); see its output above");
}

/// Watching in the browser (`tests/it/e2e/watching.spec.mjs`): a film played, the page
/// reloaded, "Resume at m:ss" offered and honoured, "Start over", the "Continue
/// watching" row, and a season pack that goes on to the next episode by itself after
/// the countdown, and once when the viewer clicks. Short generated clips, seeded by a
/// real transmission-daemon on loopback.
#[test]
fn watching_in_chromium() {
    assert!(Path::new("/usr/bin/chromium").exists(), "/usr/bin/chromium is missing: run `scripts/setup.sh test`");
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let tmp = tempfile::tempdir().unwrap();
    let film_dir = tmp.path().join("film");
    std::fs::create_dir_all(&film_dir).unwrap();
    let film = film_dir.join("swarmcast-watch-film.mp4");
    media::h264_aac_mp4(&film, 40, 300);
    let film_torrent = make_torrent(&film, &tmp.path().join("film.torrent"), &[]);
    let pack = tmp.path().join("pack/Walk.Show.S01");
    std::fs::create_dir_all(&pack).unwrap();
    for (ep, secs) in [(1, 20), (2, 20), (3, 12)] {
        media::h264_aac_mp4(&pack.join(format!("Walk.Show.S01E0{ep}.mp4")), secs, 300);
    }
    let pack_torrent = make_torrent(&pack, &tmp.path().join("pack.torrent"), &[]);
    let seeder = Seeder::start(&film_torrent, &film, 0);
    seeder.add(&pack_torrent, &pack);
    let daemon = Daemon::start_with(&[("SWARMCAST_MEDIA_X264_PRESET", "ultrafast")]);
    let (film_hash, pack_hash) = (info_hash(&film_torrent), info_hash(&pack_torrent));
    for hash in [&film_hash, &pack_hash] {
        daemon.add(&seeder.magnet(hash));
    }
    for hash in [&film_hash, &pack_hash] {
        daemon.wait_status(hash, &["seeding", "completed"], Duration::from_secs(120));
    }

    let artifacts = root.join("target/ui-artifacts");
    std::fs::create_dir_all(&artifacts).unwrap();
    let node = Command::new("node")
        .arg(root.join("tests/it/e2e/watching.spec.mjs"))
        .env("SWARMCAST_URL", daemon.url(""))
        .env("E2E_FILM", &film_hash)
        .env("E2E_PACK", &pack_hash)
        .env("E2E_ARTIFACTS", &artifacts)
        .spawn()
        .expect("run node (Node.js 20+)");
    finish(node, &daemon, Duration::from_secs(300));
    drop(seeder);
}
