//! The Matroska track flags GStreamer's discoverer does not report: default and
//! forced, per audio and subtitle track in file order, read from the `Tracks` element
//! near the start of the file (a small EBML walk over its first bytes).

/// What a Matroska `TrackEntry` says about one track.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TrackFlags {
    pub default: bool,
    pub forced: bool,
    pub enabled: bool,
    pub name: Option<String>,
    /// `Language` (ISO 639-2) or `LanguageBCP47`, when the entry has one.
    pub language: Option<String>,
}

/// The flags of the audio tracks and of the subtitle tracks, each in file order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MkvFlags {
    pub audio: Vec<TrackFlags>,
    pub subtitles: Vec<TrackFlags>,
}

const SEGMENT: u32 = 0x1853_8067;
const TRACKS: u32 = 0x1654_AE6B;
const CLUSTER: u32 = 0x1F43_B675;
const TRACK_ENTRY: u32 = 0xAE;
const TRACK_TYPE: u32 = 0x83;
const FLAG_ENABLED: u32 = 0xB9;
const FLAG_DEFAULT: u32 = 0x88;
const FLAG_FORCED: u32 = 0x55AA;
const NAME: u32 = 0x536E;
const LANGUAGE: u32 = 0x22B59C;
const LANGUAGE_BCP47: u32 = 0x22B59D;

/// An element ID (with its marker bits) and its length in bytes.
fn read_id(b: &[u8]) -> Option<(u32, usize)> {
    let first = *b.first()?;
    let len = first.leading_zeros() as usize + 1;
    if len > 4 || b.len() < len {
        return None;
    }
    Some((b[..len].iter().fold(0u32, |a, &x| (a << 8) | u32::from(x)), len))
}

/// An element size (`None` inside for "unknown") and its length in bytes.
fn read_size(b: &[u8]) -> Option<(Option<u64>, usize)> {
    let first = *b.first()?;
    let len = first.leading_zeros() as usize + 1;
    if len > 8 || b.len() < len {
        return None;
    }
    let mask = if len == 8 { 0 } else { 0xffu8 >> len };
    let mut v = u64::from(first & mask);
    let mut all_ones = (first & mask) == mask;
    for &x in &b[1..len] {
        v = (v << 8) | u64::from(x);
        all_ones &= x == 0xff;
    }
    Some(((!all_ones).then_some(v), len))
}

/// The children of an element's body: `(id, body)`; stops at what is cut short.
fn children(mut b: &[u8]) -> Vec<(u32, &[u8])> {
    let mut out = Vec::new();
    while let Some((id, il)) = read_id(b) {
        let Some((size, sl)) = read_size(&b[il..]) else { break };
        let start = il + sl;
        let Some(size) = size else { break };
        let end = start.saturating_add(size as usize);
        let Some(body) = b.get(start..end) else { break };
        out.push((id, body));
        b = &b[end..];
    }
    out
}

fn uint(b: &[u8]) -> u64 {
    b.iter().take(8).fold(0u64, |a, &x| (a << 8) | u64::from(x))
}

/// The flags from the first bytes of a Matroska/WebM file, or `None` when its
/// `Tracks` element is not within them.
pub fn parse(head: &[u8]) -> Option<MkvFlags> {
    // The EBML header, then the Segment (often of unknown size in streams).
    let (id, il) = read_id(head)?;
    if id != 0x1A45_DFA3 {
        return None;
    }
    let (size, sl) = read_size(&head[il..])?;
    let mut b = head.get(il + sl + size? as usize..)?;
    let (id, il) = read_id(b)?;
    if id != SEGMENT {
        return None;
    }
    let (_, sl) = read_size(&b[il..])?;
    b = &b[il + sl..];
    // The Segment's children up to the first Cluster.
    while let Some((id, il)) = read_id(b) {
        let (size, sl) = read_size(&b[il..])?;
        if id == CLUSTER {
            return None;
        }
        let start = il + sl;
        let end = start.checked_add(size? as usize)?;
        if id == TRACKS {
            return Some(tracks(b.get(start..end)?));
        }
        b = b.get(end..)?;
    }
    None
}

fn tracks(body: &[u8]) -> MkvFlags {
    let mut out = MkvFlags::default();
    for (id, entry) in children(body) {
        if id != TRACK_ENTRY {
            continue;
        }
        let mut kind = 0;
        // Matroska's defaults: enabled and default unless said otherwise.
        let mut f = TrackFlags { default: true, forced: false, enabled: true, name: None, language: None };
        for (id, v) in children(entry) {
            match id {
                TRACK_TYPE => kind = uint(v),
                FLAG_DEFAULT => f.default = uint(v) != 0,
                FLAG_FORCED => f.forced = uint(v) != 0,
                FLAG_ENABLED => f.enabled = uint(v) != 0,
                NAME => f.name = Some(String::from_utf8_lossy(v).trim_end_matches('\0').to_string()),
                LANGUAGE | LANGUAGE_BCP47 if f.language.is_none() || id == LANGUAGE_BCP47 => {
                    f.language = Some(String::from_utf8_lossy(v).trim_end_matches('\0').to_string())
                }
                _ => {}
            }
        }
        match kind {
            2 => out.audio.push(f),
            0x11 => out.subtitles.push(f),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn el(id: &[u8], body: &[u8]) -> Vec<u8> {
        let mut v = id.to_vec();
        v.push(0x80 | body.len() as u8);
        v.extend_from_slice(body);
        v
    }

    #[test]
    fn flags_of_a_hand_made_file() {
        let audio = |default: u8| [el(&[0x83], &[2]), el(&[0x88], &[default])].concat();
        let sub = [
            el(&[0x83], &[0x11]),
            el(&[0x55, 0xAA], &[1]),
            el(&[0x53, 0x6E], b"Signs"),
            el(&[0x22, 0xB5, 0x9C], b"ger"),
        ]
        .concat();
        let video = el(&[0x83], &[1]);
        let entries = [el(&[0xAE], &video), el(&[0xAE], &audio(1)), el(&[0xAE], &audio(0)), el(&[0xAE], &sub)].concat();
        let tracks = el(&[0x16, 0x54, 0xAE, 0x6B], &entries);
        let info = el(&[0x15, 0x49, 0xA9, 0x66], &[0x2A, 0xD7, 0xB1, 0x83, 0x0F, 0x42, 0x40]);
        let mut file = el(&[0x1A, 0x45, 0xDF, 0xA3], &[0x42, 0x86, 0x81, 0x01]);
        // A Segment of unknown size.
        file.extend_from_slice(&[0x18, 0x53, 0x80, 0x67, 0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]);
        file.extend_from_slice(&info);
        file.extend_from_slice(&tracks);
        let f = parse(&file).expect("tracks found");
        assert_eq!(f.audio.iter().map(|t| t.default).collect::<Vec<_>>(), vec![true, false]);
        assert_eq!(f.subtitles.len(), 1);
        assert!(f.subtitles[0].forced && f.subtitles[0].default);
        assert_eq!(f.subtitles[0].name.as_deref(), Some("Signs"));
        assert_eq!(f.subtitles[0].language.as_deref(), Some("ger"));
        // Cut before the Tracks: nothing.
        assert_eq!(parse(&file[..file.len() - 3]), None);
    }
}
