//! Audio renditions: one segment of one audio track as audio-only MPEG-TS, on the
//! video's segment grid, from a small run of its own. The video is never touched:
//! switching the audio rendition starts no video pipeline.
//!
//! ```text
//! appsrc (random-access) ! parsebin ─┬─ audio track N: queue ! (aacparse | decodebin ! audioconvert
//!                                    │     ! audioresample ! stereo ! avenc_aac) ! mpegtsmux ! appsink
//!                                    └─ everything else: fakesink
//! ```
//!
//! The run holds the demuxer until its pads are out, then seeks the track to
//! `[start, end)` (ACCURATE, with a stop), and rebases the segment so that running time
//! equals media time: PTS in these segments are media time plus mpegtsmux's 3600 s,
//! as in the video's segments, so a player lines them up.

use std::fmt::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use gst::prelude::*;
use gstreamer as gst;
use gstreamer_app as gst_app;
use tokio_util::sync::CancellationToken;

use super::playlist::Grid;
use super::runtime::{RunEnd, wait_for_eos};
use super::source::{ByteSource, OpenedReader, attach, open_typed, parsebin};

/// The file name of segment `i` of audio rendition `n`.
pub fn segment_name(n: usize, i: usize) -> String {
    format!("{n}-{i:05}.ts")
}

/// Parses `{n}-{i}.ts` back to `(n, i)`.
pub fn parse_segment_name(name: &str) -> Option<(usize, usize)> {
    let (n, i) = name.strip_suffix(".ts")?.split_once('-')?;
    Some((n.parse().ok()?, i.parse().ok()?))
}

/// The VOD playlist of audio rendition `n` on the video's grid.
pub fn playlist(grid: &Grid, n: usize, query: &str) -> String {
    let mut s = String::from("#EXTM3U\n#EXT-X-VERSION:3\n");
    let _ = writeln!(s, "#EXT-X-TARGETDURATION:{}", grid.target_duration());
    s.push_str("#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-PLAYLIST-TYPE:VOD\n#EXT-X-INDEPENDENT-SEGMENTS\n");
    for i in 0..grid.count {
        let _ = writeln!(s, "#EXTINF:{:.6},", grid.duration_of(i) as f64 / 1e9);
        let name = segment_name(n, i);
        let _ = writeln!(s, "{}", if query.is_empty() { name } else { format!("{name}?{query}") });
    }
    s.push_str("#EXT-X-ENDLIST\n");
    s
}

/// Segment `[start_ns, end_ns)` of audio track `track` (counting audio tracks from 0;
/// `key`, the probe's `stream_key`, finds it whatever order the pads come in) as
/// MPEG-TS bytes; `copy` when the track already is AAC stereo, else decoded as the
/// probe's `codec` says. Gives up after
/// `timeout`, saying so.
pub async fn segment(
    source: &dyn ByteSource,
    (track, key): (usize, Option<String>),
    (start_ns, end_ns): (u64, u64),
    (copy, codec): (bool, Option<String>),
    timeout: Duration,
) -> anyhow::Result<Vec<u8>> {
    super::init()?;
    let (opened, caps) = open_typed(source, timeout).await?;
    let rt = tokio::runtime::Handle::current();
    let cancel = CancellationToken::new();
    let guard = cancel.clone().drop_guard();
    let c2 = cancel.clone();
    let task = tokio::task::spawn_blocking(move || {
        run(opened, caps, rt, c2, (track, key), (start_ns, end_ns), (copy, codec), timeout)
    });
    let res = match tokio::time::timeout(timeout + Duration::from_secs(2), task).await {
        Ok(r) => r.context("audio rendition task")?,
        Err(_) => {
            cancel.cancel();
            bail!("the audio segment took longer than {timeout:?}: the data did not arrive")
        }
    };
    drop(guard);
    res
}

fn make(name: &str) -> anyhow::Result<gst::Element> {
    gst::ElementFactory::make(name).build().with_context(|| format!("GStreamer element {name} is missing"))
}

/// The elements from the demuxer's audio `pad` (probed as `codec`) to the muxer;
/// returns (first, last, all of them from the last to the first). The decoder is one
/// element picked for the pad's caps, as in the main pipeline (decodebin only when
/// none fits): a decodebin changing state under a running pipeline could fail.
fn chain(
    pipeline: &gst::Pipeline,
    pad: &gst::Pad,
    copy: bool,
    codec: Option<&str>,
) -> anyhow::Result<(gst::Element, gst::Element, Vec<gst::Element>)> {
    let q = make("queue")?;
    if copy {
        let parse = make("aacparse")?;
        pipeline.add_many([&q, &parse])?;
        q.link(&parse)?;
        return Ok((q.clone(), parse.clone(), vec![parse, q]));
    }
    let dec = super::pipeline::make_decoder(pad, gst::ElementFactoryType::MEDIA_AUDIO, codec)?;
    let convert = make("audioconvert")?;
    let resample = make("audioresample")?;
    let stereo = gst::ElementFactory::make("capsfilter")
        .property("caps", "audio/x-raw,channels=(int)2".parse::<gst::Caps>().map_err(|_| anyhow::anyhow!("caps"))?)
        .build()?;
    let enc = gst::ElementFactory::make("avenc_aac").property("bitrate", 160_000i32).build()?;
    pipeline.add_many([&q, &dec, &convert, &resample, &stereo, &enc])?;
    q.link(&dec)?;
    gst::Element::link_many([&convert, &resample, &stereo, &enc])?;
    super::pipeline::link_decoded(&dec, &convert);
    Ok((q.clone(), enc.clone(), vec![enc, stereo, resample, convert, dec, q]))
}

#[allow(clippy::too_many_arguments)]
fn run(
    opened: OpenedReader,
    caps: Option<gst::Caps>,
    rt: tokio::runtime::Handle,
    cancel: CancellationToken,
    (want, want_key): (usize, Option<String>),
    (start_ns, end_ns): (u64, u64),
    (copy, codec): (bool, Option<String>),
    timeout: Duration,
) -> anyhow::Result<Vec<u8>> {
    let deadline = Instant::now() + timeout;
    let pipeline = gst::Pipeline::new();
    let src = make("appsrc")?;
    let appsrc = src.clone().dynamic_cast::<gst_app::AppSrc>().expect("appsrc");
    let parse = parsebin(caps.as_ref())?;
    attach(&appsrc, opened, caps, rt, cancel.clone());
    let mux = make("mpegtsmux")?;
    let sink = gst_app::AppSink::builder().sync(false).build();
    sink.set_property("async", false);
    pipeline.add_many([&src, &parse, &mux, sink.upcast_ref()])?;
    src.link(&parse)?;
    mux.link(&sink)?;
    let out: Arc<Mutex<Vec<u8>>> = Arc::default();
    let out2 = out.clone();
    sink.set_callbacks(
        gst_app::AppSinkCallbacks::builder()
            .new_sample(move |s| {
                let sample = s.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                if let Some(b) = sample.buffer()
                    && let Ok(m) = b.map_readable()
                {
                    out2.lock().unwrap().extend_from_slice(&m);
                }
                Ok(gst::FlowSuccess::Ok)
            })
            .build(),
    );
    let (ready_tx, ready_rx) = std::sync::mpsc::channel::<gst::Pad>();
    let ready_tx = Mutex::new(ready_tx);
    let seen = Mutex::new(0usize);
    let weak = pipeline.downgrade();
    let mux_weak = mux.downgrade();
    parse.connect_pad_added(move |_, pad| {
        let (Some(pipeline), Some(mux)) = (weak.upgrade(), mux_weak.upgrade()) else { return };
        let is_audio = pad
            .current_caps()
            .or_else(|| Some(pad.query_caps(None)))
            .and_then(|c| c.structure(0).map(|s| s.name().starts_with("audio/")))
            .unwrap_or(false);
        let mine = is_audio
            && match &want_key {
                Some(k) => super::probe::pad_stream_key(pad).as_ref() == Some(k),
                None => {
                    let mut n = seen.lock().unwrap();
                    *n += 1;
                    *n - 1 == want
                }
            };
        let linked = if mine {
            // Hold the track's first buffer: the seek goes to this pad.
            let tx = ready_tx.lock().unwrap().clone();
            let sent = std::sync::atomic::AtomicBool::new(false);
            let block = pad.add_probe(gst::PadProbeType::BLOCK | gst::PadProbeType::BUFFER, move |pad, _| {
                if !sent.swap(true, std::sync::atomic::Ordering::SeqCst) {
                    let _ = tx.send(pad.clone());
                }
                gst::PadProbeReturn::Ok
            });
            let block = Mutex::new(block);
            pad.add_probe(gst::PadProbeType::EVENT_FLUSH, move |pad, info| match &info.data {
                Some(gst::PadProbeData::Event(ev)) if ev.type_() == gst::EventType::FlushStop => {
                    if let Some(id) = block.lock().unwrap().take() {
                        pad.remove_probe(id);
                    }
                    gst::PadProbeReturn::Remove
                }
                _ => gst::PadProbeReturn::Ok,
            });
            chain(&pipeline, pad, copy, codec.as_deref()).and_then(|(first, last, added)| {
                let mux_pad = mux.request_pad_simple("sink_%d").context("no muxer pad")?;
                last.static_pad("src").context("no src pad")?.link(&mux_pad)?;
                super::pipeline::rebase_segments(&mux_pad);
                // Straight to Playing, the run's only target: syncing with the pipeline
                // while it is still on its way there can leave them Paused, and a sink
                // held in preroll stalls the demuxer for good.
                for e in added {
                    e.set_state(gst::State::Playing)?;
                }
                pad.link(&first.static_pad("sink").context("no sink pad")?)?;
                anyhow::Ok(())
            })
        } else {
            gst::ElementFactory::make("fakesink")
                .property("sync", false)
                .property("async", false)
                .build()
                .map_err(anyhow::Error::from)
                .and_then(|f| {
                    pipeline.add(&f)?;
                    f.set_state(gst::State::Playing)?;
                    pad.link(&f.static_pad("sink").context("no sink pad")?)?;
                    anyhow::Ok(())
                })
        };
        if let Err(e) = linked {
            gst::element_error!(pipeline, gst::StreamError::Failed, ["cannot build the audio run: {e:#}"]);
        }
    });
    let result = (|| {
        pipeline.set_state(gst::State::Playing).context("starting the audio run")?;
        let bus = pipeline.bus().context("pipeline without a bus")?;
        let pad = loop {
            if let Ok(p) = ready_rx.recv_timeout(Duration::from_millis(100)) {
                break p;
            }
            if let Some(msg) = bus.pop_filtered(&[gst::MessageType::Error, gst::MessageType::Eos]) {
                match msg.view() {
                    gst::MessageView::Error(e) => bail!("the audio run failed: {}", e.error()),
                    _ => bail!("the file has no audio track {want}"),
                }
            }
            if Instant::now() >= deadline {
                bail!("audio track {want} was not found within {timeout:?}");
            }
        };
        let seek = gst::event::Seek::new(
            1.0,
            gst::SeekFlags::FLUSH | gst::SeekFlags::ACCURATE,
            gst::SeekType::Set,
            gst::ClockTime::from_nseconds(start_ns),
            gst::SeekType::Set,
            gst::ClockTime::from_nseconds(end_ns),
        );
        if !pad.send_event(seek) {
            bail!("the demuxer refused to seek to {:.3} s", start_ns as f64 / 1e9);
        }
        match wait_for_eos(&bus, deadline) {
            Ok(()) => Ok(()),
            Err(RunEnd::TimedOut) => bail!("the audio segment took longer than {timeout:?}"),
            Err(RunEnd::Failed { path, error, debug }) => bail!("the audio run failed at {path}: {error} ({debug})"),
        }
    })();
    cancel.cancel();
    let _ = pipeline.set_state(gst::State::Null);
    result?;
    let bytes = std::mem::take(&mut *out.lock().unwrap());
    if bytes.is_empty() {
        bail!("the audio run produced nothing for {:.3}–{:.3} s", start_ns as f64 / 1e9, end_ns as f64 / 1e9);
    }
    Ok(bytes)
}
