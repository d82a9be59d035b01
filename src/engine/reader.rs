//! A reader over one file of a torrent: librqbit's `FileStream` plus the permit that
//! caps how many readers are open at once.

use std::io::SeekFrom;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use librqbit::ManagedTorrent;
use tokio::io::{AsyncRead, AsyncSeek, ReadBuf};
use tokio::sync::OwnedSemaphorePermit;

/// Reads one file of a torrent. A read waits for its piece and moves it forward in the
/// download order. Dropping the reader releases its permit.
pub struct FileReader {
    stream: Pin<Box<dyn ReadSeek>>,
    _permit: OwnedSemaphorePermit,
    name: String,
    len: u64,
    handle: Arc<ManagedTorrent>,
}

/// librqbit's `FileStream` is not nameable outside the crate, so it is kept boxed.
pub(super) trait ReadSeek: AsyncRead + AsyncSeek + Send + Sync {}
impl<T: AsyncRead + AsyncSeek + Send + Sync> ReadSeek for T {}

impl FileReader {
    pub(super) fn new(
        stream: impl ReadSeek + 'static,
        permit: OwnedSemaphorePermit,
        name: String,
        len: u64,
        handle: Arc<ManagedTorrent>,
    ) -> Self {
        Self { stream: Box::pin(stream), _permit: permit, name, len, handle }
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
}

impl AsyncRead for FileReader {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        self.stream.as_mut().poll_read(cx, buf)
    }
}

impl AsyncSeek for FileReader {
    fn start_seek(mut self: Pin<&mut Self>, position: SeekFrom) -> std::io::Result<()> {
        self.stream.as_mut().start_seek(position)
    }

    fn poll_complete(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<u64>> {
        self.stream.as_mut().poll_complete(cx)
    }
}
