//! The segment grid of a stream and the HLS playlists written from it.
//!
//! The grid is fixed from the probe: segment `i` starts at `i × seg` where `seg` is a
//! whole number of frames near the configured target, and the last one ends at the
//! file's duration. Both playlists are complete VOD playlists from the first request.

use std::fmt::Write;

/// The fixed segment layout of a stream, in nanoseconds of media time.
#[derive(Clone, Debug, PartialEq)]
pub struct Grid {
    pub seg_ns: u64,
    pub duration_ns: u64,
    pub count: usize,
}

/// Media time a split may come early by and still count for the grid point (timestamps
/// rounded through a container's timescale).
const SLACK_NS: u64 = 2_000_000;

impl Grid {
    /// `fps` is `(num, den)`; `(0, _)` when unknown.
    pub fn new(duration_ns: u64, fps: (i32, i32), target_secs: f64) -> Self {
        let seg_ns = if fps.0 > 0 && fps.1 > 0 {
            let frames = (target_secs * fps.0 as f64 / fps.1 as f64).round().max(1.0) as u64;
            frames * fps.1 as u64 * 1_000_000_000 / fps.0 as u64
        } else {
            (target_secs * 1e9) as u64
        };
        let seg_ns = seg_ns.max(1_000_000);
        let mut count = duration_ns.saturating_sub(SLACK_NS).div_ceil(seg_ns).max(1) as usize;
        // A tail shorter than a second (audio outlasting the last frame) joins the last
        // segment: there is no keyframe to start a segment of its own.
        let tail = duration_ns.saturating_sub((count as u64 - 1) * seg_ns);
        if count > 1 && tail < 1_000_000_000.min(seg_ns / 2) {
            count -= 1;
        }
        Self { seg_ns, duration_ns, count }
    }

    pub fn start_ns(&self, i: usize) -> u64 {
        i as u64 * self.seg_ns
    }

    /// The length of segment `i`.
    pub fn duration_of(&self, i: usize) -> u64 {
        if i + 1 >= self.count {
            self.duration_ns.saturating_sub(self.start_ns(i)).max(1)
        } else {
            self.seg_ns
        }
    }

    /// The segment a fragment starting at media time `t` belongs to.
    pub fn index_at(&self, t_ns: u64) -> usize {
        (((t_ns + SLACK_NS) / self.seg_ns) as usize).min(self.count - 1)
    }

    /// Where the muxer is asked to split before segment `i`: half a frame early, so a
    /// keyframe stamped a hair before the grid point still starts the segment.
    pub fn split_ns(&self, i: usize) -> u64 {
        self.start_ns(i).saturating_sub(SLACK_NS)
    }

    /// `EXT-X-TARGETDURATION`: the longest EXTINF rounded to the nearest second, at least 1.
    pub fn target_duration(&self) -> u64 {
        let max = (0..self.count).map(|i| self.duration_of(i)).max().unwrap_or(self.seg_ns);
        (max as f64 / 1e9).round().max(1.0) as u64
    }
}

/// The file name of segment `i`.
pub fn segment_name(i: usize) -> String {
    format!("seg{i:05}.ts")
}

/// Parses a segment file name back to its index.
pub fn parse_segment_name(name: &str) -> Option<usize> {
    let n = name.strip_prefix("seg")?.strip_suffix(".ts")?;
    (!n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())).then(|| n.parse().ok()).flatten()
}

fn with_query(uri: &str, query: &str) -> String {
    if query.is_empty() { uri.to_string() } else { format!("{uri}?{query}") }
}

/// The master playlist, served at `/api/stream/{id}`. `media_uri` is relative to that
/// URL (so it names the id again), `query` is appended verbatim (`file`, `token`).
pub fn master(
    media_uri: &str,
    query: &str,
    bandwidth: u64,
    (w, h): (u32, u32),
    codecs: &str,
) -> String {
    let mut s = String::from("#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-INDEPENDENT-SEGMENTS\n");
    let _ = writeln!(
        s,
        "#EXT-X-STREAM-INF:BANDWIDTH={bandwidth},RESOLUTION={w}x{h},CODECS=\"{codecs}\""
    );
    let _ = writeln!(s, "{}", with_query(media_uri, query));
    s
}

/// The VOD media playlist of the whole grid; segment URIs are relative to the
/// playlist's own URL.
pub fn media(grid: &Grid, query: &str) -> String {
    let mut s = String::from("#EXTM3U\n#EXT-X-VERSION:3\n");
    let _ = writeln!(s, "#EXT-X-TARGETDURATION:{}", grid.target_duration());
    s.push_str("#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-PLAYLIST-TYPE:VOD\n#EXT-X-INDEPENDENT-SEGMENTS\n");
    for i in 0..grid.count {
        let _ = writeln!(s, "#EXTINF:{:.6},", grid.duration_of(i) as f64 / 1e9);
        let _ = writeln!(s, "{}", with_query(&segment_name(i), query));
    }
    s.push_str("#EXT-X-ENDLIST\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_covers_the_duration_in_whole_frames() {
        // 23.976 fps, 100.1 s.
        let g = Grid::new(100_100_000_000, (24000, 1001), 4.0);
        assert_eq!(g.seg_ns, 96 * 1001 * 1_000_000_000 / 24000);
        let total: u64 = (0..g.count).map(|i| g.duration_of(i)).sum();
        assert_eq!(total, g.duration_ns);
        assert!(g.target_duration() >= 4);
        assert_eq!(g.index_at(g.start_ns(7)), 7);
        assert_eq!(g.index_at(g.start_ns(7) - 1_000_000), 7);
        assert_eq!(g.index_at(g.start_ns(7) - 10_000_000), 6);
        // Exactly a multiple: no empty last segment.
        let g = Grid::new(20_000_000_000, (25, 1), 4.0);
        assert_eq!(g.count, 5);
        assert_eq!(g.duration_of(4), 4_000_000_000);
        // Audio 32 ms longer than the video: no segment of 32 ms.
        let g = Grid::new(20_032_000_000, (25, 1), 4.0);
        assert_eq!((g.count, g.duration_of(4), g.target_duration()), (5, 4_032_000_000, 4));
    }

    #[test]
    fn playlists() {
        let g = Grid::new(10_000_000_000, (25, 1), 4.0);
        let m = media(&g, "token=abc");
        assert!(m.contains("#EXT-X-PLAYLIST-TYPE:VOD"));
        assert!(m.contains("#EXT-X-TARGETDURATION:4\n"));
        assert!(m.contains("#EXTINF:2.000000,\nseg00002.ts?token=abc\n#EXT-X-ENDLIST"));
        let ms = master("abc/index.m3u8", "", 1000, (640, 360), "avc1.64001e,mp4a.40.2");
        assert!(ms.contains("RESOLUTION=640x360,CODECS=\"avc1.64001e,mp4a.40.2\"\nabc/index.m3u8\n"));
        assert_eq!(parse_segment_name("seg00012.ts"), Some(12));
        assert_eq!(parse_segment_name("seg.ts"), None);
        assert_eq!(parse_segment_name("segx1.ts"), None);
    }
}
