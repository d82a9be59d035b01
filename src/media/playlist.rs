//! The segment grid of a stream and the HLS playlists written from it.
//!
//! The grid is fixed before the first playlist is served, so both playlists are
//! complete VOD playlists from the first request. A stream that encodes the video lays
//! it uniformly after a short lead-in: the first segments last `LEAD_SECS` (1 s, 1 s,
//! 2 s), so the first one is encoded in about a second, then every segment lasts `seg`,
//! a whole number of frames near the configured target. Every run of the pipeline,
//! wherever it starts, cuts on these same points (the encoder is told to put a keyframe
//! on each). A stream that copies the video can cut only at keyframes, so
//! its segments start at keyframes read from the container's index, each the first at
//! least a target length after the one before.

use std::fmt::Write;

/// The segment layout of a stream, in nanoseconds of media time.
#[derive(Clone, Debug, PartialEq)]
pub struct Grid {
    /// The nominal segment length: the target in whole frames.
    pub seg_ns: u64,
    pub duration_ns: u64,
    pub count: usize,
    /// Where each segment starts; `starts[0]` is 0.
    starts: Vec<u64>,
}

/// Media time a split may come early by and still count for the grid point (timestamps
/// rounded through a container's timescale).
const SLACK_NS: u64 = 2_000_000;

impl Grid {
    /// A uniform grid. `fps` is `(num, den)`; `(0, _)` when unknown.
    pub fn uniform(duration_ns: u64, fps: (i32, i32), target_secs: f64) -> Self {
        let seg_ns = nominal(fps, target_secs);
        let mut count = duration_ns.saturating_sub(SLACK_NS).div_ceil(seg_ns).max(1) as usize;
        // A tail shorter than a second (audio outlasting the last frame) joins the last
        // segment: there is no keyframe to start a segment of its own.
        let tail = duration_ns.saturating_sub((count as u64 - 1) * seg_ns);
        if count > 1 && tail < 1_000_000_000.min(seg_ns / 2) {
            count -= 1;
        }
        Self::from_starts(seg_ns, duration_ns, (0..count as u64).map(|i| i * seg_ns).collect())
    }

    /// A uniform grid after a lead-in of shorter segments (`lead`, in seconds, each
    /// rounded to whole frames and no longer than the target). With no lead it is
    /// `uniform`.
    pub fn uniform_with_lead(duration_ns: u64, fps: (i32, i32), target_secs: f64, lead: &[f64]) -> Self {
        let seg_ns = nominal(fps, target_secs);
        let tail = 1_000_000_000.min(seg_ns / 2);
        let mut starts = vec![0];
        let mut t = 0;
        let steps = lead.iter().map(|&l| nominal(fps, l).min(seg_ns)).chain(std::iter::repeat(seg_ns));
        for step in steps {
            t += step;
            // A tail shorter than a second joins the segment before (see `uniform`).
            if t + tail > duration_ns {
                break;
            }
            starts.push(t);
        }
        Self::from_starts(seg_ns, duration_ns, starts)
    }

    /// A grid on `keyframes` (ns, ascending): each segment starts at the first keyframe
    /// at least a target length (less half a frame) after the start of the one before.
    /// A keyframe too near the end to be worth a segment of its own is skipped.
    pub fn from_keyframes(duration_ns: u64, fps: (i32, i32), target_secs: f64, keyframes: &[u64]) -> Self {
        let seg_ns = nominal(fps, target_secs);
        let frame = frame_ns(fps);
        let tail = 1_000_000_000.min(seg_ns / 2);
        let mut starts = vec![0];
        for &k in keyframes {
            let last = *starts.last().unwrap();
            if k >= last + seg_ns.saturating_sub(frame / 2) && k + tail <= duration_ns {
                starts.push(k);
            }
        }
        Self::from_starts(seg_ns, duration_ns, starts)
    }

    fn from_starts(seg_ns: u64, duration_ns: u64, starts: Vec<u64>) -> Self {
        Self { seg_ns, duration_ns, count: starts.len(), starts }
    }

    pub fn start_ns(&self, i: usize) -> u64 {
        self.starts[i.min(self.count - 1)]
    }

    /// The length of segment `i`.
    pub fn duration_of(&self, i: usize) -> u64 {
        let end = self.starts.get(i + 1).copied().unwrap_or(self.duration_ns);
        end.saturating_sub(self.start_ns(i)).max(1)
    }

    /// The segment a fragment starting at media time `t` belongs to.
    pub fn index_at(&self, t_ns: u64) -> usize {
        self.starts.partition_point(|&s| s <= t_ns + SLACK_NS).saturating_sub(1)
    }

    /// Where the muxer is asked to split before segment `i`: a hair early, so a
    /// keyframe stamped just before the grid point still starts the segment.
    pub fn split_ns(&self, i: usize) -> u64 {
        self.start_ns(i).saturating_sub(SLACK_NS)
    }

    /// The splits of a run that starts at segment `start`: before each later segment.
    pub fn splits_after(&self, start: usize) -> Vec<u64> {
        (start + 1..self.count).map(|i| self.split_ns(i)).collect()
    }

    /// `EXT-X-TARGETDURATION`: the longest EXTINF rounded to the nearest second, at least 1.
    pub fn target_duration(&self) -> u64 {
        let max = (0..self.count).map(|i| self.duration_of(i)).max().unwrap_or(self.seg_ns);
        (max as f64 / 1e9).round().max(1.0) as u64
    }
}

/// The length of one frame at `fps` (`(num, den)`), 40 ms (25 fps) when unknown.
pub fn frame_ns(fps: (i32, i32)) -> u64 {
    if fps.0 > 0 && fps.1 > 0 { fps.1 as u64 * 1_000_000_000 / fps.0 as u64 } else { 40_000_000 }
}

/// The lead-in of a transcoded stream's grid, in seconds (see the module's doc).
pub const LEAD_SECS: [f64; 3] = [1.0, 1.0, 2.0];

/// The target segment length rounded to whole frames.
fn nominal(fps: (i32, i32), target_secs: f64) -> u64 {
    let seg_ns = if fps.0 > 0 && fps.1 > 0 {
        let frames = (target_secs * fps.0 as f64 / fps.1 as f64).round().max(1.0) as u64;
        frames * fps.1 as u64 * 1_000_000_000 / fps.0 as u64
    } else {
        (target_secs * 1e9) as u64
    };
    seg_ns.max(1_000_000)
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
pub fn master(media_uri: &str, query: &str, bandwidth: u64, (w, h): (u32, u32), codecs: &str) -> String {
    let mut s = String::from("#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-INDEPENDENT-SEGMENTS\n");
    let _ = writeln!(s, "#EXT-X-STREAM-INF:BANDWIDTH={bandwidth},RESOLUTION={w}x{h},CODECS=\"{codecs}\"");
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
        let g = Grid::uniform(100_100_000_000, (24000, 1001), 4.0);
        assert_eq!(g.seg_ns, 96 * 1001 * 1_000_000_000 / 24000);
        let total: u64 = (0..g.count).map(|i| g.duration_of(i)).sum();
        assert_eq!(total, g.duration_ns);
        assert!(g.target_duration() >= 4);
        assert_eq!(g.index_at(g.start_ns(7)), 7);
        assert_eq!(g.index_at(g.start_ns(7) - 1_000_000), 7);
        assert_eq!(g.index_at(g.start_ns(7) - 10_000_000), 6);
        // Exactly a multiple: no empty last segment.
        let g = Grid::uniform(20_000_000_000, (25, 1), 4.0);
        assert_eq!(g.count, 5);
        assert_eq!(g.duration_of(4), 4_000_000_000);
        // Audio 32 ms longer than the video: no segment of 32 ms.
        let g = Grid::uniform(20_032_000_000, (25, 1), 4.0);
        assert_eq!((g.count, g.duration_of(4), g.target_duration()), (5, 4_032_000_000, 4));
    }

    #[test]
    fn lead_in_segments_then_the_target() {
        let s = 1_000_000_000u64;
        let g = Grid::uniform_with_lead(100 * s, (25, 1), 4.0, &LEAD_SECS);
        let starts: Vec<u64> = (0..6).map(|i| g.start_ns(i) / 1_000_000).collect();
        assert_eq!(starts, [0, 1000, 2000, 4000, 8000, 12000]);
        assert_eq!((g.count, g.duration_of(g.count - 1)), (27, 4 * s));
        assert_eq!(g.target_duration(), 4);
        let total: u64 = (0..g.count).map(|i| g.duration_of(i)).sum();
        assert_eq!(total, g.duration_ns);
        assert_eq!(g.index_at(1500 * 1_000_000), 1);
        assert_eq!(g.index_at(9 * s), 4);
        // Whole frames at 23.976 fps: 24 frames, not 1 s.
        let g = Grid::uniform_with_lead(60 * s, (24000, 1001), 4.0, &LEAD_SECS);
        assert_eq!(g.start_ns(1), 24 * 1001 * 1_000_000_000 / 24000);
        // Without a lead it is the uniform grid, tail rule included.
        for d in [20 * s, 20_032_000_000, 100_100_000_000, 3 * s, 500_000_000] {
            for fps in [(25, 1), (24000, 1001), (0, 1)] {
                assert_eq!(Grid::uniform_with_lead(d, fps, 4.0, &[]), Grid::uniform(d, fps, 4.0), "{d} {fps:?}");
            }
        }
        // A film shorter than the lead.
        let g = Grid::uniform_with_lead(2_500_000_000, (25, 1), 4.0, &LEAD_SECS);
        assert_eq!((g.count, g.duration_of(1)), (2, 1_500_000_000));
    }

    #[test]
    fn keyframe_grid_starts_segments_on_keyframes() {
        let s = 1_000_000_000u64;
        // Irregular long GOPs at 25 fps; target 4 s.
        let keys = [0, 1200, 5000, 5400, 11320, 17000, 19700].map(|ms| ms * 1_000_000);
        let g = Grid::from_keyframes(20 * s, (25, 1), 4.0, &keys);
        assert_eq!((0..g.count).map(|i| g.start_ns(i)).collect::<Vec<_>>(), [0, 5 * s, 11_320_000_000, 17 * s]);
        assert_eq!(g.duration_of(3), 3 * s, "19.7 s is too near the end for a segment");
        assert_eq!(g.target_duration(), 6);
        let total: u64 = (0..g.count).map(|i| g.duration_of(i)).sum();
        assert_eq!(total, g.duration_ns);
        assert_eq!(g.index_at(5 * s - 1_000_000), 1);
        assert_eq!(g.index_at(11 * s), 1);
        assert_eq!(g.index_at(19 * s), 3);
        // A keyframe half a frame short of the target still starts a segment.
        let g = Grid::from_keyframes(20 * s, (25, 1), 4.0, &[0, 3_990_000_000, 8 * s]);
        assert_eq!(g.count, 3);
        // No keyframe after the first: one segment.
        assert_eq!(Grid::from_keyframes(20 * s, (25, 1), 4.0, &[0]).count, 1);
    }

    #[test]
    fn playlists() {
        let g = Grid::uniform(10_000_000_000, (25, 1), 4.0);
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
