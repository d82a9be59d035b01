//! `/api/stream` end to end: the real daemon, a real transmission-daemon seeder on
//! loopback, and real players (ffprobe, ffmpeg) reading the playlist URL.

use std::process::Command;
use std::time::Duration;

use crate::fixture::{Daemon, Seeder, http, info_hash, make_torrent, media, wait_until};
use serde_json::{Value, json};

fn player_ok(cmd: &str, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(cmd).args(args).output().expect("player runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn text(url: &str) -> (u16, String) {
    let r = http().get(url).send().unwrap();
    (r.status().as_u16(), r.text().unwrap())
}

fn code(v: &Value) -> &str {
    v["error"]["code"].as_str().unwrap_or("")
}

#[test]
fn stream_plays_while_downloading_from_a_throttled_seeder() {
    let src = tempfile::tempdir().unwrap();
    let film = src.path().join("film.mp4");
    media::h264_aac_mp4(&film, 120, 2500);
    let torrent = make_torrent(&film, &src.path().join("film.torrent"), &[]);
    let hash = info_hash(&torrent);
    // About 40 MB at 300 KiB/s: two minutes to download in full.
    let seeder = Seeder::start(&torrent, &film, 300);
    let d = Daemon::start_with(&[("SWARMCAST_MEDIA_X264_PRESET", "ultrafast")]);

    let (status, body) = d.post("/api/stream", json!({ "magnet": seeder.magnet(&hash) }));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "STREAM_READY");
    assert_eq!(body["infoHash"], hash);
    assert_eq!(body["mode"], "passthrough");
    assert_eq!(body["fileIndex"], 0);
    assert!((body["duration"].as_f64().unwrap() - 120.0).abs() < 0.5, "{body}");
    // The URLs carry a stream token, so a TV that cannot log in plays them as they are;
    // every request below goes without other credentials.
    let token = body["token"].as_str().expect("a stream token").to_string();
    assert_eq!(body["streamUrl"], format!("/api/torrents/{hash}/files/0?token={token}"));
    assert_eq!(body["hlsUrl"], format!("/api/stream/{hash}?token={token}"));
    let hls = d.url(body["hlsUrl"].as_str().unwrap());
    assert!(hls.contains(&format!("token={token}")), "{hls}");
    // Without the token (or other credentials) the playlist is refused.
    let (s, _) = text(&d.url(&format!("/api/stream/{hash}")));
    assert_eq!(s, 401);

    // The master playlist names the media playlist relative to itself, with the token.
    let (s, master) = text(&hls);
    assert_eq!(s, 200);
    assert!(master.contains("RESOLUTION=640x360") && master.contains("CODECS=\"avc1."), "{master}");
    assert!(master.contains(&format!("\n{hash}/index.m3u8?token={token}\n")), "{master}");
    let (s, playlist) = text(&d.url(&format!("/api/stream/{hash}/index.m3u8?token={token}")));
    assert_eq!(s, 200);
    assert!(playlist.contains("#EXT-X-PLAYLIST-TYPE:VOD") && playlist.contains("#EXT-X-ENDLIST"));
    assert!(playlist.contains(&format!("\nseg00000.ts?token={token}\n")), "{playlist}");

    // The first segment plays before a fifth of the film has arrived.
    let r = http().get(d.url(&format!("/api/stream/{hash}/seg00000.ts?token={token}"))).send().unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.headers()["content-type"], "video/MP2T");
    let seg = r.bytes().unwrap();
    let progress = d.torrent(&hash)["progress"].as_f64().unwrap();
    assert!(seg.len() > 10_000 && seg[0] == 0x47, "not MPEG-TS");
    assert!(progress < 20.0, "first segment only after {progress:.1}% of the download");

    let (s, st) = d.get(&format!("/api/stream/{hash}/status"));
    assert_eq!(s, 200, "{st}");
    assert_eq!(st["mode"], "passthrough");
    assert_eq!(st["encoder"], Value::Null);
    assert!(st["segments_ready"].as_u64().unwrap() >= 1, "{st}");
    assert!(st["clients"].as_u64().unwrap() >= 1, "{st}");

    // Then a real player reads the whole film through the playlist URL.
    seeder.set_upload_limit(0);
    let (ok, out, err) =
        player_ok("ffprobe", &["-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", &hls]);
    assert!(ok, "{err}");
    let dur: f64 = out.trim().parse().unwrap();
    assert!((dur - 120.0).abs() < 1.0, "ffprobe duration {dur}");
    let (ok, _, err) = player_ok("ffmpeg", &["-v", "error", "-i", &hls, "-c", "copy", "-f", "null", "-"]);
    assert!(ok && err.trim().is_empty(), "ffmpeg: {err}");

    // A file that is not a video, a bad segment name, then DELETE.
    let (s, v) = d.get(&format!("/api/stream/{hash}/seg99999.ts"));
    assert_eq!((s, code(&v)), (404, "NOT_FOUND"), "{v}");
    let (s, v) = d.get(&format!("/api/stream/{hash}/nonsense"));
    assert_eq!((s, code(&v)), (404, "NOT_FOUND"), "{v}");
    let (s, v) = d.delete(&format!("/api/stream/{hash}"));
    assert_eq!(s, 200, "{v}");
    let (s, v) = d.get(&format!("/api/stream/{hash}/status"));
    assert_eq!((s, code(&v)), (404, "NOT_FOUND"));
}

#[test]
fn stream_errors_follow_the_contract() {
    let src = tempfile::tempdir().unwrap();
    // A corrupt "film" and a torrent with no video at all.
    let bad = src.path().join("bad").join("broken.mkv");
    std::fs::create_dir_all(bad.parent().unwrap()).unwrap();
    let noise: Vec<u8> = (0..3_000_000u32).map(|i| (i.wrapping_mul(2654435761) >> 11) as u8).collect();
    std::fs::write(&bad, noise).unwrap();
    let bad_t = make_torrent(&bad, &src.path().join("bad.torrent"), &[]);
    let notes = src.path().join("notes").join("readme.txt");
    std::fs::create_dir_all(notes.parent().unwrap()).unwrap();
    std::fs::write(&notes, "no film here\n".repeat(10_000)).unwrap();
    let notes_t = make_torrent(&notes, &src.path().join("notes.torrent"), &[]);
    // One seeder each: librqbit gives up on a magnet whose only x.pe peer is busy
    // serving another metadata request.
    let seeder = Seeder::start(&notes_t, &notes, 0);
    let bad_seeder = Seeder::start(&bad_t, &bad, 0);
    let d = Daemon::start_with(&[("SWARMCAST_ENGINE_METADATA_TIMEOUT_SECS", "15")]);

    let (s, v) = d.post("/api/stream", json!({}));
    assert_eq!((s, code(&v)), (400, "BAD_REQUEST"), "{v}");
    let (s, v) = d.post("/api/stream", json!({ "infoHash": "xyz" }));
    assert_eq!((s, code(&v)), (400, "BAD_REQUEST"), "{v}");

    let (s, v) = d.post("/api/stream", json!({ "magnet": seeder.magnet(&info_hash(&notes_t)) }));
    assert_eq!((s, code(&v)), (422, "NO_VIDEO_FILE"), "{v}");

    let bad_hash = info_hash(&bad_t);
    let (s, v) = d.post("/api/stream", json!({ "magnet": bad_seeder.magnet(&bad_hash) }));
    assert_eq!((s, code(&v)), (500, "STREAM_FAILED"), "{v}");

    // Nobody has this one.
    let (s, v) = d.post("/api/stream", json!({ "infoHash": "0123456789abcdef0123456789abcdef01234567" }));
    assert_eq!((s, code(&v)), (504, "METADATA_TIMEOUT"), "{v}");

    // The daemon is still fine.
    let (s, _) = d.get("/api/health");
    assert_eq!(s, 200);
    wait_until("health", Duration::from_secs(5), || (d.get("/api/health").0 == 200).then_some(()));
}
