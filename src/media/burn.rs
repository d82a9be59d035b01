//! Burning a text subtitle track into the picture (`burn=N`, for TVs that show no side
//! tracks): a `textoverlay` on the transcode's raw video whose text follows the cues,
//! set per frame from the frame's media time.
//!
//! ```text
//! … ! videorate ! capsfilter (raw, output size) ! textoverlay ! encoder …
//! ```

use std::sync::{Arc, Mutex};

use gst::prelude::*;
use gstreamer as gst;

use super::subtitles::Cue;

/// WebVTT cue text as Pango markup: `<i>`, `<b>`, `<u>` kept, everything else escaped.
pub fn pango_markup(text: &str) -> String {
    let mut s = text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
    for t in ["i", "b", "u"] {
        s = s.replace(&format!("&lt;{t}&gt;"), &format!("<{t}>")).replace(&format!("&lt;/{t}&gt;"), &format!("</{t}>"));
    }
    s
}

/// The cue showing at `t_ns`, by index.
fn cue_at(cues: &[Cue], t_ns: u64) -> Option<usize> {
    // Cues are sorted by start; the last one started is the one to show if still on.
    let after = cues.partition_point(|c| c.start_ns <= t_ns);
    (0..after).rev().take(8).find(|&i| cues[i].end_ns > t_ns)
}

/// A `textoverlay` showing `cues` over video `height` pixels high.
pub fn overlay(cues: Arc<Vec<Cue>>, height: u32) -> anyhow::Result<gst::Element> {
    let font = format!("Sans {}", (height / 24).clamp(10, 64));
    let overlay = gst::ElementFactory::make("textoverlay")
        .property("font-desc", font.as_str())
        .property("wait-text", false)
        .property("text", "")
        .property_from_str("valignment", "bottom")
        .property_from_str("halignment", "center")
        .property("shaded-background", false)
        .build()
        .map_err(|_| anyhow::anyhow!("GStreamer element textoverlay (gst-plugins-base pango) is missing"))?;
    let pad = overlay.static_pad("video_sink").ok_or_else(|| anyhow::anyhow!("textoverlay without a video pad"))?;
    let weak = overlay.downgrade();
    let segment = Mutex::new(gst::FormattedSegment::<gst::ClockTime>::new());
    let showing: Mutex<Option<usize>> = Mutex::new(None);
    pad.add_probe(gst::PadProbeType::BUFFER | gst::PadProbeType::EVENT_DOWNSTREAM, move |_, info| {
        match &info.data {
            Some(gst::PadProbeData::Event(ev)) => {
                if let gst::EventView::Segment(s) = ev.view()
                    && let Some(seg) = s.segment().downcast_ref::<gst::ClockTime>()
                {
                    *segment.lock().unwrap() = seg.clone();
                }
            }
            Some(gst::PadProbeData::Buffer(b)) => {
                let t = b.pts().and_then(|p| segment.lock().unwrap().to_stream_time(p));
                let now = t.and_then(|t| cue_at(&cues, t.nseconds()));
                let mut shown = showing.lock().unwrap();
                if *shown != now
                    && let Some(o) = weak.upgrade()
                {
                    let text = now.map(|i| pango_markup(&cues[i].text)).unwrap_or_default();
                    o.set_property("text", text.as_str());
                    *shown = now;
                }
            }
            _ => {}
        }
        gst::PadProbeReturn::Ok
    });
    Ok(overlay)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_and_timing() {
        assert_eq!(pango_markup("a <i>b</i> & <script>"), "a <i>b</i> &amp; &lt;script&gt;");
        let c = |a: u64, b: u64| Cue { start_ns: a, end_ns: b, text: String::new() };
        let cues = [c(1, 5), c(4, 6), c(10, 12)];
        assert_eq!(cue_at(&cues, 0), None);
        assert_eq!(cue_at(&cues, 2), Some(0));
        assert_eq!(cue_at(&cues, 4), Some(1));
        assert_eq!(cue_at(&cues, 7), None);
        assert_eq!(cue_at(&cues, 11), Some(2));
    }
}
