//! The download-client surfaces, driven by real clients: Debian's
//! `transmission-remote` over the Transmission RPC, and the `qbittorrent-api` Python
//! package over the qBittorrent Web API, each fetching a magnet from a real seeder and
//! checking that the path a Sonarr would import from is on disk when done.

mod credentials;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::Value;

use crate::fixture::daemon::Daemon;
use crate::fixture::seeder::{Seeder, info_hash, make_torrent};
use crate::fixture::{noise, wait_until};

const ADMIN: &str = "admin:correct horse battery";

/// A folder of two files seeded by a real transmission-daemon (throttled, so the
/// download is seen in progress); the folder, its .torrent and the seeder.
fn seeded_folder(name: &str, up_kbps: u32) -> (tempfile::TempDir, PathBuf, String, Seeder) {
    let src = tempfile::tempdir().unwrap();
    let folder = src.path().join(name);
    std::fs::create_dir_all(folder.join("Extras")).unwrap();
    std::fs::write(folder.join(format!("{name}.mkv")), noise(3_000_000, 7)).unwrap();
    std::fs::write(folder.join("Extras/sample.mkv"), noise(200_000, 8)).unwrap();
    let torrent = make_torrent(&folder, &src.path().join("t.torrent"), &[]);
    let hash = info_hash(&torrent);
    let seeder = Seeder::start(&torrent, &folder, up_kbps);
    (src, folder, hash, seeder)
}

/// `transmission-remote` against the daemon; (success, stdout + stderr).
fn remote(d: &Daemon, auth: Option<&str>, args: &[&str]) -> (bool, String) {
    let mut cmd = Command::new("transmission-remote");
    cmd.arg(format!("127.0.0.1:{}/transmission/rpc", d.port));
    if let Some(a) = auth {
        cmd.args(["-n", a]);
    }
    let out = cmd.args(args).output().expect("transmission-remote (apt install transmission-cli)");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success() && !text.contains("Error"), text)
}

/// A `Key: value` line of `transmission-remote -i`.
fn info_line<'a>(info: &'a str, key: &str) -> Option<&'a str> {
    info.lines().map(str::trim).find_map(|l| l.strip_prefix(key)).map(str::trim)
}

#[test]
fn transmission_remote_drives_the_daemon() {
    let (_src, folder, hash, seeder) = seeded_folder("Show.S01E01", 600);
    let d = Daemon::start();
    let magnet = format!("magnet:?xt=urn:btih:{hash}&x.pe=127.0.0.1:{}", seeder.peer_port);

    // No credentials: 401 (with a Basic challenge); a wrong password: refused.
    let (ok, out) = remote(&d, None, &["-l"]);
    assert!(!ok && (out.contains("401") || out.contains("UNAUTHORIZED")), "without credentials: {out}");
    let (ok, out) = remote(&d, Some("admin:wrong-password"), &["-l"]);
    assert!(!ok, "a wrong password was taken: {out}");

    // Add into a folder of the download dir, as a Sonarr with a download dir would.
    let tv = d.download_dir().join("tv");
    let (ok, out) = remote(&d, Some(ADMIN), &["-a", &magnet, "-w", tv.to_str().unwrap()]);
    assert!(ok && out.contains("success"), "torrent-add: {out}");
    let (ok, out) = remote(&d, Some(ADMIN), &["-l"]);
    assert!(ok && out.contains("Sum:") && out.lines().count() >= 3, "list: {out}");

    // Watch it finish (an API key as the password works too).
    let key_auth = format!("sonarr:{}", d.api_key);
    let info = wait_until("transmission-remote to show 100%", Duration::from_secs(120), || {
        let (ok, info) = remote(&d, Some(&key_auth), &["-t", &hash, "-i"]);
        let seeding = info.contains("State: Seeding") || info.contains("State: Idle");
        (ok && info.contains("Percent Done: 100%") && seeding).then_some(info)
    });

    // Sonarr's import path for Transmission: downloadDir + name.
    let location = info_line(&info, "Location:").expect("Location line");
    let name = info_line(&info, "Name:").expect("Name line");
    assert_eq!(name, "Show.S01E01");
    let import = Path::new(location).join(name);
    assert!(import.is_dir(), "import path {} is not on disk:\n{info}", import.display());
    assert_eq!(
        std::fs::read(import.join("Show.S01E01.mkv")).unwrap(),
        std::fs::read(folder.join("Show.S01E01.mkv")).unwrap()
    );
    assert_eq!(import.canonicalize().unwrap(), tv.join("Show.S01E01").canonicalize().unwrap());

    // A label is the torrent's category in /api/torrents.
    let (ok, out) = remote(&d, Some(ADMIN), &["-t", &hash, "-L", "tv-sonarr"]);
    assert!(ok, "labels: {out}");
    let (s, list) = d.get("/api/torrents?category=tv-sonarr");
    assert_eq!(s, 200);
    let ids: Vec<&str> = list.as_array().unwrap().iter().filter_map(|t| t["id"].as_str()).collect();
    assert_eq!(ids, [hash.as_str()]);
    assert_eq!(list[0]["category"], "tv-sonarr");
    assert!(d.get("/api/torrents?category=other").1.as_array().unwrap().is_empty());

    // Stop and start.
    let (ok, out) = remote(&d, Some(ADMIN), &["-t", &hash, "-S"]);
    assert!(ok, "stop: {out}");
    assert_eq!(d.torrent(&hash)["status"], "paused");
    let (_, info) = remote(&d, Some(ADMIN), &["-t", &hash, "-i"]);
    assert!(info.contains("State: Finished") || info.contains("State: Stopped"), "after stop:\n{info}");
    let (ok, out) = remote(&d, Some(ADMIN), &["-t", &hash, "-s"]);
    assert!(ok, "start: {out}");
    d.wait_status(&hash, &["seeding"], Duration::from_secs(60));

    // Seeding limits become the torrent's own rules.
    let (ok, out) = remote(&d, Some(ADMIN), &["-t", &hash, "-sr", "1.5"]);
    assert!(ok, "seed ratio: {out}");
    let (_, settings) = d.get(&format!("/api/torrents/{hash}/settings"));
    assert_eq!(settings["ratio_limit"], 1.5, "{settings}");

    // Remove with data.
    let (ok, out) = remote(&d, Some(ADMIN), &["-t", &hash, "--remove-and-delete"]);
    assert!(ok, "remove: {out}");
    assert_eq!(d.get(&format!("/api/torrents/{hash}")).0, 404);
    wait_until("the data to be deleted", Duration::from_secs(20), || (!import.exists()).then_some(()));
    let (_, activity) = d.get(&format!("/api/activity?torrent={hash}"));
    let events: Vec<&str> = activity.as_array().unwrap().iter().filter_map(|e| e["event"].as_str()).collect();
    for e in ["added", "completed", "stopped", "started", "removed"] {
        assert!(events.contains(&e), "activity log lacks {e}: {events:?}");
    }
}

/// The qbittorrent-api package's venv (`scripts/setup.sh test` makes it).
fn qbit_python() -> PathBuf {
    let py = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv-test/bin/python");
    assert!(py.exists(), "{} is missing: run scripts/setup.sh test", py.display());
    py
}

#[test]
fn qbittorrent_api_client_drives_the_daemon() {
    let (_src, _folder, hash, seeder) = seeded_folder("Film.2024.1080p", 400);
    let d = Daemon::start();
    let magnet = format!("magnet:?xt=urn:btih:{hash}&x.pe=127.0.0.1:{}", seeder.peer_port);
    let save = d.download_dir().join("films-here");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/compat/qbit_client.py");
    let mut child = Command::new(qbit_python())
        .arg(&script)
        .args([&d.url(""), "admin", "correct horse battery", &magnet, &hash, save.to_str().unwrap(), &d.api_key])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Bounded: the script's own waits add up to under 5 minutes.
    wait_until("the qbittorrent-api script", Duration::from_secs(300), || child.try_wait().unwrap().map(|_| ()));
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "qbittorrent-api script failed:\n{stdout}\n{stderr}\n{}", d.log_text());
    let steps: Vec<Value> = stdout.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    let names: Vec<&str> = steps.iter().filter_map(|s| s["step"].as_str()).collect();
    assert_eq!(names, ["login", "category", "downloading", "done", "maindata", "pause-resume", "deleted"]);
    let done = steps.iter().find(|s| s["step"] == "done").unwrap();
    assert_eq!(Path::new(done["content_path"].as_str().unwrap()), save.canonicalize().unwrap().join("Film.2024.1080p"));
    assert!(!save.join("Film.2024.1080p").exists(), "deleted with its files");
    assert_eq!(d.get(&format!("/api/torrents/{hash}")).0, 404);
}
