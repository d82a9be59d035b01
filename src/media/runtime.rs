//! GStreamer's one-time initialisation.

use std::sync::OnceLock;

use anyhow::Context;
use gstreamer as gst;

/// Initialises GStreamer once per process.
pub fn init() -> anyhow::Result<()> {
    static INIT: OnceLock<Result<(), String>> = OnceLock::new();
    INIT.get_or_init(|| gst::init().map_err(|e| e.to_string()))
        .clone()
        .map_err(|e| anyhow::anyhow!(e))
        .context("initialising GStreamer")
}
