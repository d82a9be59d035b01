//! Which files of a torrent are videos, and which one to play by default.

use super::view::TorrentView;

/// Extensions of containers GStreamer can demux and we offer to play.
const VIDEO_EXTENSIONS: &[&str] = &[
    "mkv", "mp4", "m4v", "mov", "avi", "webm", "ts", "m2ts", "mts", "mpg", "mpeg", "wmv", "asf", "flv", "f4v", "ogv",
    "ogm", "3gp", "divx", "vob",
];

/// Whether a file name looks like a playable video.
pub fn is_video(name: &str) -> bool {
    extension(name).is_some_and(|e| VIDEO_EXTENSIONS.contains(&e.as_str()))
}

fn extension(name: &str) -> Option<String> {
    let base = name.rsplit(['/', '\\']).next()?;
    let (stem, ext) = base.rsplit_once('.')?;
    (!stem.is_empty()).then(|| ext.to_ascii_lowercase())
}

/// Why a torrent whose files are `names` has nothing to play, in words.
pub fn why_no_video<'a>(names: impl IntoIterator<Item = &'a str>) -> String {
    let exts: Vec<String> = names.into_iter().filter_map(extension).collect();
    let archive = |e: &str| {
        matches!(e, "rar" | "zip" | "7z" | "iso" | "img" | "bin" | "tar" | "gz")
            || (e.len() == 3 && e.starts_with('r') && e[1..].chars().all(|c| c.is_ascii_digit()))
    };
    let audio =
        |e: &str| matches!(e, "mp3" | "flac" | "ogg" | "opus" | "m4a" | "aac" | "wav" | "ape" | "wv" | "dts" | "ac3");
    let mut found: Vec<&str> = exts.iter().map(String::as_str).filter(|e| archive(e)).collect();
    found.sort_unstable();
    found.dedup();
    if !found.is_empty() {
        let list: Vec<String> = found.iter().take(4).map(|e| format!(".{e}")).collect();
        return format!(
            "it holds archives or disc images ({}) and no video file; swarmcast does not unpack them",
            list.join(", ")
        );
    }
    if !exts.is_empty()
        && exts.iter().all(|e| audio(e) || !is_video(&format!("x.{e}")))
        && exts.iter().any(|e| audio(e))
    {
        return "it holds music (audio files) and no video file".into();
    }
    "none of its files is a video container swarmcast plays (mkv, mp4, avi, ts, webm, …)".into()
}

/// Whether a name marks a sample, trailer or extra rather than the film itself.
pub(crate) fn is_extra(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower
        .split(|c: char| !c.is_ascii_alphanumeric())
        .any(|w| matches!(w, "sample" | "trailer" | "featurette" | "extras" | "preview"))
}

/// Picks the film: the largest video that is not a sample or extra, or the largest
/// video if every one is. `files` are (name, size) in torrent order. (A season pack's
/// main file is its first episode: `episodes::main_file`.)
pub fn pick_video<'a>(files: impl IntoIterator<Item = (&'a str, u64)>) -> Option<usize> {
    let videos: Vec<(usize, &str, u64)> = files
        .into_iter()
        .enumerate()
        .filter(|(_, (name, _))| is_video(name))
        .map(|(i, (name, size))| (i, name, size))
        .collect();
    let best = |extras_ok: bool| {
        videos
            .iter()
            .filter(|(_, name, _)| extras_ok || !is_extra(name))
            .max_by_key(|(i, _, size)| (*size, std::cmp::Reverse(*i)))
            .map(|(i, _, _)| *i)
    };
    best(false).or_else(|| best(true))
}

/// The MIME type for serving a file raw.
pub fn mime_type(name: &str) -> &'static str {
    match extension(name).as_deref() {
        Some("mkv") => "video/x-matroska",
        Some("mp4" | "m4v") => "video/mp4",
        Some("mov") => "video/quicktime",
        Some("avi" | "divx") => "video/x-msvideo",
        Some("webm") => "video/webm",
        Some("ts" | "m2ts" | "mts") => "video/mp2t",
        Some("mpg" | "mpeg" | "vob") => "video/mpeg",
        Some("wmv") => "video/x-ms-wmv",
        Some("asf") => "video/x-ms-asf",
        Some("flv") => "video/x-flv",
        Some("f4v") => "video/mp4",
        Some("ogv" | "ogm") => "video/ogg",
        Some("3gp") => "video/3gpp",
        Some("mp3") => "audio/mpeg",
        Some("m4a" | "aac") => "audio/mp4",
        Some("flac") => "audio/flac",
        Some("srt") => "application/x-subrip",
        Some("vtt") => "text/vtt",
        Some("txt" | "nfo") => "text/plain; charset=utf-8",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("png") => "image/png",
        _ => "application/octet-stream",
    }
}

/// One playable video file of a torrent.
#[derive(Clone, Debug)]
pub struct PlayableFile {
    pub torrent: String,
    pub index: usize,
    /// What a player shows: the torrent's name, and the file's when it has several videos.
    pub title: String,
    /// The file's name inside the torrent (`Movie/movie.mkv`).
    pub name: String,
    pub size: u64,
}

/// The video files of a torrent that can be played: known, selected for download.
pub fn playable_files(t: &TorrentView) -> Vec<PlayableFile> {
    let videos: Vec<_> = t.files.iter().filter(|f| f.is_video && f.selected).collect();
    videos
        .iter()
        .map(|f| {
            let base = f.name.rsplit(['/', '\\']).next().unwrap_or(&f.name);
            let title = if videos.len() == 1 { t.name.clone() } else { format!("{} — {base}", t.name) };
            PlayableFile { torrent: t.id.clone(), index: f.index, title, name: f.name.clone(), size: f.size }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn says_why_there_is_nothing_to_play() {
        let w = why_no_video(["Film/film.rar", "Film/film.r00", "Film/film.r01", "Film/film.nfo"]);
        assert!(w.contains(".rar") && w.contains(".r00") && w.contains("archives"), "{w}");
        assert!(why_no_video(["disc.iso"]).contains(".iso"));
        assert!(why_no_video(["01.flac", "02.flac", "cover.jpg"]).contains("music"));
        assert!(why_no_video(["readme.txt"]).contains("none of its files"));
    }

    #[test]
    fn picks_the_film() {
        let files = [
            ("Movie/movie.nfo", 9_000_000_000),
            ("Movie/Movie.2024.1080p.mkv", 2_000),
            ("Movie/Sample/sample.mkv", 500),
            ("Movie/Movie.srt", 3_000),
        ];
        assert_eq!(pick_video(files), Some(1));
        // A larger sample still loses to the film.
        assert_eq!(pick_video([("sample.mkv", 10), ("film.mp4", 5)]), Some(1));
        // Only extras: take the largest.
        assert_eq!(pick_video([("a-sample.mkv", 10), ("b.sample.mp4", 50)]), Some(1));
        assert_eq!(pick_video([("a.nfo", 10), ("b.srt", 50), ("c.mkv.part", 3)]), None);
        assert_eq!(pick_video([(".mkv", 10)]), None);
        assert!(["a.ogm", "b.asf", "c.f4v"].iter().all(|n| is_video(n)) && !is_video("d.rmvb"));
    }

    #[test]
    fn samples_only_as_words() {
        assert!(!is_extra("Samples.of.Life.2020.mkv") || is_extra("x.sample.mkv"));
        assert!(is_extra("Movie-sample.mkv"));
        assert!(!is_extra("Resampled.mkv"));
    }
}
