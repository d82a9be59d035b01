//! The integration-test harness: media generated on the spot, a real seeder
//! (Debian's transmission-daemon) on loopback, and the real `swarmcast` binary
//! started on free ports with its own temporary state and download dirs.
//!
//! Every wait here is bounded: `wait_until` takes a deadline and panics with what it
//! was waiting for.

#![allow(dead_code)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use sha2::{Digest, Sha256};

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Polls `f` every 200 ms until it returns `Some`, or panics after `timeout`.
pub fn wait_until<T>(what: &str, timeout: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        if start.elapsed() > timeout {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

pub fn sha256_file(path: &Path) -> String {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    hex::encode(Sha256::digest(&bytes))
}

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Test media, made with ffmpeg's test sources.
pub mod media {
    use super::*;

    /// An H.264/AAC MP4 of `secs` seconds at about `kbps` video bitrate, with the
    /// index (`moov`) at the front.
    pub fn h264_aac_mp4(path: &Path, secs: u32, kbps: u32) {
        run(Command::new("ffmpeg").args(["-v", "error", "-y", "-f", "lavfi", "-i"]).arg(format!(
            "testsrc2=size=640x360:rate=25:duration={secs}"
        ))
        .args(["-f", "lavfi", "-i"])
        .arg(format!("sine=frequency=440:sample_rate=48000:duration={secs}"))
        .args(["-c:v", "libx264", "-preset", "ultrafast", "-g", "50", "-pix_fmt", "yuv420p"])
        .args(["-b:v", &format!("{kbps}k"), "-maxrate", &format!("{kbps}k"), "-bufsize", &format!("{}k", kbps * 2)])
        .args(["-c:a", "aac", "-b:a", "96k", "-movflags", "+faststart", "-shortest"])
        .arg(path));
    }

    /// The same as `h264_aac_mp4` in a Matroska container.
    pub fn h264_aac_mkv(path: &Path, secs: u32, kbps: u32) {
        let mp4 = path.with_extension("tmp.mp4");
        h264_aac_mp4(&mp4, secs, kbps);
        run(Command::new("ffmpeg").args(["-v", "error", "-y", "-i"]).arg(&mp4).args(["-c", "copy"]).arg(path));
        std::fs::remove_file(mp4).unwrap();
    }

    /// A film folder like the ones found in the wild: the film, a sample, an .nfo
    /// (made larger than the film, so size alone would pick wrong) and subtitles.
    pub fn film_folder(dir: &Path) -> PathBuf {
        let root = dir.join("Movie.2024.1080p");
        std::fs::create_dir_all(&root).unwrap();
        h264_aac_mkv(&root.join("Movie.2024.1080p.mkv"), 30, 600);
        h264_aac_mkv(&root.join("sample.mkv"), 5, 600);
        std::fs::write(root.join("Movie.2024.1080p.srt"), "1\n00:00:01,000 --> 00:00:03,000\nHello\n").unwrap();
        let nfo: String = "release notes\n".repeat(300_000);
        std::fs::write(root.join("movie.nfo"), nfo).unwrap();
        root
    }
}

/// Makes a .torrent of `path` with transmission-create; returns its path.
pub fn make_torrent(path: &Path, out: &Path, trackers: &[&str]) -> PathBuf {
    let mut cmd = Command::new("transmission-create");
    cmd.arg("-o").arg(out).args(["-s", "64"]);
    for t in trackers {
        cmd.args(["-t", t]);
    }
    run(cmd.arg(path).stdout(Stdio::null()));
    out.to_path_buf()
}

/// The v1 info-hash of a .torrent file.
pub fn info_hash(torrent: &Path) -> String {
    let bytes = std::fs::read(torrent).unwrap();
    librqbit::torrent_from_bytes(&bytes).unwrap().info_hash.as_string()
}

/// A transmission-daemon seeding on loopback, killed on drop.
pub struct Seeder {
    child: Child,
    pub dir: tempfile::TempDir,
    pub rpc_port: u16,
    pub peer_port: u16,
}

impl Seeder {
    /// Starts a seeder for `data` (a file or folder) described by `torrent`,
    /// uploading at most `up_kbps` KiB/s (0 = unlimited), and waits until it seeds.
    pub fn start(torrent: &Path, data: &Path, up_kbps: u32) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let (rpc_port, peer_port) = (free_port(), free_port());
        let settings = serde_json::json!({
            "dht-enabled": false, "lpd-enabled": false, "pex-enabled": false,
            "utp-enabled": false, "port-forwarding-enabled": false,
            "peer-port": peer_port, "peer-port-random-on-start": false,
            "rpc-port": rpc_port, "rpc-authentication-required": false,
            "rpc-whitelist-enabled": false, "rpc-host-whitelist-enabled": false,
            "bind-address-ipv4": "127.0.0.1",
            "speed-limit-up": up_kbps, "speed-limit-up-enabled": up_kbps > 0,
            "ratio-limit-enabled": false, "idle-seeding-limit-enabled": false,
            "download-dir": data.parent().unwrap(),
            "message-level": 1,
        });
        std::fs::write(dir.path().join("settings.json"), settings.to_string()).unwrap();
        let child = Self::spawn(dir.path(), rpc_port, peer_port);
        let s = Self { child, dir, rpc_port, peer_port };
        wait_until("transmission RPC", Duration::from_secs(20), || {
            s.remote(&["-l"]).ok().map(|_| ())
        });
        s.add(torrent, data);
        s
    }

    fn spawn(dir: &Path, rpc_port: u16, peer_port: u16) -> Child {
        Command::new("transmission-daemon")
            .args(["-f", "-g"])
            .arg(dir)
            .args(["-T", "-O", "-Y", "-M", "--no-utp"])
            .args(["-p", &rpc_port.to_string(), "-P", &peer_port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("transmission-daemon (apt install transmission-daemon)")
    }

    /// `kill -9`s the seeder: its peers see the connection drop, its port closes.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts the killed seeder again on the same ports, seeding `torrent` from `data`
    /// (re-verified: a `kill -9` may have lost its resume state), and waits until it
    /// seeds.
    pub fn revive(&mut self, torrent: &Path, data: &Path) {
        self.kill();
        self.child = Self::spawn(self.dir.path(), self.rpc_port, self.peer_port);
        wait_until("transmission RPC", Duration::from_secs(20), || self.remote(&["-l"]).ok().map(|_| ()));
        let hash = info_hash(torrent);
        let hash = hash.as_str();
        if self.remote(&["-t", hash, "-i"]).is_ok_and(|i| i.contains(hash)) {
            let _ = self.remote(&["-t", hash, "-v", "-s"]);
        } else {
            return self.add(torrent, data);
        }
        wait_until("transmission to seed again", Duration::from_secs(60), || {
            let info = self.remote(&["-t", hash, "-i"]).ok()?;
            let seeding = info.contains("State: Seeding") || info.contains("State: Idle");
            (info.contains("Percent Done: 100%") && seeding).then_some(())
        });
    }

    /// Seeds one more torrent whose data is at `data`; waits until it is verified.
    pub fn add(&self, torrent: &Path, data: &Path) {
        let hash = info_hash(torrent);
        let out = self
            .remote(&["-a", torrent.to_str().unwrap(), "-w", data.parent().unwrap().to_str().unwrap()])
            .expect("adding torrent to transmission");
        assert!(out.contains("success"), "transmission refused the torrent: {out}");
        wait_until("transmission to verify and seed", Duration::from_secs(60), || {
            let info = self.remote(&["-t", &hash, "-i"]).ok()?;
            let seeding = info.contains("State: Seeding") || info.contains("State: Idle");
            (info.contains("Percent Done: 100%") && seeding).then_some(())
        });
    }

    fn remote(&self, args: &[&str]) -> Result<String, String> {
        let out = Command::new("transmission-remote")
            .arg(format!("127.0.0.1:{}", self.rpc_port))
            .args(args)
            .output()
            .map_err(|e| e.to_string())?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }

    /// Bytes the seeder uploaded so far, as transmission reports them (rounded).
    pub fn uploaded_bytes(&self) -> u64 {
        let info = self.remote(&["-t", "all", "-i"]).unwrap_or_default();
        let line = info.lines().find(|l| l.trim_start().starts_with("Uploaded:")).unwrap_or("");
        parse_size(line.split(':').nth(1).unwrap_or("").trim())
    }

    /// Changes the upload limit (KiB/s; 0 = unlimited).
    pub fn set_upload_limit(&self, kbps: u32) {
        let r = if kbps == 0 { self.remote(&["-U"]) } else { self.remote(&["-u", &kbps.to_string()]) };
        r.expect("setting transmission's upload limit");
    }

    /// A magnet for `hash` pointing at this seeder with an `x.pe` hint.
    pub fn magnet(&self, hash: &str) -> String {
        format!("magnet:?xt=urn:btih:{hash}&x.pe=127.0.0.1:{}", self.peer_port)
    }
}

fn parse_size(s: &str) -> u64 {
    let mut it = s.split_whitespace();
    let n: f64 = it.next().and_then(|n| n.parse().ok()).unwrap_or(0.0);
    let mult = match it.next().unwrap_or("") {
        "kB" | "KB" => 1e3,
        "MB" => 1e6,
        "GB" => 1e9,
        _ => 1.0,
    };
    (n * mult) as u64
}

impl Drop for Seeder {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The real `swarmcast` daemon on free ports, with its own dirs; killed on drop.
pub struct Daemon {
    child: Option<Child>,
    /// An admin API key, made through first-run setup; every helper request sends it.
    pub api_key: String,
    pub dir: PathBuf,
    pub port: u16,
    pub extra_env: Vec<(String, String)>,
    _tmp: Option<tempfile::TempDir>,
    log: PathBuf,
}

impl Daemon {
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// Starts a daemon with extra environment (config keys as `SWARMCAST_*`).
    pub fn start_with(env: &[(&str, &str)]) -> Self {
        let mut d = Self::start_without_setup(env);
        d.api_key = d.first_run_setup();
        d
    }

    /// Starts a daemon that has no account yet (`api_key` empty), for tests of the
    /// first-run setup itself.
    pub fn start_without_setup(env: &[(&str, &str)]) -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_path_buf();
        let mut d = Daemon {
            child: None,
            api_key: String::new(),
            dir: dir.clone(),
            port: free_port(),
            extra_env: env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            _tmp: Some(tmp),
            log: dir.join("daemon.log"),
        };
        d.spawn();
        d
    }

    /// Creates the first admin and an API key for it, as a new owner would.
    fn first_run_setup(&self) -> String {
        let r = http()
            .post(self.url("/auth/setup"))
            .json(&serde_json::json!({"username": "admin", "password": "correct horse battery"}))
            .send()
            .unwrap();
        assert_eq!(r.status(), 201, "first-run setup failed");
        let cookie = r
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_string())
            .find(|c| c.starts_with("session="))
            .expect("setup sets a session cookie");
        let r = http()
            .post(self.url("/auth/api-keys"))
            .header("cookie", cookie)
            .json(&serde_json::json!({"name": "tests"}))
            .send()
            .unwrap();
        assert_eq!(r.status(), 201, "creating an API key failed");
        let v: Value = r.json().unwrap();
        v["api_key"].as_str().unwrap().to_string()
    }

    /// A client that authenticates as the admin.
    pub fn client(&self) -> reqwest::blocking::Client {
        let mut h = reqwest::header::HeaderMap::new();
        h.insert("x-api-key", self.api_key.parse().unwrap());
        reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(120))
            .default_headers(h)
            .build()
            .unwrap()
    }

    pub fn download_dir(&self) -> PathBuf {
        self.dir.join("downloads")
    }

    fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new().create(true).append(true).open(&self.log).unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_swarmcast"));
        cmd.arg("serve")
            .env_remove("RUST_LOG")
            .env("SWARMCAST_CONFIG", self.dir.join("none.toml"))
            .env("SWARMCAST_SERVER_LISTEN", "127.0.0.1")
            .env("SWARMCAST_SERVER_PORT", self.port.to_string())
            .env("SWARMCAST_STORAGE_STATE_DIR", self.dir.join("state"))
            .env("SWARMCAST_STORAGE_DOWNLOAD_DIR", self.download_dir())
            .env("SWARMCAST_STORAGE_CACHE_DIR", self.dir.join("cache"))
            .env("SWARMCAST_ENGINE_DHT", "false")
            .env("SWARMCAST_ENGINE_LSD", "false")
            .env("SWARMCAST_ENGINE_LISTEN_PORT", "0")
            .env("SWARMCAST_LOG_LEVEL", "info,librqbit=warn")
            // No multicast from tests unless a test asks (tests/dlna.rs, in its own netns).
            .env("SWARMCAST_DLNA_ENABLED", "false")
            .env("SWARMCAST_MDNS_ENABLED", "false")
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        std::fs::write(self.dir.join("none.toml"), "").unwrap();
        for (k, v) in &self.extra_env {
            cmd.env(k, v);
        }
        self.child = Some(cmd.spawn().expect("spawning swarmcast"));
        let url = self.url("/api/health");
        wait_until("swarmcast /api/health", Duration::from_secs(30), || {
            if let Some(Ok(Some(status))) = self.child.as_mut().map(|c| c.try_wait()) {
                panic!("swarmcast exited with {status}:\n{}", self.log_text());
            }
            http().get(&url).send().ok().filter(|r| r.status().is_success()).map(|_| ())
        });
    }

    /// The daemon's process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("the daemon runs").id()
    }

    /// `kill -9`, as a power cut would.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM, as systemd stops it; waits up to 30 s for the exit.
    pub fn terminate(&mut self) -> Option<std::process::ExitStatus> {
        let mut c = self.child.take()?;
        let pid = nix::unistd::Pid::from_raw(c.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(30) {
            if let Ok(Some(status)) = c.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = c.kill();
        c.wait().ok()
    }

    /// Starts the daemon again on the same dirs and port.
    pub fn restart(&mut self) {
        self.kill9();
        self.spawn();
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn get(&self, path: &str) -> (u16, Value) {
        let r = self.client().get(self.url(path)).send().unwrap();
        let status = r.status().as_u16();
        (status, r.json().unwrap_or(Value::Null))
    }

    pub fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let r = self.client().post(self.url(path)).json(&body).send().unwrap();
        let status = r.status().as_u16();
        (status, r.json().unwrap_or(Value::Null))
    }

    pub fn delete(&self, path: &str) -> (u16, Value) {
        let r = self.client().delete(self.url(path)).send().unwrap();
        let status = r.status().as_u16();
        (status, r.json().unwrap_or(Value::Null))
    }

    /// Adds a torrent by URI, asserting 201; returns the torrent object.
    pub fn add(&self, uri: &str) -> Value {
        let (status, body) = self.post("/api/torrents/", serde_json::json!({ "uri": uri }));
        assert_eq!(status, 201, "adding {uri}: {body}");
        body
    }

    pub fn torrent(&self, id: &str) -> Value {
        let (status, body) = self.get(&format!("/api/torrents/{id}"));
        assert_eq!(status, 200, "{body}");
        body
    }

    /// Waits until the torrent's status is one of `statuses`.
    pub fn wait_status(&self, id: &str, statuses: &[&str], timeout: Duration) -> Value {
        wait_until(&format!("torrent {id} to be {statuses:?}"), timeout, || {
            let t = self.torrent(id);
            if t["status"] == "error" && !statuses.contains(&"error") {
                panic!("torrent went to error: {t}\n{}", self.log_text());
            }
            statuses.contains(&t["status"].as_str().unwrap_or("")).then_some(t)
        })
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.kill9();
        if std::thread::panicking() {
            eprintln!("--- swarmcast log ---\n{}", self.log_text());
        }
    }
}

/// A blocking HTTP client with a generous timeout.
pub fn http() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder().timeout(Duration::from_secs(120)).build().unwrap()
}
