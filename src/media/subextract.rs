//! Reading an embedded text subtitle stream out of a container into cues: one
//! demux pass over the file with the chosen subtitle pad into an `appsink`.
//!
//! ```text
//! appsrc (random-access) ! parsebin ─┬─ subtitle stream N ─ appsink
//!                                    └─ everything else ─── fakesink
//! ```

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use gst::prelude::*;
use gstreamer as gst;
use gstreamer_app as gst_app;
use tokio_util::sync::CancellationToken;

use super::runtime::{RunEnd, wait_for_eos};
use super::source::{ByteSource, attach, open_typed, parsebin};
use super::subtitles::{Cue, ass_text, clean_markup};

/// Whether caps name a subtitle stream (text or picture).
pub fn is_subtitle_caps(name: &str) -> bool {
    name.starts_with("text/")
        || name.starts_with("subpicture/")
        || matches!(name, "application/x-ass" | "application/x-ssa" | "application/x-subtitle-vtt")
}

/// The cues of subtitle stream `stream` (counting subtitle streams only, from 0, and
/// the probe's `stream_key` of it) of `source`. Reads the whole file: on a torrent that waits for every piece. Gives up
/// after `timeout`, saying so.
pub async fn extract(
    source: &dyn ByteSource,
    stream: (usize, Option<String>),
    timeout: Duration,
) -> anyhow::Result<Vec<Cue>> {
    super::init()?;
    let (opened, caps) = open_typed(source, timeout).await?;
    let rt = tokio::runtime::Handle::current();
    let cancel = CancellationToken::new();
    let guard = cancel.clone().drop_guard();
    let c2 = cancel.clone();
    let task = tokio::task::spawn_blocking(move || run(opened, caps, rt, c2, stream, timeout));
    let res = match tokio::time::timeout(timeout + Duration::from_secs(2), task).await {
        Ok(r) => r.context("subtitle task")?,
        Err(_) => {
            cancel.cancel();
            bail!("reading the subtitles timed out after {timeout:?}: the data did not arrive")
        }
    };
    drop(guard);
    res
}

fn run(
    opened: super::source::OpenedReader,
    caps: Option<gst::Caps>,
    rt: tokio::runtime::Handle,
    cancel: CancellationToken,
    (want, want_key): (usize, Option<String>),
    timeout: Duration,
) -> anyhow::Result<Vec<Cue>> {
    super::runtime::init()?;
    let pipeline = gst::Pipeline::new();
    let src = gst::ElementFactory::make("appsrc").build()?;
    let appsrc = src.clone().dynamic_cast::<gst_app::AppSrc>().expect("appsrc");
    let parse = parsebin(caps.as_ref())?;
    attach(&appsrc, opened, caps, rt, cancel.clone());
    pipeline.add_many([&src, &parse])?;
    src.link(&parse)?;
    // ASS/SSA stays as the container stores it: parsebin's ssaparse would drop the
    // styling that WebVTT can carry (italics, bold).
    parse.connect("autoplug-continue", false, |args| {
        let raw_ass = args.get(2).and_then(|v| v.get::<gst::Caps>().ok()).and_then(|c| {
            c.structure(0).map(|s| matches!(s.name().as_str(), "application/x-ass" | "application/x-ssa"))
        });
        Some((!raw_ass.unwrap_or(false)).to_value())
    });
    let cues: Arc<Mutex<Vec<Cue>>> = Arc::default();
    let seen = Arc::new(Mutex::new(0usize));
    let weak = pipeline.downgrade();
    let cues2 = cues.clone();
    parse.connect_pad_added(move |_, pad| {
        let Some(pipeline) = weak.upgrade() else { return };
        let name = pad
            .current_caps()
            .or_else(|| Some(pad.query_caps(None)))
            .and_then(|c| c.structure(0).map(|s| (s.name().to_string(), s.get::<String>("format").ok())))
            .unwrap_or_default();
        let mine = is_subtitle_caps(&name.0)
            && match &want_key {
                Some(k) => super::probe::pad_stream_key(pad).as_ref() == Some(k),
                None => {
                    let mut n = seen.lock().unwrap();
                    *n += 1;
                    *n - 1 == want
                }
            };
        let sink = if mine {
            let cues = cues2.clone();
            let kind = if name.0.contains("ass") || name.0.contains("ssa") {
                Kind::Ass
            } else {
                Kind::Text { pango: name.1.as_deref() == Some("pango-markup") }
            };
            let sink = gst_app::AppSink::builder().sync(false).build();
            sink.set_callbacks(
                gst_app::AppSinkCallbacks::builder()
                    .new_sample(move |s| {
                        let sample = s.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                        if let Some(cue) = sample.buffer().and_then(|b| to_cue(b, kind)) {
                            cues.lock().unwrap().push(cue);
                        }
                        Ok(gst::FlowSuccess::Ok)
                    })
                    .build(),
            );
            sink.upcast::<gst::Element>()
        } else {
            match gst::ElementFactory::make("fakesink").property("sync", false).build() {
                Ok(s) => s,
                Err(_) => return,
            }
        };
        sink.set_property("async", false);
        // Straight to Playing: syncing with a pipeline still on its way there can leave
        // a sink Paused, holding the demuxer in preroll for good.
        if pipeline.add(&sink).is_ok() {
            let _ = sink.set_state(gst::State::Playing);
            let _ = pad.link(&sink.static_pad("sink").expect("sink pad"));
        }
    });
    let result = (|| {
        pipeline.set_state(gst::State::Playing).context("starting the subtitle pass")?;
        let bus = pipeline.bus().context("pipeline without a bus")?;
        let deadline = Instant::now() + timeout;
        match wait_for_eos(&bus, deadline) {
            Ok(()) => Ok(()),
            Err(RunEnd::TimedOut) => bail!("reading the subtitles timed out after {timeout:?}"),
            Err(RunEnd::Failed { path, error, .. }) => bail!("demuxing for subtitles failed at {path}: {error}"),
        }
    })();
    cancel.cancel();
    let _ = pipeline.set_state(gst::State::Null);
    result?;
    let mut cues = std::mem::take(&mut *cues.lock().unwrap());
    cues.retain(|c| !c.text.is_empty());
    cues.sort_by_key(|c| (c.start_ns, c.end_ns));
    Ok(cues)
}

#[derive(Clone, Copy)]
enum Kind {
    Text { pango: bool },
    Ass,
}

fn to_cue(buf: &gst::BufferRef, kind: Kind) -> Option<Cue> {
    let pts = buf.pts()?.nseconds();
    let dur = buf.duration().map_or(2_000_000_000, |d| d.nseconds());
    let map = buf.map_readable().ok()?;
    let raw = String::from_utf8_lossy(&map).trim_end_matches('\0').to_string();
    let text = match kind {
        Kind::Text { pango } => clean_markup(&raw, pango),
        // Matroska stores `ReadOrder,Layer,Style,Name,MarginL,MarginR,MarginV,Effect,Text`;
        // a `Dialogue:` line from other demuxers has the same tail.
        Kind::Ass => {
            let body = raw.strip_prefix("Dialogue:").unwrap_or(&raw);
            ass_text(body.splitn(9, ',').nth(8).unwrap_or(body))
        }
    };
    Some(Cue { start_ns: pts, end_ns: pts + dur, text })
}
