//! The H.264 encoder registry: which encoder elements exist, which passed a real
//! one-second test encode, and which one a stream should use (DESIGN.md "Encoders").

use std::time::Duration;

use anyhow::{Context, bail};
use gst::prelude::*;
use gstreamer as gst;
use serde::Serialize;

/// Candidates in order of preference: hardware first, software last.
pub const CANDIDATES: &[&str] =
    &["vah264lpenc", "vah264enc", "vaapih264enc", "v4l2h264enc", "nvh264enc", "qsvh264enc", "x264enc", "openh264enc"];

/// One candidate encoder. `output_caps` constrains what it must produce (a board's
/// level or size limits); a candidate that cannot meet them fails its test encode.
#[derive(Clone, Debug)]
pub struct Candidate {
    /// The GStreamer element.
    pub name: String,
    /// What the registry calls it; the element name unless a test or a board profile
    /// lists one element twice with different limits.
    pub label: String,
    pub output_caps: Option<String>,
    /// Fault injection: the encoder's output goes through an `identity` that posts a
    /// real stream error after this many frames of a run, the way a hardware encoder
    /// that loses its device dies mid-stream (it still
    /// verifies: test encodes run without it). For tests; `None` everywhere else.
    pub fail_after_frames: Option<u32>,
    /// Fault injection: the encoder's output goes through a closed `valve` in a run
    /// (not in test encodes), so the run produces nothing while its threads sleep, the
    /// way a wedged hardware encoder or a deadlocked pipeline does. For tests.
    pub stalls: bool,
}

impl Candidate {
    pub fn named(name: &str) -> Self {
        let output_caps = (name == "v4l2h264enc").then(|| "video/x-h264,level=(string)4".to_string());
        Self { name: name.to_string(), label: name.to_string(), output_caps, fail_after_frames: None, stalls: false }
    }

    /// The element `name` restricted to produce `caps`, under its own label.
    pub fn limited(name: &str, label: &str, caps: &str) -> Self {
        Self {
            name: name.to_string(),
            label: label.to_string(),
            output_caps: Some(caps.to_string()),
            fail_after_frames: None,
            stalls: false,
        }
    }

    /// The element `name` under its own label, dying with a stream error after
    /// `frames` frames of each run (see `fail_after_frames`).
    pub fn failing_after(name: &str, label: &str, frames: u32) -> Self {
        Self { label: label.to_string(), fail_after_frames: Some(frames), ..Self::named(name) }
    }

    /// The element `name` under its own label, whose runs never produce a segment
    /// (see `stalls`).
    pub fn stalling(name: &str, label: &str) -> Self {
        Self { label: label.to_string(), stalls: true, ..Self::named(name) }
    }
}

/// What the registry knows about one candidate.
#[derive(Clone, Debug, Serialize)]
pub struct EncoderInfo {
    pub name: String,
    /// `hardware` or `software`.
    pub kind: &'static str,
    /// The element is in the GStreamer registry.
    pub found: bool,
    /// It passed the test encode.
    pub verified: bool,
    /// Why it failed, when it did.
    pub error: Option<String>,
    #[serde(skip)]
    pub candidate: Candidate,
}

/// The probed encoders, in order of preference.
#[derive(Clone, Debug, Default, Serialize)]
pub struct EncoderRegistry {
    pub encoders: Vec<EncoderInfo>,
}

fn kind(name: &str) -> &'static str {
    if matches!(name, "x264enc" | "openh264enc") { "software" } else { "hardware" }
}

impl EncoderRegistry {
    /// Probes the default candidates, honouring a pin (`""` = automatic) and exclusions.
    /// A pinned encoder is tried first; the others remain as fallbacks.
    pub fn probe(pin: &str, exclude: &[String]) -> Self {
        let mut names: Vec<&str> = CANDIDATES.iter().copied().filter(|n| !exclude.iter().any(|e| e == n)).collect();
        if !pin.is_empty() {
            names.retain(|n| *n != pin);
            names.insert(0, pin);
        }
        Self::probe_candidates(names.into_iter().map(Candidate::named).collect())
    }

    /// Probes an explicit list of candidates. Blocks for up to a few seconds each.
    pub fn probe_candidates(candidates: Vec<Candidate>) -> Self {
        if let Err(e) = super::runtime::init() {
            tracing::error!("GStreamer cannot start: {e:#}");
            return Self::default();
        }
        let encoders = candidates
            .into_iter()
            .map(|c| {
                let found = gst::ElementFactory::find(&c.name).is_some();
                let result = if found { test_encode(&c) } else { Err(anyhow::anyhow!("not installed")) };
                if found {
                    match &result {
                        Ok(()) => tracing::info!("encoder {} verified", c.name),
                        Err(e) => {
                            tracing::info!("encoder {} found but failed its test: {e:#}", c.name)
                        }
                    }
                }
                EncoderInfo {
                    name: c.label.clone(),
                    kind: kind(&c.name),
                    found,
                    verified: result.is_ok(),
                    error: result.err().map(|e| format!("{e:#}")),
                    candidate: c,
                }
            })
            .collect();
        Self { encoders }
    }

    /// The verified encoders in order of preference.
    pub fn verified(&self) -> impl Iterator<Item = &EncoderInfo> {
        self.encoders.iter().filter(|e| e.verified)
    }

    /// The encoder a new stream uses: the first verified one.
    pub fn selected(&self) -> Option<&EncoderInfo> {
        self.verified().next()
    }

    /// The first verified encoder not in `failed`.
    pub fn next_after(&self, failed: &[String]) -> Option<&EncoderInfo> {
        self.verified().find(|e| !failed.contains(&e.name))
    }
}

/// x264's presets, fastest first.
const X264_PRESETS: [&str; 10] =
    ["ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow", "placebo"];

/// The preset of a run that a player is waiting for (a start, a seek): the faster of
/// the configured preset and the start preset (`media.x264_start_preset`, superfast by
/// default: it keeps CABAC and the deblocking filter, which ultrafast drops so that
/// blocks show at the same bitrate, and encodes 1080p about half again as fast as
/// veryfast). A run started this way hands over to the configured preset once it is a
/// few segments ahead of the players.
pub fn start_preset(configured: &str, start: &str) -> String {
    let rank = |p: &str| X264_PRESETS.iter().position(|x| *x == p).unwrap_or(usize::MAX);
    if rank(configured) <= rank(start) { configured } else { start }.to_string()
}

/// Settings that shape an encoder for HLS: a fixed GOP of `gop` frames, no B-frames.
#[derive(Clone)]
pub struct EncodeSettings {
    pub gop: u32,
    pub bitrate_kbps: u32,
    pub x264_preset: String,
    /// The preset of runs a player waits for (see `start_preset`).
    pub x264_start_preset: String,
}

/// Builds the encoder element for `c` with `s`, setting only properties it has.
pub fn make_encoder(c: &Candidate, s: &EncodeSettings) -> anyhow::Result<gst::Element> {
    let enc =
        gst::ElementFactory::make(&c.name).name("encoder").build().with_context(|| format!("creating {}", c.name))?;
    let has = |p: &str| enc.find_property(p).is_some();
    match c.name.as_str() {
        "x264enc" => {
            enc.set_property_from_str("speed-preset", &s.x264_preset);
            enc.set_property("key-int-max", s.gop);
            enc.set_property("bframes", 0u32);
            enc.set_property("bitrate", s.bitrate_kbps);
            // No zerolatency tune: it trades frame threads for sliced ones and costs a
            // third of the throughput. Every frame x264 holds costs ~13 MB at 1080p (the
            // picture and its interpolated planes): two frame threads and no lookahead
            // (so no macroblock tree) keep a 1080p stream near 130 MB instead of 300 MB,
            // at the same speed on a small box, and the first segment comes sooner.
            let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
            enc.set_property("threads", cores.min(2) as u32);
            enc.set_property("rc-lookahead", 0i32);
            enc.set_property("sync-lookahead", 0i32);
            enc.set_property("mb-tree", false);
            enc.set_property("option-string", "scenecut=0:open-gop=0");
        }
        "openh264enc" => {
            enc.set_property("gop-size", s.gop);
            enc.set_property("bitrate", s.bitrate_kbps * 1000);
            if has("scene-change-detection") {
                enc.set_property("scene-change-detection", false);
            }
        }
        "v4l2h264enc" => {
            let controls = gst::Structure::builder("controls")
                .field("video_gop_size", s.gop as i32)
                .field("video_bitrate", (s.bitrate_kbps * 1000) as i32)
                .build();
            enc.set_property("extra-controls", controls);
        }
        _ => {
            for p in ["key-int-max", "keyframe-period", "gop-size", "idr-interval"] {
                if has(p) {
                    set_uint_like(&enc, p, s.gop);
                }
            }
            for p in ["b-frames", "bframes", "max-bframes"] {
                if has(p) {
                    set_uint_like(&enc, p, 0);
                }
            }
            if has("bitrate") {
                set_uint_like(&enc, "bitrate", s.bitrate_kbps);
            }
        }
    }
    Ok(enc)
}

/// Sets an integer property whatever its exact integer type.
fn set_uint_like(e: &gst::Element, name: &str, v: u32) {
    let Some(spec) = e.find_property(name) else {
        return;
    };
    let t = spec.value_type();
    if t == u32::static_type() {
        e.set_property(name, v);
    } else if t == i32::static_type() {
        e.set_property(name, v as i32);
    } else if t == u64::static_type() {
        e.set_property(name, v as u64);
    } else if t == i64::static_type() {
        e.set_property(name, v as i64);
    }
}

/// Encodes one second of 320×240 test video with `c` and checks that H.264 comes out.
fn test_encode(c: &Candidate) -> anyhow::Result<()> {
    test_encode_at(c, (320, 240))
}

/// Encodes one second of test video of `size` with `c`: the check a stream runs before
/// its first transcode, since an encoder that works at one size may not at another
/// (hardware encoders have size and level limits).
pub fn test_encode_at(c: &Candidate, (w, h): (u32, u32)) -> anyhow::Result<()> {
    super::runtime::init()?;
    let pipeline = gst::Pipeline::new();
    let src = gst::ElementFactory::make("videotestsrc").property("num-buffers", 25i32).build()?;
    let caps = gst::ElementFactory::make("capsfilter")
        .property(
            "caps",
            gst::Caps::builder("video/x-raw")
                .field("width", w as i32)
                .field("height", h as i32)
                .field("framerate", gst::Fraction::new(25, 1))
                .build(),
        )
        .build()?;
    let convert = gst::ElementFactory::make("videoconvert").build()?;
    let enc = make_encoder(
        c,
        &EncodeSettings {
            gop: 25,
            bitrate_kbps: 500,
            x264_preset: "ultrafast".into(),
            x264_start_preset: "ultrafast".into(),
        },
    )?;
    let out_caps = gst::ElementFactory::make("capsfilter").property("caps", output_caps(c)?).build()?;
    let parse = gst::ElementFactory::make("h264parse").build()?;
    let sink = gst::ElementFactory::make("fakesink").property("sync", false).build()?;
    pipeline.add_many([&src, &caps, &convert, &enc, &out_caps, &parse, &sink])?;
    gst::Element::link_many([&src, &caps, &convert, &enc, &out_caps, &parse, &sink])?;
    let result = run_to_eos(&pipeline, Duration::from_secs(15));
    let _ = pipeline.set_state(gst::State::Null);
    result
}

/// The caps the encoder's output must satisfy.
pub fn output_caps(c: &Candidate) -> anyhow::Result<gst::Caps> {
    let mut caps = match &c.output_caps {
        Some(s) => s.parse::<gst::Caps>().map_err(|_| anyhow::anyhow!("bad caps {s:?}"))?,
        None => gst::Caps::new_empty_simple("video/x-h264"),
    };
    if c.name == "x264enc" {
        caps.make_mut().set("profile", "high");
    }
    Ok(caps)
}

fn run_to_eos(pipeline: &gst::Pipeline, timeout: Duration) -> anyhow::Result<()> {
    pipeline.set_state(gst::State::Playing).context("cannot start the test encode")?;
    let bus = pipeline.bus().context("pipeline without bus")?;
    let deadline = std::time::Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            bail!("test encode timed out");
        }
        let Some(msg) = bus.timed_pop(gst::ClockTime::from_mseconds(left.as_millis() as u64)) else {
            continue;
        };
        match msg.view() {
            gst::MessageView::Eos(_) => return Ok(()),
            gst::MessageView::Error(e) => {
                bail!("{} from {}", e.error(), e.src().map(|s| s.path_string().to_string()).unwrap_or_default())
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn software_encoders_verify_and_missing_ones_are_skipped() {
        let reg = EncoderRegistry::probe_candidates(vec![
            Candidate::named("nvh264enc-not-here"),
            // A board limit this encoder cannot meet at 320x240.
            Candidate::limited("x264enc", "x264enc-tiny", "video/x-h264,width=(int)[16,100]"),
            Candidate::named("x264enc"),
        ]);
        assert!(!reg.encoders[0].found && !reg.encoders[0].verified);
        assert!(reg.encoders[1].found && !reg.encoders[1].verified, "{:?}", reg.encoders[1]);
        assert!(reg.encoders[2].verified, "{:?}", reg.encoders[2].error);
        assert_eq!(reg.selected().unwrap().name, "x264enc");
        assert!(reg.selected().unwrap().candidate.output_caps.is_none());
    }
}
