//! One run of a segmenting pipeline: from a byte offset-free start segment to the end
//! of the file (or until stopped), writing MPEG-TS segments on the grid.
//!
//! ```text
//! appsrc (random-access) ! parsebin ─┬─ video: queue ! h264parse ! ─────────────────────┐
//!                                    │    or: queue ! decoder ! depth8 ! convert ! scale  │
//!                                    │        ! rate ! queue ! encoder ! h264parse ────── ├─ splitmuxsink (mpegtsmux)
//!                                    ├─ audio: queue ! (copy | decodebin ! … ! avenc_aac) ┘
//!                                    └─ anything else: fakesink
//! ```
//!
//! A run holds the demuxer's output until its seek flushes the pads (passthrough:
//! KEY_UNIT|SNAP_BEFORE, then video is dropped up to the first keyframe at the grid
//! point, as the splits do; transcode: ACCURATE), and every segment event
//! reaching the muxer is rebased so that running time equals media time: PTS in the
//! segments stay equal to media time across restarts (plus mpegtsmux's constant
//! 3600 s), and splits are asked for at grid times.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use anyhow::Context;
use futures::StreamExt;
use gst::prelude::*;
use gstreamer as gst;
use gstreamer_app as gst_app;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::encoder::{Candidate, EncodeSettings, make_encoder, output_caps};
use super::playlist::{Grid, segment_name};
use super::probe::Mode;
use super::source::{OpenedReader, attach_timed};

mod elements;
use elements::{caps_filter, is_encoder_error, little_endian_pcm, make, position_channels};
pub(crate) use elements::{link_decoded, make_decoder};

/// What a run needs to know.
#[derive(Clone)]
pub struct RunSpec {
    pub mode: Mode,
    /// Which audio stream (in file order) goes out; `None` for none.
    pub audio: Option<usize>,
    /// Its `stream_key` (the probe's), which finds its pad whatever order pads come in.
    pub audio_key: Option<String>,
    pub grid: Grid,
    /// The first segment to produce.
    pub start: usize,
    /// Directory the segments are written to.
    pub dir: PathBuf,
    pub run_id: u64,
    /// The encoder, in transcode mode.
    pub encoder: Option<Candidate>,
    /// Output size and frame rate in transcode mode.
    pub out_size: (u32, u32),
    pub fps: (i32, i32),
    pub settings: Arc<EncodeSettings>,
    /// Most channels of transcoded audio (2, or 6 for 5.1); more are downmixed.
    pub audio_channels: u32,
    /// The chosen audio track's codec as the probe saw it (`audio/x-eac3`).
    pub audio_codec: Option<String>,
    /// The chosen audio track is little-endian PCM the demuxer calls big-endian.
    pub pcm_little_endian: bool,
    /// Subtitle cues burned into the picture (transcode only).
    pub burn: Option<Arc<Vec<super::subtitles::Cue>>>,
}

/// What a run reports to its stream.
#[derive(Debug)]
pub enum RunEvent {
    /// Segment `index` is complete at `path`.
    Segment { run_id: u64, index: usize, path: PathBuf, bytes: u64 },
    /// The run reached the end of the file.
    Eos { run_id: u64 },
    /// The encoder failed; the stream may switch to the next one.
    EncoderFailed { run_id: u64, message: String },
    /// The media cannot be processed.
    Failed { run_id: u64, message: String },
}

/// A running pipeline. Dropping it stops the pipeline.
pub struct RunHandle {
    pipeline: gst::Pipeline,
    dir: PathBuf,
    run_id: u64,
    cancel: CancellationToken,
    paused: AtomicBool,
    /// Milliseconds the source's reads spent waiting for bytes.
    read_wait_ms: Arc<std::sync::atomic::AtomicU64>,
}

impl RunHandle {
    /// Stops producing for now (run-ahead reached).
    pub fn pause(&self) {
        if !self.paused.swap(true, Ordering::SeqCst) {
            let _ = self.pipeline.set_state(gst::State::Paused);
        }
    }

    pub fn resume(&self) {
        if self.paused.swap(false, Ordering::SeqCst) {
            let _ = self.pipeline.set_state(gst::State::Playing);
        }
    }

    pub fn is_paused(&self) -> bool {
        self.paused.load(Ordering::SeqCst)
    }

    /// How long the source's reads have waited for bytes so far.
    pub fn read_wait(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.read_wait_ms.load(Ordering::Relaxed))
    }
}

impl Drop for RunHandle {
    fn drop(&mut self) {
        self.cancel.cancel();
        let p = self.pipeline.clone();
        let (dir, prefix) = (self.dir.clone(), format!("run{}-", self.run_id));
        // Setting Null waits for streaming threads; keep that off the async workers.
        std::thread::spawn(move || {
            let _ = p.set_state(gst::State::Null);
            drop(p);
            // What the run's threads freed goes back to the kernel.
            crate::system::memory::trim_soon();
            for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                if e.file_name().to_string_lossy().starts_with(&prefix) {
                    let _ = std::fs::remove_file(e.path());
                }
            }
        });
    }
}

fn queue() -> anyhow::Result<gst::Element> {
    Ok(gst::ElementFactory::make("queue")
        .property("max-size-buffers", 0u32)
        .property("max-size-bytes", 0u32)
        .property("max-size-time", 10_000_000_000u64)
        .build()?)
}

/// Adds `elems` to `bin`, links them in a row, and syncs their states with the parent.
fn add_chain(bin: &gst::Pipeline, elems: &[gst::Element]) -> anyhow::Result<()> {
    bin.add_many(elems)?;
    gst::Element::link_many(elems)?;
    for e in elems {
        e.sync_state_with_parent()?;
    }
    Ok(())
}

/// Rewrites the forward time segments that pass `pad` with `f`.
fn rewrite_segments(pad: &gst::Pad, f: impl Fn(&mut gst::FormattedSegment<gst::ClockTime>) + Send + Sync + 'static) {
    pad.add_probe(gst::PadProbeType::EVENT_DOWNSTREAM, move |_, info| {
        if let Some(gst::PadProbeData::Event(ev)) = &info.data
            && let gst::EventView::Segment(s) = ev.view()
            && let Some(seg) = s.segment().downcast_ref::<gst::ClockTime>()
            && seg.rate() > 0.0
        {
            let mut seg = seg.clone();
            f(&mut seg);
            let new = gst::event::Segment::builder(&seg).seqnum(ev.seqnum()).build();
            info.data = Some(gst::PadProbeData::Event(new));
        }
        gst::PadProbeReturn::Ok
    });
}

/// Running time equals stream (media) time.
pub(crate) fn rebase_segments(pad: &gst::Pad) {
    rewrite_segments(pad, |seg| {
        let time = seg.time();
        seg.set_base(time);
    });
}

/// Matroska: stream time is the frames' own timestamps, the times of the grid (its
/// keyframes come from the file's `Cues`). matroskademux counts from the file's first
/// timestamp after a key-unit seek only, so in a film whose frames start at 21–23 ms
/// (ffmpeg's usual, behind AAC's priming) a seek's run found its keyframe more than
/// half a frame before its start and dropped every frame up to the next keyframe: a
/// GOP skipped, or no segment at all (the stream failed as stalled).
fn frame_time_is_stream_time(pad: &gst::Pad) {
    rewrite_segments(pad, |seg| {
        let start = seg.start();
        seg.set_time(start);
    });
}

/// Holds buffers on `pad` until its first flush (the start seek), so nothing before
/// the start position reaches the muxer. `blocked` is told when a buffer is held: the
/// demuxer is running and will accept the seek.
fn block_until_seek(pad: &gst::Pad, blocked: std::sync::mpsc::Sender<gst::Pad>) {
    let blocked = std::sync::Mutex::new(blocked);
    let Some(block) = pad.add_probe(gst::PadProbeType::BLOCK | gst::PadProbeType::BUFFER, move |pad, _| {
        let _ = blocked.lock().unwrap().send(pad.clone());
        gst::PadProbeReturn::Ok
    }) else {
        return;
    };
    let block = std::sync::Mutex::new(Some(block));
    pad.add_probe(gst::PadProbeType::EVENT_FLUSH, move |pad, info| match &info.data {
        Some(gst::PadProbeData::Event(ev)) if ev.type_() == gst::EventType::FlushStop => {
            if let Some(id) = block.lock().unwrap().take() {
                pad.remove_probe(id);
            }
            gst::PadProbeReturn::Remove
        }
        _ => gst::PadProbeReturn::Ok,
    });
}

/// Starts a run reading `opened`. Events go to `events`; the returned handle stops it.
pub fn start(
    spec: RunSpec,
    opened: OpenedReader,
    caps: Option<gst::Caps>,
    events: mpsc::UnboundedSender<RunEvent>,
) -> anyhow::Result<RunHandle> {
    super::runtime::init()?;
    let rt = tokio::runtime::Handle::current();
    let cancel = CancellationToken::new();
    let pipeline = gst::Pipeline::new();
    let src = gst::ElementFactory::make("appsrc").build()?;
    let appsrc = src.clone().dynamic_cast::<gst_app::AppSrc>().expect("appsrc");
    let read_wait_ms = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let parse = super::source::parsebin(caps.as_ref())?;
    let matroska = caps
        .as_ref()
        .and_then(|c| c.structure(0))
        .is_some_and(|s| matches!(s.name().as_str(), "video/x-matroska" | "video/webm"));
    attach_timed(&appsrc, opened, caps, rt.clone(), cancel.clone(), read_wait_ms.clone());
    let mux = gst::ElementFactory::make("mpegtsmux").build()?;
    let location = spec.dir.join(format!("run{}-%05d.part", spec.run_id));
    let split = gst::ElementFactory::make("splitmuxsink")
        .property("muxer", &mux)
        .property("location", location.to_string_lossy().as_ref())
        .property("max-size-time", 0u64)
        .property("max-size-bytes", 0u64)
        .property("async-finalize", false)
        .build()
        .context("GStreamer element splitmuxsink is missing")?;
    pipeline.add_many([&src, &parse, &split])?;
    src.link(&parse)?;

    // Every run starts with a seek (to 0 as well): splitmuxsink forgets split times
    // queued before it starts, so they are queued while the demuxer is held.
    let seek_needed = true;
    let splits = spec.grid.splits_after(spec.start);
    let split_weak = split.downgrade();
    let audio_seen = Arc::new(AtomicUsize::new(0));
    let video_linked = Arc::new(AtomicBool::new(false));
    let (ready_tx, ready_rx) = std::sync::mpsc::channel::<gst::Pad>();
    // Set once the start seek is under way: pads exposed from then on carry data from
    // the new position and are not held.
    let seeking = Arc::new(AtomicBool::new(!seek_needed));
    let seeking2 = seeking.clone();
    let weak = pipeline.downgrade();
    let spec2 = spec.clone();
    let split_weak2 = split.downgrade();
    parse.connect_pad_added(move |_, pad| {
        let (Some(pipeline), Some(split)) = (weak.upgrade(), split_weak2.upgrade()) else {
            return;
        };
        if matroska {
            frame_time_is_stream_time(pad);
        }
        if !seeking2.load(Ordering::SeqCst) {
            block_until_seek(pad, ready_tx.clone());
        }
        let r = link_stream(&pipeline, &split, pad, &spec2, &audio_seen, &video_linked);
        if let Err(e) = r {
            gst::element_error!(pipeline, gst::StreamError::Failed, ["cannot build the pipeline: {e:#}"]);
        }
    });
    pipeline.set_state(gst::State::Playing).context("cannot start the pipeline")?;
    let bus = pipeline.bus().context("pipeline without a bus")?;
    let handle = RunHandle {
        pipeline: pipeline.clone(),
        dir: spec.dir.clone(),
        run_id: spec.run_id,
        cancel: cancel.clone(),
        paused: AtomicBool::new(false),
        read_wait_ms,
    };
    let run_id = spec.run_id;
    let grid = spec.grid.clone();
    let dir = spec.dir.clone();
    let start_index = spec.start;
    let transcode = spec.mode == Mode::Transcode;
    let weak = pipeline.downgrade();
    let start_ns = spec.grid.start_ns(spec.start);
    let mode = spec.mode;
    crate::system::spawn("media-run", &cancel.clone(), async move {
        // Wait for the demuxer's pads, then seek to the start and play.
        let ready = tokio::task::spawn_blocking(move || {
            if seek_needed {
                ready_rx.recv_timeout(std::time::Duration::from_secs(120)).ok().map(Some)
            } else {
                Some(None)
            }
        });
        let mut bus_stream = bus.stream();
        let mut ready = std::pin::pin!(ready);
        let mut started = false;
        let mut locations: HashMap<String, usize> = HashMap::new();
        let mut first = true;
        loop {
            tokio::select! {
                _ = cancel.cancelled() => break,
                r = &mut ready, if !started => {
                    started = true;
                    if weak.upgrade().is_none() { break }
                    let Some(blocked_pad) = r.ok().flatten() else {
                        let _ = events.send(RunEvent::Failed { run_id, message: "the file's streams were not found in time".into() });
                        break;
                    };
                    tracing::debug!(run_id, "streams found; seeking: {seek_needed}");
                    if seek_needed {
                        seeking.store(true, Ordering::SeqCst);
                        let copy = mode != Mode::Transcode;
                        let seek_ns = start_ns;
                        let flags = if copy {
                            gst::SeekFlags::FLUSH | gst::SeekFlags::KEY_UNIT | gst::SeekFlags::SNAP_BEFORE
                        } else {
                            gst::SeekFlags::FLUSH | gst::SeekFlags::ACCURATE
                        };
                        let splits = splits.clone();
                        let split_weak = split_weak.clone();
                        let ok = tokio::task::spawn_blocking(move || {
                            // Straight to the demuxer: the muxer does not pass seeks upstream.
                            let Some(pad) = blocked_pad else { return false };
                            let Some(split) = split_weak.upgrade() else { return false };
                            for &t in &splits {
                                split.emit_by_name::<()>("split-at-running-time", &[&t]);
                            }
                            let ev = gst::event::Seek::new(
                                1.0,
                                flags,
                                gst::SeekType::Set,
                                gst::ClockTime::from_nseconds(seek_ns),
                                gst::SeekType::None,
                                gst::ClockTime::NONE,
                            );
                            pad.peer().is_some_and(|peer| peer.push_event(ev))
                        }).await.unwrap_or(false);
                        tracing::debug!(run_id, "seek to {start_ns} ns: {ok}");
                        if !ok {
                            let _ = events.send(RunEvent::Failed { run_id, message: format!("seeking to {} s failed", start_ns / 1_000_000_000) });
                            break;
                        }
                    }
                }
                msg = bus_stream.next() => {
                    let Some(msg) = msg else { break };
                    match msg.view() {
                        gst::MessageView::Element(e) => {
                            let Some(s) = e.structure() else { continue };
                            let loc = s.get::<String>("location").unwrap_or_default();
                            let rt = s.get::<u64>("running-time").unwrap_or(0);
                            tracing::trace!(run_id, "{s}");
                            match s.name().as_str() {
                                "splitmuxsink-fragment-opened" => {
                                    let mut idx = grid.index_at(rt);
                                    if first {
                                        idx = idx.max(start_index);
                                        first = false;
                                    }
                                    locations.insert(loc, idx);
                                }
                                "splitmuxsink-fragment-closed" => {
                                    let Some(idx) = locations.remove(&loc) else { continue };
                                    // An empty fragment (the file ended before the start) is no segment.
                                    if std::fs::metadata(&loc).is_ok_and(|m| m.len() == 0) {
                                        let _ = std::fs::remove_file(&loc);
                                        continue;
                                    }
                                    let path = dir.join(segment_name(idx));
                                    match std::fs::rename(&loc, &path) {
                                        Ok(()) => {
                                            let bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
                                            let _ = events.send(RunEvent::Segment { run_id, index: idx, path, bytes });
                                        }
                                        Err(e) => tracing::warn!("cannot store segment {idx}: {e}"),
                                    }
                                }
                                _ => {}
                            }
                        }
                        gst::MessageView::Eos(_) => {
                            let _ = events.send(RunEvent::Eos { run_id });
                            break;
                        }
                        gst::MessageView::Error(e) => {
                            let path = e.src().map(|s| s.path_string().to_string()).unwrap_or_default();
                            let message = format!("{} ({path})", e.error());
                            let debug_text = e.debug().map(|d| d.to_string()).unwrap_or_default();
                            tracing::warn!("stream pipeline error: {message}: {debug_text}");
                            let enc = transcode && is_encoder_error(e);
                            let ev = if enc {
                                RunEvent::EncoderFailed { run_id, message }
                            } else {
                                RunEvent::Failed { run_id, message }
                            };
                            let _ = events.send(ev);
                            break;
                        }
                        _ => {}
                    }
                }
            }
        }
        Ok(())
    });
    Ok(handle)
}

/// Links one of parsebin's pads into the right chain.
fn link_stream(
    pipeline: &gst::Pipeline,
    split: &gst::Element,
    pad: &gst::Pad,
    spec: &RunSpec,
    audio_seen: &AtomicUsize,
    video_linked: &AtomicBool,
) -> anyhow::Result<()> {
    let caps = pad.current_caps().unwrap_or_else(|| pad.query_caps(None));
    let name = caps.structure(0).map(|s| s.name().to_string()).unwrap_or_default();
    if name.starts_with("video/") && !video_linked.swap(true, Ordering::SeqCst) {
        return link_video(pipeline, split, pad, spec);
    }
    if name.starts_with("audio/") {
        let n = audio_seen.fetch_add(1, Ordering::SeqCst);
        let chosen = match &spec.audio_key {
            Some(k) => spec.audio.is_some() && super::probe::pad_stream_key(pad).as_ref() == Some(k),
            None => Some(n) == spec.audio,
        };
        if chosen {
            return link_audio(pipeline, split, pad, spec);
        }
    }
    let sink = gst::ElementFactory::make("fakesink").property("sync", false).property("async", false).build()?;
    add_chain(pipeline, std::slice::from_ref(&sink))?;
    pad.link(&sink.static_pad("sink").unwrap())?;
    Ok(())
}

fn h264_tail() -> anyhow::Result<[gst::Element; 2]> {
    let parse = gst::ElementFactory::make("h264parse").property("config-interval", -1i32).build()?;
    let caps = caps_filter(
        gst::Caps::builder("video/x-h264").field("stream-format", "byte-stream").field("alignment", "au").build(),
    )?;
    Ok([parse, caps])
}

/// Clips the start of a run on `pad`, comparing stream (media) time, not raw PTS
/// (an MP4 edit list shifts them apart):
/// - video: dropped until the first keyframe at `start_ns` less half a frame, as a
///   demuxer's KEY_UNIT seek lands on an index entry, which may be an earlier keyframe
///   (the slack absorbs the index's rounding);
/// - audio: what starts before `start_ns` is dropped, as the previous run's last segment
///   carries it and an overlap would make timestamps run backwards.
fn clip_start(pad: &gst::Pad, start_ns: u64, video_slack: Option<u64>) {
    if start_ns == 0 {
        return;
    }
    let video = video_slack.is_some();
    let from = start_ns.saturating_sub(video_slack.unwrap_or(0));
    let segment = std::sync::Mutex::new(gst::FormattedSegment::<gst::ClockTime>::new());
    let done = AtomicBool::new(false);
    pad.add_probe(gst::PadProbeType::BUFFER | gst::PadProbeType::EVENT_DOWNSTREAM, move |_, info| {
        match &info.data {
            Some(gst::PadProbeData::Event(ev)) => {
                if let gst::EventView::Segment(s) = ev.view()
                    && let Some(seg) = s.segment().downcast_ref::<gst::ClockTime>()
                {
                    *segment.lock().unwrap() = seg.clone();
                }
            }
            Some(gst::PadProbeData::Buffer(b)) if !done.load(Ordering::Relaxed) => {
                let t = b.pts().and_then(|p| segment.lock().unwrap().to_stream_time(p));
                let late_enough = t.is_some_and(|t| t.nseconds() >= from);
                let key = !b.flags().contains(gst::BufferFlags::DELTA_UNIT);
                if late_enough && (key || !video) {
                    done.store(true, Ordering::Relaxed);
                } else {
                    return gst::PadProbeReturn::Drop;
                }
            }
            _ => {}
        }
        gst::PadProbeReturn::Ok
    });
}

/// Frames a decoder may hold back for reordering, as far as `fill_dts` allows for:
/// x264's B-pyramid needs 2; more only costs a little latency.
const REORDER_DEPTH: usize = 4;

/// Gives video buffers that come without a decode time (Matroska stores none) one,
/// or the muxer writes B-frames with DTS after PTS. As libavformat does: DTS is the
/// smallest of the last `REORDER_DEPTH + 1` presentation times, each new frame evicting
/// the smallest, which never exceeds the frame's own PTS and only grows while the
/// stream reorders no deeper than that. A run starts with earlier times made up one
/// frame apart. Installed after `clip_start`, so it sees the kept frames only.
fn fill_dts(pad: &gst::Pad, frame_ns: u64) {
    let window: std::sync::Mutex<Vec<u64>> = std::sync::Mutex::new(Vec::new());
    let last = std::sync::Mutex::new(None::<u64>);
    pad.add_probe(
        gst::PadProbeType::BUFFER | gst::PadProbeType::EVENT_DOWNSTREAM | gst::PadProbeType::EVENT_FLUSH,
        move |_, info| {
            match &mut info.data {
                Some(gst::PadProbeData::Event(ev)) => {
                    if matches!(ev.view(), gst::EventView::FlushStop(_) | gst::EventView::Segment(_)) {
                        window.lock().unwrap().clear();
                        *last.lock().unwrap() = None;
                    }
                }
                Some(gst::PadProbeData::Buffer(b)) => {
                    let (Some(pts), None) = (b.pts(), b.dts()) else { return gst::PadProbeReturn::Ok };
                    let pts = pts.nseconds();
                    let mut w = window.lock().unwrap();
                    if w.is_empty() {
                        w.extend((1..=REORDER_DEPTH as u64 + 1).rev().map(|k| pts.saturating_sub(k * frame_ns)));
                    }
                    w[0] = pts;
                    w.sort_unstable();
                    let mut last = last.lock().unwrap();
                    let dts = last.map_or(w[0], |l| w[0].max(l + 1)).min(pts);
                    *last = Some(dts);
                    b.make_mut().set_dts(gst::ClockTime::from_nseconds(dts));
                }
                _ => {}
            }
            gst::PadProbeReturn::Ok
        },
    );
}

fn to_muxer(split: &gst::Element, last: &gst::Element, pad_name: &str, spec: &RunSpec) -> anyhow::Result<()> {
    let video = !pad_name.starts_with("audio");
    let mux = split.property::<gst::Element>("muxer");
    let mux_pads_before = mux.sink_pads();
    let sinkpad = split.request_pad_simple(pad_name).with_context(|| format!("muxer pad {pad_name}"))?;
    let src = last.static_pad("src").unwrap();
    if !video {
        clip_start(&src, spec.grid.start_ns(spec.start), None);
    } else if spec.mode != Mode::Transcode {
        let frame = super::playlist::frame_ns(spec.fps);
        clip_start(&src, spec.grid.start_ns(spec.start), Some(frame / 2));
        fill_dts(&src, frame);
    }
    rebase_segments(&src);
    if video {
        // The muxer's pad that splitmuxsink asked for with ours.
        let mux_pad = mux.sink_pads().into_iter().find(|p| !mux_pads_before.contains(p));
        let mux_pad = mux_pad.context("splitmuxsink asked its muxer for no video pad")?;
        super::cuts::close_at_split(&src, &mux_pad, spec.grid.splits_after(spec.start));
    }
    src.link(&sinkpad)?;
    Ok(())
}

fn link_video(pipeline: &gst::Pipeline, split: &gst::Element, pad: &gst::Pad, spec: &RunSpec) -> anyhow::Result<()> {
    let q = queue()?;
    if spec.mode != Mode::Transcode {
        let [parse, caps] = h264_tail()?;
        add_chain(pipeline, &[q.clone(), parse, caps.clone()])?;
        pad.link(&q.static_pad("sink").unwrap())?;
        return to_muxer(split, &caps, "video", spec);
    }
    let candidate = spec.encoder.as_ref().context("no working H.264 encoder")?;
    let dec = make_decoder(pad, gst::ElementFactoryType::MEDIA_VIDEO, None)?;
    // HDR10/HLG: luma tone-mapped on the decoder's output, the matrix made BT.709 below.
    let in_caps = pad.current_caps().unwrap_or_else(|| pad.query_caps(None));
    let hdr = super::tonemap::is_hdr(&in_caps);
    if hdr && let Some(src) = dec.static_pad("src") {
        super::tonemap::install(&src);
    }
    // Turns a phone's video upright as its orientation tag says.
    let flip = gst::ElementFactory::make("videoflip").property_from_str("video-direction", "auto").build()?;
    // Interlaced sources (DVD, broadcast MPEG-2) are deinterlaced; progressive passes.
    let deint = make("deinterlace")?;
    let convert = make("videoconvert")?;
    let scale = make("videoscale")?;
    // Never fills the end of a segment with copies of its last frame: matroskademux
    // sends a seek's segment twice (starting at the first cluster, then at the seek's
    // position), and with the default (1 s) the first frame came out for a whole
    // second before the film, every HEVC Matroska run.
    let rate =
        gst::ElementFactory::make("videorate").property("max-closing-segment-duplication-duration", 0u64).build()?;
    let (w, h) = spec.out_size;
    let (n, d) = if spec.fps.0 > 0 { spec.fps } else { (25, 1) };
    let mut raw_caps = gst::Caps::builder("video/x-raw")
        .field("width", w as i32)
        .field("height", h as i32)
        .field("pixel-aspect-ratio", gst::Fraction::new(1, 1))
        .field("framerate", gst::Fraction::new(n, d))
        // 8-bit 4:2:0 whatever the source (10-bit HEVC, 4:2:2): what H.264 High takes.
        .field("format", gst::List::new(["I420", "NV12"]))
        .build();
    if hdr {
        raw_caps.make_mut().set("colorimetry", "bt709");
    }
    let raw = caps_filter(raw_caps)?;
    let enc = make_encoder(candidate, &spec.settings)?;
    let frame = super::playlist::frame_ns((n, d));
    super::cuts::force_on_grid(&enc.static_pad("sink").unwrap(), &spec.grid, spec.start, frame);
    let enc_caps = caps_filter(output_caps(candidate)?)?;
    let [parse, caps] = h264_tail()?;
    add_chain(pipeline, &[q.clone(), dec.clone()])?;
    // 10-bit 4:2:0 to 8-bit in one pass (see `depth`); HDR keeps its 10 bits for
    // videoconvert's matrix change to BT.709.
    let mut chain = Vec::new();
    if !hdr {
        chain.push(make(super::depth::NAME)?);
    }
    chain.extend([deint, flip, convert, scale, rate, raw]);
    if let Some(cues) = &spec.burn {
        chain.push(super::burn::overlay(cues.clone(), h)?);
    }
    // The encoder in a thread of its own: decoding and converting the next frames go
    // on while it works (a few frames: 3 MB each at 1080p).
    let enc_queue = gst::ElementFactory::make("queue")
        .property("max-size-buffers", 3u32)
        .property("max-size-bytes", 0u32)
        .property("max-size-time", 0u64)
        .build()?;
    chain.extend([enc_queue, enc, enc_caps]);
    if let Some(frames) = candidate.fail_after_frames {
        chain.push(
            gst::ElementFactory::make("identity")
                .name("encoder-fault")
                .property("error-after", frames as i32)
                .build()?,
        );
    }
    if candidate.stalls {
        chain.push(gst::ElementFactory::make("valve").name("encoder-stall").property("drop", true).build()?);
    }
    chain.extend([parse, caps.clone()]);
    add_chain(pipeline, &chain)?;
    link_decoded(&dec, &chain[0]);
    to_muxer(split, &caps, "video", spec)?;
    pad.link(&q.static_pad("sink").unwrap())?;
    Ok(())
}

fn link_audio(pipeline: &gst::Pipeline, split: &gst::Element, pad: &gst::Pad, spec: &RunSpec) -> anyhow::Result<()> {
    let q = queue()?;
    if spec.mode == Mode::Passthrough {
        add_chain(pipeline, std::slice::from_ref(&q))?;
        pad.link(&q.static_pad("sink").unwrap())?;
        return to_muxer(split, &q, "audio_%u", spec);
    }
    let dec = make_decoder(pad, gst::ElementFactoryType::MEDIA_AUDIO, spec.audio_codec.as_deref())?;
    let convert = make("audioconvert")?;
    let resample = make("audioresample")?;
    let raw = caps_filter(
        gst::Caps::builder("audio/x-raw")
            .field("channels", gst::IntRange::new(1, spec.audio_channels.max(1) as i32))
            .build(),
    )?;
    let enc = gst::ElementFactory::make("avenc_aac").property("bitrate", 160_000i32).build()?;
    if spec.pcm_little_endian {
        little_endian_pcm(&q.static_pad("src").unwrap());
    }
    add_chain(pipeline, &[q.clone(), dec.clone()])?;
    add_chain(pipeline, &[convert.clone(), resample, raw, enc.clone()])?;
    position_channels(&convert.static_pad("sink").unwrap());
    link_decoded(&dec, &convert);
    to_muxer(split, &enc, "audio_%u", spec)?;
    pad.link(&q.static_pad("sink").unwrap())?;
    Ok(())
}

/// Whether a directory entry is a partial fragment of some run.
pub fn is_partial(name: &str) -> bool {
    name.starts_with("run") && name.ends_with(".part")
}
