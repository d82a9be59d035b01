//! A GStreamer element of our own, `swarmcastdepth8`: 10-bit 4:2:0 video (`I420_10LE`,
//! what avdec_h265 gives for 10-bit HEVC) to 8-bit 4:2:0 (`I420`) in one pass, with a
//! 2×2 ordered dither; anything else passes through untouched.
//!
//! Why not videoconvert: GStreamer 1.22's converter has no fast path between these
//! formats, so it unpacks each line to 16-bit 4:4:4 (AYUV64), resamples chroma and
//! packs it again: about 3 ms of CPU per 1080p frame on this box, where this loop
//! takes a fraction of a millisecond, as swscale's does for ffmpeg.
//!
//! The dither: dropping two bits turns each 8-bit step into a flat band four 10-bit
//! levels wide, which shows on slow gradients (sky, dark walls). Adding the 2×2 Bayer
//! pattern 0 2 / 3 1 before the shift spreads each band's edge over a fine checker
//! that averages to the exact 10-bit level (for any level the four outputs average to
//! level ÷ 4), as videoconvert's default bayer dither and swscale's ordered dither do.
//! Limited range maps onto limited range (64–940 → 16–235) by the shift alone.

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;
use gst_video::gst_base;
use gst_video::prelude::*;
use gst_video::subclass::prelude::*;
use gstreamer as gst;
use gstreamer_video as gst_video;

/// The element's factory name.
pub const NAME: &str = "swarmcastdepth8";

/// Registers the element with GStreamer (once, from `runtime::init`).
pub fn register() -> Result<(), glib::BoolError> {
    gst::Element::register(None, NAME, gst::Rank::NONE, Depth8::static_type())
}

glib::wrapper! {
    /// See the module's doc.
    pub struct Depth8(ObjectSubclass<Depth8Imp>)
        @extends gst_video::VideoFilter, gst_base::BaseTransform, gst::Element, gst::Object;
}

/// The dither added before the shift, by row parity, then column parity.
const DITHER: [[u16; 2]; 2] = [[0, 2], [3, 1]];

/// One row of `n` 10-bit little-endian samples (`src`) to 8 bits (`dst`), dithered
/// with `d` (the row's pattern).
pub fn convert_row(src: &[u8], dst: &mut [u8], n: usize, d: [u16; 2]) {
    let (src, dst) = (&src[..n * 2], &mut dst[..n]);
    let pairs = n / 2;
    // Two samples at a time so that the dither is a constant per lane (vectorises).
    for (o, i) in dst[..pairs * 2].chunks_exact_mut(2).zip(src[..pairs * 4].chunks_exact(4)) {
        let a = u16::from_le_bytes([i[0], i[1]]).min(1023);
        let b = u16::from_le_bytes([i[2], i[3]]).min(1023);
        o[0] = ((a + d[0]) >> 2).min(255) as u8;
        o[1] = ((b + d[1]) >> 2).min(255) as u8;
    }
    if n % 2 == 1 {
        let v = u16::from_le_bytes([src[n * 2 - 2], src[n * 2 - 1]]).min(1023);
        dst[n - 1] = ((v + d[0]) >> 2).min(255) as u8;
    }
}

/// Whether a caps structure's memory is plain system memory (the element maps it).
fn system_memory(features: Option<&gst::CapsFeaturesRef>) -> bool {
    features.is_none_or(|f| f.is_empty() || f.contains(gst::CAPS_FEATURE_MEMORY_SYSTEM_MEMORY))
}

/// The `format` field of `s` with every `from` replaced by `to` (`add`: kept as well,
/// `to` inserted after it). `None` when the field is absent.
fn map_format(s: &gst::StructureRef, from: &str, to: &str, add: bool) -> Option<gst::List> {
    let formats: Vec<String> = if let Ok(f) = s.get::<String>("format") {
        vec![f]
    } else if let Ok(l) = s.get::<gst::List>("format") {
        l.iter().filter_map(|v| v.get::<String>().ok()).collect()
    } else {
        return None;
    };
    let mut out: Vec<String> = Vec::new();
    for f in formats {
        let mapped: &[&str] = if f != from {
            &[&f]
        } else if add {
            &[from, to]
        } else {
            &[to]
        };
        for m in mapped {
            if !out.iter().any(|o| o == m) {
                out.push(m.to_string());
            }
        }
    }
    Some(gst::List::new(out))
}

/// The element's implementation (GObject subclass of `VideoFilter`).
#[derive(Default)]
pub struct Depth8Imp;

#[glib::object_subclass]
impl ObjectSubclass for Depth8Imp {
    const NAME: &'static str = "SwarmcastDepth8";
    type Type = Depth8;
    type ParentType = gst_video::VideoFilter;
}

impl ObjectImpl for Depth8Imp {}
impl GstObjectImpl for Depth8Imp {}

impl ElementImpl for Depth8Imp {
    fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
        static META: std::sync::OnceLock<gst::subclass::ElementMetadata> = std::sync::OnceLock::new();
        Some(META.get_or_init(|| {
            gst::subclass::ElementMetadata::new(
                "10-bit to 8-bit 4:2:0",
                "Filter/Converter/Video",
                "I420_10LE to I420 with an ordered dither; other video passes through",
                "swarmcast",
            )
        }))
    }

    fn pad_templates() -> &'static [gst::PadTemplate] {
        static TEMPLATES: std::sync::OnceLock<Vec<gst::PadTemplate>> = std::sync::OnceLock::new();
        TEMPLATES.get_or_init(|| {
            let caps = gst::Caps::new_any();
            vec![
                gst::PadTemplate::new("src", gst::PadDirection::Src, gst::PadPresence::Always, &caps).unwrap(),
                gst::PadTemplate::new("sink", gst::PadDirection::Sink, gst::PadPresence::Always, &caps).unwrap(),
            ]
        })
    }
}

impl BaseTransformImpl for Depth8Imp {
    const MODE: gst_base::subclass::BaseTransformMode = gst_base::subclass::BaseTransformMode::NeverInPlace;
    const PASSTHROUGH_ON_SAME_CAPS: bool = true;
    const TRANSFORM_IP_ON_PASSTHROUGH: bool = false;

    fn transform_caps(
        &self,
        direction: gst::PadDirection,
        caps: &gst::Caps,
        filter: Option<&gst::Caps>,
    ) -> Option<gst::Caps> {
        if caps.is_any() {
            return Some(filter.cloned().unwrap_or_else(gst::Caps::new_any));
        }
        let mut out = gst::Caps::new_empty();
        {
            let out = out.get_mut().unwrap();
            for (s, f) in caps.iter_with_features() {
                let mut s = s.to_owned();
                if s.name() == "video/x-raw" && system_memory(Some(f)) {
                    // Sink caps → what comes out; src caps → what may go in.
                    let mapped = match direction {
                        gst::PadDirection::Sink => map_format(&s, "I420_10LE", "I420", false),
                        _ => map_format(&s, "I420", "I420_10LE", true),
                    };
                    if let Some(l) = mapped {
                        s.set("format", l);
                    }
                }
                out.append_structure_full(s, Some(f.to_owned()));
            }
        }
        Some(match filter {
            Some(f) => f.intersect_with_mode(&out, gst::CapsIntersectMode::First),
            None => out,
        })
    }
}

impl VideoFilterImpl for Depth8Imp {
    fn transform_frame(
        &self,
        inframe: &gst_video::VideoFrameRef<&gst::BufferRef>,
        outframe: &mut gst_video::VideoFrameRef<&mut gst::BufferRef>,
    ) -> Result<gst::FlowSuccess, gst::FlowError> {
        use gst_video::VideoFormat as F;
        if inframe.format() != F::I42010le || outframe.format() != F::I420 {
            gst::element_imp_error!(
                self,
                gst::CoreError::Negotiation,
                ["cannot convert {:?} to {:?}", inframe.format(), outframe.format()]
            );
            return Err(gst::FlowError::NotNegotiated);
        }
        for plane in 0..3u32 {
            let (w, h) = (inframe.comp_width(plane) as usize, inframe.comp_height(plane) as usize);
            let (si, so) =
                (inframe.plane_stride()[plane as usize] as usize, outframe.plane_stride()[plane as usize] as usize);
            let src = inframe.plane_data(plane).map_err(|_| gst::FlowError::Error)?;
            let dst = outframe.plane_data_mut(plane).map_err(|_| gst::FlowError::Error)?;
            for row in 0..h {
                let (Some(s), Some(d)) = (src.get(row * si..row * si + w * 2), dst.get_mut(row * so..row * so + w))
                else {
                    return Err(gst::FlowError::Error);
                };
                convert_row(s, d, w, DITHER[row & 1]);
            }
        }
        Ok(gst::FlowSuccess::Ok)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dither_averages_to_the_ten_bit_level() {
        // Every 10-bit level: the four outputs of a 2×2 block average to level ÷ 4.
        for v in 0u16..1024 {
            let src: Vec<u8> = [v, v].iter().flat_map(|x| x.to_le_bytes()).collect();
            let mut sum = 0u32;
            for d in DITHER {
                let mut out = [0u8; 2];
                convert_row(&src, &mut out, 2, d);
                sum += out.iter().map(|&o| o as u32).sum::<u32>();
            }
            let want = (v as f64 / 4.0).min(255.0);
            assert!((sum as f64 / 4.0 - want).abs() <= 0.25, "{v}: {sum}");
        }
        // Limited range onto limited range; an odd width converts its last sample.
        let src: Vec<u8> = [64u16, 940, 512].iter().flat_map(|x| x.to_le_bytes()).collect();
        let mut out = [0u8; 3];
        convert_row(&src, &mut out, 3, [0, 0]);
        assert_eq!(out, [16, 235, 128]);
    }

    /// The first frame of `videotestsrc` (a 66×38 SMPTE pattern: odd chroma sizes) at
    /// `format`, through the element when `through`, as the appsink gets it.
    fn frame(format: &str, through: bool) -> (gst::Caps, Vec<u8>) {
        gst::init().unwrap();
        let _ = register();
        let depth = if through { format!("! {NAME} ! video/x-raw,format=I420 ") } else { String::new() };
        let desc = format!(
            "videotestsrc num-buffers=1 pattern=smpte ! video/x-raw,format={format},width=66,height=38 {depth}! appsink name=out sync=false"
        );
        let pipeline = gst::parse::launch(&desc).unwrap().downcast::<gst::Pipeline>().unwrap();
        let sink = pipeline.by_name("out").unwrap().downcast::<gstreamer_app::AppSink>().unwrap();
        pipeline.set_state(gst::State::Playing).unwrap();
        let sample = sink.pull_sample().expect("a frame");
        pipeline.set_state(gst::State::Null).unwrap();
        let caps = sample.caps().unwrap().to_owned();
        let data = sample.buffer().unwrap().map_readable().unwrap().to_vec();
        (caps, data)
    }

    #[test]
    fn the_element_converts_ten_bit_and_passes_eight_bit_through() {
        let (in_caps, input) = frame("I420_10LE", false);
        let (out_caps, output) = frame("I420_10LE", true);
        let (vi, vo) =
            (gst_video::VideoInfo::from_caps(&in_caps).unwrap(), gst_video::VideoInfo::from_caps(&out_caps).unwrap());
        assert_eq!(vo.format(), gst_video::VideoFormat::I420);
        assert_eq!((vo.width(), vo.height()), (66, 38));
        for p in 0..3 {
            let (w, h) = (vi.comp_width(p) as usize, vi.comp_height(p) as usize);
            let (oi, oo) = (vi.offset()[p as usize], vo.offset()[p as usize]);
            let (si, so) = (vi.stride()[p as usize] as usize, vo.stride()[p as usize] as usize);
            for row in 0..h {
                let mut want = vec![0u8; w];
                convert_row(&input[oi + row * si..], &mut want, w, DITHER[row & 1]);
                assert_eq!(&output[oo + row * so..oo + row * so + w], &want[..], "plane {p} row {row}");
            }
        }
        // 8-bit in, the same caps and pictures out (row padding aside).
        let (caps, plain) = frame("I420", false);
        let (caps2, through) = frame("I420", true);
        assert_eq!(caps.to_string(), caps2.to_string());
        let v = gst_video::VideoInfo::from_caps(&caps).unwrap();
        for p in 0..3 {
            let (w, o, s) = (v.comp_width(p) as usize, v.offset()[p as usize], v.stride()[p as usize] as usize);
            for row in 0..v.comp_height(p) as usize {
                let r = o + row * s..o + row * s + w;
                assert_eq!(&plain[r.clone()], &through[r], "plane {p} row {row}");
            }
        }
    }
}
