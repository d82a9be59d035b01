//! Text subtitles: reading SubRip, ASS/SSA and WebVTT (in any common character set),
//! and writing WebVTT, whole or cut on a stream's segment grid with an
//! `X-TIMESTAMP-MAP` that ties cue times to the video segments' MPEG-TS clock.

use std::fmt::Write;

use super::playlist::Grid;

/// One cue: media times in nanoseconds and its text in WebVTT markup (escaped, with
/// only `<i>`, `<b>` and `<u>` kept).
#[derive(Clone, Debug, PartialEq)]
pub struct Cue {
    pub start_ns: u64,
    pub end_ns: u64,
    pub text: String,
}

/// A subtitle file's format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TextFormat {
    SubRip,
    Ass,
    WebVtt,
}

impl TextFormat {
    /// The format a file name's extension names.
    pub fn from_name(name: &str) -> Option<Self> {
        let ext = name.rsplit('.').next()?.to_ascii_lowercase();
        match ext.as_str() {
            "srt" => Some(Self::SubRip),
            "ass" | "ssa" => Some(Self::Ass),
            "vtt" => Some(Self::WebVtt),
            _ => None,
        }
    }

    /// The name the API uses (`format` of a subtitle track).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SubRip => "subrip",
            Self::Ass => "ass",
            Self::WebVtt => "webvtt",
        }
    }
}

/// MPEG-TS time of media time 0 in the segments: mpegtsmux starts its clock at 3600 s
/// and the pipelines keep PTS equal to media time plus that (see pipeline.rs).
pub const MPEGTS_BASE: u64 = 3600 * 90_000;

/// Decodes a subtitle file's bytes: a BOM wins, then valid UTF-8, else the character
/// set chardetng guesses (Windows-1252, Windows-1251, ISO-8859-x, …).
pub fn decode(bytes: &[u8]) -> String {
    if let Some((enc, bom)) = encoding_rs::Encoding::for_bom(bytes) {
        return enc.decode_without_bom_handling(&bytes[bom..]).0.into_owned();
    }
    if let Ok(s) = std::str::from_utf8(bytes) {
        return s.to_string();
    }
    let mut det = chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Deny);
    det.feed(bytes, true);
    let enc = det.guess(None, chardetng::Utf8Detection::Allow);
    enc.decode_without_bom_handling(bytes).0.into_owned()
}

/// Parses a whole subtitle file (already decoded) into cues sorted by start.
pub fn parse(text: &str, format: TextFormat) -> Vec<Cue> {
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    let mut cues = match format {
        TextFormat::SubRip | TextFormat::WebVtt => parse_timed_blocks(&text),
        TextFormat::Ass => parse_ass(&text),
    };
    cues.retain(|c| c.end_ns > c.start_ns && !c.text.trim().is_empty());
    cues.sort_by_key(|c| (c.start_ns, c.end_ns));
    cues
}

/// SubRip and WebVTT alike: blocks whose timing line holds `-->`.
fn parse_timed_blocks(text: &str) -> Vec<Cue> {
    let mut cues = Vec::new();
    for block in text.split("\n\n") {
        let mut lines = block.lines().skip_while(|l| !l.contains("-->"));
        let Some(timing) = lines.next() else { continue };
        let mut parts = timing.split("-->");
        let (Some(a), Some(b)) = (parts.next(), parts.next()) else { continue };
        // WebVTT settings follow the end time after a space.
        let b = b.split_whitespace().next().unwrap_or("");
        let (Some(start_ns), Some(end_ns)) = (parse_clock(a.trim()), parse_clock(b)) else { continue };
        let body: Vec<&str> = lines.collect();
        cues.push(Cue { start_ns, end_ns, text: clean_markup(&body.join("\n"), false) });
    }
    cues
}

/// `HH:MM:SS,mmm`, `HH:MM:SS.mmm`, `MM:SS.mmm` or ASS's `H:MM:SS.cc`.
fn parse_clock(s: &str) -> Option<u64> {
    let s = s.replace(',', ".");
    let (hms, frac) = s.split_once('.').unwrap_or((&s, "0"));
    let mut secs = 0u64;
    for p in hms.split(':') {
        secs = secs * 60 + p.trim().parse::<u64>().ok()?;
    }
    let frac = frac.trim();
    if !frac.bytes().all(|b| b.is_ascii_digit()) || frac.len() > 9 {
        return None;
    }
    let frac_ns = format!("{frac:0<9}").parse::<u64>().ok()?;
    Some(secs * 1_000_000_000 + frac_ns)
}

/// The `[Events]` section's `Dialogue:` lines, in the order its `Format:` line gives.
fn parse_ass(text: &str) -> Vec<Cue> {
    let mut fields: Vec<String> =
        ["layer", "start", "end", "style", "name", "marginl", "marginr", "marginv", "effect", "text"]
            .map(String::from)
            .to_vec();
    let mut in_events = false;
    let mut cues = Vec::new();
    for line in text.lines() {
        let line = line.trim_start_matches('\u{feff}').trim();
        if line.starts_with('[') {
            in_events = line.eq_ignore_ascii_case("[events]");
            continue;
        }
        if !in_events {
            continue;
        }
        if let Some(f) = line.strip_prefix("Format:") {
            fields = f.split(',').map(|s| s.trim().to_ascii_lowercase()).collect();
        } else if let Some(d) = line.strip_prefix("Dialogue:") {
            let values: Vec<&str> = d.trim_start().splitn(fields.len(), ',').collect();
            let get = |name: &str| fields.iter().position(|f| f == name).and_then(|i| values.get(i).copied());
            let (Some(start), Some(end), Some(body)) = (get("start"), get("end"), get("text")) else { continue };
            let (Some(start_ns), Some(end_ns)) = (parse_clock(start.trim()), parse_clock(end.trim())) else { continue };
            cues.push(Cue { start_ns, end_ns, text: ass_text(body) });
        }
    }
    cues
}

/// An ASS event's text reduced to what WebVTT carries: `{\i1}`/`{\b1}`/`{\u1}` become
/// tags, every other override is dropped, `\N` breaks the line.
pub fn ass_text(body: &str) -> String {
    let mut out = String::new();
    let mut open: Vec<char> = Vec::new();
    let mut rest = body;
    while !rest.is_empty() {
        if let Some(inner) = rest.strip_prefix('{')
            && let Some(close) = inner.find('}')
        {
            for tag in inner[..close].split('\\').filter(|t| !t.is_empty()) {
                let (name, on) = match tag {
                    "i1" => ('i', true),
                    "i0" => ('i', false),
                    "b1" => ('b', true),
                    "b0" => ('b', false),
                    "u1" => ('u', true),
                    "u0" => ('u', false),
                    _ => continue,
                };
                match (on, open.contains(&name)) {
                    (true, false) => {
                        open.push(name);
                        let _ = write!(out, "<{name}>");
                    }
                    (false, true) => {
                        open.retain(|&c| c != name);
                        let _ = write!(out, "</{name}>");
                    }
                    _ => {}
                }
            }
            rest = &inner[close + 1..];
            continue;
        }
        if let Some(r) = rest.strip_prefix("\\N").or_else(|| rest.strip_prefix("\\n")) {
            out.push('\n');
            rest = r;
            continue;
        }
        if let Some(r) = rest.strip_prefix("\\h") {
            out.push('\u{a0}');
            rest = r;
            continue;
        }
        let c = rest.chars().next().unwrap();
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
        rest = &rest[c.len_utf8()..];
    }
    for name in open.iter().rev() {
        let _ = write!(out, "</{name}>");
    }
    out.trim().to_string()
}

/// SubRip/WebVTT/Pango text to WebVTT markup: `<i>`, `<b>`, `<u>` kept, other tags
/// (`<font>`, `<span>`, voice tags) dropped, the rest escaped. `entities` says the
/// input is already escaped (Pango markup from a demuxer).
pub fn clean_markup(s: &str, entities: bool) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(c) = rest.chars().next() {
        if c == '<'
            && let Some(end) = rest.find('>')
        {
            let tag = rest[1..end].trim().to_ascii_lowercase();
            let name = tag.trim_start_matches('/');
            if matches!(name, "i" | "b" | "u") {
                out.push_str(&format!("<{tag}>"));
            }
            rest = &rest[end + 1..];
            continue;
        }
        if c == '&' && entities {
            let ents = [("&amp;", "&amp;"), ("&lt;", "&lt;"), ("&gt;", "&gt;"), ("&quot;", "\""), ("&apos;", "'")];
            if let Some((e, rep)) = ents.iter().find(|(e, _)| rest.starts_with(e)) {
                out.push_str(rep);
                rest = &rest[e.len()..];
                continue;
            }
        }
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
        rest = &rest[c.len_utf8()..];
    }
    // A blank line would end the cue.
    out.lines().map(str::trim_end).filter(|l| !l.trim().is_empty()).collect::<Vec<_>>().join("\n")
}

fn clock(ns: u64) -> String {
    let ms = ns / 1_000_000;
    format!("{:02}:{:02}:{:02}.{:03}", ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60, ms % 1000)
}

fn push_cues<'a>(s: &mut String, cues: impl Iterator<Item = &'a Cue>) {
    for c in cues {
        let _ = write!(s, "\n{} --> {}\n{}\n", clock(c.start_ns), clock(c.end_ns), c.text);
    }
}

/// The whole track as one WebVTT file.
pub fn to_vtt(cues: &[Cue]) -> String {
    let mut s = String::from("WEBVTT\n");
    push_cues(&mut s, cues.iter());
    s
}

/// Segment `i` of the track on `grid`: every cue that overlaps the segment, with
/// media times and the map that says media time 0 is `MPEGTS_BASE` in the video.
pub fn segment_vtt(cues: &[Cue], grid: &Grid, i: usize) -> String {
    let start = grid.start_ns(i);
    let end = start + grid.duration_of(i);
    let mut s = format!("WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:{MPEGTS_BASE},LOCAL:00:00:00.000\n");
    push_cues(&mut s, cues.iter().filter(|c| c.start_ns < end && c.end_ns > start));
    s
}

/// The file name of segment `i` of subtitle track `n`.
pub fn segment_name(n: usize, i: usize) -> String {
    format!("{n}-{i:05}.vtt")
}

/// Parses `{n}-{i}.vtt` back to `(n, i)`.
pub fn parse_segment_name(name: &str) -> Option<(usize, usize)> {
    let (n, i) = name.strip_suffix(".vtt")?.split_once('-')?;
    Some((n.parse().ok()?, i.parse().ok()?))
}

/// The VOD playlist of subtitle track `n`, on the video's grid; URIs relative to it.
pub fn playlist(grid: &Grid, n: usize, query: &str) -> String {
    let mut s = String::from("#EXTM3U\n#EXT-X-VERSION:3\n");
    let _ = writeln!(s, "#EXT-X-TARGETDURATION:{}", grid.target_duration());
    s.push_str("#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-PLAYLIST-TYPE:VOD\n");
    for i in 0..grid.count {
        let _ = writeln!(s, "#EXTINF:{:.6},", grid.duration_of(i) as f64 / 1e9);
        let name = segment_name(n, i);
        let _ = writeln!(s, "{}", if query.is_empty() { name } else { format!("{name}?{query}") });
    }
    s.push_str("#EXT-X-ENDLIST\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subrip_with_tags_and_crlf() {
        let srt = "1\r\n00:00:01,500 --> 00:00:03,000\r\n<i>Hello</i> & <font color=\"red\">you</font>\r\n\r\n2\r\n00:01:02,000 --> 00:01:04,250\r\nLine one\r\nLine two\r\n";
        let cues = parse(srt, TextFormat::SubRip);
        assert_eq!(cues.len(), 2);
        assert_eq!(
            cues[0],
            Cue { start_ns: 1_500_000_000, end_ns: 3_000_000_000, text: "<i>Hello</i> &amp; you".into() }
        );
        assert_eq!(cues[1].start_ns, 62_000_000_000);
        assert_eq!(cues[1].text, "Line one\nLine two");
        assert!(to_vtt(&cues).contains("00:01:02.000 --> 00:01:04.250\nLine one\nLine two\n"));
    }

    #[test]
    fn ass_events_reduced() {
        let ass = "[Script Info]\nTitle: x\n\n[V4+ Styles]\nFormat: Name, Fontname\nStyle: Default,Arial\n\n[Events]\nFormat: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\nDialogue: 0,0:00:05.00,0:00:07.50,Default,,0,0,0,,{\\i1\\pos(10,10)}Bonjour{\\i0}, le monde\\Nsecond, line\n";
        let cues = parse(ass, TextFormat::Ass);
        assert_eq!(
            cues,
            vec![Cue {
                start_ns: 5_000_000_000,
                end_ns: 7_500_000_000,
                text: "<i>Bonjour</i>, le monde\nsecond, line".into()
            }]
        );
    }

    #[test]
    fn charsets() {
        // "Привет, мир" in Windows-1251.
        let (bytes, _, _) = encoding_rs::WINDOWS_1251
            .encode("1\n00:00:01,000 --> 00:00:02,000\nПривет, мир! Как дела? Хорошо, спасибо.\n");
        assert!(decode(&bytes).contains("Привет, мир! Как дела?"));
        let (bytes, _, _) = encoding_rs::WINDOWS_1252.encode("Ça été très déjà vu, garçon. Où êtes-vous?");
        assert_eq!(decode(&bytes), "Ça été très déjà vu, garçon. Où êtes-vous?");
        assert_eq!(decode("\u{feff}héllo".as_bytes()), "héllo");
    }

    #[test]
    fn segments_carry_the_timestamp_map() {
        let g = Grid::uniform(20_000_000_000, (25, 1), 4.0);
        let cues = vec![
            Cue { start_ns: 1_000_000_000, end_ns: 2_000_000_000, text: "a".into() },
            Cue { start_ns: 7_000_000_000, end_ns: 9_000_000_000, text: "b".into() },
        ];
        let s = segment_vtt(&cues, &g, 2);
        assert!(s.starts_with("WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:324000000,LOCAL:00:00:00.000\n"));
        assert!(s.contains("00:00:07.000 --> 00:00:09.000\nb\n") && !s.contains("\na\n"));
        assert!(segment_vtt(&cues, &g, 1).contains("\nb\n"), "a cue spanning two segments is in both");
        assert_eq!(parse_segment_name(&segment_name(3, 12)), Some((3, 12)));
        assert!(playlist(&g, 1, "token=x").contains("#EXTINF:4.000000,\n1-00004.vtt?token=x\n#EXT-X-ENDLIST"));
    }
}
