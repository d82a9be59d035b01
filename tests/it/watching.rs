//! Watching, end to end with the real daemon and a real transmission seeder: where a
//! user stopped is kept and offered back (`resumeAt`), past 90 % a file counts as
//! watched, "continue watching" is most recent first, a season pack's stream starts
//! at the first episode not watched and names the next one, the next episode is
//! prepared near the end, and a player with only a stream token is followed from the
//! segments it fetches.

use std::time::Duration;

use crate::fixture::{Daemon, Seeder, http, info_hash, make_torrent, media, wait_until};
use serde_json::{Value, json};

/// A season pack: three episodes; episode 2 is the largest file, so "the largest
/// video" would start in the middle of the season.
fn season_pack(dir: &std::path::Path) -> std::path::PathBuf {
    let root = dir.join("Show.S01.720p");
    std::fs::create_dir_all(&root).unwrap();
    media::h264_aac_mp4(&root.join("Show.S01E01.720p.mp4"), 20, 300);
    media::h264_aac_mp4(&root.join("Show.S01E02.720p.mp4"), 20, 900);
    media::h264_aac_mp4(&root.join("Show.S01E03.720p.mp4"), 12, 300);
    std::fs::write(root.join("Show.S01E01.720p.srt"), "1\n00:00:01,000 --> 00:00:02,000\nHi\n").unwrap();
    root
}

fn put(d: &Daemon, path: &str, body: Value) -> (u16, Value) {
    let r = d.client().put(d.url(path)).json(&body).send().unwrap();
    let s = r.status().as_u16();
    (s, r.json().unwrap_or(Value::Null))
}

#[test]
fn resume_watched_continue_next_episode_and_segment_following() {
    let tmp = tempfile::tempdir().unwrap();
    let pack = season_pack(tmp.path());
    let torrent = make_torrent(&pack, &tmp.path().join("pack.torrent"), &[]);
    let id = info_hash(&torrent);
    let seeder = Seeder::start(&torrent, &pack, 0);
    let d = Daemon::start_with(&[("SWARMCAST_MEDIA_X264_PRESET", "ultrafast")]);

    let (s, first) = d.post("/api/stream", json!({ "magnet": seeder.magnet(&id) }));
    assert_eq!(s, 200, "{first}");
    let t = d.torrent(&id);
    let index_of = |needle: &str| -> u64 {
        t["files"].as_array().unwrap().iter().find(|f| f["name"].as_str().unwrap().contains(needle)).unwrap()["index"]
            .as_u64()
            .unwrap()
    };
    let (e1, e2, e3) = (index_of("S01E01.720p.mp4"), index_of("S01E02"), index_of("S01E03"));
    // A season pack starts at its first episode, not at the largest file (episode 2),
    // and its main file is that episode too.
    assert_eq!(t["video_file"], e1, "{t}");
    assert_eq!(first["fileIndex"], e1, "{first}");
    assert_eq!(first["resumeAt"], 0.0);
    assert_eq!(first["next"]["fileIndex"], e2, "{first}");
    assert_eq!(first["next"]["torrentId"], id);
    assert!(first["next"]["name"].as_str().unwrap().ends_with("Show.S01E02.720p.mp4"), "{first}");
    assert!(!first["hlsUrl"].as_str().unwrap().contains("file="), "the main file needs no file=: {first}");

    // Stopped at 10 s of 20: offered back, listed, not watched.
    let (s, body) = put(&d, &format!("/api/watch/{id}/{e1}"), json!({ "position_s": 10.0 }));
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["watch"]["watched"], false);
    assert!((body["watch"]["duration_s"].as_f64().unwrap() - 20.0).abs() < 0.5, "the probed duration: {body}");
    let (_, again) = d.post("/api/stream", json!({ "infoHash": id }));
    assert_eq!((again["fileIndex"].as_u64(), again["resumeAt"].as_f64()), (Some(e1), Some(10.0)), "{again}");
    let (_, list) = d.get("/api/watch");
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    assert_eq!((list[0]["torrent_id"].as_str(), list[0]["file_index"].as_u64()), (Some(id.as_str()), Some(e1)));
    assert_eq!(list[0]["position_s"], 10.0);
    assert!(list[0]["name"].as_str().unwrap().ends_with("Show.S01E01.720p.mp4"));

    // Past 90 %: watched, and the next stream of the pack is episode 2 from its start.
    let (s, body) = put(&d, &format!("/api/watch/{id}/{e1}"), json!({ "position_s": 18.5, "duration_s": 20.0 }));
    assert_eq!((s, &body["watch"]["watched"]), (200, &json!(true)), "{body}");
    // Near the end, the box prepares episode 2: its stream opens and makes segment 0.
    wait_until("episode 2 prepared (its first segment made)", Duration::from_secs(60), || {
        let (s, st) = d.get(&format!("/api/stream/{id}/status?file={e2}"));
        (s == 200 && st["segments_ready"].as_u64().unwrap_or(0) >= 1).then_some(())
    });
    let (_, second) = d.post("/api/stream", json!({ "infoHash": id }));
    assert_eq!(second["fileIndex"], e2, "{second}");
    assert_eq!(second["resumeAt"], 0.0);
    assert_eq!(second["next"]["fileIndex"], e3, "{second}");
    // Asked for by index, a watched episode starts over and the last has no next.
    let (_, asked) = d.post("/api/stream", json!({ "infoHash": id, "fileIndex": e1 }));
    assert_eq!((asked["fileIndex"].as_u64(), asked["resumeAt"].as_f64()), (Some(e1), Some(0.0)), "{asked}");
    let (_, last) = d.post("/api/stream", json!({ "infoHash": id, "fileIndex": e3 }));
    assert_eq!(last["next"], Value::Null, "{last}");

    // A TV with only the stream token: followed from the segments it fetches.
    let hls = d.url(second["hlsUrl"].as_str().unwrap());
    let master = http().get(&hls).send().unwrap().text().unwrap();
    let media_uri =
        master.lines().find(|l| !l.starts_with('#') && !l.is_empty()).expect("a media playlist").to_string();
    let base = hls.split('?').next().unwrap().rsplit_once('/').unwrap().0.to_string();
    let media_url = format!("{base}/{media_uri}");
    let playlist = http().get(&media_url).send().unwrap().text().unwrap();
    let segs: Vec<&str> = playlist.lines().filter(|l| !l.starts_with('#') && !l.is_empty()).collect();
    assert!(segs.len() >= 4, "{playlist}");
    let media_base = media_url.split('?').next().unwrap().rsplit_once('/').unwrap().0.to_string();
    // EXTINF durations up to segment 2: where it starts.
    let durations: Vec<f64> = playlist
        .lines()
        .filter_map(|l| l.strip_prefix("#EXTINF:"))
        .map(|l| l.trim_end_matches(',').split(',').next().unwrap().parse().unwrap())
        .collect();
    let start2: f64 = durations[..2].iter().sum();
    let r = http().get(format!("{media_base}/{}", segs[2])).send().unwrap();
    assert_eq!(r.status(), 200);
    assert!(!r.bytes().unwrap().is_empty());
    let (_, list) = d.get("/api/watch");
    let followed = list.as_array().unwrap().iter().find(|w| w["file_index"] == e2).unwrap_or_else(|| panic!("{list}"));
    assert!((followed["position_s"].as_f64().unwrap() - start2).abs() < 0.2, "segment 2 starts at {start2}: {list}");
    assert_eq!(list[0]["file_index"], e2, "the most recent first: {list}");
    // The next segment within seconds does not move it (written every few seconds
    // while the player fetches in order; a jump is a seek and is written at once).
    let r = http().get(format!("{media_base}/{}", segs[3])).send().unwrap();
    assert_eq!(r.status(), 200);
    let (_, list) = d.get("/api/watch");
    let w = list.as_array().unwrap().iter().find(|w| w["file_index"] == e2).unwrap();
    assert!((w["position_s"].as_f64().unwrap() - start2).abs() < 0.2, "{list}");

    // Continue watching: the last touched first.
    let (s, _) = put(&d, &format!("/api/watch/{id}/{e3}"), json!({ "position_s": 3.0 }));
    assert_eq!(s, 200);
    let (_, list) = d.get("/api/watch");
    let order: Vec<u64> = list.as_array().unwrap().iter().map(|w| w["file_index"].as_u64().unwrap()).collect();
    assert_eq!(order, [e3, e2, e1], "{list}");
    // A player's own report is not overwritten by segments fetched just after it.
    std::thread::sleep(Duration::from_secs(6));
    let r = http().get(format!("{media_base}/{}", segs[0])).send().unwrap();
    assert_eq!(r.status(), 200);
    let (s, _) = put(&d, &format!("/api/watch/{id}/{e2}"), json!({ "position_s": 7.0 }));
    assert_eq!(s, 200);
    std::thread::sleep(Duration::from_secs(6));
    let r = http().get(format!("{media_base}/{}", segs[1])).send().unwrap();
    assert_eq!(r.status(), 200);
    let (_, list) = d.get("/api/watch");
    let w = list.as_array().unwrap().iter().find(|w| w["file_index"] == e2).unwrap();
    assert_eq!(w["position_s"], 7.0, "{list}");

    // Bad input in the contract's format; forgetting.
    for (path, body, code) in [
        (format!("/api/watch/{id}/{e1}"), json!({ "position_s": -1 }), 400),
        (format!("/api/watch/{id}/{e1}"), json!({ "position_s": 1, "duration_s": 0 }), 400),
        (format!("/api/watch/{id}/{e1}"), json!({ "position": 1 }), 400),
        (format!("/api/watch/{id}/99"), json!({ "position_s": 1 }), 404),
        (format!("/api/watch/{id}/x"), json!({ "position_s": 1 }), 404),
        (format!("/api/watch/{}/0", "0".repeat(40)), json!({ "position_s": 1 }), 404),
    ] {
        let (s, b) = put(&d, &path, body.clone());
        assert_eq!(s, code, "{path} {body}: {b}");
        assert!(b["error"]["code"].is_string() && b["error"]["message"].is_string(), "{b}");
    }
    assert_eq!(d.delete(&format!("/api/watch/{id}/{e3}")).0, 200);
    assert_eq!(d.delete(&format!("/api/watch/{id}/{e3}")).0, 404);
    let (_, list) = d.get("/api/watch");
    assert_eq!(list.as_array().unwrap().len(), 2, "{list}");
    // Without credentials, nothing.
    assert_eq!(http().get(d.url("/api/watch")).send().unwrap().status(), 401);
    drop(seeder);
}
