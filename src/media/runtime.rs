//! GStreamer's one-time initialisation.

use std::sync::OnceLock;

use anyhow::Context;
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
        use gst::prelude::*;
        if let Some(f) = gst::Registry::get().lookup_feature("ac3parse") {
            f.set_rank(gst::Rank::NONE);
        }
        Ok(())
    })
    .clone()
    .map_err(|e| anyhow::anyhow!(e))
    .context("initialising GStreamer")
}
