//! Probing a file: duration, container and every stream's codec, profile, resolution
//! and language (gstreamer-pbutils' Discoverer over the same `appsrc` feeder the
//! pipelines use), and the mode decision that follows from them.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, bail};
use gstreamer as gst;
use gstreamer_app as gst_app;
use gstreamer_pbutils as pbutils;
use pbutils::prelude::*;
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use super::source::{ByteSource, attach, force_type, open_typed};

/// How a file is turned into HLS.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// H.264 with AAC or MP3 (or no audio): remux only.
    Passthrough,
    /// H.264 with another audio codec: copy the video, encode the audio to AAC.
    AudioTranscode,
    /// Anything else: decode, scale, encode H.264 and AAC.
    Transcode,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Passthrough => "passthrough",
            Mode::AudioTranscode => "audio_transcode",
            Mode::Transcode => "transcode",
        }
    }
}

/// The video stream of a file.
#[derive(Clone, Debug, Serialize)]
pub struct VideoInfo {
    /// GStreamer caps name, such as `video/x-h264`.
    pub codec: String,
    pub profile: Option<String>,
    pub width: u32,
    pub height: u32,
    /// Frames per second as a fraction; `(0, 1)` when unknown.
    pub fps: (i32, i32),
    /// The RFC 6381 codec string when the stream is H.264 (`avc1.64001f`).
    pub rfc6381: Option<String>,
    /// Pixel aspect ratio (anamorphic DVD/broadcast video: 64/45 for 16:9 PAL).
    pub par: (i32, i32),
    /// Clockwise rotation the file asks for (a phone's orientation tag): 0, 90, 180, 270.
    pub rotation: u32,
    /// Keyframes further apart than a segment in a container with no index we read
    /// (`gop`): copied, segments would go missing, so it is transcoded.
    #[serde(skip)]
    pub gop_too_long: bool,
}

impl VideoInfo {
    /// The video in a person's words: `HEVC 10-bit`, `H.264`, `MPEG-2`.
    pub fn describe(&self) -> String {
        let name = match self.codec.as_str() {
            "video/x-h264" => "H.264",
            "video/x-h265" => "HEVC",
            "video/mpeg" => "MPEG",
            "video/x-divx" | "video/x-xvid" => "MPEG-4 (Xvid)",
            "video/x-wmv" => "VC-1/WMV",
            "video/x-vp8" => "VP8",
            "video/x-vp9" => "VP9",
            "video/x-av1" => "AV1",
            other => other.trim_start_matches("video/x-").trim_start_matches("video/"),
        };
        let p = self.profile.as_deref().unwrap_or_default();
        let depth = if p.contains("12") {
            " 12-bit"
        } else if p.contains("10") {
            " 10-bit"
        } else {
            ""
        };
        format!("{name}{depth}")
    }
}

/// One audio stream of a file.
#[derive(Clone, Debug, Serialize)]
pub struct AudioInfo {
    pub codec: String,
    pub language: Option<String>,
    pub channels: u32,
    pub sample_rate: u32,
    /// Whether it can be copied into the HLS output (AAC or MP3).
    pub copyable: bool,
    /// The container's default flag (Matroska's FlagDefault; the first track elsewhere).
    #[serde(default)]
    pub default: bool,
    /// The demuxer's name for the stream (the end of its stream-id, `002:4484…`), which
    /// finds it again among a pipeline's pads, whatever order they come in.
    #[serde(default)]
    pub stream_key: Option<String>,
    /// Little-endian PCM that the demuxer takes for big-endian (`movpcm`): a run
    /// relabels its caps.
    #[serde(skip)]
    pub little_endian_pcm: bool,
}

/// What the probe found.
#[derive(Clone, Debug, Serialize)]
pub struct MediaInfo {
    pub duration: Duration,
    pub container: String,
    pub video: VideoInfo,
    pub audio: Vec<AudioInfo>,
    /// Embedded subtitle streams, in the container's order.
    pub subtitles: Vec<SubStream>,
}

impl MediaInfo {
    /// Picks the audio track: the first whose language is earliest in `prefer`, else
    /// the first track (the container's default comes first in every demuxer we use).
    pub fn pick_audio(&self, prefer: &[String]) -> Option<usize> {
        for lang in prefer {
            let want = super::language::normalise_language(lang);
            if let Some(i) = self.audio.iter().position(|a| {
                a.language
                    .as_deref()
                    .and_then(super::language::normalise_language)
                    .is_some_and(|l| Some(&l) == want.as_ref())
            }) {
                return Some(i);
            }
        }
        // Else the track the container flags as default, else the first.
        self.audio.iter().position(|a| a.default).or((!self.audio.is_empty()).then_some(0))
    }

    /// The mode for this file with audio track `audio`.
    pub fn mode(&self, audio: Option<usize>) -> Mode {
        let h264 = self.video.codec == "video/x-h264"
            && !self
                .video
                .profile
                .as_deref()
                .is_some_and(|p| p.contains("10") || p.contains("4:2:2") || p.contains("4:4:4"));
        // MPEG-TS carries no rotation: a phone's film is upright only when turned here.
        if !h264 || self.video.gop_too_long || self.video.rotation != 0 {
            return Mode::Transcode;
        }
        match audio.and_then(|i| self.audio.get(i)) {
            None => Mode::Passthrough,
            Some(a) if a.copyable => Mode::Passthrough,
            Some(_) => Mode::AudioTranscode,
        }
    }
}

/// Probes `source`. Fails when the file cannot be demuxed, has no video, or takes
/// longer than `timeout` (a torrent whose pieces do not come).
pub async fn probe(source: &dyn ByteSource, timeout: Duration) -> anyhow::Result<MediaInfo> {
    super::runtime::init()?;
    let (opened, caps) = open_typed(source, timeout).await?;
    let rt = tokio::runtime::Handle::current();
    let cancel = CancellationToken::new();
    let guard = cancel.clone().drop_guard();
    let name = source.describe();
    tracing::info!("probing {name}");
    let cancel2 = cancel.clone();
    let task = tokio::task::spawn_blocking(move || discover(opened, caps, rt, cancel2, timeout));
    // A read waiting for a piece that never comes would outlast the discoverer's own
    // timeout: cancel the reads so that it can give up.
    let info = match tokio::time::timeout(timeout + Duration::from_secs(2), task).await {
        Ok(r) => r.context("probe task")??,
        Err(_) => {
            cancel.cancel();
            bail!("probing timed out after {timeout:?}: the data did not arrive");
        }
    };
    drop(guard);
    let mut info = info;
    apply_flags(&mut info, source, timeout).await;
    pcm_byte_order(&mut info, source, timeout).await;
    tracing::debug!("probed {name}: {info:?}");
    Ok(info)
}

/// Sets the default and forced flags of the tracks: Matroska's own flags when its
/// `Tracks` element is in the file's first MiB, else the first audio track is the default.
async fn apply_flags(info: &mut MediaInfo, source: &dyn ByteSource, timeout: Duration) {
    use tokio::io::AsyncReadExt;
    let name = source.file_name().to_lowercase();
    let flags = if [".mkv", ".mka", ".mks", ".webm"].iter().any(|e| name.ends_with(e)) {
        let read = async {
            let (r, _) = source.open().await?;
            let mut head = Vec::new();
            r.take(1 << 20).read_to_end(&mut head).await?;
            anyhow::Ok(head)
        };
        match tokio::time::timeout(timeout, read).await {
            Ok(Ok(head)) => super::mkvflags::parse(&head),
            _ => None,
        }
    } else {
        None
    };
    match flags {
        Some(f) if f.audio.len() == info.audio.len() && f.subtitles.len() == info.subtitles.len() => {
            // The discoverer may finish before a sparse stream's tags arrive: the
            // container's own language then.
            let known = |l: &Option<String>| l.as_deref().is_some_and(|l| !l.is_empty() && l != "und");
            for (a, t) in info.audio.iter_mut().zip(&f.audio) {
                a.default = t.default && t.enabled;
                if !known(&a.language) && known(&t.language) {
                    a.language = t.language.clone();
                }
            }
            for (s, t) in info.subtitles.iter_mut().zip(&f.subtitles) {
                (s.default, s.forced) = (t.default && t.enabled, t.forced);
                if !known(&s.language) && known(&t.language) {
                    s.language = t.language.clone();
                }
                if s.title.is_none() {
                    s.title = t.name.clone();
                }
            }
        }
        _ => {
            if let Some(a) = info.audio.first_mut() {
                a.default = true;
            }
        }
    }
}

/// Marks the raw audio tracks of a QuickTime file that are little-endian where qtdemux
/// says big-endian (see `movpcm`).
async fn pcm_byte_order(info: &mut MediaInfo, source: &dyn ByteSource, timeout: Duration) {
    if info.container != "video/quicktime" || !info.audio.iter().any(|a| a.codec == "audio/x-raw") {
        return;
    }
    let read = async {
        let (mut r, len) = source.open().await.ok()?;
        super::movpcm::little_endian_tracks(&mut *r, len).await
    };
    let Ok(Some(le)) = tokio::time::timeout(timeout, read).await else { return };
    // Only when the track counts agree: else which is which is unknown.
    if le.len() == info.audio.len() {
        for (a, le) in info.audio.iter_mut().zip(le) {
            a.little_endian_pcm = le && a.codec == "audio/x-raw";
        }
    }
}

fn discover(
    opened: super::source::OpenedReader,
    caps: Option<gst::Caps>,
    rt: tokio::runtime::Handle,
    cancel: CancellationToken,
    timeout: Duration,
) -> anyhow::Result<MediaInfo> {
    let discoverer = pbutils::Discoverer::new(gst::ClockTime::from_nseconds(timeout.as_nanos() as u64))
        .context("creating the discoverer")?;
    let slot = Arc::new(Mutex::new(Some(opened)));
    discoverer.connect_source_setup(move |_, src| {
        if let Some(appsrc) = src.downcast_ref::<gst_app::AppSrc>()
            && let Some(opened) = slot.lock().unwrap().take()
        {
            if let (Some(caps), Some(uridecodebin)) = (caps.clone(), src.parent().and_downcast::<gst::Bin>()) {
                uridecodebin.connect_element_added(move |_, e| {
                    if e.factory().is_some_and(|f| f.name() == "decodebin") {
                        force_type(e, &caps);
                    }
                });
            }
            attach(appsrc, opened, caps.clone(), rt.clone(), cancel.clone());
        }
    });
    let info = discoverer.discover_uri("appsrc://");
    let info = match info {
        Ok(i) => i,
        Err(e) => bail!("the file cannot be read as media: {e}"),
    };
    match info.result() {
        pbutils::DiscovererResult::Ok => {}
        pbutils::DiscovererResult::Timeout => bail!("probing timed out after {timeout:?}"),
        other => bail!("the file cannot be read as media ({other:?})"),
    }
    let duration = info.duration().filter(|d| !d.is_zero()).context("the file has no known duration")?;
    let container = info
        .stream_info()
        .and_then(|s| s.caps())
        .and_then(|c| c.structure(0).map(|s| s.name().to_string()))
        .unwrap_or_default();
    let v = info.video_streams().into_iter().find(|v| !v.is_image()).context("the file has no video stream")?;
    let vcaps = v.caps().context("video stream without caps")?;
    let vs = vcaps.structure(0).context("empty video caps")?;
    let fps = v.framerate();
    let video = VideoInfo {
        codec: vs.name().to_string(),
        profile: vs.get::<String>("profile").ok(),
        width: v.width(),
        height: v.height(),
        fps: (fps.numer(), fps.denom()),
        rfc6381: (vs.name() == "video/x-h264").then(|| avc1_string(vs)),
        par: {
            let p = v.par();
            if p.numer() > 0 && p.denom() > 0 { (p.numer(), p.denom()) } else { (1, 1) }
        },
        rotation: v
            .tags()
            .and_then(|t| t.get::<gst::tags::ImageOrientation>().map(|o| o.get().to_string()))
            .and_then(|o| o.strip_prefix("rotate-").and_then(|d| d.parse().ok()))
            .unwrap_or(0),
        gop_too_long: false,
    };
    if video.width == 0 || video.height == 0 {
        bail!("the video stream has no resolution");
    }
    let audio = info
        .audio_streams()
        .into_iter()
        .filter_map(|a| {
            let caps = a.caps()?;
            let s = caps.structure(0)?;
            let codec = s.name().to_string();
            let mpegversion = s.get::<i32>("mpegversion").ok();
            // MPEG-1 audio without a layer is taken for MP3, the common case.
            let layer = s.get::<i32>("layer").unwrap_or(3);
            let codec = match (codec.as_str(), mpegversion) {
                ("audio/mpeg", Some(2 | 4)) => "audio/aac".to_string(),
                ("audio/mpeg", Some(1)) if layer < 3 => "audio/mp2".to_string(),
                ("audio/mpeg", Some(1)) => "audio/mp3".to_string(),
                _ => codec,
            };
            let copyable = matches!(codec.as_str(), "audio/aac" | "audio/mp3");
            Some(AudioInfo {
                codec,
                language: a.language().map(|l| l.to_string()),
                channels: a.channels(),
                sample_rate: a.sample_rate(),
                copyable,
                default: false,
                stream_key: stream_key(a.stream_id().as_deref()),
                little_endian_pcm: false,
            })
        })
        .collect::<Vec<_>>();
    let mut audio = audio;
    in_file_order(&mut audio, |a| a.stream_key.as_deref());
    let subtitles = info
        .subtitle_streams()
        .into_iter()
        .map(|s| SubStream {
            caps: s.caps().and_then(|c| c.structure(0).map(|st| st.name().to_string())).unwrap_or_default(),
            language: s.language().map(|l| l.to_string()),
            title: s.tags().and_then(|t| t.get::<gst::tags::Title>().map(|v| v.get().to_string())),
            default: false,
            forced: false,
            stream_key: stream_key(s.stream_id().as_deref()),
        })
        .collect::<Vec<_>>();
    let mut subtitles = subtitles;
    in_file_order(&mut subtitles, |s| s.stream_key.as_deref());
    Ok(MediaInfo { duration: Duration::from_nanos(duration.nseconds()), container, video, audio, subtitles })
}

/// The part of a stream-id that names the stream within its file: what follows the
/// last `/` (`…/002:4484925206709881855` from matroskademux, `…/003` from qtdemux).
pub fn stream_key(stream_id: Option<&str>) -> Option<String> {
    let id = stream_id?;
    id.rsplit_once('/').map(|(_, k)| k.to_string()).filter(|k| !k.is_empty())
}

/// The `stream_key` of a demuxed pad (from its stream-start event).
pub fn pad_stream_key(pad: &gst::Pad) -> Option<String> {
    stream_key(pad.stream_id().as_deref())
}

/// Sorts streams by the track number their key starts with (demuxers number tracks
/// in file order), when every one has such a number.
fn in_file_order<T>(v: &mut [T], key: impl Fn(&T) -> Option<&str>) {
    let num = |t: &T| key(t).and_then(|k| k.split(':').next()?.parse::<u64>().ok());
    if v.iter().all(|t| num(t).is_some()) {
        v.sort_by_key(|t| num(t));
    }
}

/// `avc1.PPCCLL` from the avcC in `codec_data`, or from the profile and level names.
fn avc1_string(s: &gst::StructureRef) -> String {
    if let Ok(cd) = s.get::<gst::Buffer>("codec_data")
        && let Ok(map) = cd.map_readable()
        && map.len() >= 4
        && map[0] == 1
    {
        return format!("avc1.{:02x}{:02x}{:02x}", map[1], map[2], map[3]);
    }
    let (p, c) = match s.get::<String>("profile").as_deref() {
        Ok("baseline") => (0x42, 0x00),
        Ok("constrained-baseline") => (0x42, 0xe0),
        Ok("main") => (0x4d, 0x40),
        Ok("extended") => (0x58, 0x00),
        Ok("high-10" | "high-10-intra") => (0x6e, 0x00),
        Ok("high-4:2:2" | "high-4:2:2-intra") => (0x7a, 0x00),
        Ok("high-4:4:4" | "high-4:4:4-intra") => (0xf4, 0x00),
        _ => (0x64, 0x00),
    };
    let level =
        s.get::<String>("level").ok().and_then(|l| l.parse::<f32>().ok()).map_or(0x28, |l| (l * 10.0).round() as u32);
    format!("avc1.{p:02x}{c:02x}{level:02x}")
}

/// The picture as shown: anamorphic width stretched (height kept), even sizes, and
/// width and height swapped for a quarter turn.
pub fn display_size(v: &VideoInfo) -> (u32, u32) {
    let (n, d) = (v.par.0.max(1) as u64, v.par.1.max(1) as u64);
    let w = ((v.width as u64 * n / d) as u32 + 1) & !1;
    let h = (v.height + 1) & !1;
    match v.rotation {
        90 | 270 => (h, w),
        _ => (w, h),
    }
}

/// One embedded subtitle stream as the probe saw it.
#[derive(Clone, Debug, Serialize)]
pub struct SubStream {
    /// GStreamer caps name: `text/x-raw`, `application/x-ass`, `subpicture/x-pgs`, …
    pub caps: String,
    pub language: Option<String>,
    /// The track's title, when the container names it.
    pub title: Option<String>,
    /// The container's default and forced flags (Matroska's FlagDefault, FlagForced).
    #[serde(default)]
    pub default: bool,
    #[serde(default)]
    pub forced: bool,
    /// The demuxer's name for the stream (see `stream_key`).
    #[serde(default)]
    pub stream_key: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(codec: &str, profile: Option<&str>, audio: &[(&str, bool, Option<&str>)]) -> MediaInfo {
        MediaInfo {
            duration: Duration::from_secs(10),
            container: "video/quicktime".into(),
            video: VideoInfo {
                codec: codec.into(),
                profile: profile.map(Into::into),
                width: 640,
                height: 360,
                fps: (25, 1),
                rfc6381: None,
                par: (1, 1),
                rotation: 0,
                gop_too_long: false,
            },
            audio: audio
                .iter()
                .map(|(c, copy, lang)| AudioInfo {
                    codec: c.to_string(),
                    language: lang.map(Into::into),
                    channels: 2,
                    sample_rate: 48000,
                    copyable: *copy,
                    default: false,
                    stream_key: None,
                    little_endian_pcm: false,
                })
                .collect(),
            subtitles: vec![],
        }
    }

    #[test]
    fn modes() {
        let m = info("video/x-h264", Some("high"), &[("audio/aac", true, None)]);
        assert_eq!(m.mode(m.pick_audio(&[])), Mode::Passthrough);
        let m = info("video/x-h264", Some("high"), &[]);
        assert_eq!(m.mode(m.pick_audio(&[])), Mode::Passthrough);
        let m = info("video/x-h264", Some("main"), &[("audio/x-ac3", false, None)]);
        assert_eq!(m.mode(m.pick_audio(&[])), Mode::AudioTranscode);
        let m = info("video/x-h264", Some("high-10"), &[("audio/aac", true, None)]);
        assert_eq!(m.mode(m.pick_audio(&[])), Mode::Transcode);
        let m = info("video/x-vp9", None, &[("audio/x-opus", false, None)]);
        assert_eq!(m.mode(m.pick_audio(&[])), Mode::Transcode);
        let mut m = info("video/x-h264", Some("high"), &[("audio/aac", true, None)]);
        m.video.rotation = 90;
        assert_eq!(m.mode(m.pick_audio(&[])), Mode::Transcode);
    }

    #[test]
    fn audio_language_preference() {
        let m = info("video/x-h264", None, &[("audio/x-ac3", false, Some("en")), ("audio/aac", true, Some("fr"))]);
        assert_eq!(m.pick_audio(&[]), Some(0));
        assert_eq!(m.pick_audio(&["fr".into(), "en".into()]), Some(1));
        assert_eq!(m.pick_audio(&["de".into()]), Some(0));
        assert_eq!(m.mode(Some(1)), Mode::Passthrough);
        assert_eq!(m.mode(Some(0)), Mode::AudioTranscode);
        // Three-letter codes in the file, two-letter ones in the config; a default flag.
        let mut m = info("video/x-h264", None, &[("audio/aac", true, Some("eng")), ("audio/aac", true, Some("ger"))]);
        assert_eq!(m.pick_audio(&["de".into()]), Some(1));
        m.audio[1].default = true;
        assert_eq!(m.pick_audio(&[]), Some(1));
        assert_eq!(m.pick_audio(&["en".into()]), Some(0));
    }
}
