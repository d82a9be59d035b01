//! GStreamer's one-time initialisation, and waiting for a short pipeline to finish.

use std::sync::OnceLock;
use std::time::Instant;

use anyhow::Context;
use gst::prelude::*;
use gstreamer as gst;

/// Initialises GStreamer once per process.
pub fn init() -> anyhow::Result<()> {
    static INIT: OnceLock<Result<(), String>> = OnceLock::new();
    INIT.get_or_init(|| {
        gst::init().map_err(|e| e.to_string())?;
        // ac3parse announces AC-3 before it has parsed an E-AC-3 frame, so auto-plugging
        // (the probe's discoverer, decodebin) now and then links an AC-3 decoder to an
        // E-AC-3 stream (not-negotiated). Demuxers frame Dolby audio already; without the
        // parser E-AC-3 goes to avdec_eac3, AC-3 to a52dec/avdec_ac3, DVD's private AC-3
        // to a52dec.
        if let Some(f) = gst::Registry::get().lookup_feature("ac3parse") {
            f.set_rank(gst::Rank::NONE);
        }
        super::depth::register().map_err(|e| e.to_string())?;
        Ok(())
    })
    .clone()
    .map_err(|e| anyhow::anyhow!(e))
    .context("initialising GStreamer")
}

/// How a pipeline's run ended short of its end of stream.
pub enum RunEnd {
    TimedOut,
    /// An element posted an error: its path, the error and its debug text.
    Failed {
        path: String,
        error: String,
        debug: String,
    },
}

/// Waits on `bus` for the end of stream (`Ok`) or an error, until `deadline`.
pub fn wait_for_eos(bus: &gst::Bus, deadline: Instant) -> Result<(), RunEnd> {
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(RunEnd::TimedOut);
        }
        let Some(msg) = bus.timed_pop_filtered(
            gst::ClockTime::from_nseconds(left.as_nanos() as u64),
            &[gst::MessageType::Eos, gst::MessageType::Error],
        ) else {
            continue;
        };
        match msg.view() {
            gst::MessageView::Eos(_) => return Ok(()),
            gst::MessageView::Error(e) => {
                return Err(RunEnd::Failed {
                    path: e.src().map(|s| s.path_string().to_string()).unwrap_or_default(),
                    error: e.error().to_string(),
                    debug: e.debug().map(|d| d.to_string()).unwrap_or_default(),
                });
            }
            _ => {}
        }
    }
}
