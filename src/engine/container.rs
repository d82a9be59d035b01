//! Where a video container keeps what a player reads before its first frame: the byte
//! ranges of the index (MP4 `moov`, Matroska `SeekHead`/`Cues`) and where the media
//! data begins, found from a few small header reads. The engine asks for those pieces
//! first (see `prefetch`); the media side parses the index itself.

use std::ops::Range;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncSeek};

use super::boxes::{At, CLUSTER, CUES, INFO, SEEK_HEAD, SEGMENT, TIMESTAMP_SCALE, be, cues_position, elements, header};

/// How many top-level boxes or elements are walked before giving up.
const MAX_TOP: usize = 64;
/// The largest header element (Matroska `SeekHead`, `Info`) read into memory.
const MAX_HEADER: u64 = 256 << 10;

/// What the engine fetches first for a video file.
#[derive(Debug, Default, PartialEq)]
pub struct Layout {
    /// The index's byte ranges, besides the file's head.
    pub index: Vec<Range<u64>>,
    /// Where the media data begins (MP4 `mdat` body, the first Matroska `Cluster`).
    pub data_start: u64,
    /// The film's length, when the header says it.
    pub duration: Option<Duration>,
}

impl Layout {
    /// The average bitrate (bytes per second) over a file of `len` bytes, when the
    /// duration is known.
    pub fn byte_rate(&self, len: u64) -> Option<u64> {
        let secs = self.duration?.as_secs_f64();
        (secs >= 1.0).then(|| (len as f64 / secs) as u64)
    }
}

/// Reads the layout of a file named `name` (its extension names the container) of
/// `len` bytes. Each read waits for its piece; a file at the start of its download
/// costs the first piece, plus one for a Matroska file's `Cues` header. `None` when
/// the container is not one we know or its header is not what we expect.
pub async fn layout<R: AsyncRead + AsyncSeek + Unpin>(r: &mut R, len: u64, name: &str) -> Option<Layout> {
    let ext = name.rsplit('.').next()?.to_ascii_lowercase();
    let mut r = At { r, len };
    match ext.as_str() {
        "mp4" | "m4v" | "mov" => mp4(&mut r).await,
        "mkv" | "webm" => mkv(&mut r).await,
        _ => None,
    }
}

/// Positioned reads over a reader.
/// MP4: the top-level boxes up to `moov` and `mdat`. When `mdat` comes first, `moov`
/// is after it, so the index is everything after `mdat` (a box or two past `moov` at
/// most) and nothing behind `mdat` is read: that would wait for a piece at the end.
async fn mp4<R: AsyncRead + AsyncSeek + Unpin>(r: &mut At<'_, R>) -> Option<Layout> {
    let mut out = Layout::default();
    let (mut pos, mut data) = (0u64, None);
    for _ in 0..MAX_TOP {
        let h = r.read(pos, 16).await?;
        if h.len() < 8 {
            break;
        }
        let (size, hdr) = match be(&h[..4]) {
            1 => (be(h.get(8..16)?), 16),
            0 => (r.len - pos, 8),
            s => (s, 8),
        };
        if size < hdr {
            return None;
        }
        let end = pos.checked_add(size)?.min(r.len);
        match &h[4..8] {
            b"moov" => {
                out.index.push(pos..end);
                out.duration = mvhd_duration(&r.read(pos + 8, 40).await?);
                if data.is_some() {
                    break;
                }
            }
            b"mdat" => {
                data = Some(pos + hdr);
                if out.index.is_empty() && end < r.len {
                    out.index.push(end..r.len);
                }
                break;
            }
            _ => {}
        }
        pos = end;
        if pos >= r.len {
            break;
        }
    }
    out.data_start = data?;
    (!out.index.is_empty()).then_some(out)
}

/// The duration in a `moov` body that starts with its `mvhd`.
fn mvhd_duration(b: &[u8]) -> Option<Duration> {
    if b.get(4..8)? != b"mvhd" {
        return None;
    }
    let (scale, duration) = match *b.get(8)? {
        1 => (be(b.get(28..32)?), be(b.get(32..40)?)),
        _ => (be(b.get(20..24)?), be(b.get(24..28)?)),
    };
    (scale > 0 && duration > 0).then(|| Duration::from_secs_f64(duration as f64 / scale as f64))
}

const DURATION: u64 = 0x4489;

/// Matroska: the Segment's children up to the first Cluster (the SeekHead names where
/// the Cues are, Info gives the duration), then the Cues' own header for their size.
async fn mkv<R: AsyncRead + AsyncSeek + Unpin>(r: &mut At<'_, R>) -> Option<Layout> {
    let h = r.read(0, 64).await?;
    let (_, size, hl) = header(&h)?;
    let seg_at = hl as u64 + size;
    let h = r.read(seg_at, 16).await?;
    let (id, _, hl) = header(&h)?;
    if id != SEGMENT {
        return None;
    }
    let base = seg_at + hl as u64;
    let mut out = Layout::default();
    let (mut cues_at, mut data) = (None, None);
    let mut pos = base;
    for _ in 0..MAX_TOP {
        let Some(h) = r.read(pos, 16).await else { break };
        let Some((id, size, hl)) = header(&h) else { break };
        if id == CLUSTER {
            data = Some(pos);
            break;
        }
        if size == u64::MAX {
            break;
        }
        let body_at = pos + hl as u64;
        match id {
            SEEK_HEAD | INFO if size <= MAX_HEADER => {
                let body = r.read(body_at, size).await?;
                if id == SEEK_HEAD {
                    cues_at = cues_at.or(cues_position(&body).map(|p| base + p));
                } else {
                    out.duration = info_duration(&body);
                }
            }
            CUES => {
                out.index.push(pos..body_at.saturating_add(size).min(r.len));
                cues_at = None;
            }
            _ => {}
        }
        pos = body_at.checked_add(size)?;
        if pos >= r.len {
            break;
        }
    }
    out.data_start = data?;
    if let Some(at) = cues_at.filter(|&at| at < r.len) {
        let h = r.read(at, 16).await?;
        let (id, size, hl) = header(&h)?;
        if id == CUES && size != u64::MAX {
            out.index.push(at..(at + hl as u64).saturating_add(size).min(r.len));
        }
    }
    Some(out)
}

/// `Duration` (a float in timestamp-scale units) of an `Info` body.
fn info_duration(info: &[u8]) -> Option<Duration> {
    let mut scale = 1_000_000u64;
    let mut ticks = None;
    for (id, b) in elements(info) {
        match (id, b.len()) {
            (TIMESTAMP_SCALE, 1..=8) => scale = be(b).max(1),
            (DURATION, 4) => ticks = Some(f32::from_be_bytes(b.try_into().ok()?) as f64),
            (DURATION, 8) => ticks = Some(f64::from_be_bytes(b.try_into().ok()?)),
            _ => {}
        }
    }
    let secs = ticks? * scale as f64 / 1e9;
    (secs.is_finite() && secs > 0.0).then(|| Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    /// A 10 s H.264/AAC film made by ffmpeg, with `extra` output options.
    fn film(dir: &std::path::Path, name: &str, extra: &[&str]) -> std::path::PathBuf {
        let out = dir.join(name);
        let status = Command::new("ffmpeg")
            .args(["-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25:duration=10"])
            .args(["-f", "lavfi", "-i", "sine=frequency=440:duration=10"])
            .args(["-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-shortest"])
            .args(extra)
            .arg(&out)
            .status()
            .expect("ffmpeg");
        assert!(status.success());
        out
    }

    async fn read_layout(path: &std::path::Path) -> (Layout, Vec<u8>) {
        let bytes = std::fs::read(path).unwrap();
        let mut f = tokio::fs::File::open(path).await.unwrap();
        let name = path.file_name().unwrap().to_str().unwrap();
        (layout(&mut f, bytes.len() as u64, name).await.expect("a layout"), bytes)
    }

    fn secs(l: &Layout) -> f64 {
        l.duration.expect("a duration").as_secs_f64()
    }

    #[tokio::test]
    async fn mp4_with_the_index_in_front() {
        let dir = tempfile::tempdir().unwrap();
        let (l, bytes) = read_layout(&film(dir.path(), "a.mp4", &["-movflags", "+faststart"])).await;
        assert_eq!(l.index.len(), 1, "{l:?}");
        let moov = l.index[0].clone();
        assert_eq!(&bytes[moov.start as usize + 4..moov.start as usize + 8], b"moov");
        assert!(moov.end <= l.data_start, "{l:?}");
        assert_eq!(&bytes[l.data_start as usize - 4..l.data_start as usize], b"mdat");
        assert!((secs(&l) - 10.0).abs() < 0.2, "{l:?}");
    }

    #[tokio::test]
    async fn mp4_with_the_index_at_the_end() {
        let dir = tempfile::tempdir().unwrap();
        let (l, bytes) = read_layout(&film(dir.path(), "b.mp4", &[])).await;
        assert_eq!(l.index.len(), 1, "{l:?}");
        let tail = l.index[0].clone();
        assert_eq!(tail.end, bytes.len() as u64);
        assert_eq!(&bytes[tail.start as usize + 4..tail.start as usize + 8], b"moov", "{l:?}");
        assert!(l.data_start < 4096, "{l:?}");
        // `moov` was not read: its duration is not known.
        assert_eq!(l.duration, None);
    }

    #[tokio::test]
    async fn matroska_cues_found_through_the_seek_head() {
        let dir = tempfile::tempdir().unwrap();
        let (l, bytes) = read_layout(&film(dir.path(), "c.mkv", &[])).await;
        assert_eq!(l.index.len(), 1, "{l:?}");
        let cues = l.index[0].clone();
        assert_eq!(&bytes[cues.start as usize..cues.start as usize + 4], &[0x1C, 0x53, 0xBB, 0x6B]);
        assert!(cues.end <= bytes.len() as u64 && cues.end > cues.start + 4, "{l:?}");
        assert_eq!(&bytes[l.data_start as usize..l.data_start as usize + 4], &[0x1F, 0x43, 0xB6, 0x75]);
        assert!((secs(&l) - 10.0).abs() < 0.2, "{l:?}");
    }

    #[tokio::test]
    async fn unknown_containers_have_no_layout() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.avi");
        std::fs::write(&p, vec![0u8; 4096]).unwrap();
        let mut f = tokio::fs::File::open(&p).await.unwrap();
        assert_eq!(layout(&mut f, 4096, "x.avi").await, None);
        let p = dir.path().join("x.mp4");
        std::fs::write(&p, b"not an mp4 at all").unwrap();
        let mut f = tokio::fs::File::open(&p).await.unwrap();
        assert_eq!(layout(&mut f, 17, "x.mp4").await, None);
    }
}
