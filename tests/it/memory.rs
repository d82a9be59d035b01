//! Streams give their memory back: once a stream is deleted, nothing its pipelines
//! made lives on in the daemon. The real daemon runs with GStreamer's leaks tracer,
//! which lists every GStreamer object alive when the process gets SIGUSR1; what a
//! stream's runs made (the pipeline, its elements and pads, buffers, pools, bus
//! messages) must be gone from that list after `DELETE /api/stream/{id}`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::fixture::{Daemon, media, run, wait_until};

/// Kinds of objects that live as long as GStreamer does, created once per class or
/// plugin on first use (a decoder's pad templates, a typefinder's caps).
fn lives_with_gstreamer(kind: &str) -> bool {
    kind.ends_with("Factory") || matches!(kind, "GstPlugin" | "GstPadTemplate" | "GstCaps" | "GstTracerRecord" | "")
}

/// Counts of the objects alive now, by type, from the tracer's listing the daemon
/// writes on SIGUSR1 into `log` (read once the file stops growing).
fn alive(d: &Daemon, log: &Path) -> BTreeMap<String, usize> {
    let from = std::fs::metadata(log).map_or(0, |m| m.len()) as usize;
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(d.pid() as i32), nix::sys::signal::Signal::SIGUSR1).unwrap();
    let mut last = (from, Instant::now());
    let text = wait_until("the leaks tracer's listing", Duration::from_secs(20), || {
        let len = std::fs::metadata(log).map_or(0, |m| m.len()) as usize;
        if len != last.0 {
            last = (len, Instant::now());
            return None;
        }
        (len > from && last.1.elapsed() > Duration::from_millis(700)).then(|| std::fs::read(log).unwrap())
    });
    let mut kinds = BTreeMap::new();
    for line in String::from_utf8_lossy(&text[from..]).lines() {
        if let Some(rest) = line.split("object-alive, type-name=(string)").nth(1) {
            *kinds.entry(rest.split(',').next().unwrap_or("").to_string()).or_insert(0) += 1;
        }
    }
    assert!(!kinds.is_empty(), "no object-alive lines after SIGUSR1:\n{}", String::from_utf8_lossy(&text[from..]));
    kinds
}

/// The objects of `now` not accounted for by `before` (and not GStreamer's own).
fn more_than(now: &BTreeMap<String, usize>, before: &BTreeMap<String, usize>) -> BTreeMap<String, usize> {
    now.iter()
        .filter(|(k, _)| !lives_with_gstreamer(k))
        .filter_map(|(k, &n)| {
            n.checked_sub(before.get(k).copied().unwrap_or(0)).filter(|&extra| extra > 0).map(|e| (k.clone(), e))
        })
        .collect()
}

/// Starts a stream of `file` (a torrent made of it in the download dir), fetches its
/// first two segments and returns its id.
fn play(d: &Daemon, file: &str) -> String {
    // Made once; asked again, the daemon answers 409 with the torrent's id.
    let (s, t) = d.post("/api/torrents/create", json!({ "path": file }));
    assert!(s == 201 || s == 409, "{s} {t}");
    let id = t["id"].as_str().unwrap().to_string();
    let (s, st) = d.post("/api/stream", json!({ "infoHash": id }));
    assert_eq!(s, 200, "{st}");
    let hls = st["hlsUrl"].as_str().unwrap();
    let (path, query) = hls.split_once('?').unwrap();
    let index = format!("{path}/index.m3u8?{query}");
    let r = d.client().get(d.url(&index)).send().unwrap();
    assert_eq!(r.status(), 200);
    let playlist = r.text().unwrap();
    for seg in playlist.lines().filter(|l| !l.starts_with('#') && !l.is_empty()).take(2) {
        let r = d.client().get(d.url(&format!("/api/stream/{id}/{seg}"))).send().unwrap();
        assert_eq!(r.status(), 200, "segment {seg} of {file}: {}", r.text().unwrap_or_default());
        assert_eq!(r.bytes().unwrap()[0], 0x47, "an MPEG-TS segment");
    }
    id
}

fn mpeg4_ac3_mkv(path: &Path) {
    run(Command::new("ffmpeg")
        .args("-v error -y -f lavfi -i testsrc2=size=640x360:rate=25:duration=30 -f lavfi".split(' '))
        .args(["-i", "sine=frequency=440:sample_rate=48000:duration=30"])
        .args("-c:v mpeg4 -q:v 5 -g 50 -c:a ac3 -shortest".split(' '))
        .arg(path));
}

/// Deletes the streams `ids` and waits until the tracer lists no pipeline; returns
/// the listing then (or the last one, when a pipeline stays).
fn delete_and_settle(d: &Daemon, log: &Path, ids: &[String]) -> BTreeMap<String, usize> {
    for id in ids {
        let (s, v) = d.delete(&format!("/api/stream/{id}"));
        assert_eq!(s, 200, "{v}");
    }
    // Teardown runs on its own thread: it gets a moment.
    let start = Instant::now();
    loop {
        let now = alive(d, log);
        if !now.contains_key("GstPipeline") || start.elapsed() > Duration::from_secs(30) {
            return now;
        }
        std::thread::sleep(Duration::from_secs(1));
    }
}

#[test]
fn a_deleted_stream_leaves_nothing_of_its_pipelines_alive() {
    let tmp = tempfile::tempdir().unwrap();
    let log: PathBuf = tmp.path().join("gst-leaks.log");
    let log_s = log.to_string_lossy().into_owned();
    let d = Daemon::start_with(&[
        ("GST_TRACERS", "leaks"),
        ("GST_LEAKS_TRACER_SIG", "1"),
        ("GST_DEBUG", "GST_TRACER:7"),
        ("GST_DEBUG_NO_COLOR", "1"),
        ("GST_DEBUG_FILE", &log_s),
        ("SWARMCAST_MEDIA_X264_PRESET", "ultrafast"),
    ]);
    media::h264_aac_mp4(&d.download_dir().join("pass.mp4"), 30, 800);
    mpeg4_ac3_mkv(&d.download_dir().join("trans.mkv"));

    // A first passthrough and transcode load what lives as long as GStreamer does
    // (GStreamer starts in the daemon with its first stream, and the tracer's SIGUSR1
    // handler with it); what is alive once they are deleted is the baseline.
    let ids = [play(&d, "pass.mp4"), play(&d, "trans.mkv")];
    let first = alive(&d, &log);
    assert!(first.contains_key("GstPipeline"), "no pipeline listed while streams run: {first:?}");
    let before = delete_and_settle(&d, &log, &ids);
    assert!(!before.contains_key("GstPipeline"), "a pipeline alive 30 s after its stream was deleted: {before:?}");

    // The same again: while they run, their objects are listed; once deleted, nothing
    // of theirs may be left.
    let ids = [play(&d, "pass.mp4"), play(&d, "trans.mkv")];
    let running = more_than(&alive(&d, &log), &before);
    assert!(running.contains_key("GstPipeline"), "no pipeline listed while streams run: {running:?}");
    let after = delete_and_settle(&d, &log, &ids);
    let left = more_than(&after, &before);
    assert!(left.is_empty(), "alive after the streams were deleted (type: count): {left:?}");
}
