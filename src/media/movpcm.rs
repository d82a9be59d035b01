//! The byte order of PCM audio in QuickTime files. qtdemux (GStreamer 1.22) reads
//! 32-bit integer and float samples (`in32`, `fl32`, `fl64`) as big-endian whatever the
//! sample entry's `enda` atom says, so little-endian ones (what ffmpeg and most editors
//! write) decode as loud noise. This reads the entries from `moov`; a run relabels the
//! track's raw caps little-endian (`pipeline::elements::little_endian_pcm`).

use super::keyframes::mp4::{boxes, child, moov, path};
use super::source::ByteReader;
use crate::engine::boxes::{At, be};

/// For each sound track of a QuickTime/MP4 file, in track order (qtdemux's order):
/// whether its samples are little-endian PCM of a kind qtdemux reads as big-endian.
/// `None` when the file has no readable `moov`.
pub async fn little_endian_tracks(reader: &mut dyn ByteReader, len: u64) -> Option<Vec<bool>> {
    let moov = moov(&mut At { r: reader, len }).await?;
    Some(
        boxes(&moov)
            .filter(|(t, _)| *t == b"trak")
            .map(|(_, trak)| trak)
            .filter(|trak| path(trak, &[b"mdia", b"hdlr"]).and_then(|h| h.get(8..12)) == Some(b"soun".as_slice()))
            .map(|trak| path(trak, &[b"mdia", b"minf", b"stbl", b"stsd"]).is_some_and(entry_is_little_endian))
            .collect(),
    )
}

/// Whether the first sample entry of a sound `stsd` body is `in32`, `fl32` or `fl64`
/// with an `enda` atom (directly or in `wave`) saying little-endian.
fn entry_is_little_endian(stsd: &[u8]) -> bool {
    let Some(entry) = stsd.get(8..).and_then(|b| boxes(b).next()) else { return false };
    let (kind, body) = entry;
    if ![b"in32".as_slice(), b"fl32", b"fl64"].contains(&kind) {
        return false;
    }
    // The sound description after the 8 bytes of reserved and data reference: 20 bytes
    // in version 0, 16 more in version 1, 56 in version 2 (the atoms follow).
    let fixed = match body.get(8..10).map(be) {
        Some(0) => 28,
        Some(1) => 44,
        Some(2) => 64,
        _ => return false,
    };
    let Some(atoms) = body.get(fixed..) else { return false };
    let enda = child(atoms, b"enda").or_else(|| child(atoms, b"wave").and_then(|w| child(w, b"enda")));
    // As libavformat reads it: the low byte of a 16-bit field.
    enda.and_then(|e| e.get(..2)).is_some_and(|v| be(v) & 0xff == 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A box of `kind` around `body`.
    fn bx(kind: &[u8], body: &[u8]) -> Vec<u8> {
        let mut v = ((body.len() + 8) as u32).to_be_bytes().to_vec();
        v.extend_from_slice(kind);
        v.extend_from_slice(body);
        v
    }

    /// A version 1 sound entry as ffmpeg writes it, with `wave`/`enda` = `le`.
    fn stsd(kind: &[u8], le: u16) -> Vec<u8> {
        let mut entry = vec![0; 6];
        entry.extend_from_slice(&[0, 1, 0, 1]);
        entry.extend_from_slice(&[0; 34]);
        let wave = bx(b"wave", &[bx(b"frma", kind), bx(b"enda", &le.to_be_bytes())].concat());
        entry.extend_from_slice(&wave);
        let mut body = vec![0, 0, 0, 0, 0, 0, 0, 1];
        body.extend_from_slice(&bx(kind, &entry));
        body
    }

    #[test]
    fn enda_in_wave_says_little_endian() {
        assert!(entry_is_little_endian(&stsd(b"fl32", 1)));
        assert!(entry_is_little_endian(&stsd(b"in32", 1)));
        assert!(!entry_is_little_endian(&stsd(b"fl32", 0)));
        // 24-bit and 16-bit are read right by qtdemux: left alone.
        assert!(!entry_is_little_endian(&stsd(b"in24", 1)));
        assert!(!entry_is_little_endian(&stsd(b"sowt", 1)));
        assert!(!entry_is_little_endian(&[0, 0]));
    }
}
