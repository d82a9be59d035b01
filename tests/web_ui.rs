//! End-to-end test of the web UI in a real browser: a real transmission-daemon seeds a
//! film made by ffmpeg on loopback, the built `swarmcast` daemon runs on a free port,
//! and `tests/e2e/ui.spec.mjs` drives Debian's Chromium through playwright-core.
//!
//! Screenshots land in `target/ui-artifacts/`. Needs `scripts/setup.sh test`
//! (chromium, ffmpeg, transmission-daemon, transmission-cli) and the npm packages of
//! `web/` (installed by the build).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A child process killed when the test ends, however it ends.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Polls `check` every 250 ms until it returns true, at most `limit`.
fn wait_until(what: &str, limit: Duration, mut check: impl FnMut() -> bool) {
    let start = Instant::now();
    while start.elapsed() < limit {
        if check() {
            return;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    panic!("timed out after {limit:?} waiting for {what}");
}

/// Makes a 60 s H.264/AAC MP4 with ffmpeg's test sources.
fn make_film(path: &Path) {
    run(Command::new("ffmpeg").args(["-nostdin", "-loglevel", "error", "-y"]).args([
        "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25",
        "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100",
        "-t", "60", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
        "-g", "50", "-b:v", "600k", "-c:a", "aac", "-b:a", "64k", "-movflags", "+faststart",
    ]).arg(path));
}

/// A transmission-daemon on loopback seeding `file`, DHT/LPD/PEX off, upload capped so
/// the download takes long enough to watch progress rise. Returns (guard, peer port).
fn seed(dir: &Path, file: &Path, torrent: &Path) -> (Guard, u16) {
    let config = dir.join("transmission");
    std::fs::create_dir_all(&config).unwrap();
    let (peer_port, rpc_port) = (free_port(), free_port());
    let settings = serde_json::json!({
        "dht-enabled": false, "lpd-enabled": false, "pex-enabled": false, "utp-enabled": false,
        "peer-port": peer_port, "peer-port-random-on-start": false, "port-forwarding-enabled": false,
        "bind-address-ipv4": "127.0.0.1", "bind-address-ipv6": "::1",
        "rpc-enabled": true, "rpc-bind-address": "127.0.0.1", "rpc-port": rpc_port,
        "rpc-authentication-required": false, "rpc-whitelist-enabled": true, "rpc-whitelist": "127.0.0.1",
        "rpc-host-whitelist-enabled": false,
        "download-dir": file.parent().unwrap(), "incomplete-dir-enabled": false, "watch-dir-enabled": false,
        "speed-limit-up": 600, "speed-limit-up-enabled": true, "encryption": 0,
        "ratio-limit-enabled": false, "idle-seeding-limit-enabled": false, "start-added-torrents": true,
        "message-level": 1,
    });
    std::fs::write(config.join("settings.json"), settings.to_string()).unwrap();
    let child = Command::new("transmission-daemon")
        .arg("-f")
        .arg("-g")
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("transmission-daemon (scripts/setup.sh test installs it)");
    let guard = Guard(child);
    let rpc = format!("127.0.0.1:{rpc_port}");
    wait_until("transmission's RPC", Duration::from_secs(20), || {
        Command::new("transmission-remote").args([&rpc, "-l"]).output().is_ok_and(|o| o.status.success())
    });
    run(Command::new("transmission-remote").arg(&rpc).arg("-a").arg(torrent).arg("-w").arg(file.parent().unwrap()));
    wait_until("transmission to verify and seed the film", Duration::from_secs(60), || {
        let out = Command::new("transmission-remote").args([&rpc, "-t", "all", "-i"]).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        // Transmission says "Idle" for a complete torrent that no peer is fetching yet.
        text.contains("Percent Done: 100%") && (text.contains("State: Seeding") || text.contains("State: Idle"))
    });
    (guard, peer_port)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_ui_in_chromium() {
    assert!(
        Path::new("/usr/bin/chromium").exists(),
        "/usr/bin/chromium is missing: run `scripts/setup.sh test`"
    );
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let tmp = tempfile::tempdir().unwrap();
    let seed_dir = tmp.path().join("seed");
    std::fs::create_dir_all(&seed_dir).unwrap();
    let film = seed_dir.join("swarmcast-e2e-film.mp4");
    make_film(&film);
    let torrent = tmp.path().join("film.torrent");
    run(Command::new("transmission-create").arg("-o").arg(&torrent).arg(&film));
    let magnet = run(Command::new("transmission-show").arg("-m").arg(&torrent)).trim().to_string();
    assert!(magnet.starts_with("magnet:?xt=urn:btih:"), "unexpected magnet {magnet:?}");
    let (_seeder, peer_port) = seed(tmp.path(), &film, &torrent);
    let magnet = format!("{magnet}&x.pe=127.0.0.1:{peer_port}");

    let port = free_port();
    let download_dir = tmp.path().join("downloads");
    let daemon = Command::new(env!("CARGO_BIN_EXE_swarmcast"))
        .arg("serve")
        .env("SWARMCAST_SERVER_LISTEN", "127.0.0.1")
        .env("SWARMCAST_SERVER_PORT", port.to_string())
        .env("SWARMCAST_STORAGE_STATE_DIR", tmp.path().join("state"))
        .env("SWARMCAST_STORAGE_DOWNLOAD_DIR", &download_dir)
        .env("SWARMCAST_STORAGE_CACHE_DIR", tmp.path().join("cache"))
        .env("SWARMCAST_ENGINE_DHT", "false")
        .env("SWARMCAST_ENGINE_LSD", "false")
        .env("SWARMCAST_ENGINE_LISTEN_PORT", "0")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .expect("start swarmcast");
    let _daemon = Guard(daemon);
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let start = Instant::now();
    loop {
        if client.get(format!("{base}/api/health")).send().await.is_ok_and(|r| r.status().is_success()) {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "swarmcast did not answer /api/health");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let artifacts = root.join("target/ui-artifacts");
    std::fs::create_dir_all(&artifacts).unwrap();
    let mut node = tokio::process::Command::new("node");
    node.arg(root.join("tests/e2e/ui.spec.mjs"))
        .env("SWARMCAST_URL", &base)
        .env("E2E_MAGNET", &magnet)
        .env("E2E_DOWNLOAD_DIR", &download_dir)
        .env("E2E_ARTIFACTS", &artifacts)
        .kill_on_drop(true);
    let status = tokio::time::timeout(Duration::from_secs(300), node.status())
        .await
        .expect("the browser test took more than 300 s")
        .expect("run node (Node.js 20.19+)");
    assert!(status.success(), "the browser test failed ({status}); see its output above");
}
