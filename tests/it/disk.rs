//! Disk management against real torrents and a real filesystem: quota admission and
//! eviction, a full tmpfs (ENOSPC and the free-space reserve), library moves that keep
//! seeding, the watch folder, hooks and webhooks, and run-time settings.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::fixture::*;
use serde_json::{Value, json};

const MB: u64 = 1 << 20;

fn random_file(path: &Path, len: u64) {
    use rand::RngCore;
    let mut buf = vec![0u8; len as usize];
    rand::thread_rng().fill_bytes(&mut buf);
    std::fs::write(path, buf).unwrap();
}

fn upload(d: &Daemon, torrent: &Path) -> (u16, Value) {
    let form = reqwest::blocking::multipart::Form::new().part(
        "file",
        reqwest::blocking::multipart::Part::bytes(std::fs::read(torrent).unwrap()).file_name("x.torrent"),
    );
    let r = d.client().post(d.url("/api/torrents/upload")).multipart(form).send().unwrap();
    let status = r.status().as_u16();
    (status, r.json().unwrap_or(Value::Null))
}

fn patch(d: &Daemon, path: &str, body: Value) -> (u16, Value) {
    let r = d.client().patch(d.url(path)).json(&body).send().unwrap();
    let status = r.status().as_u16();
    (status, r.json().unwrap_or(Value::Null))
}

fn activity(d: &Daemon) -> Vec<Value> {
    d.get("/api/activity?limit=500").1.as_array().cloned().unwrap_or_default()
}

/// A random file of `len` bytes in `dir` and its .torrent (in `tdir`); returns
/// (data path, torrent path, info-hash).
fn film(dir: &Path, tdir: &Path, name: &str, len: u64) -> (PathBuf, PathBuf, String) {
    let data = dir.join(name);
    random_file(&data, len);
    let t = make_torrent(&data, &tdir.join(format!("{name}.torrent")), &[]);
    let h = info_hash(&t);
    (data, t, h)
}

#[test]
fn quota_refuses_a_torrent_too_big_and_a_magnet_after_metadata() {
    let src = tempfile::tempdir().unwrap();
    let data = src.path().join("big.bin");
    std::fs::File::create(&data).unwrap().set_len(100 * MB).unwrap();
    let t = make_torrent(&data, &src.path().join("big.torrent"), &[]);
    let hash = info_hash(&t);
    let d = Daemon::start_with(&[
        ("SWARMCAST_QUOTA_MAX_BYTES", &(50 * MB).to_string()),
        ("SWARMCAST_QUOTA_MIN_FREE_BYTES", "0"),
    ]);
    let (status, body) = upload(&d, &t);
    assert_eq!(status, 507, "{body}");
    assert_eq!(body["error"]["code"], "QUOTA_EXCEEDED");
    assert!(body["error"]["message"].as_str().unwrap().contains("quota"), "{body}");
    assert_eq!(d.get(&format!("/api/torrents/{hash}")).0, 404, "a refused torrent is not kept");

    // By magnet the size is known only once the metadata arrives.
    let seeder = Seeder::start(&t, &data, 0);
    let added = d.add(&seeder.magnet(&hash));
    assert_eq!(added["status"], "metadata");
    let t = d.wait_status(&hash, &["error"], Duration::from_secs(60));
    assert!(t["error"].as_str().unwrap().contains("quota"), "{t}");
    std::thread::sleep(Duration::from_secs(2));
    let t = d.torrent(&hash);
    assert_eq!(t["status"], "error", "stays refused: {t}");
    assert_eq!(t["downloaded"], 0);
    let used = swarmcast::engine::quota::used_bytes(&d.download_dir());
    assert!(used < MB, "nothing downloaded: {used} bytes under the download dir");
    assert!(activity(&d).iter().any(|a| a["event"] == "error" && a["torrent_id"] == hash));
    // Asked to stream, the refused magnet says why rather than timing out.
    let (s, body) = d.post("/api/stream", json!({ "magnet": seeder.magnet(&hash) }));
    assert_eq!((s, body["error"]["code"].as_str()), (507, Some("QUOTA_EXCEEDED")), "{body}");
}

#[test]
fn eviction_frees_exactly_the_oldest_watched_complete_torrent() {
    let src = tempfile::tempdir().unwrap();
    let d = Daemon::start_with(&[
        ("SWARMCAST_QUOTA_MAX_BYTES", &(9 * MB / 2).to_string()),
        ("SWARMCAST_QUOTA_MIN_FREE_BYTES", "0"),
        ("SWARMCAST_QUOTA_WATCHING_GRACE_SECS", "0"),
    ]);
    let dl = d.download_dir();
    // Already complete on disk: each one checks and seeds at once.
    let (_, keep_t, keep) = film(&dl, src.path(), "keep.bin", MB);
    let (old_data, old_t, old) = film(&dl, src.path(), "old.bin", MB);
    let (new_data, new_t, new) = film(&dl, src.path(), "new.bin", MB);
    let (_, in_t, incoming) = film(src.path(), src.path(), "incoming.bin", 2 * MB);
    let (_, in2_t, _) = film(src.path(), src.path(), "incoming2.bin", 2 * MB);
    for (t, h, purpose) in [(&keep_t, &keep, "keep"), (&old_t, &old, "watch"), (&new_t, &new, "watch")] {
        assert_eq!(upload(&d, t).0, 201);
        d.wait_status(h, &["seeding"], Duration::from_secs(30));
        let (s, b) = patch(&d, &format!("/api/torrents/{h}/settings"), json!({ "purpose": purpose }));
        assert_eq!(s, 200, "{b}");
        assert_eq!(b["purpose"], purpose);
        std::thread::sleep(Duration::from_millis(1100));
    }
    // 3 MB used + 2 MB > 4.5 MB: freeing the oldest watched one (1 MB) is enough.
    let (s, b) = upload(&d, &in_t);
    assert_eq!(s, 201, "{b}");
    assert_eq!(d.get(&format!("/api/torrents/{old}")).0, 404, "oldest watched evicted");
    assert!(!old_data.exists(), "its data is gone");
    assert_eq!(d.torrent(&new)["status"], "seeding");
    assert_eq!(d.torrent(&keep)["status"], "seeding");
    assert!(new_data.exists());
    let evicted: Vec<_> = activity(&d).into_iter().filter(|a| a["event"] == "evicted").collect();
    assert_eq!(evicted.len(), 1, "{evicted:?}");
    assert_eq!(evicted[0]["torrent_id"], old);
    assert!(evicted[0]["detail"].as_str().unwrap().contains(&incoming));
    // Now 2 MB used + 2 MB still to download + 2 MB: evicting `new` (1 MB) is not
    // enough, so nothing is evicted and the torrent is refused; `keep` never goes.
    let (s, b) = upload(&d, &in2_t);
    assert_eq!(s, 507, "{b}");
    assert_eq!(d.torrent(&new)["status"], "seeding", "no pointless eviction");
    assert_eq!(d.torrent(&keep)["status"], "seeding");
}

/// A tmpfs mounted for the test, unmounted on drop; `None` where mounting is not
/// allowed.
struct Tmpfs(PathBuf, #[allow(dead_code)] tempfile::TempDir);

impl Tmpfs {
    fn mount(size: &str) -> Option<Self> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vol");
        std::fs::create_dir(&path).unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&path)
            .output()
            .is_ok_and(|o| o.status.success());
        ok.then(|| Tmpfs(path, dir))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Writes into `path` until the volume is full; returns the bytes written.
fn fill(path: &Path) -> u64 {
    let mut f = std::fs::File::create(path).unwrap();
    let chunk = vec![7u8; 64 << 10];
    let mut n = 0;
    for _ in 0..100_000 {
        match f.write(&chunk) {
            Ok(0) | Err(_) => break,
            Ok(k) => n += k as u64,
        }
    }
    let _ = f.sync_all();
    n
}

#[test]
fn disk_full_pauses_with_a_clear_error_and_resumes_after_space_is_freed() {
    let Some(vol) = Tmpfs::mount("8m") else {
        eprintln!("SKIPPED: cannot mount a tmpfs here (needs root); the ENOSPC test did not run");
        return;
    };
    let src = tempfile::tempdir().unwrap();
    let (data, t, hash) = film(src.path(), src.path(), "film.bin", 5 * MB);
    let seeder = Seeder::start(&t, &data, 300);
    let d = Daemon::start_with(&[
        ("SWARMCAST_STORAGE_DOWNLOAD_DIR", vol.0.to_str().unwrap()),
        ("SWARMCAST_QUOTA_MIN_FREE_BYTES", "0"),
        ("SWARMCAST_QUOTA_CHECK_INTERVAL_SECS", "1"),
    ]);
    d.add(&seeder.magnet(&hash));
    wait_until("some progress", Duration::from_secs(60), || {
        (d.torrent(&hash)["downloaded"].as_u64().unwrap_or(0) > 300 << 10).then_some(())
    });
    let filler = vol.0.join("filler");
    let filled = fill(&filler);
    assert!(filled > 0);
    let t = wait_until("ENOSPC to pause the torrent", Duration::from_secs(60), || {
        let t = d.torrent(&hash);
        (t["status"] == "paused").then_some(t)
    });
    assert!(t["error"].as_str().unwrap().contains("disk is full"), "{t}");
    assert_eq!(d.get("/api/health").0, 200, "the daemon goes on");
    // The activity row follows the pause by a moment.
    wait_until("the stopped event in the activity log", Duration::from_secs(10), || {
        activity(&d)
            .iter()
            .any(|a| a["event"] == "stopped" && a["detail"].as_str().is_some_and(|s| s.contains("disk is full")))
            .then_some(())
    });
    std::fs::remove_file(&filler).unwrap();
    let t = d.wait_status(&hash, &["seeding"], Duration::from_secs(90));
    assert_eq!(t["error"], Value::Null, "{t}");
    assert_eq!(sha256_file(&vol.0.join("film.bin")), sha256_file(&data), "no corruption");
    assert!(activity(&d).iter().any(|a| a["event"] == "resumed"));
}

#[test]
fn low_free_space_pauses_downloads_and_resumes_them() {
    let Some(vol) = Tmpfs::mount("8m") else {
        eprintln!("SKIPPED: cannot mount a tmpfs here (needs root); the low-space test did not run");
        return;
    };
    let src = tempfile::tempdir().unwrap();
    let (data, t, hash) = film(src.path(), src.path(), "film.bin", 3 * MB);
    let seeder = Seeder::start(&t, &data, 200);
    let d = Daemon::start_with(&[
        ("SWARMCAST_STORAGE_DOWNLOAD_DIR", vol.0.to_str().unwrap()),
        ("SWARMCAST_QUOTA_MIN_FREE_BYTES", &(4 * MB).to_string()),
        ("SWARMCAST_QUOTA_CHECK_INTERVAL_SECS", "1"),
    ]);
    d.add(&seeder.magnet(&hash));
    d.wait_status(&hash, &["downloading"], Duration::from_secs(60));
    // Leave just under the 4 MB reserve free.
    let (_, free) = swarmcast_space(&vol.0);
    random_file(&vol.0.join("filler"), free - 4 * MB + 256 * 1024);
    let t = d.wait_status(&hash, &["paused"], Duration::from_secs(30));
    let at = t["downloaded"].as_u64().unwrap();
    std::thread::sleep(Duration::from_secs(3));
    let later = d.torrent(&hash);
    assert_eq!(later["status"], "paused");
    assert!(later["downloaded"].as_u64().unwrap() <= at + 256 * 1024, "stays paused: {at} → {later}");
    assert!(
        activity(&d)
            .iter()
            .any(|a| a["event"] == "stopped" && a["detail"].as_str().is_some_and(|s| s.contains("low disk space")))
    );
    std::fs::remove_file(vol.0.join("filler")).unwrap();
    seeder.set_upload_limit(0);
    d.wait_status(&hash, &["seeding"], Duration::from_secs(90));
    assert!(activity(&d).iter().any(|a| a["event"] == "resumed"));
    assert_eq!(sha256_file(&vol.0.join("film.bin")), sha256_file(&data));
}

#[test]
fn watch_folder_adds_valid_drops_and_marks_invalid_ones() {
    let src = tempfile::tempdir().unwrap();
    let watch = src.path().join("watch");
    std::fs::create_dir(&watch).unwrap();
    let d =
        Daemon::start_with(&[("SWARMCAST_WATCH_DIR", watch.to_str().unwrap()), ("SWARMCAST_WATCH_INTERVAL_SECS", "1")]);
    let (_, t, hash) = film(src.path(), src.path(), "a.bin", 64 << 10);
    let (_, _, hash2) = film(src.path(), src.path(), "b.bin", 64 << 10);
    std::fs::copy(&t, watch.join("a.torrent")).unwrap();
    std::fs::write(watch.join("b.magnet"), format!("magnet:?xt=urn:btih:{hash2}&dn=b\n")).unwrap();
    std::fs::write(watch.join("broken.torrent"), b"not bencode at all").unwrap();
    std::fs::write(watch.join("bad.magnet"), b"magnet:?xt=urn:btih:nothex").unwrap();
    std::fs::write(watch.join("notes.txt"), b"left alone").unwrap();
    wait_until("the watch folder to be processed", Duration::from_secs(20), || {
        ["a.torrent.added", "b.magnet.added", "broken.torrent.invalid", "bad.magnet.invalid"]
            .iter()
            .all(|f| watch.join(f).exists())
            .then_some(())
    });
    assert!(watch.join("notes.txt").exists());
    assert_eq!(d.torrent(&hash)["id"], hash);
    assert_eq!(d.torrent(&hash2)["id"], hash2);
    let log = activity(&d);
    let invalid: Vec<_> = log.iter().filter(|a| a["event"] == "watch_invalid").collect();
    assert_eq!(invalid.len(), 2, "{invalid:?}");
    assert!(invalid.iter().all(|a| a["detail"].as_str().unwrap().contains("refused: ")));
    // The same torrent again is invalid, with the reason.
    std::fs::copy(&t, watch.join("again.torrent")).unwrap();
    wait_until("the duplicate", Duration::from_secs(20), || watch.join("again.torrent.invalid").exists().then_some(()));
    assert!(activity(&d).iter().any(|a| a["detail"].as_str().is_some_and(|s| s.contains("already added"))));
}

/// A one-shot-per-connection HTTP receiver on loopback: records each POST's headers
/// and body, answers 500 to the first request (to exercise the retry) and 200 after.
fn webhook_receiver() -> (u16, std::sync::mpsc::Receiver<(String, Vec<u8>)>) {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for (n, conn) in l.incoming().enumerate() {
            let Ok(mut s) = conn else { continue };
            s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            let mut buf = Vec::new();
            let mut chunk = [0u8; 8192];
            let (head, body) = loop {
                let Ok(k) = s.read(&mut chunk) else { break (String::new(), Vec::new()) };
                if k == 0 {
                    break (String::new(), Vec::new());
                }
                buf.extend_from_slice(&chunk[..k]);
                if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                    let head = String::from_utf8_lossy(&buf[..pos]).to_lowercase();
                    let len: usize = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:").map(|v| v.trim().parse().unwrap()))
                        .unwrap_or(0);
                    while buf.len() < pos + 4 + len {
                        let Ok(k) = s.read(&mut chunk) else { break };
                        if k == 0 {
                            break;
                        }
                        buf.extend_from_slice(&chunk[..k]);
                    }
                    break (head, buf[pos + 4..].to_vec());
                }
            };
            let status = if n == 0 { "500 Internal Server Error" } else { "200 OK" };
            let _ = write!(s, "HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
            if n > 0 {
                let _ = tx.send((head, body));
            }
        }
    });
    (port, rx)
}

#[test]
fn hooks_webhooks_and_library_move_that_keeps_seeding() {
    let src = tempfile::tempdir().unwrap();
    let hooks = src.path().join("hooks.d");
    std::fs::create_dir(&hooks).unwrap();
    let out = src.path().join("hook-out");
    std::fs::create_dir(&out).unwrap();
    let script = format!(
        "#!/bin/sh\nf={}/$SWARMCAST_EVENT.$$\ncat > \"$f.json\"\nenv | grep ^SWARMCAST_ > \"$f.env\"\necho hook saw $SWARMCAST_EVENT\n",
        out.display()
    );
    use std::os::unix::fs::PermissionsExt;
    for (name, body) in [("10-record", script.as_str()), ("20-hang", "#!/bin/sh\nsleep 600\n")] {
        std::fs::write(hooks.join(name), body).unwrap();
        std::fs::set_permissions(hooks.join(name), std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let library = src.path().join("library");
    let (port, webhook) = webhook_receiver();
    let listen = free_port();
    let (data, t, hash) = film(src.path(), src.path(), "film.bin", 2 * MB);
    let (big, big_t) = (src.path().join("big.bin"), src.path().join("big.torrent"));
    std::fs::File::create(&big).unwrap().set_len(20 * MB).unwrap();
    make_torrent(&big, &big_t, &[]);
    let big_hash = info_hash(&big_t);
    let seeder = Seeder::start(&t, &data, 0);
    let d = Daemon::start_with(&[
        ("SWARMCAST_HOOKS_DIR", hooks.to_str().unwrap()),
        ("SWARMCAST_HOOKS_TIMEOUT_SECS", "2"),
        ("SWARMCAST_HOOKS_WEBHOOKS", &format!("http://127.0.0.1:{port}/hook")),
        ("SWARMCAST_HOOKS_WEBHOOK_SECRET", "s3cret"),
        ("SWARMCAST_STORAGE_LIBRARY_DIR", library.to_str().unwrap()),
        ("SWARMCAST_QUOTA_MAX_BYTES", &(10 * MB).to_string()),
        ("SWARMCAST_QUOTA_MIN_FREE_BYTES", "0"),
        ("SWARMCAST_ENGINE_LISTEN_PORT", &listen.to_string()),
        ("SWARMCAST_SEEDING_INTERVAL_SECS", "3600"),
    ]);
    d.add(&seeder.magnet(&hash));
    wait_until("the move to the library", Duration::from_secs(120), || {
        activity(&d).iter().any(|a| a["event"] == "transfer_completed").then_some(())
    });
    let moved = library.join("film.bin");
    assert!(moved.exists() && !d.download_dir().join("film.bin").exists());
    let t = d.wait_status(&hash, &["seeding"], Duration::from_secs(30));
    assert_eq!(sha256_file(&moved), sha256_file(&data));
    assert_eq!(t["progress"], 100.0);
    let (_, settings) = d.get(&format!("/api/torrents/{hash}/settings"));
    assert_eq!(settings["output_folder"], library.to_str().unwrap());

    // It seeds on from the library: with transmission gone, a second box downloads
    // it from this one alone.
    drop(seeder);
    let leecher = Daemon::start();
    leecher.add(&format!("magnet:?xt=urn:btih:{hash}&x.pe=127.0.0.1:{listen}"));
    leecher.wait_status(&hash, &["seeding"], Duration::from_secs(60));
    assert_eq!(sha256_file(&leecher.download_dir().join("film.bin")), sha256_file(&data));

    // Uploading 2 MB of 2 MB is ratio 1: `swarmcast maintenance run` applies a 0.5
    // ratio limit set at run time.
    let (s, b) = patch(&d, "/api/config", json!({"seeding": {"ratio_limit": 0.5, "action": "pause"}}));
    assert_eq!(s, 200, "{b}");
    let cli = std::process::Command::new(env!("CARGO_BIN_EXE_swarmcast"))
        .args(["maintenance", "run", "--url", &d.url(""), "--api-key", &d.api_key])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&cli.stdout);
    assert!(cli.status.success(), "{stdout} {}", String::from_utf8_lossy(&cli.stderr));
    assert!(stdout.contains(&hash) && stdout.contains("pause") && stdout.contains("ratio"), "{stdout}");
    assert_eq!(d.torrent(&hash)["status"], "paused");

    // A refusal after metadata is an `error` event.
    let big_seeder = Seeder::start(&big_t, &big, 0);
    d.add(&big_seeder.magnet(&big_hash));
    d.wait_status(&big_hash, &["error"], Duration::from_secs(60));
    assert_eq!(d.post(&format!("/api/torrents/{hash}/stop"), json!({})).0, 200);
    assert_eq!(d.delete(&format!("/api/torrents/{hash}")).0, 200);

    let events =
        ["added", "started", "completed", "transfer_started", "transfer_completed", "stopped", "removed", "error"];
    let seen = |e: &str| -> Vec<Value> {
        std::fs::read_dir(&out)
            .unwrap()
            .flatten()
            .map(|f| f.path())
            .filter(|p| {
                let n = p.file_name().unwrap().to_string_lossy().into_owned();
                n.starts_with(&format!("{e}.")) && n.ends_with(".json")
            })
            .filter_map(|p| serde_json::from_slice(&std::fs::read(p).ok()?).ok())
            .collect()
    };
    wait_until("a hook run for every event", Duration::from_secs(20), || {
        events.iter().all(|e| !seen(e).is_empty()).then_some(())
    });
    for e in events {
        let runs = seen(e);
        let j = runs
            .iter()
            .find(|j| j["torrent_id"] == hash || (e == "error" && j["torrent_id"] == big_hash))
            .unwrap_or_else(|| panic!("no {e} hook for the torrent: {runs:?}"));
        assert_eq!(j["event"], e);
        assert!(j["time"].as_str().unwrap().ends_with('Z'));
        assert!(j["torrent"]["id"].is_string() && j["torrent"]["name"].is_string(), "{j}");
        assert!(j["activity"].as_array().is_some_and(|a| !a.is_empty()), "{j}");
        if e == "error" {
            assert!(j["error"].as_str().unwrap().contains("quota"), "{j}");
        }
        if e == "completed" {
            assert!(j["torrent"]["completed_at"].is_string(), "{j}");
        }
    }
    let env_file = std::fs::read_dir(&out)
        .unwrap()
        .flatten()
        .map(|f| f.path())
        .find(|p| {
            p.file_name().unwrap().to_string_lossy().starts_with("transfer_completed.")
                && p.extension().unwrap() == "env"
        })
        .unwrap();
    let env = std::fs::read_to_string(env_file).unwrap();
    assert!(env.contains(&format!("SWARMCAST_TORRENT_ID={hash}")), "{env}");
    assert!(env.contains("SWARMCAST_EVENT=transfer_completed"), "{env}");
    assert!(env.contains(&format!("SWARMCAST_TORRENT_PATH={}", library.display())), "{env}");

    // The hanging hook is killed at its timeout; the daemon answered all along.
    wait_until("the hanging hook to be killed", Duration::from_secs(20), || {
        d.log_text().contains("hook killed").then_some(())
    });
    assert!(d.log_text().contains("hook saw"), "hook output goes to the log");
    assert_eq!(d.get("/api/health").0, 200);

    // Webhooks: signed POSTs, the first one retried after a 500.
    let (head, body) = webhook.recv_timeout(Duration::from_secs(30)).expect("a webhook POST");
    let sig = head
        .lines()
        .find_map(|l| l.strip_prefix("x-swarmcast-signature:").map(|v| v.trim().to_string()))
        .expect("signature header");
    use hmac::Mac;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(b"s3cret").unwrap();
    mac.update(&body);
    assert_eq!(sig, format!("sha256={}", hex::encode(mac.finalize().into_bytes())));
    let j: Value = serde_json::from_slice(&body).unwrap();
    assert!(events.contains(&j["event"].as_str().unwrap()), "{j}");
    assert!(head.starts_with("post /hook"), "{head}");
}

#[test]
fn config_changes_are_validated_persisted_and_survive_a_restart() {
    let mut d = Daemon::start_with(&[("SWARMCAST_HOOKS_WEBHOOK_SECRET", "topsecret")]);
    let (s, c) = d.get("/api/config");
    assert_eq!(s, 200);
    assert_eq!(c["hooks"]["webhook_secret"], "********");
    assert!(!c.to_string().contains("topsecret"));
    let lib = d.dir.join("lib");
    let (s, c) = patch(
        &d,
        "/api/config",
        json!({
            "quota": {"max_bytes": 123456789},
            "engine.upload_limit": 100000,
            "seeding": {"ratio_limit": 1.5, "action": "remove"},
            "storage.library_dir": lib,
            "media.warm_cache_minutes": 7,
        }),
    );
    assert_eq!(s, 200, "{c}");
    assert_eq!(c["quota"]["max_bytes"], 123456789);
    assert!(lib.is_dir(), "a new path is created");
    for (body, key) in [
        (json!({"seeding.action": "explode"}), "seeding.action"),
        (json!({"quota": {"max_bytes": "lots"}}), "quota.max_bytes"),
        (json!({"server.port": 1}), "server.port"),
        (json!({"storage.download_dir": d.dir.join("state/inside")}), "storage.download_dir"),
        (json!({"storage.library_dir": "/proc/version"}), "storage.library_dir"),
        (json!({"no.such": 1}), "no.such"),
    ] {
        let (s, e) = patch(&d, "/api/config", body.clone());
        assert_eq!(s, 400, "{body}: {e}");
        assert_eq!(e["error"]["code"], "BAD_REQUEST");
        assert!(e["error"]["message"].as_str().unwrap().contains(key), "{body}: {e}");
    }
    let r = d
        .client()
        .patch(d.url("/api/config"))
        .body("{not json")
        .header("content-type", "application/json")
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    d.restart();
    let (_, c) = d.get("/api/config");
    assert_eq!(c["quota"]["max_bytes"], 123456789);
    assert_eq!(c["engine"]["upload_limit"], 100000);
    assert_eq!(c["seeding"]["action"], "remove");
    assert_eq!(c["seeding"]["ratio_limit"], 1.5);
    assert_eq!(c["media"]["warm_cache_minutes"], 7);
    assert_eq!(c["storage"]["library_dir"], lib.to_str().unwrap());
}

fn swarmcast_space(p: &Path) -> (u64, u64) {
    let (total, free, _) = swarmcast::engine::quota::space(p).unwrap();
    (total, free)
}

/// Bytes/s a downloading torrent gets over `secs` seconds.
fn measure_rate(d: &Daemon, id: &str, secs: u64) -> u64 {
    let at = |d: &Daemon| d.torrent(id)["downloaded"].as_u64().unwrap();
    wait_until("the download to start", Duration::from_secs(60), || (at(d) > 0).then_some(()));
    let a = at(d);
    std::thread::sleep(Duration::from_secs(secs));
    (at(d) - a) / secs
}

#[test]
fn paths_and_speed_limits_change_at_run_time() {
    let src = tempfile::tempdir().unwrap();
    let incomplete = src.path().join("incomplete");
    let (a_data, a_t, a) = film(src.path(), src.path(), "a.bin", MB);
    let (b_data, b_t, b) = film(src.path(), src.path(), "b.bin", 6 * MB);
    let (c_data, c_t, c) = film(src.path(), src.path(), "c.bin", 6 * MB);
    // One seeder per torrent: transmission's upload limit is per daemon, and `a` must
    // stay slow while `b` and `c` measure our own limits.
    let seeder = Seeder::start(&a_t, &a_data, 300);
    let seeder_b = Seeder::start(&b_t, &b_data, 0);
    let seeder_c = Seeder::start(&c_t, &c_data, 0);
    let d = Daemon::start_with(&[
        ("SWARMCAST_STORAGE_INCOMPLETE_DIR", incomplete.to_str().unwrap()),
        ("SWARMCAST_QUOTA_MIN_FREE_BYTES", "0"),
    ]);

    // Unfinished in the incomplete dir, then moved to the download dir.
    d.add(&seeder.magnet(&a));
    wait_until("a partial file in the incomplete dir", Duration::from_secs(60), || {
        (incomplete.join("a.bin").exists() && d.torrent(&a)["status"] == "downloading").then_some(())
    });
    d.wait_status(&a, &["seeding"], Duration::from_secs(120));
    wait_until("the move out of the incomplete dir", Duration::from_secs(30), || {
        d.download_dir().join("a.bin").exists().then_some(())
    });
    assert!(!incomplete.join("a.bin").exists());
    assert_eq!(sha256_file(&d.download_dir().join("a.bin")), sha256_file(&a_data));

    // A per-torrent download limit, set before it starts and lifted while it runs.
    let (s, body) = d.post("/api/torrents/", json!({ "uri": seeder_b.magnet(&b), "start": false }));
    assert_eq!(s, 201, "{body}");
    let (s, body) = patch(&d, &format!("/api/torrents/{b}/settings"), json!({ "download_limit": 200_000 }));
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["download_limit"], 200_000);
    assert_eq!(d.post(&format!("/api/torrents/{b}/start"), json!({})).0, 200);
    let rate = measure_rate(&d, &b, 4);
    assert!(rate <= 320_000, "per-torrent limit of 200 kB/s: got {rate} B/s");
    let (s, _) = patch(&d, &format!("/api/torrents/{b}/settings"), json!({ "download_limit": null }));
    assert_eq!(s, 200);
    d.wait_status(&b, &["seeding"], Duration::from_secs(60));
    wait_until("b moved", Duration::from_secs(30), || d.download_dir().join("b.bin").exists().then_some(()));
    assert_eq!(sha256_file(&d.download_dir().join("b.bin")), sha256_file(&b_data));
    let (s, e) = patch(&d, &format!("/api/torrents/{b}/settings"), json!({ "download_limit": "fast" }));
    assert_eq!(s, 400);
    assert!(e["error"]["message"].as_str().unwrap().contains("download_limit"), "{e}");

    // The global limit, changed at run time.
    let (s, _) = patch(&d, "/api/config", json!({ "engine": { "download_limit": 200_000 } }));
    assert_eq!(s, 200);
    d.add(&seeder_c.magnet(&c));
    let rate = measure_rate(&d, &c, 4);
    assert!(rate <= 320_000, "global limit of 200 kB/s: got {rate} B/s");
    let (s, _) = patch(&d, "/api/config", json!({ "engine.download_limit": 0 }));
    assert_eq!(s, 200);
    d.wait_status(&c, &["seeding"], Duration::from_secs(60));

    // A new download dir applies to the next torrent; a torrent can move elsewhere.
    let dl2 = src.path().join("dl2");
    let (s, body) = patch(&d, "/api/config", json!({ "storage": { "download_dir": dl2, "incomplete_dir": "" } }));
    assert_eq!(s, 200, "{body}");
    let (_, e_t, e) = film(&dl2, src.path(), "e.bin", MB);
    assert_eq!(upload(&d, &e_t).0, 201);
    d.wait_status(&e, &["seeding"], Duration::from_secs(30));
    let own = src.path().join("own folder");
    let (s, body) = patch(&d, &format!("/api/torrents/{e}/settings"), json!({ "output_folder": own }));
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["output_folder"], own.to_str().unwrap());
    assert!(own.join("e.bin").exists() && !dl2.join("e.bin").exists());
    d.wait_status(&e, &["seeding"], Duration::from_secs(30));
    let (s, body) =
        patch(&d, &format!("/api/torrents/{e}/settings"), json!({ "output_folder": d.dir.join("state/x") }));
    assert_eq!(s, 400, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("state dir"), "{body}");
}
