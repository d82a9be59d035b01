//! HDR to SDR in software: a pad probe on a decoder's output that maps the luma of
//! PQ (HDR10) or HLG video to BT.709 SDR through a 1024-entry table, in place.
//!
//! The curve: PQ (or HLG at a 1000-nit display) to nits; nits relative to the SDR
//! reference white (203 nits, BT.2408); identity up to a knee at half of SDR white,
//! so greys and skin keep their SDR level; above it an extended Reinhard curve bends
//! the highlights so that the peak (1000 nits assumed: HDR10's MaxCLL is not read)
//! lands on white; then the BT.1886 inverse (gamma 2.4) to the code value. Chroma
//! is left as is; the chain's videoconvert converts the BT.2020 matrix to BT.709
//! (the raw caps ask for `colorimetry=bt709`). Cost: one table lookup per luma
//! sample, 1.1 ms per 1080p frame measured alone (`bench_tonemap`, release build, a
//! shared x86 core); more behind a decoder whose frames must first be copied.

use std::sync::Mutex;

use gst_video::prelude::*;
use gstreamer as gst;
use gstreamer_video as gst_video;

/// SDR reference white in nits (BT.2408).
pub const REF_WHITE: f64 = 203.0;
/// Assumed peak of the HDR source in nits.
const PEAK: f64 = 1000.0;
/// Relative luminance (SDR white = 1) below which nothing changes.
const KNEE: f64 = 0.5;

/// The PQ EOTF (SMPTE ST 2084): a normalised code value to nits.
pub fn pq_to_nits(e: f64) -> f64 {
    let (m1, m2) = (2610.0 / 16384.0, 2523.0 / 4096.0 * 128.0);
    let (c1, c2, c3) = (3424.0 / 4096.0, 2413.0 / 4096.0 * 32.0, 2392.0 / 4096.0 * 32.0);
    let p = e.clamp(0.0, 1.0).powf(1.0 / m2);
    ((p - c1).max(0.0) / (c2 - c3 * p)).powf(1.0 / m1) * 10000.0
}

/// HLG's inverse OETF and a 1000-nit display's OOTF (system gamma 1.2), on luma.
fn hlg_to_nits(e: f64) -> f64 {
    let (a, b, c) = (0.17883277, 0.28466892, 0.55991073);
    let e = e.clamp(0.0, 1.0);
    let scene = if e <= 0.5 { e * e / 3.0 } else { (((e - c) / a).exp() + b) / 12.0 };
    PEAK * scene.powf(1.2)
}

/// The tone curve on luminance relative to SDR white: identity to the knee, extended
/// Reinhard above it with the peak landing on 1.
pub fn tone(l: f64) -> f64 {
    if l <= KNEE {
        return l.max(0.0);
    }
    let x = (l - KNEE) / (1.0 - KNEE);
    let xmax = (PEAK / REF_WHITE - KNEE) / (1.0 - KNEE);
    let y = x * (1.0 + x / (xmax * xmax)) / (1.0 + x);
    (KNEE + (1.0 - KNEE) * y).min(1.0)
}

/// What SDR code value (normalised) a luminance in nits gets.
pub fn sdr_code(nits: f64) -> f64 {
    tone(nits / REF_WHITE).powf(1.0 / 2.4)
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Transfer {
    Pq,
    Hlg,
}

/// The 10-bit limited-range table for `t`.
fn table(t: Transfer) -> Vec<u16> {
    (0..1024u32)
        .map(|v| {
            let e = ((v as f64 - 64.0) / 876.0).clamp(0.0, 1.0);
            let nits = match t {
                Transfer::Pq => pq_to_nits(e),
                Transfer::Hlg => hlg_to_nits(e),
            };
            (64.0 + 876.0 * sdr_code(nits)).round().clamp(64.0, 940.0) as u16
        })
        .collect()
}

/// The HDR transfer function named by caps' `colorimetry`, if any.
fn transfer(caps: &gst::CapsRef) -> Option<Transfer> {
    let c = caps.structure(0)?.get::<String>("colorimetry").ok()?;
    // Named (`bt2100-pq`) or numeric (`range:matrix:transfer:primaries`, 14 = PQ, 15 = HLG).
    match (c.as_str(), c.split(':').nth(2)) {
        ("bt2100-pq", _) | (_, Some("14")) => Some(Transfer::Pq),
        ("bt2100-hlg", _) | (_, Some("15")) => Some(Transfer::Hlg),
        _ => None,
    }
}

/// Whether caps describe HDR video (PQ or HLG transfer).
pub fn is_hdr(caps: &gst::CapsRef) -> bool {
    transfer(caps).is_some()
}

fn setup(caps: &gst::CapsRef) -> Option<(gst_video::VideoInfo, Vec<u16>)> {
    let t = transfer(caps)?;
    let info = gst_video::VideoInfo::from_caps(caps).ok()?;
    use gst_video::VideoFormat as F;
    if !matches!(info.format(), F::I42010le | F::I42210le | F::Y44410le) {
        tracing::warn!("HDR video in {:?} is not tone-mapped (10-bit planar only)", info.format());
        return None;
    }
    tracing::info!("tone-mapping {t:?} video to SDR in software");
    Some((info, table(t)))
}

/// Tone-maps the luma of every HDR frame leaving `pad` (a decoder's source pad).
pub fn install(pad: &gst::Pad) {
    let state: Mutex<Option<(gst_video::VideoInfo, Vec<u16>)>> = Mutex::new(None);
    pad.add_probe(gst::PadProbeType::BUFFER | gst::PadProbeType::EVENT_DOWNSTREAM, move |_, info| {
        match &mut info.data {
            Some(gst::PadProbeData::Event(ev)) => {
                if let gst::EventView::Caps(c) = ev.view() {
                    *state.lock().unwrap() = setup(c.caps());
                }
            }
            Some(gst::PadProbeData::Buffer(buf)) => {
                let st = state.lock().unwrap();
                if let Some((vinfo, lut)) = st.as_ref() {
                    let b = buf.make_mut();
                    if let Ok(mut frame) = gst_video::VideoFrameRef::from_buffer_ref_writable(b, vinfo) {
                        map_luma(&mut frame, lut);
                    }
                }
            }
            _ => {}
        }
        gst::PadProbeReturn::Ok
    });
}

fn map_luma(frame: &mut gst_video::VideoFrameRef<&mut gst::BufferRef>, lut: &[u16]) {
    let (w, h) = (frame.width() as usize, frame.height() as usize);
    let stride = frame.plane_stride()[0] as usize;
    let Ok(data) = frame.plane_data_mut(0) else { return };
    for row in 0..h {
        let Some(line) = data.get_mut(row * stride..row * stride + w * 2) else { return };
        for px in line.chunks_exact_mut(2) {
            let v = u16::from_le_bytes([px[0], px[1]]).min(1023);
            px.copy_from_slice(&lut[v as usize].to_le_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greys_keep_their_level_and_the_peak_is_white() {
        // 50 nits is a quarter of SDR white: below the knee, unchanged.
        assert!((tone(50.0 / REF_WHITE) - 50.0 / REF_WHITE).abs() < 1e-9);
        assert!((tone(PEAK / REF_WHITE) - 1.0).abs() < 1e-6);
        assert!(tone(2.0) < 1.0 && tone(2.0) > tone(1.0));
        // PQ code for 100 nits is about 0.508.
        assert!((pq_to_nits(0.5081) - 100.0).abs() < 1.0);
    }
}
