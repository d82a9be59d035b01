//! 10-bit video through a real transcode: the levels between two 8-bit steps survive
//! as averages (the 10→8-bit dither), and nothing shifts.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use swarmcast::config::MediaConfig;
use swarmcast::media::encoder::{Candidate, EncoderRegistry};
use swarmcast::media::{LocalFile, Media, StreamKey};

const W: usize = 640;
const H: usize = 360;

/// Mean of an 8-bit luma plane over the block `x0..x1` × `y0..y1`.
fn mean_luma(frame: &[u8], (x0, x1): (usize, usize), (y0, y1): (usize, usize)) -> f64 {
    let mut sum = 0u64;
    for y in y0..y1 {
        sum += frame[y * W + x0..y * W + x1].iter().map(|&v| v as u64).sum::<u64>();
    }
    sum as f64 / ((x1 - x0) * (y1 - y0)) as f64
}

/// The luma plane of the first frame of `file`, as stored (`pix_fmt` is the file's own,
/// so no range or matrix conversion touches the values); `bytes` per sample.
fn first_luma(file: &Path, pix_fmt: &str, bytes: usize) -> Vec<u8> {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(file)
        .args(["-frames:v", "1", "-f", "rawvideo", "-pix_fmt", pix_fmt, "-"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.stdout.len(), W * H * bytes * 3 / 2);
    out.stdout[..W * H * bytes].to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_bit_levels_between_eight_bit_steps_survive_as_averages() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("levels10.mkv");
    // Lossless 10-bit HEVC: luma 600 on the left half (150.0 in 8 bits), 602 on the
    // right (150.5: halfway between two 8-bit steps), neutral chroma.
    let video = format!("nullsrc=s={W}x{H}:r=25:d=3,format=yuv420p10le,geq=lum='if(lt(X,W/2),600,602)':cb=512:cr=512");
    let st = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-f", "lavfi", "-i", &video])
        .args(["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=3"])
        .args(["-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "log-level=error:lossless=1"])
        .args(["-pix_fmt", "yuv420p10le", "-c:a", "aac", "-shortest"])
        .arg(&src)
        .status()
        .unwrap();
    assert!(st.success());
    // The source really holds those 10-bit levels.
    let luma = first_luma(&src, "yuv420p10le", 2);
    let px = |x: usize, y: usize| u16::from_le_bytes([luma[(y * W + x) * 2], luma[(y * W + x) * 2 + 1]]);
    assert_eq!((px(100, 100), px(500, 100)), (600, 602));

    let config = MediaConfig { x264_preset: "superfast".into(), ..MediaConfig::default() };
    let reg = EncoderRegistry::probe_candidates(vec![Candidate::named("x264enc")]);
    let media = Media::with_registry(config, dir.path().join("cache"), reg);
    let s = media
        .open(&StreamKey::new("levels", 0), Arc::new(LocalFile(src.clone())), Duration::from_secs(20))
        .await
        .unwrap();
    assert_eq!(s.mode.as_str(), "transcode");
    let seg = s.segment(0, "t", Duration::from_secs(30)).await.unwrap_or_else(|e| panic!("{e}: {:?}", s.status()));
    let frame = first_luma(&seg, "yuv420p", 1);
    // Well inside each half, away from the edge between them.
    let left = mean_luma(&frame, (40, 280), (40, 320));
    let right = mean_luma(&frame, (360, 600), (40, 320));
    eprintln!("luma means: left {left:.3}, right {right:.3}");
    // Truncation gives 150 and 150, rounding 150 and 151: only a dither keeps 150.5.
    assert!((left - 150.0).abs() < 0.15, "left half {left:.3}, want 150.0");
    assert!((right - 150.5).abs() < 0.15, "right half {right:.3}, want 150.5");
}
