//! The keyframe spacing at the start of a file whose container keeps no keyframe index
//! we read (AVI, MPEG-TS, MPEG-PS). A stream that copies such a video lays a uniform
//! grid and cuts each segment at the first keyframe past its grid point, so a GOP longer
//! than a segment leaves segments with no keyframe to start them: those are transcoded
//! instead (`VideoInfo::gop_too_long`).
//!
//! Only the video of the first few segments is demuxed and parsed (no decoding); on a
//! torrent those are the pieces played first anyway.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gst::prelude::*;
use gstreamer as gst;
use gstreamer_app as gst_app;
use tokio_util::sync::CancellationToken;

use super::source::{ByteSource, OpenedReader, attach, open_typed, parsebin};

/// The longest span (ns) between consecutive video keyframes in the first `window_ns`
/// of media, the end of what was read counting as the end of the last span; `None`
/// when it cannot be told (no video, an error, `timeout`).
pub async fn longest_gap(source: &dyn ByteSource, window_ns: u64, timeout: Duration) -> Option<u64> {
    super::runtime::init().ok()?;
    let (opened, caps) = tokio::time::timeout(timeout, open_typed(source, timeout)).await.ok()?.ok()?;
    let rt = tokio::runtime::Handle::current();
    let cancel = CancellationToken::new();
    let _guard = cancel.clone().drop_guard();
    let task = tokio::task::spawn_blocking(move || scan(opened, caps, rt, cancel, window_ns, timeout));
    let gap = tokio::time::timeout(timeout + Duration::from_secs(1), task).await.ok()?.ok()?;
    tracing::debug!(
        "longest keyframe gap in the first {} s of {}: {gap:?} ns",
        window_ns / 1_000_000_000,
        source.describe()
    );
    gap
}

/// Keyframe times seen so far (ns of PTS, else DTS), and the first and last time.
#[derive(Default)]
struct Seen {
    keys: Vec<u64>,
    first: Option<u64>,
    last: u64,
}

fn scan(
    opened: OpenedReader,
    caps: Option<gst::Caps>,
    rt: tokio::runtime::Handle,
    cancel: CancellationToken,
    window_ns: u64,
    timeout: Duration,
) -> Option<u64> {
    let pipeline = gst::Pipeline::new();
    let src = gst::ElementFactory::make("appsrc").build().ok()?;
    let appsrc = src.clone().dynamic_cast::<gst_app::AppSrc>().ok()?;
    let parse = parsebin(caps.as_ref()).ok()?;
    attach(&appsrc, opened, caps, rt, cancel.clone());
    pipeline.add_many([&src, &parse]).ok()?;
    src.link(&parse).ok()?;
    let seen = Arc::new(Mutex::new(Seen::default()));
    let done = Arc::new(AtomicBool::new(false));
    let video = AtomicBool::new(false);
    let weak = pipeline.downgrade();
    let (seen2, done2) = (seen.clone(), done.clone());
    parse.connect_pad_added(move |_, pad| {
        let Some(pipeline) = weak.upgrade() else { return };
        let Ok(sink) = gst::ElementFactory::make("fakesink").property("sync", false).property("async", false).build()
        else {
            return;
        };
        let _ = pipeline.add(&sink);
        let _ = sink.sync_state_with_parent();
        let caps = pad.current_caps().unwrap_or_else(|| pad.query_caps(None));
        let is_video = caps.structure(0).is_some_and(|s| s.name().starts_with("video/"));
        if is_video && !video.swap(true, Ordering::SeqCst) {
            let (seen, done) = (seen2.clone(), done2.clone());
            pad.add_probe(gst::PadProbeType::BUFFER, move |_, info| {
                let Some(gst::PadProbeData::Buffer(b)) = &info.data else { return gst::PadProbeReturn::Ok };
                // AVI stamps frames in decode order only (DTS).
                let Some(t) = b.pts().or(b.dts()).map(|p| p.nseconds()) else { return gst::PadProbeReturn::Ok };
                let mut s = seen.lock().unwrap();
                let first = *s.first.get_or_insert(t);
                if !b.flags().contains(gst::BufferFlags::DELTA_UNIT) {
                    s.keys.push(t);
                }
                s.last = s.last.max(t);
                if t >= first + window_ns {
                    done.store(true, Ordering::SeqCst);
                }
                gst::PadProbeReturn::Ok
            });
        }
        let _ = pad.link(&sink.static_pad("sink").unwrap());
    });
    pipeline.set_state(gst::State::Playing).ok()?;
    let bus = pipeline.bus()?;
    let end = Instant::now() + timeout;
    let finished = loop {
        if done.load(Ordering::SeqCst) {
            break true;
        }
        if Instant::now() > end {
            break false;
        }
        match bus
            .timed_pop_filtered(gst::ClockTime::from_mseconds(50), &[gst::MessageType::Eos, gst::MessageType::Error])
        {
            Some(m) if m.type_() == gst::MessageType::Eos => break true,
            Some(_) => break false,
            None => {}
        }
    };
    cancel.cancel();
    let _ = pipeline.set_state(gst::State::Null);
    let s = seen.lock().unwrap();
    let first = s.first.filter(|_| finished)?;
    Some(gaps(first, &s.keys, s.last))
}

/// The longest span between `keys` (PTS, in any order), from `first` to `last`.
fn gaps(first: u64, keys: &[u64], last: u64) -> u64 {
    let mut keys = keys.to_vec();
    keys.sort_unstable();
    let mut prev = first;
    let mut longest = 0;
    for &k in keys.iter().chain(std::iter::once(&last)) {
        longest = longest.max(k.saturating_sub(prev));
        prev = prev.max(k);
    }
    longest
}

#[cfg(test)]
mod tests {
    #[test]
    fn gaps() {
        let s = 1_000_000_000;
        assert_eq!(super::gaps(0, &[0, 4 * s, 6 * s], 12 * s), 6 * s);
        assert_eq!(super::gaps(s, &[s], 12 * s), 11 * s, "one keyframe: the whole window");
        assert_eq!(super::gaps(0, &[2 * s, 0, 9 * s], 10 * s), 7 * s, "in any order");
        assert_eq!(super::gaps(0, &[], 3 * s), 3 * s, "no keyframe at all");
    }
}
