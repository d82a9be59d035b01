//! Keyframes on the grid for a run that encodes the video: the encoder is told to
//! start a new GOP at every segment boundary, so that segments can be cut there even
//! where the grid is not a whole number of GOPs from the run's start (the short lead-in
//! segments, a run restarted mid-film by a seek). And segments closed as soon as the
//! keyframe that starts the next one is in (`close_at_split`).

use std::sync::Mutex;

use gst::prelude::*;
use gstreamer as gst;
use gstreamer_video as gst_video;

use super::playlist::Grid;

/// Where a pad's buffers are on a list of boundaries (stream times, in order): the
/// segment they are in, and the next boundary not yet crossed.
struct Boundaries {
    segment: gst::FormattedSegment<gst::ClockTime>,
    times: Vec<u64>,
    next: usize,
}

impl Boundaries {
    fn new(times: Vec<u64>) -> Self {
        Self { segment: gst::FormattedSegment::new(), times, next: 0 }
    }

    /// Keeps the segment of a segment event.
    fn follow(&mut self, ev: &gst::Event) {
        if let gst::EventView::Segment(s) = ev.view()
            && let Some(seg) = s.segment().downcast_ref::<gst::ClockTime>()
        {
            self.segment = seg.clone();
        }
    }

    /// Whether a buffer at `pts` (`early` ns counting as reached) crosses a boundary not
    /// crossed yet; `None` for a buffer outside the segment.
    fn crosses(&mut self, pts: gst::ClockTime, early: u64) -> Option<bool> {
        let t = self.segment.to_stream_time(pts)?.nseconds() + early;
        let mut crossed = false;
        while self.next < self.times.len() && self.times[self.next] <= t {
            self.next += 1;
            crossed = true;
        }
        Some(crossed)
    }
}

/// Installs a probe on the encoder's sink `pad` that forces a keyframe on the first
/// frame at or after each boundary of `grid` after segment `start` (a frame half a
/// frame early counts, as timestamps are rounded through the container's timescale).
pub fn force_on_grid(pad: &gst::Pad, grid: &Grid, start: usize, frame_ns: u64) {
    let state = Mutex::new(Boundaries::new((start + 1..grid.count).map(|i| grid.start_ns(i)).collect()));
    pad.add_probe(gst::PadProbeType::BUFFER | gst::PadProbeType::EVENT_DOWNSTREAM, move |pad, info| {
        match &info.data {
            Some(gst::PadProbeData::Event(ev)) => state.lock().unwrap().follow(ev),
            Some(gst::PadProbeData::Buffer(b)) => {
                let crossed = b.pts().and_then(|p| state.lock().unwrap().crosses(p, frame_ns / 2));
                if crossed == Some(true) {
                    // Handled at once by the encoder (it queues the request and
                    // applies it to the next frame: this one).
                    let ev = gst_video::DownstreamForceKeyUnitEvent::builder().all_headers(true).build();
                    pad.send_event(ev);
                }
            }
            _ => {}
        }
        gst::PadProbeReturn::Ok
    });
}

/// splitmuxsink decides where a fragment ends when the GOP after the end is complete:
/// it takes each GOP whole, once the keyframe after it arrives. A segment would then
/// wait for a whole GOP more of the film (for the first segment of a start or a seek,
/// a second segment's worth of bytes from the swarm). So the frame after each keyframe
/// that starts a segment is shown to splitmuxsink as a keyframe too: the one-frame GOP
/// it starts closes the segment at once. The mark is taken off again on the muxer's
/// `mux_pad`, so the segments say which frames are keyframes truly.
///
/// Installed on the video `pad` that feeds splitmuxsink, after `rebase_segments`
/// (running time is stream time there); `splits` are the times asked to split at.
pub fn close_at_split(pad: &gst::Pad, mux_pad: &gst::Pad, splits: Vec<u64>) {
    // Times of the frames marked, until the muxer's pad sees them.
    let marked = std::sync::Arc::new(Mutex::new(Vec::<gst::ClockTime>::new()));
    let marked2 = marked.clone();
    // The splits, and the keyframe that crossed one latest until the frame after it is marked.
    let state = Mutex::new((Boundaries::new(splits), None::<gst::ClockTime>));
    pad.add_probe(gst::PadProbeType::BUFFER | gst::PadProbeType::EVENT_DOWNSTREAM, move |_, info| {
        match &mut info.data {
            Some(gst::PadProbeData::Event(ev)) => state.lock().unwrap().0.follow(ev),
            Some(gst::PadProbeData::Buffer(b)) => {
                let Some(pts) = b.pts() else { return gst::PadProbeReturn::Ok };
                let (splits, key) = &mut *state.lock().unwrap();
                if !b.flags().contains(gst::BufferFlags::DELTA_UNIT) {
                    let Some(crossed) = splits.crosses(pts, 0) else { return gst::PadProbeReturn::Ok };
                    *key = crossed.then_some(pts);
                } else if key.is_some_and(|k| pts > k) {
                    // A frame shown before the keyframe (open GOP) is not marked: the
                    // GOP it would start would run backwards.
                    *key = None;
                    b.make_mut().unset_flags(gst::BufferFlags::DELTA_UNIT);
                    marked.lock().unwrap().push(pts);
                }
            }
            _ => {}
        }
        gst::PadProbeReturn::Ok
    });
    mux_pad.add_probe(gst::PadProbeType::BUFFER, move |_, info| {
        if let Some(gst::PadProbeData::Buffer(b)) = &mut info.data
            && let Some(pts) = b.pts()
        {
            let mut m = marked2.lock().unwrap();
            if let Some(i) = m.iter().position(|&p| p == pts) {
                m.swap_remove(i);
                b.make_mut().set_flags(gst::BufferFlags::DELTA_UNIT);
            }
        }
        gst::PadProbeReturn::Ok
    });
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::io::SeekFrom;
    use std::pin::Pin;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::task::{Context, Poll, Waker};
    use std::time::Duration;

    use tokio::io::{AsyncRead, AsyncSeek, ReadBuf};

    use super::super::encoder::EncodeSettings;
    use super::super::pipeline::{self, RunEvent, RunSpec};
    use super::super::playlist::Grid;
    use super::super::probe::Mode;
    use super::*;

    /// A file read only up to `gate` bytes, as a torrent whose later pieces have not
    /// come: a read past it waits until the gate moves.
    struct Gated {
        data: Arc<Vec<u8>>,
        pos: u64,
        gate: Arc<AtomicU64>,
        waker: Arc<Mutex<Option<Waker>>>,
    }

    impl AsyncRead for Gated {
        fn poll_read(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<std::io::Result<()>> {
            let (pos, gate) = (self.pos as usize, self.gate.load(Ordering::SeqCst) as usize);
            let end = gate.min(self.data.len()).min(pos + buf.remaining());
            if pos >= end && pos < self.data.len() {
                *self.waker.lock().unwrap() = Some(cx.waker().clone());
                return Poll::Pending;
            }
            if pos < end {
                buf.put_slice(&self.data[pos..end]);
                self.pos = end as u64;
            }
            Poll::Ready(Ok(()))
        }
    }

    impl AsyncSeek for Gated {
        fn start_seek(mut self: Pin<&mut Self>, to: SeekFrom) -> std::io::Result<()> {
            self.pos = match to {
                SeekFrom::Start(p) => p,
                SeekFrom::End(d) => (self.data.len() as i64 + d) as u64,
                SeekFrom::Current(d) => (self.pos as i64 + d) as u64,
            };
            Ok(())
        }
        fn poll_complete(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<u64>> {
            Poll::Ready(Ok(self.pos))
        }
    }

    /// (PES starts, random-access indicators) per PID of an MPEG-TS file.
    fn pes_starts_and_rai(ts: &[u8]) -> HashMap<u16, (usize, usize)> {
        let mut out: HashMap<u16, (usize, usize)> = HashMap::new();
        for p in ts.chunks_exact(188).filter(|p| p[0] == 0x47) {
            let pid = (u16::from(p[1] & 0x1f) << 8) | u16::from(p[2]);
            let e = out.entry(pid).or_default();
            e.0 += usize::from(p[1] & 0x40 != 0);
            e.1 += usize::from(p[3] & 0x20 != 0 && p[4] > 0 && p[5] & 0x40 != 0);
        }
        out
    }

    /// Segment 0 of a film with 4 s GOPs is written once the bytes through the first
    /// frames of segment 1 are here: not the whole second GOP (splitmuxsink), nor 512 KiB
    /// more (the source's read-ahead). The segments mark only true keyframes as random
    /// access points.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_segment_closes_without_the_next_gop() {
        let dir = tempfile::tempdir().unwrap();
        let film = dir.path().join("film.mp4");
        let status = std::process::Command::new("ffmpeg")
            .args(["-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=12"])
            .args(["-f", "lavfi", "-i", "sine=duration=12", "-c:v", "libx264", "-preset", "ultrafast", "-bf", "0"])
            .args(["-g", "100", "-keyint_min", "100", "-sc_threshold", "0", "-c:a", "aac", "-movflags", "+faststart"])
            .arg(&film)
            .status()
            .expect("ffmpeg");
        assert!(status.success());
        // The bytes of every packet shown before 4.3 s, and where the keyframe at 8 s is.
        let out = std::process::Command::new("ffprobe")
            .args(["-v", "error", "-show_entries", "packet=pts_time,pos,size,flags,codec_type", "-of", "csv=p=0"])
            .arg(&film)
            .output()
            .unwrap();
        let (mut gate, mut key8) = (0u64, u64::MAX);
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            let f: Vec<&str> = line.split(',').collect();
            if f.len() < 5 {
                continue;
            }
            let (Ok(t), Ok(pos), Ok(size)) = (f[1].parse::<f64>(), f[3].parse::<u64>(), f[2].parse::<u64>()) else {
                continue;
            };
            if t < 4.3 {
                gate = gate.max(pos + size);
            }
            if f[0] == "video" && f[4].starts_with('K') && (t - 8.0).abs() < 0.01 {
                key8 = pos;
            }
        }
        assert!(gate > 0 && gate < key8, "gate {gate}, keyframe at 8 s at {key8}");

        let data = Arc::new(std::fs::read(&film).unwrap());
        let len = data.len() as u64;
        let gate = Arc::new(AtomicU64::new(gate));
        let waker = Arc::new(Mutex::new(None::<Waker>));
        let reader = Gated { data, pos: 0, gate: gate.clone(), waker: waker.clone() };
        let spec = RunSpec {
            mode: Mode::Passthrough,
            audio: Some(0),
            audio_key: None,
            grid: Grid::uniform(12_000_000_000, (25, 1), 4.0),
            start: 0,
            dir: dir.path().to_path_buf(),
            run_id: 1,
            encoder: None,
            out_size: (320, 240),
            fps: (25, 1),
            settings: Arc::new(EncodeSettings {
                gop: 100,
                bitrate_kbps: 1000,
                x264_preset: "ultrafast".into(),
                x264_start_preset: "ultrafast".into(),
            }),
            audio_channels: 2,
            audio_codec: Some("audio/mpeg".into()),
            pcm_little_endian: false,
            burn: None,
        };
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        // As a stream opens it: the container named from the first bytes (a typefinder
        // would peek at the end).
        super::super::init().unwrap();
        let caps = super::super::source::container_caps("film.mp4", &reader.data[..12].try_into().unwrap());
        let _run = pipeline::start(spec, (Box::new(reader), len), caps, tx).unwrap();
        let mut segments = Vec::new();
        async fn next(rx: &mut tokio::sync::mpsc::UnboundedReceiver<RunEvent>, what: &str) -> RunEvent {
            match tokio::time::timeout(Duration::from_secs(20), rx.recv()).await {
                Ok(Some(e)) => e,
                other => panic!("{what}: no event in 20 s ({other:?})"),
            }
        }
        match next(&mut rx, "segment 0 with the bytes through 4.3 s").await {
            RunEvent::Segment { index: 0, path, .. } => segments.push(path),
            e => panic!("segment 0 with the bytes through 4.3 s: {e:?}"),
        }
        gate.store(len, Ordering::SeqCst);
        if let Some(w) = waker.lock().unwrap().take() {
            w.wake();
        }
        while segments.len() < 3 {
            match next(&mut rx, "the other segments").await {
                RunEvent::Segment { path, .. } => segments.push(path),
                RunEvent::Eos { .. } => break,
                e => panic!("{e:?}"),
            }
        }
        assert_eq!(segments.len(), 3);
        for path in &segments {
            let counts = pes_starts_and_rai(&std::fs::read(path).unwrap());
            // The video: 100 frames, one keyframe (audio PES are all random access).
            assert!(
                counts.values().any(|&(pes, rai)| pes >= 90 && rai == 1),
                "{}: (PES, RAI) per PID {counts:?}",
                path.display()
            );
        }
    }
}
