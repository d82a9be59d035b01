//! HLS benchmark: swarmcast's pipelines against ffmpeg's HLS muxer on the same generated
//! 1080p files, in the same run. Each measurement runs in its own child process, so
//! CPU seconds and peak RSS are that stream's alone.
//!
//!   cargo run --release --example bench_hls            # 60 s files
//!   SECS=20 PRESET=veryfast cargo run --release --example bench_hls
//!
//! Prints, per case: time to the first segment, total time, seek latency (a request for
//! the segment at 90 % while the stream plays at 0 %, to its last byte), CPU seconds and
//! peak RSS, then ours/ffmpeg ratios. The first segment and the seek use the start preset
//! (`media.x264_start_preset`), as a player waiting for them gets; the total runs at
//! `PRESET` throughout, as ffmpeg does.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use nix::sys::resource::{UsageWho, getrusage};
use swarmcast::config::MediaConfig;
use swarmcast::media::encoder::{Candidate, EncoderRegistry};
use swarmcast::media::{LocalFile, Media, StreamKey};

fn usage(who: UsageWho) -> (f64, f64) {
    let u = getrusage(who).expect("getrusage");
    let cpu = |t: nix::sys::time::TimeVal| t.tv_sec() as f64 + t.tv_usec() as f64 / 1e6;
    (cpu(u.user_time()) + cpu(u.system_time()), u.max_rss() as f64 / 1024.0)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("ours") => ours(&args[2], Path::new(&args[3]), Path::new(&args[4])),
        Some("ffmpeg") => ffmpeg(&args[2], Path::new(&args[3]), Path::new(&args[4])),
        _ => parent(),
    }
}

fn preset() -> String {
    std::env::var("PRESET").unwrap_or_else(|_| "veryfast".into())
}

fn parent() {
    let secs: u32 = std::env::var("SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(60);
    let dir = tempfile::tempdir().unwrap();
    let make = |name: &str, vcodec: &str| {
        let out = dir.path().join(name);
        let st = Command::new("ffmpeg")
            .args([
                "-v",
                "error",
                "-y",
                "-f",
                "lavfi",
                "-i",
                &format!("testsrc2=size=1920x1080:rate=25:duration={secs}"),
            ])
            .args(["-f", "lavfi", "-i", &format!("sine=frequency=440:sample_rate=48000:duration={secs}")])
            .args(["-pix_fmt", "yuv420p"])
            .args(vcodec.split(' '))
            .args(["-c:a", "aac", "-movflags", "+faststart", "-shortest"])
            .arg(&out)
            .status()
            .unwrap();
        assert!(st.success());
        out
    };
    eprintln!("generating {secs} s of 1080p…");
    let h264 = make("h264.mp4", "-c:v libx264 -preset ultrafast -g 50 -b:v 8M");
    let mpeg4 = make("mpeg4.mp4", "-c:v mpeg4 -q:v 4 -g 50");
    // What most releases are: 10-bit HEVC (its own -pix_fmt after the 8-bit default).
    let hevc10 = make(
        "hevc10.mkv",
        "-c:v libx265 -preset ultrafast -x265-params log-level=error:keyint=50 -b:v 6M -pix_fmt yuv420p10le",
    );
    let me = std::env::current_exe().unwrap();
    let run = |kind: &str, mode: &str, file: &Path| -> serde_json::Value {
        // One directory per file as well: ffmpeg's first segment counts when its playlist
        // appears, and a playlist left by the previous file would count at once.
        let stem = file.file_stem().unwrap().to_string_lossy();
        let out = dir.path().join(format!("{kind}-{mode}-{stem}"));
        std::fs::create_dir_all(&out).unwrap();
        let o = Command::new(&me).args([kind, mode]).arg(file).arg(&out).output().unwrap();
        assert!(o.status.success(), "{kind} {mode}: {}", String::from_utf8_lossy(&o.stderr));
        serde_json::from_slice(&o.stdout).unwrap()
    };
    let cases = [
        ("passthrough", run("ours", "passthrough", &h264), run("ffmpeg", "copy", &h264)),
        ("transcode", run("ours", "transcode", &mpeg4), run("ffmpeg", "x264", &mpeg4)),
        ("hevc10", run("ours", "transcode", &hevc10), run("ffmpeg", "x264", &hevc10)),
    ];
    println!(
        "{:<12} {:<8} {:>10} {:>9} {:>9} {:>8} {:>8}",
        "case", "who", "first_ms", "total_s", "seek_ms", "cpu_s", "rss_mb"
    );
    for (name, ours, ff) in &cases {
        for (who, v) in [("swarmcast", ours), ("ffmpeg", ff)] {
            println!(
                "{:<12} {:<8} {:>10.0} {:>9.2} {:>9} {:>8.2} {:>8.1}",
                name,
                who,
                v["first_ms"].as_f64().unwrap(),
                v["total_s"].as_f64().unwrap(),
                v["seek_ms"].as_f64().map_or("-".into(), |s| format!("{s:.0}")),
                v["cpu_s"].as_f64().unwrap(),
                v["rss_mb"].as_f64().unwrap()
            );
        }
        let r = |k: &str| ours[k].as_f64().unwrap() / ff[k].as_f64().unwrap().max(1e-9);
        println!(
            "{name:<12} ratio    first {:.2}×  total {:.2}×  cpu {:.2}×  rss {:.2}×  throughput {:.2}× of ffmpeg (preset {})",
            r("first_ms"),
            r("total_s"),
            r("cpu_s"),
            r("rss_mb"),
            1.0 / r("total_s"),
            preset()
        );
    }
    // Machine-readable rows for bench/report.sh (`make bench`).
    let f = |v: &serde_json::Value, k: &str| v[k].as_f64().unwrap_or(f64::NAN);
    let (pass, trans, hevc) = (&cases[0], &cases[1], &cases[2]);
    println!(
        "BENCH|HLS passthrough first segment (1080p H.264)|{:.0} ms|ffmpeg {:.0} ms|{:.2}|< 300 ms",
        f(&pass.1, "first_ms"),
        f(&pass.2, "first_ms"),
        f(&pass.1, "first_ms") / f(&pass.2, "first_ms")
    );
    println!(
        "BENCH|HLS passthrough whole file|{:.2} s|ffmpeg {:.2} s|{:.2}|—",
        f(&pass.1, "total_s"),
        f(&pass.2, "total_s"),
        f(&pass.1, "total_s") / f(&pass.2, "total_s")
    );
    println!(
        "BENCH|HLS transcode throughput (MPEG-4 → x264 {})|{:.2} s|ffmpeg {:.2} s|{:.2}|≥ 1.0 of ffmpeg",
        preset(),
        f(&trans.1, "total_s"),
        f(&trans.2, "total_s"),
        f(&trans.2, "total_s") / f(&trans.1, "total_s")
    );
    println!(
        "BENCH|HLS transcode throughput (10-bit HEVC 1080p → x264 {})|{:.2} s|ffmpeg {:.2} s|{:.2}|≥ 0.9 of ffmpeg",
        preset(),
        f(&hevc.1, "total_s"),
        f(&hevc.2, "total_s"),
        f(&hevc.2, "total_s") / f(&hevc.1, "total_s")
    );
    // Issue 14: a transcoded start and seek in about a second (start preset, local data).
    for (what, case) in [("MPEG-4", trans), ("10-bit HEVC", hevc)] {
        println!(
            "BENCH|HLS transcode first segment (1080p {what} → x264, local file, probe included)|{:.0} ms|ffmpeg {:.0} ms (first 4 s segment)|{:.2}|≤ 1500 ms",
            f(&case.1, "first_ms"),
            f(&case.2, "first_ms"),
            f(&case.1, "first_ms") / f(&case.2, "first_ms")
        );
        println!(
            "BENCH|HLS transcode seek to 90 % (1080p {what} → x264, local file)|{:.0} ms|—|—|≤ 1500 ms",
            f(&case.1, "seek_ms")
        );
    }
    println!(
        "BENCH|HLS transcode peak RSS|{:.0} MB|ffmpeg {:.0} MB|{:.2}|< 150 MB",
        f(&trans.1, "rss_mb"),
        f(&trans.2, "rss_mb"),
        f(&trans.1, "rss_mb") / f(&trans.2, "rss_mb")
    );
}

/// One swarmcast stream over a local file: first segment, seek to 90 % while playing at
/// 0 %, then every segment.
fn ours(mode: &str, file: &Path, out: &Path) {
    // `RUST_LOG=swarmcast=debug` shows the streams' log on stderr.
    if std::env::var_os("RUST_LOG").is_some() {
        swarmcast::system::init_logging("warn");
    }
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let config = MediaConfig { x264_preset: preset(), run_ahead_segments: 1000, ..MediaConfig::default() };
        let reg = EncoderRegistry::probe_candidates(vec![Candidate::named("x264enc")]);
        let media = Media::with_registry(config, out.join("cache"), reg);
        let t0 = Instant::now();
        let s = media
            .open(&StreamKey::new("b", 0), Arc::new(LocalFile(file.to_path_buf())), Duration::from_secs(60))
            .await
            .unwrap();
        assert_eq!(s.mode.as_str(), mode, "unexpected mode");
        let wait = Duration::from_secs(600);
        s.segment(0, "bench", wait).await.unwrap();
        let first = t0.elapsed();
        // Seek: the stream plays at 0 %, a client jumps to 90 %.
        let far = s.grid.count * 9 / 10;
        let t1 = Instant::now();
        s.segment(far, "bench", wait).await.unwrap();
        let seek = t1.elapsed();
        // Total: a fresh stream from 0 to the end, at the configured preset throughout
        // (as ffmpeg is given): the start preset would encode all of it, since the bench
        // asks for each segment as soon as the one before is ready and the run never gets
        // far enough ahead to hand over.
        media.remove(&StreamKey::new("b", 0));
        let config = MediaConfig {
            x264_preset: preset(),
            x264_start_preset: preset(),
            run_ahead_segments: 1000,
            ..MediaConfig::default()
        };
        let reg = EncoderRegistry::probe_candidates(vec![Candidate::named("x264enc")]);
        let media = Media::with_registry(config, out.join("cache-total"), reg);
        let t2 = Instant::now();
        let (cpu0, _) = usage(UsageWho::RUSAGE_SELF);
        let s = media
            .open(&StreamKey::new("c", 0), Arc::new(LocalFile(file.to_path_buf())), Duration::from_secs(60))
            .await
            .unwrap();
        for i in 0..s.grid.count {
            s.segment(i, "bench", wait).await.unwrap();
        }
        let total = t2.elapsed();
        let (cpu, rss) = usage(UsageWho::RUSAGE_SELF);
        println!(
            "{}",
            serde_json::json!({
                "first_ms": first.as_secs_f64() * 1000.0,
                "seek_ms": seek.as_secs_f64() * 1000.0,
                "total_s": total.as_secs_f64(),
                // The full run's CPU, comparable with ffmpeg's one run.
                "cpu_s": cpu - cpu0,
                "rss_mb": rss,
            })
        );
    });
}

/// ffmpeg's HLS muxer on the same file; the first segment counts when the playlist
/// lists it.
fn ffmpeg(mode: &str, file: &Path, out: &Path) {
    let codec: Vec<String> = match mode {
        "copy" => vec!["-c".into(), "copy".into()],
        _ => format!(
            "-vf format=yuv420p -c:v libx264 -preset {} -g 100 -keyint_min 100 -sc_threshold 0 -bf 0 -c:a aac",
            preset()
        )
        .split(' ')
        .map(String::from)
        .collect(),
    };
    let playlist: PathBuf = out.join("index.m3u8");
    let t0 = Instant::now();
    let mut child = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-i"])
        .arg(file)
        .args(&codec)
        .args(["-f", "hls", "-hls_time", "4", "-hls_playlist_type", "vod"])
        .arg(&playlist)
        .spawn()
        .unwrap();
    let mut first = None;
    let status = loop {
        if first.is_none() && std::fs::read_to_string(&playlist).is_ok_and(|p| p.contains(".ts")) {
            first = Some(t0.elapsed());
        }
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    assert!(status.success());
    let total = t0.elapsed();
    let (cpu, rss) = usage(UsageWho::RUSAGE_CHILDREN);
    println!(
        "{}",
        serde_json::json!({
            "first_ms": first.unwrap_or(total).as_secs_f64() * 1000.0,
            "seek_ms": null,
            "total_s": total.as_secs_f64(),
            "cpu_s": cpu,
            "rss_mb": rss,
        })
    );
}
