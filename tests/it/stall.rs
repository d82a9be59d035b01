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
    let s = media
        .open(&StreamKey::new("f", 0), Arc::new(LocalFile(file)), Duration::from_secs(20))
        .await
        .unwrap();
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
    let registry =
        EncoderRegistry::probe_candidates(vec![Candidate::stalling("x264enc", "x264enc-stalls")]);
    let media = Media::with_registry(config(), tmp.path().join("cache"), registry);
    let s = media
        .open(&StreamKey::new("f", 0), Arc::new(LocalFile(file)), Duration::from_secs(20))
        .await
        .unwrap();
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
