//! Building blocks of a run's chains: elements by name, caps filters, the decoder for
//! a stream, and telling an encoder's errors from the media's.

use anyhow::Context;
use gst::prelude::*;
use gstreamer as gst;

pub(super) fn make(name: &str) -> anyhow::Result<gst::Element> {
    gst::ElementFactory::make(name).build().with_context(|| format!("GStreamer element {name} is missing"))
}

pub(super) fn caps_filter(caps: gst::Caps) -> anyhow::Result<gst::Element> {
    Ok(gst::ElementFactory::make("capsfilter").property("caps", caps).build()?)
}

/// The decoder for what `pad` carries: the highest-ranked decoder element that takes
/// its caps, linked statically; `decodebin` only when none matches.
///
/// Not `decodebin` first: a decodebin behind parsebin autoplugs from the first caps,
/// and when the caps are refined (h265parse inside parsebin adds fields after the first
/// buffer, and the start seek's flush sends the sticky events again) it plugs a second
/// parser and decoder into a chain it thinks complete ("New pad in a chain that is
/// already complete"). That pad is never exposed: the run sat with its data blocked
/// inside decodebin (10-bit HEVC every time, 8-bit HEVC 4 times in 5) or stopped
/// with not-linked. One decoder element renegotiates by itself.
///
/// `probed` is the codec the probe saw (it parsed further): an E-AC-3 track's pad says
/// `audio/x-ac3` until its parser has read a frame, and AC-3 decoders refuse E-AC-3.
/// Left out: the alpha-channel VP8/VP9 bins (they rank first but want alpha caps),
/// liba52/libdca (E-AC-3 and DTS-HD fail there) and mp1float (takes layer 2 and fails).
pub(crate) fn make_decoder(
    pad: &gst::Pad,
    media: gst::ElementFactoryType,
    probed: Option<&str>,
) -> anyhow::Result<gst::Element> {
    let mut caps = pad.current_caps().unwrap_or_else(|| pad.query_caps(None));
    let name = caps.structure(0).map(|s| s.name().to_string()).unwrap_or_default();
    if name == "audio/x-ac3" && probed == Some("audio/x-eac3") {
        caps = gst::Caps::new_empty_simple("audio/x-eac3");
    }
    const AVOID: &[&str] = &["vp8alphadecodebin", "vp9alphadecodebin", "a52dec", "dtsdec", "avdec_mp1float"];
    let candidates = |all: bool| -> Vec<gst::ElementFactory> {
        gst::ElementFactory::factories_with_type(gst::ElementFactoryType::DECODER | media, gst::Rank::MARGINAL)
            .into_iter()
            .filter(|f| !AVOID.contains(&f.name().as_str()))
            .filter(|f| if all { f.can_sink_all_caps(&caps) } else { f.can_sink_any_caps(&caps) })
            .collect()
    };
    let mut found = candidates(true);
    // A pad without caps yet (tsdemux's, before its parser has seen a frame) offers
    // every form its parser can make: a decoder that takes some of them takes the one
    // that comes (decodebin there would stall the run, as above).
    if found.is_empty() && pad.current_caps().is_none() {
        found = candidates(false);
    }
    found.sort_by_key(|f| std::cmp::Reverse(f.rank()));
    for f in &found {
        // A hardware decoder without its device fails here rather than in the run.
        if let Ok(e) = f.create().build()
            && e.set_state(gst::State::Ready).is_ok()
            && e.set_state(gst::State::Null).is_ok()
        {
            tracing::debug!("decoder for {caps}: {}", f.name());
            return Ok(e);
        }
    }
    tracing::debug!("no single decoder for {caps}; using decodebin");
    make("decodebin")
}

/// Links `dec`'s decoded pad, once it appears (at once for a plain decoder), to `convert`. Only a weak reference to
/// `convert` is held, so the callback does not keep the pipeline alive.
pub(crate) fn link_decoded(dec: &gst::Element, convert: &gst::Element) {
    if let Some(src) = dec.static_pad("src") {
        if let Some(sink) = convert.static_pad("sink") {
            let _ = src.link(&sink);
        }
        return;
    }
    let convert_weak = convert.downgrade();
    dec.connect_pad_added(move |_, p| {
        if let Some(c) = convert_weak.upgrade()
            && let Some(sink) = c.static_pad("sink")
            && !sink.is_linked()
        {
            let _ = p.link(&sink);
        }
    });
}

/// Whether an error message blames the encoder: posted by it (or an element inside
/// it), or a caps negotiation that failed (the encoder refused the size or format).
pub(super) fn is_encoder_error(e: &gst::message::Error) -> bool {
    let from_encoder = e.src().is_some_and(|s| {
        std::iter::successors(Some(s.clone()), |o| o.parent()).any(|o| o.name().starts_with("encoder"))
    });
    let not_negotiated = e
        .details()
        .and_then(|d| d.get::<gst::FlowReturn>("flow-return").ok())
        .is_some_and(|f| f == gst::FlowReturn::NotNegotiated);
    from_encoder || not_negotiated || e.error().matches(gst::CoreError::Negotiation)
}

/// The channel mask GStreamer and ffmpeg assume for `channels` unpositioned channels
/// (WAV/MOV order: FL FR FC LFE BL BR, then SL SR for 7.1), or `None` past 8.
fn default_channel_mask(channels: i32) -> Option<u64> {
    // Bits: 0 FL, 1 FR, 2 FC, 3 LFE1, 4 RL, 5 RR, 8 RC, 10 SL, 11 SR.
    Some(match channels {
        3 => 0x0b,
        4 => 0x33,
        5 => 0x37,
        6 => 0x3f,
        7 => 0x13f,
        8 => 0xc3f,
        _ => return None,
    })
}

/// Gives raw audio arriving at `pad` without channel positions (PCM in MOV, AVI or
/// Matroska says only "6 channels") the standard layout for its channel count, so
/// that audioconvert can downmix it: it refuses to mix unpositioned channels and the
/// demuxer stops with not-negotiated.
pub(super) fn position_channels(pad: &gst::Pad) {
    rewrite_raw_audio_caps(pad, |s| {
        let channels = s.get::<i32>("channels").unwrap_or(0);
        if s.get::<gst::Bitmask>("channel-mask").is_ok_and(|m| m.0 != 0) {
            return false;
        }
        let Some(mask) = default_channel_mask(channels) else { return false };
        s.set("channel-mask", gst::Bitmask::new(mask));
        tracing::debug!("{channels} unpositioned channels get the standard layout {mask:#x}");
        true
    });
}

/// Relabels the big-endian raw audio caps arriving at `pad` little-endian (same
/// sample type and width): for PCM whose demuxer got its byte order wrong (`movpcm`).
pub(super) fn little_endian_pcm(pad: &gst::Pad) {
    rewrite_raw_audio_caps(pad, |s| {
        let Some(le) = s.get::<&str>("format").ok().and_then(|f| f.strip_suffix("BE")).map(|f| format!("{f}LE")) else {
            return false;
        };
        s.set("format", le.as_str());
        tracing::debug!("PCM relabelled little-endian: {s}");
        true
    });
}

/// Replaces the `audio/x-raw` caps event passing `pad` by the caps `edit` changed (it
/// says whether it changed them); other events and caps pass as they are.
fn rewrite_raw_audio_caps(pad: &gst::Pad, edit: impl Fn(&mut gst::StructureRef) -> bool + Send + Sync + 'static) {
    pad.add_probe(gst::PadProbeType::EVENT_DOWNSTREAM, move |_, info| {
        let Some(gst::PadProbeData::Event(ev)) = &info.data else {
            return gst::PadProbeReturn::Ok;
        };
        let gst::EventView::Caps(c) = ev.view() else {
            return gst::PadProbeReturn::Ok;
        };
        if c.caps().structure(0).is_none_or(|s| s.name() != "audio/x-raw") {
            return gst::PadProbeReturn::Ok;
        }
        let mut caps = c.caps().to_owned();
        if !edit(caps.make_mut().structure_mut(0).unwrap()) {
            return gst::PadProbeReturn::Ok;
        }
        info.data = Some(gst::PadProbeData::Event(gst::event::Caps::builder(&caps).seqnum(ev.seqnum()).build()));
        gst::PadProbeReturn::Ok
    });
}
