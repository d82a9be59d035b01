//! Series episodes by file name (`S01E02`, `1x02`, `Episode 2`, `S01E01E02`), their
//! order in a torrent, the next one, and the first not yet watched. Pure functions.

use super::video::{is_extra, is_video, pick_video};

/// Where a file sits in a series: season, first and last episode (a multi-episode
/// file `S01E01E02` spans 1–2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Episode {
    pub season: u32,
    pub first: u32,
    pub last: u32,
}

/// Reads the digits at the start of `s` (at most `max` of them): (value, length).
fn digits(s: &[u8], max: usize) -> Option<(u32, usize)> {
    let n = s.iter().take(max).take_while(|c| c.is_ascii_digit()).count();
    if n == 0 || s.get(n).is_some_and(|c| c.is_ascii_digit()) {
        return None;
    }
    std::str::from_utf8(&s[..n]).ok()?.parse().ok().map(|v| (v, n))
}

fn boundary_before(s: &[u8], i: usize) -> bool {
    i == 0 || !s[i - 1].is_ascii_alphanumeric()
}

/// `s01e02`, `s01e01e02`, `s01e01-e02`, `s01e01-02` at `i`.
fn sxxexx(s: &[u8], i: usize) -> Option<Episode> {
    if s[i] != b's' || !boundary_before(s, i) {
        return None;
    }
    let (season, n) = digits(&s[i + 1..], 3)?;
    let mut j = i + 1 + n;
    if s.get(j) != Some(&b'e') {
        return None;
    }
    let (first, n) = digits(&s[j + 1..], 4)?;
    j += 1 + n;
    let mut last = first;
    loop {
        let skip = match (s.get(j), s.get(j + 1)) {
            (Some(b'e'), _) => 1,
            (Some(b'-'), Some(b'e')) => 2,
            (Some(b'-'), Some(c)) if c.is_ascii_digit() => 1,
            _ => break,
        };
        match digits(&s[j + skip..], 4) {
            Some((e, n)) if e > last => {
                last = e;
                j += skip + n;
            }
            _ => break,
        }
    }
    Some(Episode { season, first, last })
}

/// `1x02` at `i` (not a resolution such as `1920x1080`).
fn nxnn(s: &[u8], i: usize) -> Option<Episode> {
    if !boundary_before(s, i) {
        return None;
    }
    let (season, n) = digits(&s[i..], 2)?;
    if s.get(i + n) != Some(&b'x') {
        return None;
    }
    let (first, m) = digits(&s[i + n + 1..], 3)?;
    (m >= 2).then_some(Episode { season, first, last: first })
}

/// `episode 2`, `episode.02`, `ep02`, `ep 2` at `i`; the season is unknown (0).
fn episode_word(s: &[u8], i: usize) -> Option<Episode> {
    if !boundary_before(s, i) {
        return None;
    }
    let rest = &s[i..];
    let skip = if rest.starts_with(b"episode") {
        7
    } else if rest.starts_with(b"ep") {
        2
    } else {
        return None;
    };
    let mut j = i + skip;
    while s.get(j).is_some_and(|c| matches!(c, b' ' | b'.' | b'_' | b'-')) {
        j += 1;
    }
    let (first, _) = digits(&s[j..], 4)?;
    Some(Episode { season: 0, first, last: first })
}

/// `season 2`, `season.02`, `s02` standing alone: a season folder's number.
fn season_word(s: &[u8]) -> Option<u32> {
    for i in 0..s.len() {
        if !boundary_before(s, i) {
            continue;
        }
        if s[i..].starts_with(b"season") {
            let mut j = i + 6;
            while s.get(j).is_some_and(|c| matches!(c, b' ' | b'.' | b'_' | b'-')) {
                j += 1;
            }
            if let Some((v, _)) = digits(&s[j..], 3) {
                return Some(v);
            }
        }
        if s[i] == b's'
            && let Some((v, n)) = digits(&s[i + 1..], 2)
            && s.get(i + 1 + n).is_none_or(|c| !c.is_ascii_alphanumeric())
        {
            return Some(v);
        }
    }
    None
}

/// The episode a file name (a path inside a torrent) names, if any. A season taken
/// from a folder (`Season 2/Episode 3.mkv`) fills in one the file name lacks.
pub fn parse(path: &str) -> Option<Episode> {
    let lower = path.to_ascii_lowercase();
    let (dir, base) = lower.rsplit_once(['/', '\\']).unwrap_or(("", &lower));
    let b = base.as_bytes();
    let found = (0..b.len())
        .find_map(|i| sxxexx(b, i))
        .or_else(|| (0..b.len()).find_map(|i| nxnn(b, i)))
        .or_else(|| (0..b.len()).find_map(|i| episode_word(b, i)))?;
    if found.season == 0 {
        let season = season_word(b).or_else(|| season_word(dir.as_bytes())).unwrap_or(1);
        return Some(Episode { season, ..found });
    }
    Some(found)
}

/// The episodes among a torrent's files (names in torrent order), in viewing order:
/// file indices. Empty unless at least two video files name an episode.
pub fn order<'a>(names: impl IntoIterator<Item = &'a str>) -> Vec<usize> {
    let mut eps: Vec<(Episode, &str, usize)> = names
        .into_iter()
        .enumerate()
        .filter(|(_, n)| is_video(n) && !is_extra(n))
        .filter_map(|(i, n)| Some((parse(n)?, n, i)))
        .collect();
    if eps.len() < 2 {
        return Vec::new();
    }
    eps.sort();
    eps.into_iter().map(|(_, _, i)| i).collect()
}

/// The file a torrent plays: a season pack's first episode (what its stream plays for
/// someone who has watched none), else the film (`pick_video`). `files` are (name,
/// size) in torrent order.
pub fn main_file<'a>(files: impl IntoIterator<Item = (&'a str, u64)>) -> Option<usize> {
    let files: Vec<(&str, u64)> = files.into_iter().collect();
    order(files.iter().map(|f| f.0)).first().copied().or_else(|| pick_video(files))
}

/// The episode after file `current`, if `current` is an episode and not the last.
pub fn next_after<'a>(names: impl IntoIterator<Item = &'a str>, current: usize) -> Option<usize> {
    let o = order(names);
    let at = o.iter().position(|&i| i == current)?;
    o.get(at + 1).copied()
}

/// The first episode not yet watched (`watched(index)`), for a season pack's stream;
/// `None` when the torrent is not a series or every episode was watched.
pub fn first_unwatched<'a>(names: impl IntoIterator<Item = &'a str>, watched: impl Fn(usize) -> bool) -> Option<usize> {
    order(names).into_iter().find(|&i| !watched(i))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ep(season: u32, first: u32, last: u32) -> Option<Episode> {
        Some(Episode { season, first, last })
    }

    #[test]
    fn a_season_pack_plays_its_first_episode() {
        let pack = [
            ("Show.S01/Show.S01E03.mkv", 300),
            ("Show.S01/Sample/show.s01e01.sample.mkv", 900),
            ("Show.S01/Show.S01E01.mkv", 100),
            ("Show.S01/Show.S01E02.mkv", 200),
        ];
        assert_eq!(main_file(pack), Some(2));
        assert_eq!(main_file([("Film/sample.mkv", 900), ("Film/Film.mkv", 100)]), Some(1));
    }

    #[test]
    fn names() {
        assert_eq!(parse("Show.S01E02.1080p.mkv"), ep(1, 2, 2));
        assert_eq!(parse("show s2e10 title.mp4"), ep(2, 10, 10));
        assert_eq!(parse("Show.S01E01E02.mkv"), ep(1, 1, 2));
        assert_eq!(parse("Show.S01E01-E03.mkv"), ep(1, 1, 3));
        assert_eq!(parse("Show.S01E05-06.mkv"), ep(1, 5, 6));
        assert_eq!(parse("Show - 1x02 - Title.avi"), ep(1, 2, 2));
        assert_eq!(parse("Show 3x07.mkv"), ep(3, 7, 7));
        assert_eq!(parse("Show Episode 2.mkv"), ep(1, 2, 2));
        assert_eq!(parse("Show.Season.2/Episode.03.mkv"), ep(2, 3, 3));
        assert_eq!(parse("Show/Season 4/Show - Ep 11.mkv"), ep(4, 11, 11));
        assert_eq!(parse("Pack/S03/03 - Ep 2.mkv"), ep(3, 2, 2));
        assert_eq!(parse("Movie.2024.1920x1080.mkv"), None);
        assert_eq!(parse("Movie.2024.x264.mkv"), None);
        assert_eq!(parse("Persons.2019.mkv"), None);
        assert_eq!(parse("Deep.Space.mkv"), None);
    }

    #[test]
    fn order_next_and_first_unwatched() {
        let names = [
            "Pack/Show.S01E10.mkv",
            "Pack/Show.S01E02.mkv",
            "Pack/Show.S01E01.mkv",
            "Pack/Show.S02E01.mkv",
            "Pack/sample.S01E01.mkv",
            "Pack/Show.S01E03.srt",
            "Pack/Show.S01E03E04.mkv",
        ];
        assert_eq!(order(names), [2, 1, 6, 0, 3]);
        assert_eq!(next_after(names, 2), Some(1));
        assert_eq!(next_after(names, 0), Some(3));
        assert_eq!(next_after(names, 3), None);
        assert_eq!(next_after(names, 4), None);
        assert_eq!(first_unwatched(names, |i| i == 2), Some(1));
        assert_eq!(first_unwatched(names, |i| [2, 1, 6].contains(&i)), Some(0));
        assert_eq!(first_unwatched(names, |_| true), None);
        // A film with one episode-looking name is not a series.
        assert!(order(["Film.S01E01.mkv", "Film.nfo"]).is_empty());
    }
}
