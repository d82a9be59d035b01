//! The track list of a video: its audio tracks and its subtitle tracks (embedded ones
//! from the probe, sidecar files of the same torrent matched by name), their
//! human-readable names, and the `EXT-X-MEDIA` renditions the master playlist offers.

use std::fmt::Write;

use serde::Serialize;

use super::language::{is_language, language_name, normalise_language};
use super::probe::{MediaInfo, SubStream};
use super::subtitles::TextFormat;

/// An audio track, as `audioTracks` in the API.
#[derive(Clone, Debug, Serialize)]
pub struct AudioTrack {
    pub index: usize,
    pub language: Option<String>,
    pub name: String,
    pub codec: String,
    pub channels: u32,
    pub default: bool,
}

/// Where a subtitle track comes from.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SubSource {
    Embedded,
    Sidecar,
}

/// A subtitle track, as `subtitleTracks` in the API.
#[derive(Clone, Debug, Serialize)]
pub struct SubtitleTrack {
    pub index: usize,
    pub language: Option<String>,
    pub name: String,
    pub format: String,
    pub source: SubSource,
    pub forced: bool,
    pub default: bool,
    pub supported: bool,
    /// Embedded: the stream's number among the file's subtitle streams.
    #[serde(skip)]
    pub stream: usize,
    /// Sidecar: the file's index in the torrent.
    #[serde(skip)]
    pub file: Option<usize>,
}

/// Both lists.
#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TrackList {
    pub audio_tracks: Vec<AudioTrack>,
    pub subtitle_tracks: Vec<SubtitleTrack>,
}

/// A codec's name as people know it, from the probe's caps name.
pub fn codec_name(caps: &str) -> &str {
    match caps {
        "audio/aac" => "AAC",
        "audio/mp3" => "MP3",
        "audio/mp2" => "MP2",
        "audio/x-wma" => "WMA",
        // A DVD's (MPEG-PS) private streams are named apart by mpegpsdemux.
        "audio/x-ac3" | "audio/x-private1-ac3" => "AC-3",
        "audio/x-eac3" => "E-AC-3",
        "audio/x-dts" | "audio/x-private1-dts" => "DTS",
        "audio/x-true-hd" => "TrueHD",
        "audio/x-opus" => "Opus",
        "audio/x-vorbis" => "Vorbis",
        "audio/x-flac" => "FLAC",
        "audio/x-raw" | "audio/x-lpcm" | "audio/x-private1-lpcm" => "PCM",
        c => c.rsplit('/').next().unwrap_or(c).trim_start_matches("x-"),
    }
}

fn layout(channels: u32) -> String {
    match channels {
        1 => "mono".into(),
        2 => "stereo".into(),
        6 => "5.1".into(),
        8 => "7.1".into(),
        n => format!("{n} ch"),
    }
}

/// The audio tracks of a probed file. The default is the first whose language is
/// earliest in `prefer`, else the first track (demuxers list the default first).
pub fn audio_tracks(info: &MediaInfo, prefer: &[String]) -> Vec<AudioTrack> {
    let default = info.pick_audio(prefer);
    info.audio
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let language = a.language.as_deref().and_then(normalise_language);
            let name =
                format!("{} · {} {}", language_name(language.as_deref()), codec_name(&a.codec), layout(a.channels));
            AudioTrack {
                index: i,
                language,
                name,
                codec: codec_name(&a.codec).to_string(),
                channels: a.channels,
                default: Some(i) == default,
            }
        })
        .collect()
}

/// The API format name of an embedded stream's caps, and whether it is text we read.
fn embedded_format(caps: &str, container: &str) -> (&'static str, bool) {
    match caps {
        "text/x-raw" if container.contains("quicktime") => ("mov_text", true),
        "text/x-raw" => ("subrip", true),
        "application/x-ass" | "application/x-ssa" => ("ass", true),
        "application/x-subtitle-vtt" | "text/vtt" => ("webvtt", true),
        "subpicture/x-pgs" => ("pgs", false),
        "subpicture/x-dvd" => ("vobsub", false),
        "subpicture/x-dvb" => ("dvbsub", false),
        _ => ("unknown", false),
    }
}

fn subtitle_name(language: Option<&str>, forced: bool, extra: Option<&str>) -> String {
    let mut name = language_name(language);
    if forced {
        name.push_str(" (forced)");
    }
    if let Some(e) = extra.filter(|e| !e.is_empty()) {
        let _ = write!(name, " · {e}");
    }
    name
}

/// A file name's stem and extension, lower-cased (`Subs/Film.en.srt` → `film.en`, `srt`).
fn stem_ext(path: &str) -> (String, String) {
    let base = path.rsplit(['/', '\\']).next().unwrap_or(path).to_lowercase();
    match base.rsplit_once('.') {
        Some((s, e)) => (s.to_string(), e.to_string()),
        None => (base, String::new()),
    }
}

/// The directory part of a path inside the torrent.
fn dir_of(path: &str) -> &str {
    path.rsplit_once(['/', '\\']).map_or("", |(d, _)| d)
}

/// What a sidecar's name says after the video's stem: language and forced flag
/// (`film.eng.forced` → `en`, forced; `2_english` → `en`).
fn sidecar_tags(rest: &str) -> (Option<String>, bool) {
    let mut language = None;
    let mut forced = false;
    for tok in rest.split(['.', '_', '-', ' ', '[', ']', '(', ')']).filter(|t| !t.is_empty()) {
        match tok {
            "forced" | "foreign" => forced = true,
            t if language.is_none() && is_language(t) => language = normalise_language(t),
            _ => {}
        }
    }
    (language, forced)
}

/// The sidecar subtitle files for `video` among `files` (`(index, path)`): a text
/// subtitle in the video's folder whose name starts with the video's stem, or any text
/// subtitle in a `Subs`/`Subtitles` folder beside it (or under the torrent's root) when
/// the torrent holds one video or the folder is named after the video.
pub fn sidecars<'a>(
    video: &str,
    files: impl IntoIterator<Item = (usize, &'a str)>,
    videos_in_torrent: usize,
) -> Vec<(usize, String, Option<String>, bool, TextFormat)> {
    let (vstem, _) = stem_ext(video);
    let vdir = dir_of(video).to_lowercase();
    let mut out = Vec::new();
    for (index, path) in files {
        let Some(format) = TextFormat::from_name(path) else { continue };
        let (stem, _) = stem_ext(path);
        let dir = dir_of(path).to_lowercase();
        let rest = if dir == vdir && stem.starts_with(&vstem) {
            Some(stem[vstem.len()..].to_string())
        } else {
            let (parent, last) = dir.rsplit_once('/').unwrap_or(("", dir.as_str()));
            let subs_dir = matches!(last, "subs" | "subtitles" | "sub" | "subtitle");
            let beside = parent == vdir
                || (parent.is_empty() && vdir.is_empty())
                || parent.ends_with(&format!("/{vstem}"))
                || parent == vstem;
            let named = dir.ends_with(&format!("/{vstem}"))
                && dir.rsplit('/').nth(1).is_some_and(|d| matches!(d, "subs" | "subtitles"));
            ((subs_dir && (beside || videos_in_torrent == 1)) || named).then(|| stem.clone())
        };
        let Some(rest) = rest else { continue };
        let (language, forced) = sidecar_tags(&rest);
        out.push((index, path.to_string(), language, forced, format));
    }
    out.sort_by(|a, b| a.1.cmp(&b.1));
    out
}

/// The subtitle tracks: the embedded ones in stream order, then the sidecar files.
/// The default track is a forced one in the first preferred language, if any.
pub fn subtitle_tracks(
    info: &MediaInfo,
    subs: &[SubStream],
    sidecar: Vec<(usize, String, Option<String>, bool, TextFormat)>,
    audio_language: Option<&str>,
) -> Vec<SubtitleTrack> {
    let mut out = Vec::new();
    for (i, s) in subs.iter().enumerate() {
        let (format, supported) = embedded_format(&s.caps, &info.container);
        let language = s.language.as_deref().and_then(normalise_language);
        let forced = s.forced || s.title.as_deref().is_some_and(|t| t.to_lowercase().contains("forced"));
        let title = s.title.as_deref().filter(|t| !t.eq_ignore_ascii_case("forced"));
        out.push(SubtitleTrack {
            index: out.len(),
            name: subtitle_name(language.as_deref(), forced, title),
            language,
            format: format.into(),
            source: SubSource::Embedded,
            forced,
            default: false,
            supported,
            stream: i,
            file: None,
        });
    }
    for (file, path, language, forced, format) in sidecar {
        let base = path.rsplit('/').next().unwrap_or(&path).to_string();
        out.push(SubtitleTrack {
            index: out.len(),
            name: subtitle_name(language.as_deref(), forced, Some(&base)),
            language,
            format: format.as_str().into(),
            source: SubSource::Sidecar,
            forced,
            default: false,
            supported: true,
            stream: 0,
            file: Some(file),
        });
    }
    // Forced subtitles (signs, foreign dialogue) show by default: the first forced
    // track in the default audio's language, else the first forced one.
    let in_audio_language = out
        .iter()
        .position(|t| t.forced && t.supported && audio_language.is_some() && t.language.as_deref() == audio_language);
    if let Some(i) = in_audio_language.or_else(|| out.iter().position(|t| t.forced && t.supported)) {
        out[i].default = true;
    }
    out
}

fn quoted(s: &str) -> String {
    s.replace('"', "'").replace(['\n', '\r'], " ")
}

/// The master playlist with the renditions added: an `EXT-X-MEDIA` per audio track
/// (group `aud`) and per supported subtitle track (group `subs`) before the
/// `EXT-X-STREAM-INF`, which names both groups. `audio_uri(n)` and `sub_uri(n)` are
/// the rendition playlists' URIs relative to the master.
pub fn with_renditions(
    master: &str,
    audio: &[AudioTrack],
    subs: &[SubtitleTrack],
    audio_uri: impl Fn(usize) -> String,
    sub_uri: impl Fn(usize) -> String,
) -> String {
    let yes = |b: bool| if b { "YES" } else { "NO" };
    let mut media = String::new();
    let mut names: Vec<String> = Vec::new();
    // NAME is unique within a group.
    let unique = |name: &str, names: &mut Vec<String>| {
        let mut n = quoted(name);
        let mut k = 2;
        while names.contains(&n) {
            n = format!("{} ({k})", quoted(name));
            k += 1;
        }
        names.push(n.clone());
        n
    };
    for t in audio {
        let name = unique(&t.name, &mut names);
        let _ = write!(media, "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"aud\",NAME=\"{name}\"");
        if let Some(l) = &t.language {
            let _ = write!(media, ",LANGUAGE=\"{l}\"");
        }
        let _ =
            writeln!(media, ",DEFAULT={},AUTOSELECT=YES,CHANNELS=\"2\",URI=\"{}\"", yes(t.default), audio_uri(t.index));
    }
    names.clear();
    let supported: Vec<&SubtitleTrack> = subs.iter().filter(|t| t.supported).collect();
    for t in &supported {
        let name = unique(&t.name, &mut names);
        let _ = write!(media, "#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID=\"subs\",NAME=\"{name}\"");
        if let Some(l) = &t.language {
            let _ = write!(media, ",LANGUAGE=\"{l}\"");
        }
        let _ = writeln!(
            media,
            ",DEFAULT={},AUTOSELECT=YES,FORCED={},URI=\"{}\"",
            yes(t.default),
            yes(t.forced),
            sub_uri(t.index)
        );
    }
    let mut groups = String::new();
    if !audio.is_empty() {
        groups.push_str(",AUDIO=\"aud\"");
    }
    if !supported.is_empty() {
        groups.push_str(",SUBTITLES=\"subs\"");
    }
    let mut out = String::new();
    for line in master.lines() {
        if let Some(attrs) = line.strip_prefix("#EXT-X-STREAM-INF:") {
            out.push_str(&media);
            let _ = writeln!(out, "#EXT-X-STREAM-INF:{attrs}{groups}");
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codec_names() {
        assert_eq!(codec_name("audio/x-private1-ac3"), "AC-3");
        assert_eq!(codec_name("audio/x-private1-lpcm"), "PCM");
        assert_eq!(codec_name("audio/x-wma"), "WMA");
        assert_eq!(codec_name("audio/x-speex"), "speex");
    }

    #[test]
    fn languages() {
        assert_eq!(normalise_language("eng").as_deref(), Some("en"));
        assert_eq!(normalise_language("German").as_deref(), Some("de"));
        assert_eq!(normalise_language("en-US").as_deref(), Some("en"));
        assert_eq!(normalise_language("und"), None);
        assert_eq!(normalise_language("xx").as_deref(), Some("xx"));
        assert_eq!(language_name(Some("fr")), "French");
    }

    #[test]
    fn sidecars_match_the_video_by_name() {
        let files = [
            (0, "Film/Film.mkv"),
            (1, "Film/Film.en.srt"),
            (2, "Film/Film.eng.forced.srt"),
            (3, "Film/Subs/2_English.srt"),
            (4, "Film/Other.srt"),
            (5, "Film/Film.nfo"),
            (6, "Film/Subs/3_Russian.ass"),
        ];
        let s = sidecars("Film/Film.mkv", files, 1);
        let got: Vec<(usize, Option<&str>, bool)> = s.iter().map(|(i, _, l, f, _)| (*i, l.as_deref(), *f)).collect();
        assert_eq!(
            got,
            vec![(1, Some("en"), false), (2, Some("en"), true), (3, Some("en"), false), (6, Some("ru"), false)]
        );
        // Two videos: a Subs folder's files go to neither unless named after one.
        let files = [(0, "S/E01.mkv"), (1, "S/E02.mkv"), (2, "S/E01.de.srt"), (3, "S/Subs/E02/1_German.srt")];
        let s = sidecars("S/E02.mkv", files, 2);
        assert_eq!(s.iter().map(|x| x.0).collect::<Vec<_>>(), vec![3]);
    }

    #[test]
    fn renditions_in_the_master() {
        let master =
            "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-STREAM-INF:BANDWIDTH=1,RESOLUTION=2x2,CODECS=\"x\"\nid/index.m3u8\n";
        let t = |i, l: Option<&str>, forced, supported| SubtitleTrack {
            index: i,
            language: l.map(Into::into),
            name: subtitle_name(l, forced, None),
            format: "subrip".into(),
            source: SubSource::Embedded,
            forced,
            default: forced,
            supported,
            stream: i,
            file: None,
        };
        let audio = [AudioTrack {
            index: 0,
            language: Some("en".into()),
            name: "English · AC-3 5.1".into(),
            codec: "AC-3".into(),
            channels: 6,
            default: true,
        }];
        let m = with_renditions(
            master,
            &audio,
            &[
                t(0, Some("en"), false, true),
                t(1, Some("en"), false, true),
                t(2, None, false, false),
                t(3, Some("de"), true, true),
            ],
            |n| format!("id/audio/{n}.m3u8"),
            |n| format!("id/subtitles/{n}.m3u8"),
        );
        assert!(m.contains("#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"aud\",NAME=\"English · AC-3 5.1\",LANGUAGE=\"en\",DEFAULT=YES,AUTOSELECT=YES,CHANNELS=\"2\",URI=\"id/audio/0.m3u8\"\n"));
        assert!(m.contains("#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID=\"subs\",NAME=\"English\",LANGUAGE=\"en\",DEFAULT=NO,AUTOSELECT=YES,FORCED=NO,URI=\"id/subtitles/0.m3u8\"\n"));
        assert!(m.contains("NAME=\"English (2)\""));
        assert!(!m.contains("subtitles/2.m3u8"));
        assert!(m.contains("NAME=\"German (forced)\",LANGUAGE=\"de\",DEFAULT=YES,AUTOSELECT=YES,FORCED=YES"));
        assert!(m.contains("CODECS=\"x\",AUDIO=\"aud\",SUBTITLES=\"subs\"\nid/index.m3u8\n"));
    }
}
