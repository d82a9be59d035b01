//! HLS from local files through the real pipelines, checked with real players
//! (ffprobe, ffmpeg, GStreamer playbin). Media is generated here with ffmpeg.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path as UrlPath, State};
use axum::response::IntoResponse;
use swarmcast::config::MediaConfig;
use swarmcast::media::encoder::{Candidate, EncoderRegistry};
use swarmcast::media::{LocalFile, Media, Mode, StreamKey};

const SECS: u32 = 20;

/// Keyframes as a film has them: far apart and irregular (scene cuts), so a copied
/// video can only be cut where its keyframes are.
const IRREGULAR_GOP: &str =
    "-bf 2 -x264-params keyint=1000:min-keyint=1000:scenecut=0 -force_key_frames 0,1.2,5,5.4,11.32,17,19.7";

fn ffmpeg(dir: &Path, name: &str, args: &str) -> PathBuf {
    let out = dir.join(name);
    let base = format!(
        "-v error -y -f lavfi -i testsrc2=size=640x360:rate=25 -f lavfi -i sine=frequency=440:sample_rate=48000 -t {SECS} -pix_fmt yuv420p"
    );
    let mut cmd = Command::new("ffmpeg");
    cmd.args(base.split(' ')).args(args.split(' ')).arg(&out);
    let st = cmd.status().expect("ffmpeg runs");
    assert!(st.success(), "ffmpeg {args} failed");
    out
}

/// Serves a `Media` over HTTP the way the API does, at `/s/{key}/index.m3u8`.
async fn serve(media: Arc<Media>) -> String {
    async fn playlist(State(m): State<Arc<Media>>, UrlPath(key): UrlPath<String>) -> axum::response::Response {
        let s = m.get(&StreamKey::new(key, 0)).expect("stream opened");
        ([("content-type", "application/vnd.apple.mpegurl")], s.media_playlist("")).into_response()
    }
    async fn segment(
        State(m): State<Arc<Media>>,
        UrlPath((key, name)): UrlPath<(String, String)>,
    ) -> axum::response::Response {
        let s = m.get(&StreamKey::new(key, 0)).expect("stream opened");
        let idx = swarmcast::media::playlist::parse_segment_name(&name).expect("segment name");
        match s.segment(idx, "test", Duration::from_secs(60)).await {
            Ok(p) => ([("content-type", "video/MP2T")], tokio::fs::read(p).await.unwrap()).into_response(),
            Err(e) => (axum::http::StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
        }
    }
    let app = axum::Router::new()
        .route("/s/{key}/index.m3u8", axum::routing::get(playlist))
        .route("/s/{key}/{seg}", axum::routing::get(segment))
        .with_state(media);
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    format!("http://{addr}")
}

fn config() -> MediaConfig {
    MediaConfig { x264_preset: "ultrafast".into(), ..MediaConfig::default() }
}

fn software_registry() -> EncoderRegistry {
    EncoderRegistry::probe_candidates(vec![Candidate::named("x264enc")])
}

/// Runs a blocking command off the runtime and returns (success, stdout, stderr).
async fn run(cmd: &str, args: Vec<String>) -> (bool, String, String) {
    let cmd = cmd.to_string();
    tokio::task::spawn_blocking(move || {
        let out = Command::new(&cmd).args(&args).output().expect("command runs");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    })
    .await
    .unwrap()
}

fn strs(s: &str) -> Vec<String> {
    s.split(' ').map(str::to_string).collect()
}

/// First video frame of a TS file: (pts seconds, key frame, picture type).
async fn first_frame(path: &Path) -> (f64, bool, String) {
    let mut a = strs(
        "-v error -select_streams v:0 -show_frames -read_intervals %+#1 -show_entries frame=pts_time,key_frame,pict_type -of csv=p=0",
    );
    a.push(path.display().to_string());
    let (ok, out, err) = run("ffprobe", a).await;
    assert!(ok, "ffprobe failed: {err}");
    let line = out.lines().next().unwrap_or_default().to_string();
    let f: Vec<&str> = line.split(',').collect();
    assert!(f.len() >= 3, "unexpected ffprobe output {line:?}");
    // csv order follows the section's field order: key_frame, pts_time, pict_type
    let key = f[0] == "1";
    let pts: f64 = f[1].parse().unwrap_or(f64::NAN);
    (pts, key, f[2].to_string())
}

async fn fetch(url: &str, to: &Path) {
    let bytes = reqwest::get(url).await.unwrap();
    assert!(bytes.status().is_success(), "{url}: {}", bytes.status());
    std::fs::write(to, bytes.bytes().await.unwrap()).unwrap();
}

/// Checks a file end to end: mode, full duration, every segment readable, playbin to
/// the end, Apple's authoring rules, and the seek-first segment's timestamps.
async fn check_file(media: &Arc<Media>, base: &str, file: &Path, want: Mode, tmp: &Path) {
    let key = file.file_name().unwrap().to_string_lossy().replace('.', "_");
    let stream = media
        .open(&StreamKey::new(&key, 0), Arc::new(LocalFile(file.to_path_buf())), Duration::from_secs(30))
        .await
        .expect("probe");
    assert_eq!(stream.mode, want, "{key}");
    let url = format!("{base}/s/{key}/index.m3u8");
    let grid = stream.grid.clone();

    // Seek first: the segment at 75 % on a fresh stream.
    let seek_idx = grid.count * 3 / 4;
    let seg_path = tmp.join(format!("{key}-seek.ts"));
    fetch(&format!("{base}/s/{key}/seg{seek_idx:05}.ts"), &seg_path).await;
    let (pts_seek, key_seek, pict) = first_frame(&seg_path).await;
    assert!(key_seek && pict == "I", "{key}: segment {seek_idx} starts with {pict}");
    let first_path = tmp.join(format!("{key}-0.ts"));
    fetch(&format!("{base}/s/{key}/seg00000.ts"), &first_path).await;
    let (pts0, key0, _) = first_frame(&first_path).await;
    assert!(key0);
    let place = grid.start_ns(seek_idx) as f64 / 1e9;
    assert!(
        ((pts_seek - pts0) - place).abs() < 0.5,
        "{key}: segment {seek_idx} starts at {} s, playlist says {place}",
        pts_seek - pts0
    );

    // ffprobe sees the whole duration.
    let (ok, out, err) = run(
        "ffprobe",
        vec![
            "-v".into(),
            "error".into(),
            "-show_entries".into(),
            "format=duration".into(),
            "-of".into(),
            "csv=p=0".into(),
            url.clone(),
        ],
    )
    .await;
    assert!(ok, "{err}");
    let d: f64 = out.trim().parse().unwrap();
    assert!((d - SECS as f64).abs() < 1.0, "{key}: ffprobe duration {d}");

    // ffmpeg reads every segment without an error.
    let (ok, _, err) = run(
        "ffmpeg",
        vec![
            "-v".into(),
            "error".into(),
            "-i".into(),
            url.clone(),
            "-c".into(),
            "copy".into(),
            "-f".into(),
            "null".into(),
            "-".into(),
        ],
    )
    .await;
    assert!(ok && err.trim().is_empty(), "{key}: ffmpeg errors: {err}");

    // playbin plays to the end.
    let (ok, out, err) = run(
        "timeout",
        vec![
            "60".into(),
            "gst-launch-1.0".into(),
            "playbin".into(),
            format!("uri={url}"),
            "video-sink=fakesink sync=false".into(),
            "audio-sink=fakesink sync=false".into(),
        ],
    )
    .await;
    assert!(ok && out.contains("EOS"), "{key}: playbin: {out}\n{err}");

    // Apple's rules on every segment.
    let target = grid.target_duration() as f64;
    let mut sum = 0.0;
    for i in 0..grid.count {
        let p = tmp.join(format!("{key}-{i}.ts"));
        fetch(&format!("{base}/s/{key}/seg{i:05}.ts"), &p).await;
        let (_, k, pict) = first_frame(&p).await;
        assert!(k && pict == "I", "{key}: segment {i} starts with {pict}");
        let (_, out, _) = run(
            "ffprobe",
            vec![
                "-v".into(),
                "error".into(),
                "-select_streams".into(),
                "v:0".into(),
                "-count_packets".into(),
                "-show_entries".into(),
                "stream=nb_read_packets".into(),
                "-of".into(),
                "csv=p=0".into(),
                p.display().to_string(),
            ],
        )
        .await;
        let frames: f64 = out
            .lines()
            .next()
            .unwrap_or("")
            .trim()
            .trim_end_matches(",")
            .parse()
            .unwrap_or_else(|_| panic!("ffprobe said {out:?}"));
        let seconds = frames / 25.0;
        assert!(seconds <= target + 0.5, "{key}: segment {i} is {seconds} s, target {target}");
        let extinf = grid.duration_of(i) as f64 / 1e9;
        assert!((seconds - extinf).abs() < 0.5, "{key}: segment {i} has {seconds} s, EXTINF {extinf}");
        sum += extinf;
    }
    assert!((sum - stream.info.duration.as_secs_f64()).abs() <= 1.0 / 25.0, "{key}: EXTINF sum {sum}");
    let st = stream.status();
    match want {
        Mode::Transcode => assert!(st.encoder_runs > 0 && st.encoder.is_some()),
        _ => assert_eq!((st.encoder_runs, st.encoder), (0, None), "{key}: passthrough ran an encoder"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_container_plays_in_real_players() {
    swarmcast::system::init_logging("swarmcast=info");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let files = [
        (
            ffmpeg(dir, "h264_aac.mp4", "-c:v libx264 -preset ultrafast -g 50 -c:a aac -movflags +faststart"),
            Mode::Passthrough,
        ),
        (
            ffmpeg(dir, "moov_end.mp4", &format!("-c:v libx264 -preset ultrafast {IRREGULAR_GOP} -c:a aac")),
            Mode::Passthrough,
        ),
        (
            ffmpeg(dir, "h264_ac3.mkv", &format!("-c:v libx264 -preset ultrafast {IRREGULAR_GOP} -c:a ac3")),
            Mode::AudioTranscode,
        ),
        (ffmpeg(dir, "mpeg4_ac3.mkv", "-c:v mpeg4 -q:v 5 -c:a ac3"), Mode::Transcode),
        (
            ffmpeg(dir, "vp9_opus.webm", "-c:v libvpx-vp9 -deadline realtime -cpu-used 8 -b:v 500k -c:a libopus"),
            Mode::Transcode,
        ),
    ];
    let media = Media::with_registry(config(), dir.join("cache"), software_registry());
    let base = serve(media.clone()).await;
    for (f, mode) in &files {
        check_file(&media, &base, f, *mode, dir).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupt_file_fails_only_its_stream() {
    let tmp = tempfile::tempdir().unwrap();
    let bad = tmp.path().join("corrupt.mkv");
    let noise: Vec<u8> = (0..2_000_000u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
    std::fs::write(&bad, noise).unwrap();
    let good = ffmpeg(tmp.path(), "good.mp4", "-c:v libx264 -preset ultrafast -g 50 -c:a aac");
    // A real file with its middle overwritten: it probes, then fails or skips in the pipeline.
    let media = Media::with_registry(config(), tmp.path().join("cache"), software_registry());
    let err = media.open(&StreamKey::new("bad", 0), Arc::new(LocalFile(bad)), Duration::from_secs(20)).await;
    assert!(err.is_err(), "noise must not probe as media");
    let s = media.open(&StreamKey::new("good", 0), Arc::new(LocalFile(good)), Duration::from_secs(20)).await.unwrap();
    let p = s.segment(1, "t", Duration::from_secs(30)).await.unwrap();
    assert!(std::fs::metadata(p).unwrap().len() > 1000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_cut_short_fails_its_missing_segments_at_once() {
    let tmp = tempfile::tempdir().unwrap();
    let full = ffmpeg(tmp.path(), "full.mp4", "-c:v libx264 -preset ultrafast -g 50 -c:a aac -movflags +faststart");
    // The first 40 %: it probes (the index says 20 s) but ends at about 8 s.
    let bytes = std::fs::read(&full).unwrap();
    let cut = tmp.path().join("cut.mp4");
    std::fs::write(&cut, &bytes[..bytes.len() * 2 / 5]).unwrap();
    let media = Media::with_registry(config(), tmp.path().join("cache"), software_registry());
    let s = media.open(&StreamKey::new("cut", 0), Arc::new(LocalFile(cut)), Duration::from_secs(20)).await.unwrap();
    assert!(s.segment(0, "t", Duration::from_secs(30)).await.is_ok());
    let last = s.grid.count - 1;
    let started = std::time::Instant::now();
    let err = s.segment(last, "t", Duration::from_secs(30)).await.unwrap_err();
    assert!(err.to_string().contains("cannot be produced"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(10), "took {:?}", started.elapsed());
    // Asked again, it fails without another run.
    let runs = s.status().encoder_runs;
    assert!(s.segment(last, "t", Duration::from_secs(5)).await.is_err());
    assert_eq!(s.status().encoder_runs, runs);
    // What the file has still plays.
    assert!(s.segment(1, "t", Duration::from_secs(30)).await.is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn encoder_that_fails_mid_stream_is_replaced() {
    swarmcast::system::init_logging("swarmcast=debug");
    let tmp = tempfile::tempdir().unwrap();
    let file = ffmpeg(tmp.path(), "mpeg4.mkv", "-c:v mpeg4 -q:v 5 -c:a ac3");
    // Passes the 320x240 test encode, then fails for real on this 640x360 film, the
    // way a board's encoder fails above its size limit.
    let registry = EncoderRegistry::probe_candidates(vec![
        Candidate::named("nvh264enc"),
        Candidate::limited("x264enc", "x264enc-max320", "video/x-h264,width=(int)[16,320]"),
        Candidate::named("x264enc"),
    ]);
    assert!(!registry.encoders[0].verified, "no NVIDIA encoder works here");
    assert!(registry.encoders[1].verified && registry.encoders[2].verified);
    assert_eq!(registry.selected().unwrap().name, "x264enc-max320");
    let media = Media::with_registry(config(), tmp.path().join("cache"), registry);
    let base = serve(media.clone()).await;
    let s = media.open(&StreamKey::new("f", 0), Arc::new(LocalFile(file)), Duration::from_secs(30)).await.unwrap();
    assert_eq!(s.mode, Mode::Transcode);
    let url = format!("{base}/s/f/index.m3u8");
    let (ok, _, err) = run(
        "ffmpeg",
        vec![
            "-v".into(),
            "error".into(),
            "-i".into(),
            url,
            "-c".into(),
            "copy".into(),
            "-f".into(),
            "null".into(),
            "-".into(),
        ],
    )
    .await;
    assert!(ok && err.trim().is_empty(), "ffmpeg errors: {err}");
    let st = s.status();
    assert_eq!(st.encoder.as_deref(), Some("x264enc"));
    assert_eq!(st.failed_encoders, vec!["x264enc-max320".to_string()]);
    assert!(st.error.is_none());
}
