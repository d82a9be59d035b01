//! Fast start against a real transmission-daemon seeder on loopback: the peer that
//! gave a magnet's metadata gives data on the same connection (librqbit patch 4,
//! `handover`), without the engine's stall fallback (pause and resume) having to step in.

use std::time::{Duration, Instant};

use crate::fixture::{Daemon, Seeder, info_hash, make_torrent, media, wait_until};

/// The line the engine logs when its stall fallback reconnects a torrent.
const RECONNECT: &str = "no peer connected for a while; connecting to the known peers again";

#[test]
fn metadata_peer_sends_data_at_once() {
    let src = tempfile::tempdir().unwrap();
    let film = src.path().join("film.mp4");
    media::h264_aac_mp4(&film, 30, 2000);
    let torrent = make_torrent(&film, &src.path().join("film.torrent"), &[]);
    let hash = info_hash(&torrent);
    // Throttled like a real swarm, so the download is still running when we look.
    let seeder = Seeder::start(&torrent, &film, 800);
    // FAST_START_LOG=debug shows librqbit's side of the hand-over.
    let level =
        std::env::var("FAST_START_LOG").unwrap_or_else(|_| "info,librqbit=warn,librqbit::torrent_state=debug".into());
    let d = Daemon::start_with(&[("SWARMCAST_LOG_LEVEL", &level)]);

    // transmission unchokes on a 10 s pulse counted from its start: FAST_START_DELAY_MS
    // moves the magnet against it (the README's sweep over 0–8 s).
    let delay = std::env::var("FAST_START_DELAY_MS").ok().and_then(|ms| ms.parse().ok()).unwrap_or(0);
    std::thread::sleep(Duration::from_millis(delay));
    let t0 = Instant::now();
    d.add(&seeder.magnet(&hash));
    let mut metadata_at = None;
    let first_bytes = wait_until("the first verified bytes", Duration::from_secs(60), || {
        let t = d.torrent(&hash);
        if metadata_at.is_none() && t["files"].as_array().is_some_and(|f| !f.is_empty()) {
            metadata_at = Some(t0.elapsed());
        }
        (t["downloaded"].as_u64().unwrap_or(0) > 0).then(|| t0.elapsed())
    });
    eprintln!("magnet → metadata {:?}, magnet → first bytes {first_bytes:?}", metadata_at);
    let log = d.log_text();
    if std::env::var_os("FAST_START_LOG").is_some() {
        eprintln!("--- swarmcast log ---\n{log}");
    }
    assert!(
        log.lines().any(|l| l.contains("took over the metadata connection") && l.contains("r=Added")),
        "the torrent dialled the seeder again instead of keeping the metadata connection:\n{log}"
    );
    assert!(!log.contains(RECONNECT), "the stall fallback had to reconnect the seeder:\n{log}");
}

/// An MP4 written without `+faststart` keeps its index (`moov`) at the end. The engine
/// asks for it with the head the moment the metadata arrives, so the file's last bytes
/// are on disk long before the middle of the film.
#[test]
fn index_at_the_end_comes_with_the_head() {
    let src = tempfile::tempdir().unwrap();
    let film = src.path().join("film.mp4");
    let status = std::process::Command::new("ffmpeg")
        // Many frames, so that the index spans several pieces (librqbit fetches a file's
        // last piece early on its own).
        .args(["-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=50:duration=300"])
        .args(["-f", "lavfi", "-i", "sine=frequency=440:duration=300"])
        .args(["-c:v", "libx264", "-preset", "ultrafast", "-g", "100", "-b:v", "400k", "-c:a", "aac", "-shortest"])
        .arg(&film)
        .status()
        .expect("ffmpeg");
    assert!(status.success());
    let want = std::fs::read(&film).unwrap();
    let pos = want.windows(4).rposition(|w| w == b"moov").expect("a moov box") - 4;
    assert!(pos > want.len() / 2, "ffmpeg put the index in front");
    assert!(want.len() - pos > 3 * 64 * 1024, "the index fits in the last pieces");
    let tail = &want[pos..];
    let torrent = make_torrent(&film, &src.path().join("film.torrent"), &[]);
    let hash = info_hash(&torrent);
    let seeder = Seeder::start(&torrent, &film, 800);
    let d = Daemon::start();
    d.add(&seeder.magnet(&hash));

    let got = d.download_dir().join("film.mp4");
    let progress = wait_until("the index at the end of the file", Duration::from_secs(90), || {
        let p = d.torrent(&hash)["progress"].as_f64().unwrap_or(0.0);
        let bytes = std::fs::read(&got).ok()?;
        (bytes.len() == want.len() && &bytes[pos..] == tail).then_some(p)
    });
    eprintln!("the index was on disk at {progress:.1} % of the download");
    assert!(progress < 50.0, "the index came at {progress} %: it was not asked for first");
}

/// Magnet to first HLS segment of an MP4 whose index is at the end, from a seeder
/// throttled like a real swarm: the stream starts (the index came early, with the head)
/// and the engine's stall fallback never had to reconnect.
#[test]
fn magnet_to_first_segment_with_the_index_at_the_end() {
    let src = tempfile::tempdir().unwrap();
    let film = src.path().join("film.mp4");
    let status = std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25:duration=120"])
        .args(["-f", "lavfi", "-i", "sine=frequency=440:duration=120"])
        .args(["-c:v", "libx264", "-preset", "ultrafast", "-g", "50", "-b:v", "1500k", "-c:a", "aac", "-shortest"])
        .arg(&film)
        .status()
        .expect("ffmpeg");
    assert!(status.success());
    let torrent = make_torrent(&film, &src.path().join("film.torrent"), &[]);
    let hash = info_hash(&torrent);
    let seeder = Seeder::start(&torrent, &film, 800);
    let d = Daemon::start_with(&[("SWARMCAST_MEDIA_X264_PRESET", "ultrafast")]);

    let t0 = Instant::now();
    let (status, body) = d.post("/api/stream", serde_json::json!({ "magnet": seeder.magnet(&hash) }));
    assert_eq!(status, 200, "{body}");
    let ready = t0.elapsed();
    let token = body["token"].as_str().expect("a stream token").to_string();
    let url = d.url(&format!("/api/stream/{hash}/seg00000.ts?token={token}"));
    let r = crate::fixture::http().get(url).send().unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let seg = r.bytes().unwrap();
    let first = t0.elapsed();
    let progress = d.torrent(&hash)["progress"].as_f64().unwrap_or(0.0);
    eprintln!("magnet → stream ready {ready:?}, → first segment {first:?} at {progress:.1} % downloaded");
    assert!(seg.len() > 10_000 && seg[0] == 0x47, "not MPEG-TS");
    let log = d.log_text();
    assert!(!log.contains(RECONNECT), "the stall fallback had to reconnect the seeder:\n{log}");
}
