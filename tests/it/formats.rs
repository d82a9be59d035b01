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
    let st =
        Command::new("ffmpeg").args(base.split(' ')).args(args.split(' ')).arg(&out).status().expect("ffmpeg runs");
    assert!(st.success(), "ffmpeg {args} failed");
    out
}

/// `superfast`, the fastest preset that still makes High profile (ultrafast drops CABAC
/// and 8x8 transforms, so x264 signals Constrained Baseline).
fn config() -> MediaConfig {
    MediaConfig { x264_preset: "superfast".into(), ..MediaConfig::default() }
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
    let f = clip(
        "hevc10.mkv",
        8,
        "640x360",
        "-c:v libx265 -preset ultrafast -pix_fmt yuv420p10le -x265-params log-level=error -c:a aac",
    );
    first_segment(f, 3).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hevc_8bit_mkv_plays() {
    let f = clip(
        "hevc8.mkv",
        8,
        "640x360",
        "-c:v libx265 -preset ultrafast -pix_fmt yuv420p -x265-params log-level=error -c:a aac",
    );
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
    let get = |k: &str| text.lines().find_map(|l| l.strip_prefix(&format!("{k}="))).unwrap_or_default().to_string();
    (
        get("pix_fmt"),
        get("profile"),
        get("width").parse().unwrap_or(0),
        get("height").parse().unwrap_or(0),
        get("sample_aspect_ratio"),
    )
}

async fn segment0(file: &Path, key: &str) -> PathBuf {
    let tmp = media_dir().join(format!("cache-{key}"));
    let media = Media::with_registry(config(), tmp, software_registry());
    let s = media
        .open(&StreamKey::new(key, 0), Arc::new(LocalFile(file.to_path_buf())), Duration::from_secs(20))
        .await
        .unwrap_or_else(|e| panic!("{key}: {e:#}"));
    s.segment(0, "t", Duration::from_secs(30)).await.unwrap_or_else(|e| panic!("{key}: {e}; status {:?}", s.status()))
}

/// A phone's film, H.264 stored sideways with a quarter-turn tag: MPEG-TS carries no
/// rotation, so it is turned upright in a transcode (it played sideways, copied).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_film_turned_a_quarter_comes_out_upright() {
    let stored = clip("phone-stored.mp4", 3, "320x240", "-c:v libx264 -preset ultrafast -g 25 -c:a aac -ac 2");
    let f = media_dir().join("phone.mp4");
    let st = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-i"])
        .arg(&stored)
        .args(["-c", "copy", "-metadata:s:v:0", "rotate=90"])
        .arg(&f)
        .status()
        .unwrap();
    assert!(st.success());
    let media = Media::with_registry(config(), media_dir().join("cache-phone"), software_registry());
    let s = media.open(&StreamKey::new("phone", 0), Arc::new(LocalFile(f)), Duration::from_secs(20)).await.unwrap();
    assert_eq!(s.mode.as_str(), "transcode");
    let seg = s.segment(0, "t", Duration::from_secs(20)).await.unwrap_or_else(|e| panic!("{e}; {:?}", s.status()));
    let (_, _, w, h, _) = video_props(&seg);
    assert_eq!((w, h), (240, 320));
    // Turned the way ffmpeg turns it: testsrc2's dark time box, top left as stored, at
    // the bottom left; a turn the other way puts it top right, over the cyan bar.
    let (box_, cyan) = (luma_at(&seg, 20, 290, false), luma_at(&seg, 220, 20, false));
    assert!(box_ + 50.0 < cyan, "bottom left {box_}, top right {cyan}: not turned upright");
}

/// A seek into a Matroska film whose frames start late (ffmpeg puts them behind AAC's
/// priming, at 21 ms here), copied with x264's B-frames: the run that starts at the
/// seek makes its segment, and the segment starts with the keyframe the grid names.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seek_into_a_matroska_film_that_starts_late_plays() {
    let f = clip("late-start.mkv", 12, "320x240", "-c:v libx264 -preset medium -g 50 -c:a aac -ac 2");
    let media = Media::with_registry(config(), media_dir().join("cache-late-start"), software_registry());
    let s = media.open(&StreamKey::new("late", 0), Arc::new(LocalFile(f)), Duration::from_secs(20)).await.unwrap();
    assert_eq!(s.mode.as_str(), "passthrough");
    let i = s.grid.count - 2;
    assert!(i > 0, "{} segments", s.grid.count);
    let seg = s.segment(i, "t", Duration::from_secs(20)).await.unwrap_or_else(|e| panic!("{e}; {:?}", s.status()));
    let packets = video_packets(&seg, "pts_time,flags");
    let first = packets.first().map(String::as_str).unwrap_or_default();
    let (pts, flags) = first.split_once(',').unwrap_or_default();
    let want = 3600.0 + s.grid.start_ns(i) as f64 / 1e9;
    let pts: f64 = pts.parse().unwrap_or(f64::NAN);
    assert!(
        flags.starts_with('K') && (pts - want).abs() < 0.002,
        "segment {i} starts with {first:?}, not a keyframe at {want}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_bit_comes_out_eight_bit_high() {
    let f = clip(
        "hevc10.mkv",
        8,
        "640x360",
        "-c:v libx265 -preset ultrafast -pix_fmt yuv420p10le -x265-params log-level=error -c:a aac",
    );
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
    let dar = w as f64 / h as f64
        * sar.split(':').map(|x| x.parse::<f64>().unwrap_or(1.0)).reduce(|a, b| a / b).unwrap_or(1.0);
    assert!((dar - 16.0 / 9.0).abs() < 0.02, "{w}x{h} sar {sar}: display aspect {dar}");
}

/// Luma (one byte a pixel) of the first frame of `file` at (x, y), averaged over a
/// 9x9 block, at `depth` bits.
fn luma_at(file: &Path, x: usize, y: usize, ten_bit: bool) -> f64 {
    let fmt = if ten_bit { "gray10le" } else { "gray" };
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(file)
        .args(["-frames:v", "1", "-f", "rawvideo", "-pix_fmt", fmt, "-"])
        .output()
        .unwrap();
    let (w, bpp) = (video_props(file).2 as usize, if ten_bit { 2 } else { 1 });
    let mut sum = 0.0;
    for dy in 0..9 {
        for dx in 0..9 {
            let i = ((y + dy - 4) * w + x + dx - 4) * bpp;
            sum += if ten_bit {
                u16::from_le_bytes([out.stdout[i], out.stdout[i + 1]]) as f64
            } else {
                out.stdout[i] as f64
            };
        }
    }
    sum / 81.0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hdr10_is_tone_mapped_and_its_grey_keeps_its_sdr_level() {
    // A grey field with a white patch (PQ: the white is 10000 nits), HEVC 10-bit HDR10.
    let f = media_dir().join("pq.mkv");
    if !f.exists() {
        let st = Command::new("ffmpeg")
            .args([
                "-v",
                "error",
                "-y",
                "-f",
                "lavfi",
                "-i",
                "color=c=0x808080:s=320x240:r=25,drawbox=x=200:y=40:w=80:h=80:color=white:t=fill",
                "-t",
                "2",
                "-c:v",
                "libx265",
                "-preset",
                "ultrafast",
                "-pix_fmt",
                "yuv420p10le",
                "-color_primaries",
                "bt2020",
                "-color_trc",
                "smpte2084",
                "-colorspace",
                "bt2020nc",
                "-x265-params",
                "log-level=error:colorprim=bt2020:transfer=smpte2084:colormatrix=bt2020nc",
            ])
            .arg(&f)
            .status()
            .unwrap();
        assert!(st.success());
    }
    // The grey's nits, from its 10-bit code in the source (PQ, ST 2084).
    let code = luma_at(&f, 80, 160, true);
    let e = ((code - 64.0) / 876.0).clamp(0.0, 1.0);
    let (m1, m2, c1, c2, c3) = (0.1593017578125, 78.84375, 0.8359375, 18.8515625, 18.6875);
    let p = e.powf(1.0 / m2);
    let nits = 10000.0 * ((p - c1).max(0.0) / (c2 - c3 * p)).powf(1.0 / m1);
    // Its SDR level: relative to the 203-nit reference white (BT.2408), BT.1886 gamma.
    let want = 16.0 + 219.0 * (nits / 203.0).min(1.0).powf(1.0 / 2.4);
    let seg = segment0(&f, "pq").await;
    let grey = luma_at(&seg, 80, 160, false);
    let white = luma_at(&seg, 240, 80, false);
    eprintln!("grey: source code {code:.1} = {nits:.1} nits, SDR {want:.1} wanted, {grey:.1} out; white {white:.1}");
    assert!((grey - want).abs() <= 4.0, "grey {grey:.1}, want {want:.1} ± 4");
    assert!(white > 225.0 && white > grey + 30.0, "white {white:.1}");
    let out = Command::new("ffprobe")
        .args("-v error -select_streams v:0 -show_entries stream=color_transfer -of csv=p=0".split(' '))
        .arg(&seg)
        .output()
        .unwrap();
    let trc = String::from_utf8_lossy(&out.stdout);
    assert!(!trc.contains("smpte2084"), "output still tagged PQ: {trc}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_files_fail_clearly_or_play_to_the_damage() {
    let tmp = tempfile::tempdir().unwrap();
    let media = Media::with_registry(config(), tmp.path().join("cache"), software_registry());
    // Music only: no video track.
    let music = clip("music.mka", 4, "64x64", "-map 1:a -c:a flac");
    let err = media
        .open(&StreamKey::new("music", 0), Arc::new(LocalFile(music)), Duration::from_secs(20))
        .await
        .err()
        .expect("a music file is no stream");
    assert!(format!("{err:#}").contains("no video"), "{err:#}");
    // A megabyte of garbage in the middle of a transcoded film.
    let film = clip("damaged-src.mkv", 20, "640x360", "-c:v mpeg4 -q:v 3 -g 25 -c:a ac3");
    let mut bytes = std::fs::read(&film).unwrap();
    let mid = bytes.len() / 2;
    let junk = (bytes.len() / 5).min(1 << 20);
    for (i, b) in bytes[mid..mid + junk].iter_mut().enumerate() {
        *b = (i as u32).wrapping_mul(2654435761).rotate_right(13) as u8;
    }
    let damaged = tmp.path().join("damaged.mkv");
    std::fs::write(&damaged, &bytes).unwrap();
    let s =
        media.open(&StreamKey::new("damaged", 0), Arc::new(LocalFile(damaged)), Duration::from_secs(20)).await.unwrap();
    s.segment(0, "t", Duration::from_secs(30)).await.expect("plays up to the damage");
    let t = std::time::Instant::now();
    for i in 1..s.grid.count {
        match s.segment(i, "t", Duration::from_secs(30)).await {
            Ok(_) => {}
            Err(e) => {
                let m = e.to_string();
                assert!(!m.contains("was not ready"), "segment {i}: a wait ran out rather than an answer: {m}");
            }
        }
    }
    assert!(t.elapsed() < Duration::from_secs(90), "{:?}", t.elapsed());
    // Every other stream is served meanwhile.
    let good = clip("good.mp4", 6, "320x240", "-c:v libx264 -preset ultrafast -g 25 -c:a aac");
    let g = media.open(&StreamKey::new("good", 0), Arc::new(LocalFile(good)), Duration::from_secs(20)).await.unwrap();
    g.segment(0, "t", Duration::from_secs(30)).await.unwrap();
}

/// Every segment of `file`'s stream, then a local playlist over them: (playlist, the
/// source's duration in seconds).
async fn whole_stream(file: &Path, key: &str) -> (PathBuf, f64) {
    let tmp = media_dir().join(format!("cache-{key}"));
    let media = Media::with_registry(config(), tmp, software_registry());
    let s = media
        .open(&StreamKey::new(key, 0), Arc::new(LocalFile(file.to_path_buf())), Duration::from_secs(20))
        .await
        .unwrap_or_else(|e| panic!("{key}: {e:#}"));
    let out = media_dir().join(format!("hls-{key}"));
    std::fs::create_dir_all(&out).unwrap();
    for i in 0..s.grid.count {
        let p = s
            .segment(i, "t", Duration::from_secs(30))
            .await
            .unwrap_or_else(|e| panic!("{key} segment {i}: {e}; status {:?}", s.status()));
        std::fs::copy(&p, out.join(p.file_name().unwrap())).unwrap();
    }
    let list = out.join("index.m3u8");
    std::fs::write(&list, s.media_playlist("")).unwrap();
    (list, s.info.duration.as_secs_f64())
}

/// ffprobe's `entries` (`pts,dts`) of each packet of `file`'s first video stream, in
/// decode order, as CSV lines.
fn video_packets(file: &Path, entries: &str) -> Vec<String> {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-show_entries",
            &format!("packet={entries}"),
            "-of",
            "csv=p=0",
        ])
        .arg(file)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).lines().filter(|l| !l.trim().is_empty()).map(str::to_string).collect()
}

/// ffprobe's view of the streams of kind `v` or `a` in `file`: `codec` or `codec,channels`.
fn probe_streams(file: &Path, kind: &str) -> Vec<String> {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", kind, "-show_entries", "stream=codec_name,channels", "-of", "json"])
        .arg(file)
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    v["streams"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| match s["channels"].as_u64() {
            Some(c) => format!("{},{c}", s["codec_name"].as_str().unwrap_or("?")),
            None => s["codec_name"].as_str().unwrap_or("?").to_string(),
        })
        .collect()
}

/// One row of the matrix: `(file name, ffmpeg output arguments, the audio that comes
/// out)`, `aac,2` for stereo AAC. Its clip is `ROW_SECS` long, 320x240.
type Row = (&'static str, &'static str, &'static str);

/// Long enough for hls.js to play past 10 s.
const ROW_SECS: u32 = 12;

/// The whole stream of a row's clip: ffprobe reads the playlist's full duration within
/// ±0.5 s, ffmpeg decodes all of it with no error, and it carries H.264 and the row's
/// audio. Gives the directory of the playlist and its segments.
async fn plays_whole((name, args, audio): Row) -> PathBuf {
    let secs = ROW_SECS;
    let f = clip(name, secs, "320x240", args);
    let key = name.replace('.', "-");
    let (list, src_secs) = whole_stream(&f, &key).await;
    assert!((src_secs - secs as f64).abs() < 0.5, "{name}: probed {src_secs} s of {secs}");
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0"])
        .arg(&list)
        .output()
        .unwrap();
    let dur: f64 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap_or(0.0);
    assert!((dur - secs as f64).abs() <= 0.5, "{name}: the playlist lasts {dur} s, not {secs}");
    let dec = Command::new("ffmpeg").args(["-v", "error", "-i"]).arg(&list).args(["-f", "null", "-"]).output().unwrap();
    let errors = String::from_utf8_lossy(&dec.stderr);
    assert!(dec.status.success() && errors.trim().is_empty(), "{name}: decoding the stream: {errors}");
    // Every frame once, and decode times never going back: a frame repeated (a frozen
    // first second) decodes with no error. (The first frames of a copied film may share
    // a decode time: those made up before 0 are 0.)
    let frames: Vec<(i64, i64)> = video_packets(&list, "pts,dts")
        .iter()
        .filter_map(|l| {
            let mut f = l.split(',').map(|v| v.trim().parse::<i64>());
            Some((f.next()?.ok()?, f.next()?.ok()?))
        })
        .collect();
    let once: std::collections::HashSet<i64> = frames.iter().map(|f| f.0).collect();
    assert_eq!(once.len(), frames.len(), "{name}: {} of {} frames come again", frames.len() - once.len(), frames.len());
    let back = frames.windows(2).filter(|w| w[1].1 < w[0].1).count();
    assert_eq!(back, 0, "{name}: the decode time goes back {back} times");
    let first = list.with_file_name("seg00000.ts");
    assert_eq!(probe_streams(&first, "v"), vec!["h264".to_string()], "{name}");
    assert_eq!(probe_streams(&first, "a"), vec![audio.to_string()], "{name}");
    // The sound is the clip's tone (it peaks at -21 dB), not noise: PCM read in the
    // wrong byte order comes out at full scale.
    let vol = Command::new("ffmpeg")
        .args(["-hide_banner", "-i"])
        .arg(&list)
        .args(["-vn", "-af", "volumedetect", "-f", "null", "-"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&vol.stderr);
    let level = |k: &str| {
        text.lines().find_map(|l| l.split(&format!("{k}: ")).nth(1)?.trim_end_matches(" dB").parse::<f64>().ok())
    };
    let (mean, max) = (level("mean_volume").unwrap_or(f64::NAN), level("max_volume").unwrap_or(f64::NAN));
    assert!(
        (-40.0..=-12.0).contains(&max),
        "{name}: the sound peaks at {max} dB (mean {mean} dB), not the tone's -21 dB"
    );
    list.parent().unwrap().to_path_buf()
}

/// A row's outcome, made once per run whichever test asks first: its HLS directory,
/// or why it did not play whole.
async fn outcome(row: Row) -> Result<PathBuf, String> {
    type Cell = Arc<tokio::sync::OnceCell<Result<PathBuf, String>>>;
    static CELLS: std::sync::Mutex<Vec<(&str, Cell)>> = std::sync::Mutex::new(Vec::new());
    let cell = {
        let mut cells = CELLS.lock().unwrap();
        match cells.iter().find(|(n, _)| *n == row.0) {
            Some((_, c)) => c.clone(),
            None => {
                let c = Cell::default();
                cells.push((row.0, c.clone()));
                c
            }
        }
    };
    let made = cell.get_or_init(|| async move {
        tokio::spawn(plays_whole(row)).await.map_err(|e| {
            let p = e.into_panic();
            p.downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default()
        })
    });
    made.await.clone()
}

/// Plays each of `rows` whole and lists every row that did not.
async fn matrix(rows: &[Row]) {
    let mut failed = Vec::new();
    for &row in rows {
        if let Err(e) = outcome(row).await {
            failed.push(format!("{}: {e}", row.0));
        }
    }
    assert!(failed.is_empty(), "{} of {} rows failed:\n{}", failed.len(), rows.len(), failed.join("\n"));
}

const EAC3: Row = ("eac3.mkv", "-c:v libx264 -preset ultrafast -g 25 -c:a eac3 -ac 6", "aac,2");
/// MP3 is copied (HLS carries it in MPEG-TS). x264's default GOP (250 frames) is as long
/// as the clip: its one keyframe makes one segment (Matroska's Cues say so).
const MP3: Row = ("mp3.mkv", "-c:v libx264 -preset ultrafast -c:a libmp3lame -ar 44100 -ac 2 -b:a 192k", "mp3,2");
/// 5.1 PCM in MOV: its channels come unpositioned ("6 channels") and are downmixed.
const PCM_51: Row = ("pcm.mov", "-c:v libx264 -preset ultrafast -g 25 -c:a pcm_s16le -ac 6", "aac,2");
/// The common old release: Xvid (MPEG-4 ASP) with B-frames and MP3, in AVI.
const XVID: Row =
    ("xvid.avi", "-c:v mpeg4 -vtag XVID -bf 2 -flags +mv4 -q:v 4 -g 50 -c:a libmp3lame -ac 2 -ar 44100", "aac,2");

/// Every audio codec of real releases, 5.1 where the format has it: downmixed to stereo
/// AAC (5.1 AAC beside H.264 is copied as it is).
const AUDIO_ROWS: &[Row] = &[
    ("ac3-51.mkv", "-c:v libx264 -preset ultrafast -g 25 -c:a ac3 -ac 6", "aac,2"),
    ("dts-51.mkv", "-c:v libx264 -preset ultrafast -g 25 -c:a dca -strict -2 -ac 6", "aac,2"),
    ("truehd-51.mkv", "-c:v libx264 -preset ultrafast -g 25 -c:a truehd -strict -2 -ac 6", "aac,2"),
    ("flac-51.mkv", "-c:v libx264 -preset ultrafast -g 25 -c:a flac -ac 6", "aac,2"),
    ("opus-51.mkv", "-c:v libx264 -preset ultrafast -g 25 -c:a libopus -ac 6", "aac,2"),
    ("vorbis-51.mkv", "-c:v libx264 -preset ultrafast -g 25 -c:a libvorbis -ac 6", "aac,2"),
    ("pcm24-71.mov", "-c:v libx264 -preset ultrafast -g 25 -c:a pcm_s24le -ac 8", "aac,2"),
    ("aac-51.mkv", "-c:v libx264 -preset ultrafast -g 25 -c:a aac -ac 6", "aac,6"),
    // Little-endian 32-bit float and integer PCM in MOV (qtdemux takes them for big-endian).
    ("pcm-f32.mov", "-c:v libx264 -preset ultrafast -g 25 -c:a pcm_f32le -ac 2", "aac,2"),
    ("pcm-s32.mov", "-c:v libx264 -preset ultrafast -g 25 -c:a pcm_s32le -ac 2", "aac,2"),
];

/// Containers and video codecs (Debian's ffmpeg has no VC-1 encoder: WMV2 in ASF stands
/// in for Windows Media).
const CONTAINER_ROWS: &[Row] = &[
    ("h264.ts", "-c:v libx264 -preset ultrafast -g 25 -c:a aac -ac 2", "aac,2"),
    ("h264-ac3.m2ts", "-c:v libx264 -preset ultrafast -g 25 -c:a ac3 -ac 6 -mpegts_m2ts_mode 1", "aac,2"),
    ("moov-last.mov", "-c:v libx264 -preset ultrafast -g 25 -c:a aac -ac 2", "aac,2"),
    // The common release: 10-bit HEVC with 5.1 AC-3 in Matroska.
    (
        "hevc-10bit.mkv",
        "-c:v libx265 -preset ultrafast -x265-params log-level=error -pix_fmt yuv420p10le -c:a ac3 -ac 6",
        "aac,2",
    ),
    ("hevc.mp4", "-c:v libx265 -preset ultrafast -x265-params log-level=error -tag:v hvc1 -c:a aac -ac 2", "aac,2"),
    ("h264-10bit.mp4", "-c:v libx264 -preset ultrafast -pix_fmt yuv420p10le -c:a aac -ac 2", "aac,2"),
    ("h264-60fps.mp4", "-c:v libx264 -preset ultrafast -r 60 -c:a aac -ac 2", "aac,2"),
    ("vp8.webm", "-c:v libvpx -deadline realtime -cpu-used 8 -b:v 500k -c:a libvorbis -ac 2", "aac,2"),
    ("vp9.webm", "-c:v libvpx-vp9 -deadline realtime -cpu-used 8 -b:v 500k -c:a libopus -ac 2", "aac,2"),
    ("av1.mkv", "-c:v libaom-av1 -cpu-used 8 -b:v 300k -c:a flac -ac 2", "aac,2"),
    ("wmv2.wmv", "-c:v wmv2 -b:v 1M -c:a wmav2 -ac 2", "aac,2"),
    ("mpeg2-ps.mpg", "-c:v mpeg2video -b:v 2M -c:a mp2 -ac 2 -f vob", "aac,2"),
    // H.264 with one keyframe in 12 s, in containers without a keyframe index: transcoded.
    ("h264-gop300.avi", "-c:v libx264 -preset ultrafast -g 300 -c:a libmp3lame -ac 2 -ar 44100", "aac,2"),
    ("h264-gop300.ts", "-c:v libx264 -preset ultrafast -g 300 -c:a aac -ac 2", "aac,2"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eac3_51_in_mkv_plays() {
    matrix(&[EAC3]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mp3_in_mkv_plays() {
    matrix(&[MP3]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pcm_51_in_mov_plays() {
    matrix(&[PCM_51]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn xvid_with_b_frames_in_avi_plays() {
    matrix(&[XVID]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audio_codecs_play_whole() {
    matrix(AUDIO_ROWS).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn containers_and_video_codecs_play_whole() {
    matrix(CONTAINER_ROWS).await;
}

/// Every row (all of them H.264 out), played by hls.js in one headless Chromium, each
/// past 10 s (tests/it/e2e/hls_rows.mjs). A row that did not play whole fails its own
/// test and is left out here.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hls_js_plays_every_row_past_10_s() {
    assert!(Path::new("/usr/bin/chromium").exists(), "/usr/bin/chromium is missing: run `scripts/setup.sh test`");
    let all =
        [EAC3, MP3, PCM_51, XVID].into_iter().chain(AUDIO_ROWS.iter().copied()).chain(CONTAINER_ROWS.iter().copied());
    let mut dirs = Vec::new();
    for row in all {
        match outcome(row).await {
            Ok(dir) => dirs.push((row.0.replace('.', "-"), dir)),
            Err(e) => eprintln!("{}: not played in Chromium, it did not play whole: {e}", row.0),
        }
    }
    assert!(!dirs.is_empty(), "no row played whole");
    let url = serve_rows(dirs.clone()).await;
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let rows = dirs.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>().join(",");
    let t = std::time::Instant::now();
    let status = tokio::task::spawn_blocking(move || {
        let mut node = Command::new("node")
            .arg(root.join("tests/it/e2e/hls_rows.mjs"))
            .env("FORMATS_URL", url)
            .env("FORMATS_ROWS", rows)
            .spawn()
            .expect("run node (Node.js 20+)");
        let start = std::time::Instant::now();
        loop {
            if let Some(s) = node.try_wait().unwrap() {
                return s;
            }
            if start.elapsed() > Duration::from_secs(180) {
                let _ = node.kill();
                let _ = node.wait();
                panic!("the Chromium run took more than 180 s");
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    })
    .await
    .unwrap();
    eprintln!("hls.js played {} rows in {:?}", dirs.len(), t.elapsed());
    assert!(status.success(), "hls.js did not play every row past 10 s (the rows are named above)");
}

/// Serves the rows' HLS directories at `/r/{key}/`, hls.js at `/hls.js` and an empty
/// page that loads it at `/page.html`, on loopback.
async fn serve_rows(dirs: Vec<(String, PathBuf)>) -> String {
    use axum::extract::{Path as UrlPath, State};
    use axum::response::IntoResponse;
    type Dirs = Arc<Vec<(String, PathBuf)>>;
    async fn file(State(d): State<Dirs>, UrlPath((key, name)): UrlPath<(String, String)>) -> axum::response::Response {
        let found = d.iter().find(|(k, _)| *k == key).map(|(_, p)| p.join(&name));
        let typ = if name.ends_with(".m3u8") { "application/vnd.apple.mpegurl" } else { "video/MP2T" };
        match found.filter(|_| !name.contains('/') && !name.starts_with('.')).map(std::fs::read) {
            Some(Ok(b)) => ([("content-type", typ)], b).into_response(),
            _ => axum::http::StatusCode::NOT_FOUND.into_response(),
        }
    }
    let hls = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("web/node_modules/hls.js/dist/hls.min.js");
    let hls = std::fs::read(&hls).unwrap_or_else(|e| panic!("{}: {e} (run `scripts/setup.sh test`)", hls.display()));
    let app = axum::Router::new()
        .route(
            "/page.html",
            axum::routing::get(|| async { axum::response::Html("<!doctype html><script src=\"/hls.js\"></script>") }),
        )
        .route("/hls.js", axum::routing::get(move || async move { ([("content-type", "text/javascript")], hls) }))
        .route("/r/{key}/{name}", axum::routing::get(file))
        .with_state(Arc::new(dirs));
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    format!("http://{addr}")
}
