//! Keyframes on the grid for a run that encodes the video: the encoder is told to
//! start a new GOP at every segment boundary, so that segments can be cut there even
//! where the grid is not a whole number of GOPs from the run's start (the short lead-in
//! segments, a run restarted mid-film by a seek).

use std::sync::Mutex;

use gst::prelude::*;
use gstreamer as gst;
use gstreamer_video as gst_video;

use super::playlist::Grid;

/// Installs a probe on the encoder's sink `pad` that forces a keyframe on the first
/// frame at or after each boundary of `grid` after segment `start` (a frame half a
/// frame early counts, as timestamps are rounded through the container's timescale).
pub fn force_on_grid(pad: &gst::Pad, grid: &Grid, start: usize, frame_ns: u64) {
    let boundaries: Vec<u64> = (start + 1..grid.count).map(|i| grid.start_ns(i)).collect();
    let state = Mutex::new((gst::FormattedSegment::<gst::ClockTime>::new(), 0usize));
    pad.add_probe(gst::PadProbeType::BUFFER | gst::PadProbeType::EVENT_DOWNSTREAM, move |pad, info| {
        match &info.data {
            Some(gst::PadProbeData::Event(ev)) => {
                if let gst::EventView::Segment(s) = ev.view()
                    && let Some(seg) = s.segment().downcast_ref::<gst::ClockTime>()
                {
                    state.lock().unwrap().0 = seg.clone();
                }
            }
            Some(gst::PadProbeData::Buffer(b)) => {
                let mut st = state.lock().unwrap();
                let Some(t) = b.pts().and_then(|p| st.0.to_stream_time(p)) else {
                    return gst::PadProbeReturn::Ok;
                };
                let t = t.nseconds() + frame_ns / 2;
                let mut crossed = false;
                while st.1 < boundaries.len() && boundaries[st.1] <= t {
                    st.1 += 1;
                    crossed = true;
                }
                drop(st);
                if crossed {
                    // Handled at once by the encoder (it queues the request and
                    // applies it to the next frame: this one).
                    let ev = gst_video::DownstreamForceKeyUnitEvent::builder().all_headers(true).build();
                    pad.send_event(ev);
                }
            }
            _ => {}
        }
        gst::PadProbeReturn::Ok
    });
}
