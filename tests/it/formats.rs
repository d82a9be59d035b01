//! Real-world source formats through the real pipelines: HEVC 8/10-bit, and more.
//! Media is generated here with ffmpeg, once per run, in a temp dir the tests share.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use swarmcast::config::MediaConfig;
use swarmcast::media::encoder::{Candidate, EncoderRegistry};
use swarmcast::media::{LocalFile, Media, StreamKey};

fn media_dir() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().unwrap()).path()
}

/// Generates `name` once per run with ffmpeg from testsrc2 + a sine.
fn clip(name: &str, secs: u32, size: &str, args: &str) -> PathBuf {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _g = LOCK.lock().unwrap();
    let out = media_dir().join(name);
    if out.exists() {
        return out;
    }
    let base = format!(
        "-v error -y -f lavfi -i testsrc2=size={size}:rate=25 -f lavfi -i sine=frequency=440:sample_rate=48000 -t {secs}"
    );
    let st = Command::new("ffmpeg")
        .args(base.split(' '))
        .args(args.split(' '))
        .arg(&out)
        .status()
        .expect("ffmpeg runs");
    assert!(st.success(), "ffmpeg {args} failed");
    out
}

fn config() -> MediaConfig {
    MediaConfig {
        x264_preset: "ultrafast".into(),
        ..MediaConfig::default()
    }
}

fn software_registry() -> EncoderRegistry {
    EncoderRegistry::probe_candidates(vec![Candidate::named("x264enc")])
}

async fn first_segment(file: PathBuf, tries: usize) {
    for i in 0..tries {
        let tmp = tempfile::tempdir().unwrap();
        let media = Media::with_registry(config(), tmp.path().join("cache"), software_registry());
        let s = media
            .open(&StreamKey::new(format!("k{i}"), 0), Arc::new(LocalFile(file.clone())), Duration::from_secs(20))
            .await
            .unwrap();
        let t = std::time::Instant::now();
        let p = s.segment(0, "t", Duration::from_secs(20)).await;
        let p = p.unwrap_or_else(|e| panic!("try {i}: {e}; status {:?}", s.status()));
        assert!(std::fs::metadata(p).unwrap().len() > 1000);
        eprintln!("try {i}: first segment in {:?}", t.elapsed());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hevc_10bit_mkv_plays() {
    swarmcast::system::init_logging("swarmcast=debug");
    let f = clip("hevc10.mkv", 8, "640x360", "-c:v libx265 -preset ultrafast -pix_fmt yuv420p10le -x265-params log-level=error -c:a aac");
    first_segment(f, 3).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hevc_8bit_mkv_plays() {
    let f = clip("hevc8.mkv", 8, "640x360", "-c:v libx265 -preset ultrafast -pix_fmt yuv420p -x265-params log-level=error -c:a aac");
    first_segment(f, 5).await;
}

/// ffprobe's view of the first video stream of `file`: (pix_fmt, profile, width, height, sar).
fn video_props(file: &Path) -> (String, String, u32, u32, String) {
    let out = Command::new("ffprobe")
        .args("-v error -select_streams v:0 -show_entries stream=pix_fmt,profile,width,height,sample_aspect_ratio -of default=nw=1".split(' '))
        .arg(file)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let get = |k: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{k}=")))
            .unwrap_or_default()
            .to_string()
    };
    (get("pix_fmt"), get("profile"), get("width").parse().unwrap_or(0), get("height").parse().unwrap_or(0), get("sample_aspect_ratio"))
}

async fn segment0(file: &Path, key: &str) -> PathBuf {
    let tmp = media_dir().join(format!("cache-{key}"));
    let media = Media::with_registry(config(), tmp, software_registry());
    let s = media
        .open(&StreamKey::new(key, 0), Arc::new(LocalFile(file.to_path_buf())), Duration::from_secs(20))
        .await
        .unwrap_or_else(|e| panic!("{key}: {e:#}"));
    s.segment(0, "t", Duration::from_secs(30))
        .await
        .unwrap_or_else(|e| panic!("{key}: {e}; status {:?}", s.status()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_bit_comes_out_eight_bit_high() {
    let f = clip("hevc10.mkv", 8, "640x360", "-c:v libx265 -preset ultrafast -pix_fmt yuv420p10le -x265-params log-level=error -c:a aac");
    let seg = segment0(&f, "hevc10").await;
    let (pix, profile, w, h, _) = video_props(&seg);
    assert_eq!(pix, "yuv420p");
    assert!(profile.starts_with("High") && !profile.contains("10"), "{profile}");
    assert_eq!((w, h), (640, 360));
    let f = clip("h264-10.mkv", 8, "640x360", "-c:v libx264 -preset ultrafast -pix_fmt yuv420p10le -c:a aac");
    let (pix, _, _, _, _) = video_props(&segment0(&f, "h26410").await);
    assert_eq!(pix, "yuv420p");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anamorphic_mpeg2_keeps_its_display_aspect() {
    // PAL DVD: 720x576 stored, 16:9 shown (pixel aspect 64:45), interlaced.
    let f = clip("dvd.mpg", 6, "720x576", "-c:v mpeg2video -flags +ilme+ildct -aspect 16:9 -b:v 4M -c:a ac3 -f dvd");
    let seg = segment0(&f, "dvd").await;
    let (_, _, w, h, sar) = video_props(&seg);
    let dar = w as f64 / h as f64 * sar.split(':').map(|x| x.parse::<f64>().unwrap_or(1.0)).reduce(|a, b| a / b).unwrap_or(1.0);
    assert!((dar - 16.0 / 9.0).abs() < 0.02, "{w}x{h} sar {sar}: display aspect {dar}");
}
