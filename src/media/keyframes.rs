//! The keyframe times of a file's video track, read from the container's own index:
//! an MP4's sample tables (`stss`, `stts`, `ctts`, `elst` in `moov`) or a Matroska
//! file's `Cues`. A stream that copies the video can only cut segments at keyframes,
//! so its segment grid is laid on these times (see `playlist::Grid::from_keyframes`).
//!
//! Only the index is read: box and element headers, then `moov` or `Cues` whole (each
//! capped in size). On a torrent that costs the pieces the demuxer reads at start
//! anyway. Anything unexpected gives `None`, and the caller falls back to a uniform grid.

use super::source::ByteReader;
use crate::engine::boxes::{At, be};

/// The largest `moov` or `Cues` read into memory.
const MAX_INDEX: u64 = 64 << 20;
/// How many top-level boxes or elements are walked before giving up.
const MAX_TOP: usize = 4096;

/// The presentation times (ns, ascending, deduplicated) of the video keyframes, or
/// `None` when the container has no usable index.
pub async fn read(reader: &mut dyn ByteReader, len: u64, file_name: &str) -> Option<Vec<u64>> {
    let ext = file_name.rsplit('.').next()?.to_ascii_lowercase();
    let mut r = At { r: reader, len };
    let mut times = match ext.as_str() {
        "mp4" | "m4v" | "mov" => mp4::keyframes(&mut r).await?,
        "mkv" | "webm" => mkv::keyframes(&mut r).await?,
        _ => return None,
    };
    times.sort_unstable();
    times.dedup();
    // One keyframe is an answer too: a clip shorter than its GOP is one segment (a
    // uniform grid would ask for segments that start at no keyframe).
    (!times.is_empty()).then_some(times)
}

/// MP4 and QuickTime boxes.
pub(super) mod mp4 {
    use super::*;

    /// An MP4 box: its type and body.
    pub(crate) fn boxes(mut buf: &[u8]) -> impl Iterator<Item = (&[u8], &[u8])> {
        std::iter::from_fn(move || {
            if buf.len() < 8 {
                return None;
            }
            let (mut size, mut hdr) = (be(&buf[..4]), 8);
            if size == 1 {
                size = be(buf.get(8..16)?);
                hdr = 16;
            } else if size == 0 {
                size = buf.len() as u64;
            }
            if size < hdr as u64 || size > buf.len() as u64 {
                return None;
            }
            let (b, rest) = buf.split_at(size as usize);
            buf = rest;
            Some((&b[4..8], &b[hdr..]))
        })
    }

    pub(crate) fn child<'a>(buf: &'a [u8], typ: &[u8]) -> Option<&'a [u8]> {
        boxes(buf).find(|(t, _)| *t == typ).map(|(_, b)| b)
    }

    pub(crate) fn path<'a>(mut buf: &'a [u8], types: &[&[u8]]) -> Option<&'a [u8]> {
        for t in types {
            buf = child(buf, t)?;
        }
        Some(buf)
    }

    /// The entries of a full box's table: `(version, entry count, entries)`.
    fn table(body: &[u8]) -> Option<(u8, usize, &[u8])> {
        Some((*body.first()?, be(body.get(4..8)?) as usize, body.get(8..)?))
    }

    pub(super) async fn keyframes(r: &mut At<'_, dyn ByteReader + '_>) -> Option<Vec<u64>> {
        from_moov(&moov(r).await?)
    }

    /// The body of the file's `moov` box, wherever it sits (at most `MAX_INDEX` bytes).
    pub(crate) async fn moov(r: &mut At<'_, dyn ByteReader + '_>) -> Option<Vec<u8>> {
        let mut pos = 0;
        for _ in 0..MAX_TOP {
            let h = r.read(pos, 16).await?;
            if h.len() < 8 {
                return None;
            }
            let size = match be(&h[..4]) {
                1 => be(h.get(8..16)?),
                0 => r.len - pos,
                s => s,
            };
            if size < 8 {
                return None;
            }
            if &h[4..8] == b"moov" {
                if size > MAX_INDEX {
                    return None;
                }
                let moov = r.read(pos, size).await?;
                let (_, body) = boxes(&moov).next()?;
                return Some(body.to_vec());
            }
            pos = pos.checked_add(size)?;
            if pos >= r.len {
                return None;
            }
        }
        None
    }

    fn from_moov(moov: &[u8]) -> Option<Vec<u64>> {
        let movie_scale = path(moov, &[b"mvhd"]).and_then(|b| match b.first()? {
            1 => Some(be(b.get(20..24)?)),
            _ => Some(be(b.get(12..16)?)),
        });
        let trak = boxes(moov)
            .filter(|(t, _)| *t == b"trak")
            .map(|(_, b)| b)
            .find(|trak| path(trak, &[b"mdia", b"hdlr"]).and_then(|h| h.get(8..12)) == Some(b"vide".as_slice()))?;
        let mdhd = path(trak, &[b"mdia", b"mdhd"])?;
        let scale = match mdhd.first()? {
            1 => be(mdhd.get(20..24)?),
            _ => be(mdhd.get(12..16)?),
        };
        if scale == 0 {
            return None;
        }
        let stbl = path(trak, &[b"mdia", b"minf", b"stbl"])?;
        // Every sample a keyframe (no `stss`): any grid works; so does a fragmented file
        // (no samples here): leave both to the uniform grid.
        let (_, n_sync, sync) = table(child(stbl, b"stss")?)?;
        let sync: Vec<u64> = sync.chunks_exact(4).take(n_sync).map(|c| be(c).saturating_sub(1)).collect();

        // The edit list: an empty first edit delays the track, `media_time` skips its start.
        let (mut delay, mut skip) = (0i128, 0i128);
        if let Some((v, n, edits)) = path(trak, &[b"edts", b"elst"]).and_then(table) {
            let w = if v == 1 { 20 } else { 12 };
            let s = if v == 1 { 8 } else { 4 };
            for e in edits.chunks_exact(w).take(n) {
                let dur = be(&e[..s]) as i128;
                let media = if v == 1 { be(&e[8..16]) as i64 as i128 } else { be(&e[4..8]) as u32 as i32 as i128 };
                if media == -1 {
                    if let Some(ms) = movie_scale.filter(|&m| m > 0) {
                        delay += dur * scale as i128 / ms as i128;
                    }
                } else {
                    skip = media;
                    break;
                }
            }
        }

        let (_, n_stts, stts) = table(child(stbl, b"stts")?)?;
        let ctts = child(stbl, b"ctts").and_then(table);
        let mut out = Vec::with_capacity(sync.len());
        let (mut sample, mut dts) = (0u64, 0i128);
        let mut runs = stts.chunks_exact(8).take(n_stts).map(|c| (be(&c[..4]), be(&c[4..]) as i128));
        let (mut left, mut delta) = runs.next()?;
        let mut offsets =
            ctts.map(|(_, n, c)| c.chunks_exact(8).take(n).map(|c| (be(&c[..4]), be(&c[4..]) as u32 as i32 as i128)));
        let mut offset_run = offsets.as_mut().and_then(|o| o.next());
        let mut offset_base = 0u64;
        for &k in &sync {
            // Advance the decode time to sample `k`.
            while sample < k {
                if left == 0 {
                    (left, delta) = runs.next()?;
                    continue;
                }
                let step = (k - sample).min(left);
                dts += step as i128 * delta;
                sample += step;
                left -= step;
            }
            let mut cto = 0;
            if let (Some(o), Some(r)) = (offsets.as_mut(), offset_run.as_mut()) {
                while k >= offset_base + r.0 {
                    offset_base += r.0;
                    *r = o.next()?;
                }
                cto = r.1;
            }
            let pts = dts + cto - skip + delay;
            out.push((pts.max(0) as u128 * 1_000_000_000 / scale as u128) as u64);
        }
        Some(out)
    }
}

mod mkv {
    use super::*;
    use crate::engine::boxes::{
        CLUSTER, CUES, INFO, SEEK_HEAD, SEGMENT, TIMESTAMP_SCALE, cues_position, elements, header, uint,
    };

    const TRACKS: u64 = 0x1654_AE6B;
    const TRACK_ENTRY: u64 = 0xAE;
    const TRACK_NUMBER: u64 = 0xD7;
    const TRACK_TYPE: u64 = 0x83;
    const CUE_POINT: u64 = 0xBB;
    const CUE_TIME: u64 = 0xB3;
    const CUE_TRACK_POSITIONS: u64 = 0xB7;
    const CUE_TRACK: u64 = 0xF7;

    pub(super) async fn keyframes(r: &mut At<'_, dyn ByteReader + '_>) -> Option<Vec<u64>> {
        // The EBML header, then the Segment whose children the index positions count from.
        let h = r.read(0, 64).await?;
        let (_, size, hl) = header(&h)?;
        let seg_at = hl as u64 + size;
        let h = r.read(seg_at, 16).await?;
        let (id, _, hl) = header(&h)?;
        if id != SEGMENT {
            return None;
        }
        let base = seg_at + hl as u64;

        let (mut scale, mut video, mut cues_at) = (1_000_000u64, None, None);
        let mut cues = None;
        // The top-level children up to the first Cluster: the index's places, the
        // timestamp scale, the video track, and the Cues when they come first.
        let mut pos = base;
        for _ in 0..MAX_TOP {
            let Some(h) = r.read(pos, 16).await else { break };
            let Some((id, size, hl)) = header(&h) else { break };
            if id == CLUSTER || size == u64::MAX {
                break;
            }
            let body_at = pos + hl as u64;
            match id {
                SEEK_HEAD | INFO | TRACKS | CUES if size <= MAX_INDEX => {
                    let body = r.read(body_at, size).await?;
                    match id {
                        SEEK_HEAD => cues_at = cues_at.or(cues_position(&body).map(|p| base + p)),
                        INFO => {
                            if let Some((_, s)) = elements(&body).find(|(i, _)| *i == TIMESTAMP_SCALE) {
                                scale = uint(s).max(1);
                            }
                        }
                        TRACKS => video = video_track(&body),
                        _ => cues = Some(body),
                    }
                }
                _ => {}
            }
            pos = body_at.checked_add(size)?;
            if pos >= r.len {
                break;
            }
        }
        let cues = match cues {
            Some(c) => c,
            None => {
                let at = cues_at?;
                let h = r.read(at, 16).await?;
                let (id, size, hl) = header(&h)?;
                if id != CUES || size > MAX_INDEX {
                    return None;
                }
                r.read(at + hl as u64, size).await?
            }
        };
        let times: Vec<u64> = elements(&cues)
            .filter(|(id, _)| *id == CUE_POINT)
            .filter_map(|(_, point)| {
                let mut time = None;
                let mut ours = video.is_none();
                for (id, b) in elements(point) {
                    match id {
                        CUE_TIME => time = Some(uint(b)),
                        CUE_TRACK_POSITIONS => {
                            let track = elements(b).find(|(i, _)| *i == CUE_TRACK).map(|(_, t)| uint(t));
                            ours |= track.is_some() && track == video;
                        }
                        _ => {}
                    }
                }
                time.filter(|_| ours).map(|t| t.saturating_mul(scale))
            })
            .collect();
        Some(times)
    }

    fn video_track(tracks: &[u8]) -> Option<u64> {
        elements(tracks).filter(|(id, _)| *id == TRACK_ENTRY).find_map(|(_, entry)| {
            let number = elements(entry).find(|(i, _)| *i == TRACK_NUMBER).map(|(_, b)| uint(b))?;
            let kind = elements(entry).find(|(i, _)| *i == TRACK_TYPE).map(|(_, b)| uint(b))?;
            (kind == 1).then_some(number)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    /// An H.264 file whose keyframes fall at irregular times, forced by ffmpeg.
    fn film(dir: &std::path::Path, ext: &str, keys: &str) -> std::path::PathBuf {
        let out = dir.join(format!("film.{ext}"));
        let status = Command::new("ffmpeg")
            .args(["-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25:duration=20"])
            .args(["-f", "lavfi", "-i", "sine=frequency=440:duration=20"])
            .args(["-c:v", "libx264", "-preset", "ultrafast", "-bf", "2"])
            .args(["-x264-params", "keyint=1000:min-keyint=1000:scenecut=0"])
            .args(["-force_key_frames", keys, "-c:a", "aac", "-shortest"])
            .arg(&out)
            .status()
            .expect("ffmpeg");
        assert!(status.success());
        out
    }

    /// The keyframe times ffprobe reports, in ns.
    fn probe_keyframes(path: &std::path::Path) -> Vec<u64> {
        let out = Command::new("ffprobe")
            .args(["-v", "error", "-select_streams", "v:0", "-skip_frame", "nokey"])
            .args(["-show_entries", "frame=pts_time", "-of", "csv=p=0"])
            .arg(path)
            .output()
            .expect("ffprobe");
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.trim().trim_end_matches(',').parse::<f64>().ok())
            .map(|t| (t * 1e9).round() as u64)
            .collect()
    }

    async fn index(path: &std::path::Path) -> Option<Vec<u64>> {
        let mut f = tokio::fs::File::open(path).await.unwrap();
        let len = f.metadata().await.unwrap().len();
        read(&mut f, len, &path.to_string_lossy()).await
    }

    #[tokio::test]
    async fn reads_the_keyframes_of_mp4_and_mkv() {
        let dir = tempfile::tempdir().unwrap();
        let keys = "0,1.2,5.0,5.4,11.32,17";
        for ext in ["mp4", "mkv"] {
            let f = film(dir.path(), ext, keys);
            let ours = index(&f).await.unwrap_or_else(|| panic!("no index read from the {ext}"));
            let theirs = probe_keyframes(&f);
            assert_eq!(ours.len(), theirs.len(), "{ext}: {ours:?} vs {theirs:?}");
            for (a, b) in ours.iter().zip(&theirs) {
                assert!(a.abs_diff(*b) < 1_000_000, "{ext}: {ours:?} vs {theirs:?}");
            }
        }
        // moov at the front as well as at the end.
        let f = film(dir.path(), "mp4", keys);
        let fast = dir.path().join("fast.mp4");
        let ok = Command::new("ffmpeg")
            .args(["-v", "error", "-y", "-i"])
            .arg(&f)
            .args(["-c", "copy", "-movflags", "+faststart"])
            .arg(&fast)
            .status()
            .unwrap();
        assert!(ok.success());
        assert_eq!(index(&fast).await, index(&f).await);
    }

    #[tokio::test]
    async fn garbage_and_other_containers_give_none() {
        let dir = tempfile::tempdir().unwrap();
        for (name, bytes) in [
            ("a.mp4", b"\0\0\0\x08moov".to_vec()),
            ("b.mp4", vec![0xff; 100]),
            ("c.mkv", vec![0x1a, 0x45, 0xdf, 0xa3, 0x80, 0xff, 0xff]),
            ("d.mkv", Vec::new()),
            ("e.avi", vec![0; 64]),
        ] {
            let p = dir.path().join(name);
            std::fs::write(&p, bytes).unwrap();
            assert_eq!(index(&p).await, None, "{name}");
        }
    }
}
