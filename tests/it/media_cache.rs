//! The HLS cache follows the torrent: forgetting a torrent (what the daemon does on the
//! engine's `removed` and `evicted` events) stops its streams and deletes its cache,
//! those of streams not open now included, and a stream opened again starts empty.

use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use swarmcast::config::MediaConfig;
use swarmcast::media::encoder::{Candidate, EncoderRegistry};
use swarmcast::media::{LocalFile, Media, StreamKey};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removing_a_torrent_deletes_its_cache() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("a.mp4");
    let st = Command::new("ffmpeg")
        .args(
            "-v error -y -f lavfi -i testsrc2=size=320x240:rate=25 -t 10 -c:v libx264 -preset ultrafast -g 25"
                .split(' '),
        )
        .arg(&file)
        .status()
        .unwrap();
    assert!(st.success());
    let cache = tmp.path().join("cache");
    let cfg = MediaConfig { x264_preset: "ultrafast".into(), ..MediaConfig::default() };
    let media =
        Media::with_registry(cfg, cache.clone(), EncoderRegistry::probe_candidates(vec![Candidate::named("x264enc")]));
    let key = StreamKey::new("aaaa", 0);
    let s = media.open(&key, Arc::new(LocalFile(file.clone())), Duration::from_secs(20)).await.unwrap();
    let seg = s.segment(0, "t", Duration::from_secs(30)).await.unwrap();
    assert!(seg.exists());
    // A leftover folder of another file of the same torrent, and one of another torrent.
    std::fs::create_dir_all(cache.join("aaaa-3")).unwrap();
    std::fs::write(cache.join("aaaa-3/seg00000.ts"), b"old").unwrap();
    std::fs::create_dir_all(cache.join("bbbb-0")).unwrap();
    assert_eq!(media.forget_torrent("aaaa"), 2);
    assert!(!seg.exists() && !cache.join("aaaa-0").exists() && !cache.join("aaaa-3").exists());
    assert!(cache.join("bbbb-0").exists(), "another torrent's cache is kept");
    assert!(media.get(&key).is_none());
    // Added back, it starts from nothing.
    let s = media.open(&key, Arc::new(LocalFile(file)), Duration::from_secs(20)).await.unwrap();
    assert_eq!(s.status().segments_ready, 0);
}
