//! Services, system status and metrics against the real daemon: stopping the engine
//! really stops peer traffic and closes the listener, starting it resumes the
//! download; stopping the transcoder refuses streams.

use std::time::Duration;

use crate::fixture::{Daemon, Seeder, info_hash, make_torrent, media, sha256_file, wait_until};
use serde_json::json;

#[test]
fn engine_stop_halts_traffic_and_start_resumes() {
    let src = tempfile::tempdir().unwrap();
    let film = src.path().join("film.mp4");
    media::h264_aac_mp4(&film, 30, 1500);
    let torrent = make_torrent(&film, &src.path().join("film.torrent"), &[]);
    let hash = info_hash(&torrent);
    let seeder = Seeder::start(&torrent, &film, 300);
    let d = Daemon::start();

    let (_, list) = d.get("/api/services");
    assert_eq!(list["services"], json!(["engine", "transcoder", "tracker"]));
    let (_, st) = d.get("/api/services/engine/status");
    assert_eq!(st["running"], true);
    let port = st["listen_port"].as_u64().expect("the engine listens") as u16;
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_ok());

    d.add(&seeder.magnet(&hash));
    wait_until("some progress", Duration::from_secs(60), || {
        (d.torrent(&hash)["downloaded"].as_u64().unwrap() > 0).then_some(())
    });

    let (status, body) = d.post("/api/services/engine/stop", json!({}));
    assert_eq!((status, body["message"].as_str()), (200, Some("engine stopped")), "{body}");
    let (_, st) = d.get("/api/services/engine/status");
    assert_eq!(st["running"], false);
    assert!(
        std::net::TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_secs(2)).is_err(),
        "the peer listener is still open"
    );
    let before = d.torrent(&hash)["downloaded"].as_u64().unwrap();
    std::thread::sleep(Duration::from_secs(4));
    let t = d.torrent(&hash);
    assert_eq!(t["downloaded"].as_u64().unwrap(), before, "bytes still arrive: {t}");
    assert_eq!(t["status"], "paused");
    let (status, body) = d.post("/api/torrents/", json!({"info_hash": "0123456789abcdef0123456789abcdef01234567"}));
    assert_eq!((status, body["error"]["code"].as_str()), (503, Some("SERVICE_UNAVAILABLE")), "{body}");

    let (status, _) = d.post("/api/services/engine/start", json!({}));
    assert_eq!(status, 200);
    seeder.set_upload_limit(0);
    d.wait_status(&hash, &["seeding"], Duration::from_secs(120));
    assert_eq!(sha256_file(&d.download_dir().join("film.mp4")), sha256_file(&film));

    // The tracker can be stopped and started too; unknown services are 404.
    assert_eq!(d.post("/api/services/tracker/stop", json!({})).0, 200);
    assert_eq!(d.get("/api/services/tracker/status").1["running"], false);
    assert_eq!(d.post("/api/services/tracker/restart", json!({})).0, 200);
    assert_eq!(d.get("/api/services/tracker/status").1["running"], true);
    assert_eq!(d.get("/api/services/nope/status").0, 404);
}

#[test]
fn system_status_metrics_and_transcoder_service() {
    let d = Daemon::start();
    let (status, s) = d.get("/api/system/status");
    assert_eq!(status, 200, "{s}");
    for key in ["uptime", "cpu_pct", "cpu_count", "load", "ram_total", "ram_used", "encoders"] {
        assert!(!s[key].is_null(), "{key} missing: {s}");
    }
    assert!(s["disk"]["total"].as_u64().unwrap() > 0 && s["disk"]["free"].as_u64().is_some(), "{s}");
    // The encoder probe runs in the background; once done, software x264 is verified.
    let s = wait_until("the encoder probe", Duration::from_secs(60), || {
        let (_, s) = d.get("/api/system/status");
        s["selected_encoder"].is_string().then_some(s)
    });
    let x264 = s["encoders"].as_array().unwrap().iter().find(|e| e["name"] == "x264enc").expect("x264enc listed");
    assert_eq!(x264["verified"], true, "{s}");
    assert_eq!(x264["kind"], "software");
    // What the encoders' libraries print while they are tried stays out of the log.
    assert!(!d.log_text().contains("[OpenH264]"), "{}", d.log_text());

    let r = d.client().get(d.url("/metrics")).send().unwrap();
    assert_eq!(r.status(), 200);
    let text = r.text().unwrap();
    for m in [
        "swarmcast_download_rate_bytes",
        "swarmcast_torrents{status=\"seeding\"}",
        "swarmcast_disk_free_bytes",
        "swarmcast_segment_latency_seconds_bucket{le=\"+Inf\"}",
        "swarmcast_encoder_in_use{encoder=",
    ] {
        assert!(text.contains(m), "{m} missing from /metrics:\n{text}");
    }

    assert_eq!(d.post("/api/services/transcoder/stop", json!({})).0, 200);
    let (_, st) = d.get("/api/services/transcoder/status");
    assert_eq!(st["running"], false);
    assert_eq!(d.post("/api/services/transcoder/start", json!({})).0, 200);
    assert_eq!(d.get("/api/services/transcoder/status").1["running"], true);
}
