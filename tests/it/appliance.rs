//! The appliance files checked with the real tools: systemd-analyze (verify, security),
//! udevadm (rule syntax), the .deb metadata and maintainer scripts, and the daemon
//! speaking the systemd notify and journal protocols over real unix sockets.

use std::io::{Read, Write};
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::fixture::{free_port, is_root};

const BIN: &str = env!("CARGO_BIN_EXE_swarmcast");

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn run(cmd: &mut Command) -> (bool, String) {
    let out = cmd.output().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

/// The unit files, with ExecStart pointing at the binary cargo just built (the
/// packaged path /usr/bin/swarmcast does not exist on a build machine).
fn staged_units() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for name in ["swarmcast.service", "srv-swarmcast-downloads.mount", "swarmcast-download-disk.service"] {
        let text = std::fs::read_to_string(repo().join("systemd").join(name)).unwrap();
        std::fs::write(dir.path().join(name), text.replace("/usr/bin/swarmcast", BIN)).unwrap();
    }
    dir
}

#[test]
fn unit_files_pass_systemd_analyze_verify() {
    let dir = staged_units();
    for name in ["swarmcast.service", "srv-swarmcast-downloads.mount", "swarmcast-download-disk.service"] {
        let (ok, out) = run(Command::new("systemd-analyze").args(["verify", "--man=no"]).arg(dir.path().join(name)));
        // Units it merely references (dev-swarmcast-download\x2ddisk.device) are fine.
        let problems: Vec<&str> =
            out.lines().filter(|l| !l.contains("Unit dev-swarmcast-download") && !l.trim().is_empty()).collect();
        assert!(ok && problems.is_empty(), "systemd-analyze verify {name}:\n{out}");
    }
}

#[test]
fn service_security_exposure_is_at_most_2() {
    let dir = staged_units();
    let (_, out) = run(Command::new("systemd-analyze")
        .args(["security", "--offline=yes", "--no-pager"])
        .arg(dir.path().join("swarmcast.service")));
    let line = out.lines().find(|l| l.contains("Overall exposure level")).unwrap_or_else(|| panic!("{out}"));
    let score: f64 = line
        .split(':')
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("cannot read the score from {line:?}"));
    eprintln!("systemd-analyze security swarmcast.service: {score}");
    assert!(score <= 2.0, "exposure {score} > 2.0:\n{out}");
    // The settings the issue names are really there.
    let unit = std::fs::read_to_string(repo().join("systemd/swarmcast.service")).unwrap();
    for want in [
        "Type=notify",
        "WatchdogSec=",
        "User=swarmcast",
        "SupplementaryGroups=video render",
        "StateDirectory=swarmcast",
        "CacheDirectory=swarmcast",
        "ProtectSystem=strict",
        "ReadWritePaths=/srv/swarmcast/downloads",
        "DevicePolicy=closed",
        "DeviceAllow=char-drm rw",
        "DeviceAllow=char-video4linux rw",
        "TimeoutStopSec=",
    ] {
        assert!(unit.lines().any(|l| l.starts_with(want)), "swarmcast.service lacks {want}");
    }
}

#[test]
fn udev_rules_parse_and_the_boot_disk_is_recognised() {
    if !is_root() {
        eprintln!("SKIPPED: udevadm test reads rules from /run/udev/rules.d, which needs root");
        return;
    }
    std::fs::create_dir_all("/run/udev/rules.d").unwrap();
    let staged = format!("/run/udev/rules.d/70-swarmcast-test-{}.rules", std::process::id());
    std::fs::copy(repo().join("udev/70-swarmcast.rules"), &staged).unwrap();
    // Any block device will do: the rules are all parsed before the event runs.
    let dev = std::fs::read_dir("/sys/class/block").unwrap().next().unwrap().unwrap().path();
    let (_, out) = run(Command::new("udevadm").args(["test", "--action=add"]).arg(&dev));
    let _ = std::fs::remove_file(&staged);
    assert!(out.contains(&format!("Reading rules file: {staged}")), "udevadm did not read the rules:\n{out}");
    let errors: Vec<&str> = out.lines().filter(|l| l.starts_with(&format!("{staged}:"))).collect();
    assert!(errors.is_empty(), "udev rule errors: {errors:#?}");

    // boot-disk: the disk holding / is "boot"; a device that does not exist is not.
    let root_src = run(Command::new("findmnt").args(["-n", "-o", "SOURCE", "/"])).1;
    let root_src = root_src.trim();
    if let Some(name) = root_src.strip_prefix("/dev/").filter(|n| Path::new("/sys/class/block").join(n).exists()) {
        let (_, out) = run(Command::new(repo().join("udev/boot-disk")).arg(name));
        assert_eq!(out.trim(), "boot", "boot-disk {name}");
    } else {
        eprintln!("/ is on {root_src}, not a block device: only the negative case is checked");
    }
    let (_, out) = run(Command::new(repo().join("udev/boot-disk")).arg("sdzz9"));
    assert_eq!(out.trim(), "other");
}

#[test]
fn deb_metadata_names_existing_files_and_valid_scripts() {
    let manifest: toml::Value = toml::from_str(&std::fs::read_to_string(repo().join("Cargo.toml")).unwrap()).unwrap();
    let deb = &manifest["package"]["metadata"]["deb"];
    let assets = deb["assets"].as_array().expect("assets");
    let mut dests = Vec::new();
    for a in assets {
        let a = a.as_array().unwrap();
        let (src, dest) = (a[0].as_str().unwrap(), a[1].as_str().unwrap());
        dests.push(dest.to_string());
        if !src.starts_with("target/") {
            assert!(repo().join(src).is_file(), "deb asset {src} does not exist");
        }
    }
    for want in [
        "usr/bin/",
        "etc/swarmcast/config.toml",
        "usr/lib/systemd/system/",
        "usr/lib/sysusers.d/",
        "usr/lib/tmpfiles.d/",
        "usr/lib/udev/rules.d/",
    ] {
        assert!(dests.iter().any(|d| d == want), "no deb asset goes to {want}");
    }
    let depends = deb["depends"].as_str().unwrap();
    for want in ["gstreamer1.0-plugins-good", "gstreamer1.0-plugins-bad", "gstreamer1.0-plugins-ugly", "systemd"] {
        assert!(depends.contains(want), "depends lacks {want}");
    }
    for script in ["postinst", "prerm", "postrm"] {
        let path = repo().join("debian").join(script);
        let (ok, out) = run(Command::new("sh").arg("-n").arg(&path));
        assert!(ok, "{script}: {out}");
    }
    let postinst = std::fs::read_to_string(repo().join("debian/postinst")).unwrap();
    assert!(postinst.contains("systemd-sysusers") && postinst.contains("deb-systemd-helper enable swarmcast.service"));
}

#[test]
fn appliance_config_is_the_example_with_appliance_paths() {
    let example = std::fs::read_to_string(repo().join("config.example.toml")).unwrap();
    let appliance = std::fs::read_to_string(repo().join("debian/config.toml")).unwrap();
    let body = |s: &str| -> Vec<String> {
        s.lines()
            .filter(|l| {
                !l.starts_with("# swarmcast configuration")
                    && !l.starts_with("# Every key shows")
                    && !l.starts_with("# ones swarmcast.service")
            })
            .filter(|l| !l.starts_with("state_dir") && !l.starts_with("download_dir") && !l.starts_with("cache_dir"))
            .map(str::to_string)
            .collect()
    };
    assert_eq!(body(&example), body(&appliance), "debian/config.toml drifted from config.example.toml");
    let c = swarmcast::config::Config::load(Some(&repo().join("debian/config.toml"))).unwrap();
    assert_eq!(c.storage.state_dir, Path::new("/var/lib/swarmcast"));
    assert_eq!(c.storage.cache_dir, Path::new("/var/cache/swarmcast"));
    assert_eq!(c.storage.download_dir, Path::new("/srv/swarmcast/downloads"));
    let tmpfiles = std::fs::read_to_string(repo().join("systemd/tmpfiles.d/swarmcast.conf")).unwrap();
    assert!(tmpfiles.contains("d /srv/swarmcast/downloads "), "tmpfiles.d does not create the download dir");
}

// ---- the daemon under the notify and journal protocols -------------------------

struct Daemon {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A daemon config under `dir`. These tests are about systemd and devices, not
/// accounts: requests from the box itself pass without credentials
/// (`auth.bypass_localhost`, as an admin may configure it). The download disk of
/// these tests is a small image, so no free-space reserve is kept.
fn write_config(dir: &Path, port: u16) -> PathBuf {
    let path = dir.join("config.toml");
    let d = dir.display();
    std::fs::write(
        &path,
        format!(
            "[server]\nlisten = \"127.0.0.1\"\nport = {port}\n\
             [storage]\nstate_dir = \"{d}/state\"\ndownload_dir = \"{d}/downloads\"\ncache_dir = \"{d}/cache\"\n\
             [engine]\nlisten_port = 0\ndht = false\nlsd = false\n[log]\nlevel = \"info\"\n\
             [auth]\nbypass_localhost = true\n[quota]\nmin_free_bytes = 0\n\
             [dlna]\nenabled = false\n[mdns]\nenabled = false\n"
        ),
    )
    .unwrap();
    path
}

/// GET over plain TCP: the status code, or None when nothing listens.
fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut buf = String::new();
    s.read_to_string(&mut buf).ok()?;
    let code = buf.split_whitespace().nth(1)?.parse().ok()?;
    Some((code, buf))
}

fn http_post_json(port: u16, path: &str, body: &str) -> Option<(u16, String)> {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(
        s,
        "POST {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .ok()?;
    let mut buf = String::new();
    s.read_to_string(&mut buf).ok()?;
    Some((buf.split_whitespace().nth(1)?.parse().ok()?, buf))
}

/// Receives notify datagrams until one contains `want`, within `limit`.
fn wait_for(sock: &UnixDatagram, want: &str, limit: Duration, seen: &mut Vec<String>) -> bool {
    let end = Instant::now() + limit;
    let mut buf = vec![0u8; 65536];
    while Instant::now() < end {
        sock.set_read_timeout(Some((end - Instant::now()).max(Duration::from_millis(10)))).unwrap();
        match sock.recv(&mut buf) {
            Ok(n) => {
                let msg = String::from_utf8_lossy(&buf[..n]).to_string();
                let hit = msg.lines().any(|l| l == want);
                seen.push(msg);
                if hit {
                    return true;
                }
            }
            Err(_) => break,
        }
    }
    false
}

#[test]
fn notify_ready_after_listening_watchdog_pings_and_stopping_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let config = write_config(dir.path(), port);
    let sock_path = dir.path().join("notify.sock");
    let sock = UnixDatagram::bind(&sock_path).unwrap();
    let child = Command::new(BIN)
        .args(["serve", "--config"])
        .arg(&config)
        .env("NOTIFY_SOCKET", &sock_path)
        .env("WATCHDOG_USEC", "1000000")
        .env_remove("JOURNAL_STREAM")
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.path().join("stderr")).unwrap())
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut daemon = Daemon { child, port, _dir: dir };
    let mut seen = Vec::new();

    assert!(wait_for(&sock, "READY=1", Duration::from_secs(60), &mut seen), "no READY=1; got {seen:?}");
    // READY means serving: the very first request after it must be answered.
    let (code, body) = http_get(daemon.port, "/api/health").expect("READY=1 sent before the API listens");
    assert_eq!(code, 200, "{body}");
    assert!(body.contains("\"status\":\"ok\""), "{body}");

    // The watchdog check runs every WATCHDOG_USEC/2 and pings while healthy.
    assert!(wait_for(&sock, "WATCHDOG=1", Duration::from_secs(10), &mut seen), "no WATCHDOG=1; got {seen:?}");

    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), nix::sys::signal::Signal::SIGTERM).unwrap();
    let stopping = wait_for(&sock, "STOPPING=1", Duration::from_secs(20), &mut seen);
    let log = std::fs::read_to_string(daemon._dir.path().join("stderr")).unwrap_or_default();
    assert!(
        stopping,
        "no STOPPING=1 within 20 s of SIGTERM; got {seen:?}; exit: {:?}; stderr:\n{log}",
        daemon.child.try_wait()
    );
    let end = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(s) = daemon.child.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < end, "the daemon did not exit within 30 s of SIGTERM (TimeoutStopSec)");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(status.success(), "exit status after SIGTERM: {status}");
}

/// Parses the journal's native protocol: `KEY=value\n`, or `KEY\n<u64 le len><bytes>\n`.
fn parse_journal(mut b: &[u8]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    while !b.is_empty() {
        let nl = b.iter().position(|&c| c == b'\n').unwrap_or(b.len());
        let line = &b[..nl];
        if let Some(eq) = line.iter().position(|&c| c == b'=') {
            out.push((String::from_utf8_lossy(&line[..eq]).into(), String::from_utf8_lossy(&line[eq + 1..]).into()));
            b = &b[(nl + 1).min(b.len())..];
        } else {
            let key = String::from_utf8_lossy(line).to_string();
            let rest = &b[nl + 1..];
            let len = u64::from_le_bytes(rest[..8].try_into().unwrap()) as usize;
            out.push((key, String::from_utf8_lossy(&rest[8..8 + len]).into()));
            b = &rest[(8 + len + 1).min(rest.len())..];
        }
    }
    out
}

#[test]
fn under_systemd_logs_go_to_the_journal_with_torrent_id_fields() {
    if !is_root() || !Path::new("/usr/bin/unshare").exists() {
        eprintln!("SKIPPED: needs root and unshare to give the daemon its own /run/systemd/journal");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let config = write_config(dir.path(), port);
    // journald's socket: our own, bind-mounted at /run/systemd/journal in a private
    // mount namespace of the daemon.
    let jdir = dir.path().join("journal");
    std::fs::create_dir(&jdir).unwrap();
    let sock = UnixDatagram::bind(jdir.join("socket")).unwrap();
    // JOURNAL_STREAM names stderr's device and inode, as systemd sets it.
    let stderr_path = dir.path().join("stderr");
    let stderr = std::fs::File::create(&stderr_path).unwrap();
    let meta = std::os::unix::fs::MetadataExt::dev(&stderr.metadata().unwrap());
    let ino = std::os::unix::fs::MetadataExt::ino(&stderr.metadata().unwrap());
    std::fs::create_dir_all("/run/systemd/journal").unwrap();
    let child = Command::new("unshare")
        .args([
            "--mount",
            "--propagation",
            "private",
            "--",
            "sh",
            "-c",
            "mount --bind \"$1\" /run/systemd/journal && shift && exec \"$@\"",
            "sh",
        ])
        .arg(&jdir)
        .arg(BIN)
        .args(["serve", "--config"])
        .arg(&config)
        .env("JOURNAL_STREAM", format!("{meta}:{ino}"))
        .env_remove("NOTIFY_SOCKET")
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .unwrap();
    let daemon = Daemon { child, port, _dir: dir };

    let end = Instant::now() + Duration::from_secs(60);
    while http_get(daemon.port, "/api/health").is_none() {
        assert!(Instant::now() < end, "the daemon did not answer within 60 s");
        std::thread::sleep(Duration::from_millis(200));
    }
    let hash = "0123456789abcdef0123456789abcdef01234567";
    let (code, body) = http_post_json(
        daemon.port,
        "/api/torrents",
        &format!("{{\"uri\":\"magnet:?xt=urn:btih:{hash}&dn=journal-test\",\"start\":false}}"),
    )
    .unwrap();
    assert!(code < 300, "{body}");

    let mut entries = Vec::new();
    let mut buf = vec![0u8; 1 << 16];
    let end = Instant::now() + Duration::from_secs(20);
    let found = loop {
        if Instant::now() > end {
            break None;
        }
        sock.set_read_timeout(Some(Duration::from_millis(500))).unwrap();
        if let Ok(n) = sock.recv(&mut buf) {
            let fields = parse_journal(&buf[..n]);
            let hit = fields.iter().any(|(k, v)| k == "TORRENT_ID" && v == hash);
            entries.push(fields.clone());
            if hit {
                break Some(fields);
            }
        }
    };
    let stderr_text = std::fs::read_to_string(daemon._dir.path().join("stderr")).unwrap_or_default();
    let fields = found.unwrap_or_else(|| {
        panic!("no journal entry with TORRENT_ID={hash}; entries: {entries:#?}; stderr: {stderr_text}")
    });
    let get = |k: &str| fields.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str());
    assert_eq!(get("SYSLOG_IDENTIFIER"), Some("swarmcast"));
    assert_eq!(get("PRIORITY"), Some("5"), "info → notice");
    assert_eq!(get("EVENT"), Some("added"));
    let msg = get("MESSAGE").unwrap();
    assert!(msg.contains("journal-test") && msg.contains("event=added") && !msg.contains(hash), "MESSAGE={msg}");
    // The startup line went to the journal too, and nothing was formatted to stderr.
    assert!(
        entries.iter().flatten().any(|(k, v)| k == "MESSAGE" && v.starts_with("starting swarmcast")),
        "{entries:#?}"
    );
    assert!(!stderr_text.contains("INFO"), "log lines went to stderr: {stderr_text}");
}

fn http_upload(port: u16, torrent: &[u8]) -> Option<(u16, String)> {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    let b = "swarmcastboundary7";
    let mut body = format!(
        "--{b}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"t.torrent\"\r\nContent-Type: application/x-bittorrent\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(torrent);
    body.extend_from_slice(format!("\r\n--{b}--\r\n").as_bytes());
    write!(
        s,
        "POST /api/torrents/upload HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; boundary={b}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .ok()?;
    s.write_all(&body).ok()?;
    let mut buf = String::new();
    s.read_to_string(&mut buf).ok()?;
    Some((buf.split_whitespace().nth(1)?.parse().ok()?, buf))
}

fn torrent_json(port: u16, id: &str) -> serde_json::Value {
    let (code, text) = http_get(port, &format!("/api/torrents/{id}")).expect("daemon answers");
    assert_eq!(code, 200, "{text}");
    serde_json::from_str(text.split("\r\n\r\n").nth(1).unwrap()).unwrap()
}

/// Polls a torrent until `pred` holds, within `limit`.
fn wait_torrent(port: u16, id: &str, limit: Duration, pred: impl Fn(&serde_json::Value) -> bool) -> serde_json::Value {
    let end = Instant::now() + limit;
    loop {
        let t = torrent_json(port, id);
        if pred(&t) || Instant::now() > end {
            return t;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// A real ext4 filesystem labelled SWARMCAST, loop-mounted on the download dir while
/// the daemon runs (what srv-swarmcast-downloads.mount does on the box), then
/// detached the way systemd's LazyUnmount= does when the disk is pulled.
#[test]
fn a_pulled_download_disk_pauses_its_torrents_and_they_resume_when_it_is_back() {
    if !is_root() {
        eprintln!("SKIPPED: mounting a disk image needs root");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let config = write_config(dir.path(), port);
    let downloads = dir.path().join("downloads");
    std::fs::create_dir_all(&downloads).unwrap();
    let disk = dir.path().join("usb.img");
    std::fs::File::create(&disk).unwrap().set_len(64 << 20).unwrap();
    let (ok, out) = run(Command::new("mkfs.ext4").args(["-q", "-F", "-L", "SWARMCAST"]).arg(&disk));
    assert!(ok, "mkfs.ext4: {out}");

    struct Unmount(PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg("-l").arg(&self.0).status();
        }
    }
    let _guard = Unmount(downloads.clone());
    let child = Command::new(BIN)
        .args(["serve", "--config"])
        .arg(&config)
        .env_remove("NOTIFY_SOCKET")
        .env_remove("JOURNAL_STREAM")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let daemon = Daemon { child, port, _dir: dir };
    let end = Instant::now() + Duration::from_secs(60);
    while http_get(port, "/api/health").is_none() {
        assert!(Instant::now() < end, "the daemon did not answer within 60 s");
        std::thread::sleep(Duration::from_millis(200));
    }

    // The disk is plugged in: mounted over the download dir.
    let (ok, out) = run(Command::new("mount").args(["-o", "loop"]).arg(&disk).arg(&downloads));
    assert!(ok, "mount: {out}");
    // A torrent whose data is on the disk.
    let media = downloads.join("film.mkv");
    std::fs::write(&media, vec![7u8; 3 << 20]).unwrap();
    let tfile = daemon._dir.path().join("film.torrent");
    let (ok, out) = run(Command::new("transmission-create").arg("-o").arg(&tfile).arg(&media));
    assert!(ok, "transmission-create: {out}");
    // Let the watcher see the new mount before the torrent arrives.
    std::thread::sleep(Duration::from_secs(3));
    let (code, body) = http_upload(port, &std::fs::read(&tfile).unwrap()).unwrap();
    assert!(code < 300, "{body}");
    let id = serde_json::from_str::<serde_json::Value>(body.split("\r\n\r\n").nth(1).unwrap()).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let t = wait_torrent(port, &id, Duration::from_secs(30), |t| t["status"] == "seeding");
    assert_eq!(t["status"], "seeding", "{t}");

    // Pulled: the mount goes away under the daemon.
    let (ok, out) = run(Command::new("umount").arg("-l").arg(&downloads));
    assert!(ok, "umount: {out}");
    let t = wait_torrent(port, &id, Duration::from_secs(15), |t| {
        t["status"] == "paused" && t["error"] == swarmcast::engine::DISK_REMOVED
    });
    assert_eq!(t["status"], "paused", "{t}");
    assert_eq!(t["error"], swarmcast::engine::DISK_REMOVED, "{t}");
    assert_eq!(http_get(port, "/api/health").unwrap().0, 200, "the daemon must keep running");
    let (_, activity) = http_get(port, &format!("/api/activity?torrent={id}")).unwrap();
    assert!(activity.contains("disk_removed"), "{activity}");

    // Plugged back in: the torrent resumes from the disk's data.
    let (ok, out) = run(Command::new("mount").args(["-o", "loop"]).arg(&disk).arg(&downloads));
    assert!(ok, "mount again: {out}");
    let t = wait_torrent(port, &id, Duration::from_secs(30), |t| t["status"] == "seeding");
    assert_eq!(t["status"], "seeding", "{t}");
    assert!(t["error"].is_null(), "{t}");
}

#[test]
fn cross_toml_installs_the_targets_gstreamer_dev_packages() {
    let cross: toml::Value = toml::from_str(&std::fs::read_to_string(repo().join("cross.toml")).unwrap()).unwrap();
    let t = &cross["target"]["aarch64-unknown-linux-gnu"];
    let steps: Vec<&str> = t["pre-build"].as_array().unwrap().iter().map(|s| s.as_str().unwrap()).collect();
    assert!(steps.iter().any(|s| s.contains("dpkg --add-architecture $CROSS_DEB_ARCH")));
    for pkg in ["libgstreamer1.0-dev", "libgstreamer-plugins-base1.0-dev", "libssl-dev"] {
        assert!(steps.iter().any(|s| s.contains(&format!("{pkg}:$CROSS_DEB_ARCH"))), "pre-build lacks {pkg}");
    }
    let env: Vec<&str> = t["env"]["passthrough"].as_array().unwrap().iter().map(|s| s.as_str().unwrap()).collect();
    assert!(
        env.iter()
            .any(|e| e.starts_with("PKG_CONFIG_LIBDIR_aarch64_unknown_linux_gnu=/usr/lib/aarch64-linux-gnu/pkgconfig"))
    );
}
