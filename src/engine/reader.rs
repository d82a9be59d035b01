//! A reader over one file of a torrent: librqbit's `FileStream` plus the permit that
//! caps how many readers are open at once, with a read-ahead sized by the film's
//! bitrate and the swarm's rate.

use std::io::SeekFrom;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use librqbit::{FileStream, ManagedTorrent};
use tokio::io::{AsyncRead, AsyncSeek, ReadBuf};
use tokio::sync::OwnedSemaphorePermit;

/// Reads one file of a torrent. A read waits for its piece and moves it forward in the
/// download order, with the pieces of the read-ahead behind it. Dropping the reader
/// releases its permit.
pub struct FileReader {
    stream: FileStream,
    _permit: OwnedSemaphorePermit,
    name: String,
    len: u64,
    handle: Arc<ManagedTorrent>,
    /// The file's bitrate in bytes per second (0 = not known), shared with the engine.
    bitrate: Arc<AtomicU64>,
    /// A read-ahead set by hand, which the bitrate does not change.
    fixed: Option<u64>,
    /// When the read-ahead was last sized.
    sized_at: Option<Instant>,
}

/// Seconds of film a reader's read-ahead covers: the pieces a player needs next go
/// first; beyond them, the rest of the torrent downloads in its usual order.
const AHEAD_SECS: u64 = 30;
/// Seconds of the swarm's rate the read-ahead covers at least, so that every peer has
/// a piece of it to work on.
const AHEAD_SWARM_SECS: u64 = 2;
const MIN_AHEAD: u64 = 2 << 20;
const MAX_AHEAD: u64 = 256 << 20;
/// How often the read-ahead follows the swarm's rate.
const RESIZE_EVERY: Duration = Duration::from_secs(1);

/// The read-ahead in bytes for a film of `bitrate` bytes per second on a swarm giving
/// `swarm` bytes per second; `None` (librqbit's default, 32 MiB) when the bitrate is
/// not known.
pub fn readahead(bitrate: u64, swarm: u64) -> Option<u64> {
    (bitrate > 0).then(|| {
        (bitrate.saturating_mul(AHEAD_SECS)).max(swarm.saturating_mul(AHEAD_SWARM_SECS)).clamp(MIN_AHEAD, MAX_AHEAD)
    })
}

impl FileReader {
    pub(super) fn new(
        stream: FileStream,
        permit: OwnedSemaphorePermit,
        name: String,
        len: u64,
        handle: Arc<ManagedTorrent>,
        bitrate: Arc<AtomicU64>,
    ) -> Self {
        let mut r = Self { stream, _permit: permit, name, len, handle, bitrate, fixed: None, sized_at: None };
        r.resize();
        r
    }

    /// The file's path inside the torrent.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The file's length in bytes.
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether the torrent is paused or failed, so that a read waiting for a piece
    /// would wait for ever.
    pub fn is_stalled(&self) -> bool {
        self.handle.is_paused() || self.handle.live().is_none()
    }

    /// Fixes the read-ahead at `bytes` (a reader of a few header bytes needs only
    /// their pieces).
    pub fn set_readahead(&mut self, bytes: u64) {
        self.fixed = Some(bytes);
        self.stream.set_readahead(bytes);
    }

    /// Sizes the read-ahead from the bitrate and the swarm's current rate, at most
    /// once per `RESIZE_EVERY`.
    fn resize(&mut self) {
        if self.fixed.is_some() || self.sized_at.is_some_and(|t| t.elapsed() < RESIZE_EVERY) {
            return;
        }
        self.sized_at = Some(Instant::now());
        let swarm = self.handle.live().map_or(0, |l| l.down_speed_estimator().bps());
        if let Some(bytes) = readahead(self.bitrate.load(Ordering::Relaxed), swarm) {
            self.stream.set_readahead(bytes);
        }
    }
}

impl AsyncRead for FileReader {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        self.resize();
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncSeek for FileReader {
    fn start_seek(mut self: Pin<&mut Self>, position: SeekFrom) -> std::io::Result<()> {
        Pin::new(&mut self.stream).start_seek(position)
    }

    fn poll_complete(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<u64>> {
        Pin::new(&mut self.stream).poll_complete(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::readahead;

    #[test]
    fn readahead_follows_the_bitrate_and_the_swarm() {
        assert_eq!(readahead(0, 10 << 20), None);
        // 740 KB/s of film on an 800 KB/s swarm: 30 s of film.
        assert_eq!(readahead(740_000, 800_000), Some(740_000 * 30));
        // A fast swarm: two seconds of it, so that every peer has work.
        assert_eq!(readahead(100_000, 50 << 20), Some(100 << 20));
        // Bounds.
        assert_eq!(readahead(1000, 0), Some(2 << 20));
        assert_eq!(readahead(100 << 20, 0), Some(256 << 20));
    }
}
