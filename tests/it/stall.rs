//! No silent hang: a run that really stalls (an encoder whose output is held by a
//! closed valve, the way a wedged encoder or a deadlocked pipeline sits with its threads
//! asleep) is stopped and retried on the next encoder, and with none left the stream
//! fails in words within the bound.

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use swarmcast::config::MediaConfig;
use swarmcast::media::encoder::{Candidate, EncoderRegistry};
use swarmcast::media::{LocalFile, Media, StreamKey, StreamPhase};

fn mpeg4(dir: &std::path::Path) -> PathBuf {
    let out = dir.join("mpeg4.mkv");
    let st = Command::new("ffmpeg")
        .args("-v error -y -f lavfi -i testsrc2=size=320x240:rate=25 -f lavfi -i sine=frequency=440:sample_rate=48000 -t 10 -c:v mpeg4 -q:v 5 -c:a ac3".split(' '))
        .arg(&out)
        .status()
        .unwrap();
    assert!(st.success());
    out
}

fn config() -> MediaConfig {
    MediaConfig { x264_preset: "ultrafast".into(), ..MediaConfig::default() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_run_moves_to_the_next_encoder() {
    let tmp = tempfile::tempdir().unwrap();
    let file = mpeg4(tmp.path());
    let registry = EncoderRegistry::probe_candidates(vec![
        Candidate::stalling("x264enc", "x264enc-stalls"),
        Candidate::named("x264enc"),
    ]);
    assert_eq!(registry.selected().unwrap().name, "x264enc-stalls");
    let media = Media::with_registry(config(), tmp.path().join("cache"), registry);
    let s = media.open(&StreamKey::new("f", 0), Arc::new(LocalFile(file)), Duration::from_secs(20)).await.unwrap();
    let t = Instant::now();
    let p = s.segment(0, "t", Duration::from_secs(30)).await.unwrap();
    assert!(std::fs::metadata(p).unwrap().len() > 1000);
    let st = s.status();
    assert_eq!(st.failed_encoders, vec!["x264enc-stalls".to_string()], "{st:?}");
    assert_eq!(st.encoder.as_deref(), Some("x264enc"));
    assert!(t.elapsed() < Duration::from_secs(25), "took {:?}", t.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_no_encoder_left_the_stream_fails_in_words() {
    let tmp = tempfile::tempdir().unwrap();
    let file = mpeg4(tmp.path());
    let registry = EncoderRegistry::probe_candidates(vec![Candidate::stalling("x264enc", "x264enc-stalls")]);
    let media = Media::with_registry(config(), tmp.path().join("cache"), registry);
    let s = media.open(&StreamKey::new("f", 0), Arc::new(LocalFile(file)), Duration::from_secs(20)).await.unwrap();
    let t = Instant::now();
    let err = s.segment(0, "t", Duration::from_secs(30)).await.unwrap_err();
    let took = t.elapsed();
    let msg = err.to_string();
    assert!(msg.contains("could not be converted"), "{msg}");
    assert!(msg.contains("(MPEG"), "{msg}");
    assert!(took <= Duration::from_secs(20), "failed after {took:?}");
    let st = s.status();
    assert_eq!(st.state, StreamPhase::Failed);
    assert!(st.error.unwrap().contains("could not be converted"));
    // Asked again, it answers at once.
    let t = Instant::now();
    assert!(s.segment(1, "t", Duration::from_secs(30)).await.is_err());
    assert!(t.elapsed() < Duration::from_secs(1));
}

/// A swarm slower than the film: a player asking for a segment whose bytes are still
/// coming gets `NOT_READY` (503) at `media.segment_wait_secs`, with `Retry-After`, what
/// it waits for in words and as `waiting`, and never a wait past the bound; asked again
/// once the bytes came, the segment is served.
#[test]
fn a_slow_swarm_answers_not_ready_with_retry_after() {
    use crate::fixture::{Daemon, Seeder, info_hash, make_torrent, media};
    let src = tempfile::tempdir().unwrap();
    let film = src.path().join("data/film.mp4");
    std::fs::create_dir_all(film.parent().unwrap()).unwrap();
    media::h264_aac_mp4(&film, 60, 800);
    let torrent = make_torrent(&film, &src.path().join("film.torrent"), &[]);
    let hash = info_hash(&torrent);
    let seeder = Seeder::start(&torrent, &film, 150);
    let d = Daemon::start_with(&[("SWARMCAST_MEDIA_SEGMENT_WAIT_SECS", "4")]);
    let (s, st) = d.post("/api/stream", serde_json::json!({ "magnet": seeder.magnet(&hash) }));
    assert_eq!(s, 200, "{st}");
    let token = st["token"].as_str().unwrap().to_string();
    let seg = |i: usize| format!("/api/stream/{hash}/seg{i:05}.ts?token={token}");
    let get = |i: usize| {
        let t0 = Instant::now();
        let r = d.client().get(d.url(&seg(i))).send().unwrap();
        let status = r.status().as_u16();
        let retry = r.headers().get("retry-after").and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
        let body = r.bytes().unwrap().to_vec();
        (status, retry, body, t0.elapsed())
    };
    let (s, _, body, _) = get(0);
    assert_eq!(s, 200, "{}", String::from_utf8_lossy(&body));
    // The swarm slows to a trickle with most of the film still to come.
    seeder.set_upload_limit(2);
    let t = d.torrent(&hash);
    assert!(t["progress"].as_f64().unwrap() < 80.0, "the seeder is too fast for this test: {t}");
    let last = (0..100)
        .rev()
        .find(|&i| {
            d.client()
                .get(d.url(&format!("/api/stream/{hash}/index.m3u8?token={token}")))
                .send()
                .unwrap()
                .text()
                .unwrap()
                .contains(&format!("seg{i:05}.ts"))
        })
        .unwrap();
    let (s, retry, body, took) = get(last);
    let e: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    assert_eq!((s, e["error"]["code"].as_str()), (503, Some("NOT_READY")), "{e}");
    assert!(took >= Duration::from_secs(3) && took < Duration::from_secs(10), "answered after {took:?}");
    let retry = retry.expect("a Retry-After header");
    assert!((2..=10).contains(&retry), "Retry-After {retry}");
    let w = &e["error"]["waiting"];
    assert_eq!((w["what"].as_str(), w["segment"].as_u64()), (Some("data"), Some(last as u64)), "{e}");
    assert!(w["peers"].as_u64().unwrap() >= 1 && w["bytes_needed"].as_u64().unwrap() > 0, "{e}");
    let msg = e["error"]["message"].as_str().unwrap();
    assert!(msg.contains(&format!("segment {last} is still downloading")) && msg.contains("ask again"), "{msg}");
    // The swarm speeds up: asked again after Retry-After, the segment comes.
    seeder.set_upload_limit(0);
    let mut answers = Vec::new();
    for _ in 0..20 {
        std::thread::sleep(Duration::from_secs(retry));
        let (s, _, body, took) = get(last);
        assert!(took < Duration::from_secs(10), "a retry waited {took:?}");
        if s == 200 {
            assert!(body.len() > 1000 && body[0] == 0x47, "an MPEG-TS segment");
            return;
        }
        answers.push(format!("{s} {}", String::from_utf8_lossy(&body)));
        assert_eq!(s, 503, "{answers:?}");
    }
    panic!("the segment never came: {answers:?}");
}
