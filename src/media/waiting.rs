//! What a waiting player waits for: a meter on every reader of a stream's file (the
//! probe, the index reader, each pipeline run) and the segments players are waiting
//! for, turned into `waiting` of `GET /api/stream/{id}/status` ("fetching the film's
//! index, 1.2 of 2.9 MB, 3 peers, 1.1 MB/s, about 2 s").

use std::collections::BTreeMap;
use std::io::SeekFrom;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use futures::future::BoxFuture;
use serde::Serialize;
use tokio::io::{AsyncRead, AsyncSeek, ReadBuf};

use super::playlist::Grid;
use super::source::{ByteReader, ByteSource, OpenedReader};

/// What a waiting player waits for, as the status shows it.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Waiting {
    /// `index` (the container's header and index, before the stream can start),
    /// `data` (the bytes of a segment, from the swarm) or `encoding` (the bytes are
    /// here; the pipeline is making the segment).
    pub what: &'static str,
    /// The segment waited for; `None` while the index is read.
    pub segment: Option<usize>,
    /// Bytes the wait needs: the read in flight for the index, the segment's share of
    /// the file (estimated from the average bitrate) for a segment.
    pub bytes_needed: u64,
    /// How many of them are here.
    pub bytes_have: u64,
    /// Peers connected, and the torrent's download rate (bytes/s); `None` for a file
    /// that is not a torrent.
    pub peers: Option<u32>,
    pub rate: Option<u64>,
    /// Seconds until the missing bytes are here at the current rate.
    pub eta_s: Option<f64>,
}

impl Waiting {
    /// A sentence for a person: "segment 12 is still downloading: 1.2 of 3.0 MB here,
    /// 2 peers at 150 kB/s, about 12 s more". `converting`: the stream transcodes.
    pub fn words(&self, converting: bool) -> String {
        let what = self.segment.map_or_else(|| "the film's index".to_string(), |i| format!("segment {i}"));
        if self.what == "encoding" {
            let how = if converting { "converted" } else { "cut" };
            return format!("{what} is still being {how}");
        }
        let mb = |b: u64| b as f64 / 1e6;
        let mut s =
            format!("{what} is still downloading: {:.1} of {:.1} MB here", mb(self.bytes_have), mb(self.bytes_needed));
        if let (Some(p), Some(r)) = (self.peers, self.rate) {
            s.push_str(&format!(", {p} peer{} at {:.0} kB/s", if p == 1 { "" } else { "s" }, r as f64 / 1e3));
        }
        if let Some(eta) = self.eta_s {
            s.push_str(&format!(", about {eta:.0} s more"));
        }
        s
    }

    /// When to ask again (seconds): when the bytes should be here, 2 to 10 s.
    pub fn retry_after(&self) -> u64 {
        self.eta_s.map_or(3, |e| e.ceil() as u64).clamp(2, 10)
    }
}

#[derive(Default)]
struct MeterState {
    /// Where the most recent reader stands.
    pos: u64,
    /// The read in flight: from where, to where.
    request: Option<(u64, u64)>,
    /// Whether that read waits for data.
    blocked: bool,
    /// Segments players wait for, and how many wait for each.
    waiters: BTreeMap<usize, usize>,
}

/// The reads of one stream's file and the players waiting on it. Cheap to share.
#[derive(Default)]
pub struct ReadMeter(Mutex<MeterState>);

/// Unregisters a waiting player when dropped.
pub struct WaitGuard<'a>(&'a ReadMeter, usize);

impl Drop for WaitGuard<'_> {
    fn drop(&mut self) {
        let mut st = self.0.0.lock().unwrap();
        if let Some(n) = st.waiters.get_mut(&self.1) {
            *n -= 1;
            if *n == 0 {
                st.waiters.remove(&self.1);
            }
        }
    }
}

impl ReadMeter {
    /// Notes that a player waits for segment `idx` until the guard drops.
    pub fn wait_for(&self, idx: usize) -> WaitGuard<'_> {
        *self.0.lock().unwrap().waiters.entry(idx).or_default() += 1;
        WaitGuard(self, idx)
    }

    /// Whether the latest read waits for data (from the swarm).
    pub fn blocked(&self) -> bool {
        self.0.lock().unwrap().blocked
    }

    /// What the index reading (before the stream exists) waits for.
    pub fn opening(&self, source: &dyn ByteSource) -> Waiting {
        let st = self.0.lock().unwrap();
        let (from, to) = st.request.unwrap_or((st.pos, st.pos));
        let have = st.pos.clamp(from, to) - from;
        drop(st);
        finish("index", None, to - from, have, source)
    }

    /// What the first player waiting for a segment waits for, if one waits.
    /// `len` is the file's size.
    pub fn waiting(&self, grid: &Grid, len: u64, source: &dyn ByteSource) -> Option<Waiting> {
        let idx = *self.0.lock().unwrap().waiters.keys().next()?;
        Some(self.waiting_at(grid, len, source, idx))
    }

    /// What a player asking for segment `idx` waits for: its bytes (`data`) or the
    /// pipeline (`encoding`).
    pub fn waiting_at(&self, grid: &Grid, len: u64, source: &dyn ByteSource, idx: usize) -> Waiting {
        let st = self.0.lock().unwrap();
        let (pos, blocked) = (st.pos, st.blocked);
        drop(st);
        let at = |ns: u64| (len as u128 * ns as u128 / grid.duration_ns.max(1) as u128) as u64;
        let from = at(grid.start_ns(idx));
        let to = at(grid.start_ns(idx) + grid.duration_of(idx)).max(from);
        let have = pos.clamp(from, to) - from;
        let what = if blocked || have < to - from { "data" } else { "encoding" };
        finish(what, Some(idx), to - from, have, source)
    }

    fn on_request(&self, pos: u64, want: usize) {
        let mut st = self.0.lock().unwrap();
        st.pos = pos;
        match st.request {
            Some((from, to)) if (from..to).contains(&pos) => st.request = Some((from, to.max(pos + want as u64))),
            _ => st.request = Some((pos, pos + want as u64)),
        }
    }

    fn on_result(&self, pos: u64, blocked: bool) {
        let mut st = self.0.lock().unwrap();
        st.pos = pos;
        st.blocked = blocked;
    }
}

fn finish(what: &'static str, segment: Option<usize>, needed: u64, have: u64, source: &dyn ByteSource) -> Waiting {
    let swarm = source.swarm();
    let (peers, rate) = (swarm.map(|s| s.0), swarm.map(|s| s.1));
    let eta_s = rate.filter(|&r| r > 0).map(|r| {
        let s = needed.saturating_sub(have) as f64 / r as f64;
        (s * 10.0).round() / 10.0
    });
    Waiting { what, segment, bytes_needed: needed, bytes_have: have, peers, rate, eta_s }
}

/// A source whose readers report to a meter.
pub struct Metered {
    pub inner: Arc<dyn ByteSource>,
    pub meter: Arc<ReadMeter>,
}

impl ByteSource for Metered {
    fn open(&self) -> BoxFuture<'static, anyhow::Result<OpenedReader>> {
        let (open, meter) = (self.inner.open(), self.meter.clone());
        Box::pin(async move {
            let (reader, len) = open.await?;
            meter.on_result(0, false);
            Ok((Box::new(MeteredReader { reader, meter, pos: 0 }) as Box<dyn ByteReader>, len))
        })
    }
    fn describe(&self) -> String {
        self.inner.describe()
    }
    fn file_name(&self) -> String {
        self.inner.file_name()
    }
    fn swarm(&self) -> Option<(u32, u64)> {
        self.inner.swarm()
    }
    fn hint_bitrate(&self, bytes_per_sec: u64) {
        self.inner.hint_bitrate(bytes_per_sec)
    }
}

struct MeteredReader {
    reader: Box<dyn ByteReader>,
    meter: Arc<ReadMeter>,
    pos: u64,
}

impl AsyncRead for MeteredReader {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        let this = &mut *self;
        this.meter.on_request(this.pos, buf.remaining());
        let before = buf.filled().len();
        let r = Pin::new(&mut this.reader).poll_read(cx, buf);
        match &r {
            Poll::Ready(Ok(())) => {
                this.pos += (buf.filled().len() - before) as u64;
                this.meter.on_result(this.pos, false);
            }
            Poll::Ready(Err(_)) => this.meter.on_result(this.pos, false),
            Poll::Pending => this.meter.on_result(this.pos, true),
        }
        r
    }
}

impl AsyncSeek for MeteredReader {
    fn start_seek(mut self: Pin<&mut Self>, position: SeekFrom) -> std::io::Result<()> {
        Pin::new(&mut self.reader).start_seek(position)
    }
    fn poll_complete(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<u64>> {
        let r = Pin::new(&mut self.reader).poll_complete(cx);
        if let Poll::Ready(Ok(p)) = &r {
            self.pos = *p;
        }
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncSeekExt};

    #[tokio::test]
    async fn a_read_in_flight_and_a_waiting_player() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.bin");
        std::fs::write(&path, vec![7u8; 1000]).unwrap();
        let meter = Arc::new(ReadMeter::default());
        let src = Metered { inner: Arc::new(super::super::LocalFile(path)), meter: meter.clone() };
        let (mut r, len) = src.open().await.unwrap();
        r.seek(SeekFrom::Start(100)).await.unwrap();
        let mut buf = vec![0; 300];
        r.read_exact(&mut buf).await.unwrap();
        let w = meter.opening(&src);
        assert_eq!((w.what, w.segment, w.bytes_needed, w.bytes_have), ("index", None, 300, 300));
        assert_eq!((w.peers, w.rate, w.eta_s), (None, None, None));
        // 10 s over 1000 bytes; segment 1 is 4..8 s, bytes 400..800; the reader is at 400.
        let grid = Grid::uniform(10_000_000_000, (25, 1), 4.0);
        assert_eq!(meter.waiting(&grid, len, &src), None);
        let g = meter.wait_for(1);
        let g2 = meter.wait_for(2);
        let w = meter.waiting(&grid, len, &src).unwrap();
        assert_eq!((w.what, w.segment, w.bytes_needed, w.bytes_have), ("data", Some(1), 400, 0));
        r.read_exact(&mut buf).await.unwrap();
        assert_eq!(meter.waiting(&grid, len, &src).unwrap().bytes_have, 300);
        drop(g);
        assert_eq!(meter.waiting(&grid, len, &src).unwrap().segment, Some(2));
        drop(g2);
        assert_eq!(meter.waiting(&grid, len, &src), None);
    }
}
