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

/// splitmuxsink decides where a fragment ends when the GOP after the end is complete:
/// it takes each GOP whole, once the keyframe after it arrives. A segment would then
/// wait for a whole GOP more of the film (for the first segment of a start or a seek,
/// a second segment's worth of bytes from the swarm). So the frame after each keyframe
/// that starts a segment is shown to splitmuxsink as a keyframe too: the one-frame GOP
/// it starts closes the segment at once. The mark is taken off again on the muxer's
/// `mux_pad`, so the segments say which frames are keyframes truly.
///
/// Installed on the video `pad` that feeds splitmuxsink, after `rebase_segments`
/// (running time is media time); `splits` are the running times asked to split at.
pub fn close_at_split(pad: &gst::Pad, mux_pad: &gst::Pad, splits: Vec<u64>) {
    // Times of the frames marked, until the muxer's pad sees them.
    let marked = std::sync::Arc::new(Mutex::new(Vec::<gst::ClockTime>::new()));
    let marked2 = marked.clone();
    // The segment, the next split, and the keyframe that crossed the latest.
    let state = Mutex::new((gst::FormattedSegment::<gst::ClockTime>::new(), 0usize, None::<gst::ClockTime>));
    pad.add_probe(gst::PadProbeType::BUFFER | gst::PadProbeType::EVENT_DOWNSTREAM, move |_, info| {
        match &mut info.data {
            Some(gst::PadProbeData::Event(ev)) => {
                if let gst::EventView::Segment(s) = ev.view()
                    && let Some(seg) = s.segment().downcast_ref::<gst::ClockTime>()
                {
                    state.lock().unwrap().0 = seg.clone();
                }
            }
            Some(gst::PadProbeData::Buffer(b)) => {
                let Some(pts) = b.pts() else { return gst::PadProbeReturn::Ok };
                let mut st = state.lock().unwrap();
                if !b.flags().contains(gst::BufferFlags::DELTA_UNIT) {
                    let Some(t) = st.0.to_running_time(pts) else { return gst::PadProbeReturn::Ok };
                    let mut crossed = false;
                    while st.1 < splits.len() && splits[st.1] <= t.nseconds() {
                        st.1 += 1;
                        crossed = true;
                    }
                    st.2 = crossed.then_some(pts);
                } else if st.2.is_some_and(|key| pts > key) {
                    // A frame shown before the keyframe (open GOP) is not marked: the
                    // GOP it would start would run backwards.
                    st.2 = None;
                    b.make_mut().unset_flags(gst::BufferFlags::DELTA_UNIT);
                    marked.lock().unwrap().push(pts);
                }
            }
            _ => {}
        }
        gst::PadProbeReturn::Ok
    });
    mux_pad.add_probe(gst::PadProbeType::BUFFER, move |_, info| {
        if let Some(gst::PadProbeData::Buffer(b)) = &mut info.data
            && let Some(pts) = b.pts()
        {
            let mut m = marked2.lock().unwrap();
            if let Some(i) = m.iter().position(|&p| p == pts) {
                m.swap_remove(i);
                b.make_mut().set_flags(gst::BufferFlags::DELTA_UNIT);
            }
        }
        gst::PadProbeReturn::Ok
    });
}
