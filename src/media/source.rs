//! Byte sources for the media pipelines, and the `appsrc` feeder that answers
//! GStreamer's `need-data` / `seek-data` from one of them in random-access mode.
//!
//! GStreamer calls the feeder on its own streaming threads, never on a tokio worker,
//! so a read that waits for a torrent piece blocks only that streaming thread: the
//! read future runs there through `Handle::block_on`, and a cancellation token
//! interrupts it when the pipeline is torn down.

use std::io::SeekFrom;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;
use gstreamer as gst;
use gstreamer_app as gst_app;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncSeek, AsyncSeekExt};
use tokio_util::sync::CancellationToken;

/// Anything a pipeline can read a file from: a local file, a torrent file.
pub trait ByteReader: AsyncRead + AsyncSeek + Send + Unpin {}
impl<T: AsyncRead + AsyncSeek + Send + Unpin> ByteReader for T {}

/// A boxed reader and the length of what it reads.
pub type OpenedReader = (Box<dyn ByteReader>, u64);

/// Opens fresh readers over one file. Each pipeline (probe, every restart) opens its own.
pub trait ByteSource: Send + Sync + 'static {
    /// Opens a reader positioned at 0. Cancelling the future abandons the open.
    fn open(&self) -> BoxFuture<'static, anyhow::Result<OpenedReader>>;
    /// A short name for logs.
    fn describe(&self) -> String;
    /// The file's name, whose extension names the container.
    fn file_name(&self) -> String {
        self.describe()
    }
    /// Peers connected and download rate (bytes/s), for a file that comes from a swarm.
    fn swarm(&self) -> Option<(u32, u64)> {
        None
    }
    /// Tells the source the film's average bitrate (bytes/s), which sizes a torrent
    /// reader's read-ahead.
    fn hint_bitrate(&self, _bytes_per_sec: u64) {}
}

/// Caps for a container known from the file's extension. Given to `appsrc`, they spare
/// typefinding, which reads the end and the middle of the file: on a torrent that
/// means waiting for two more far-away pieces before anything plays.
pub fn container_caps(name: &str) -> Option<gst::Caps> {
    let ext = name.rsplit('.').next()?.to_ascii_lowercase();
    let caps = match ext.as_str() {
        "mp4" | "m4v" | "mov" => "video/quicktime",
        "mkv" => "video/x-matroska",
        "webm" => "video/webm",
        "ts" | "m2ts" | "mts" => "video/mpegts, systemstream=(boolean)true",
        "avi" => "video/x-msvideo",
        _ => return None,
    };
    caps.parse().ok()
}

/// A file on the local disk.
pub struct LocalFile(pub PathBuf);

impl ByteSource for LocalFile {
    fn open(&self) -> BoxFuture<'static, anyhow::Result<OpenedReader>> {
        let path = self.0.clone();
        Box::pin(async move {
            let f = tokio::fs::File::open(&path).await?;
            let len = f.metadata().await?.len();
            Ok((Box::new(f) as Box<dyn ByteReader>, len))
        })
    }
    fn describe(&self) -> String {
        self.0.display().to_string()
    }
}

/// One file of a torrent, read through the engine (reads pull their pieces forward).
pub struct TorrentSource {
    pub engine: Arc<crate::engine::Engine>,
    pub id: String,
    pub index: usize,
    /// The file's path inside the torrent.
    pub name: String,
}

impl ByteSource for TorrentSource {
    fn open(&self) -> BoxFuture<'static, anyhow::Result<OpenedReader>> {
        let (engine, id, index) = (self.engine.clone(), self.id.clone(), self.index);
        Box::pin(async move {
            let r = engine.open_file(&id, index).await?;
            let len = r.len();
            Ok((Box::new(r) as Box<dyn ByteReader>, len))
        })
    }
    fn describe(&self) -> String {
        format!("{}/{}", self.id, self.index)
    }
    fn file_name(&self) -> String {
        self.name.clone()
    }
    fn swarm(&self) -> Option<(u32, u64)> {
        self.engine.view(&self.id).ok().map(|v| (v.peers, v.download_rate))
    }
    fn hint_bitrate(&self, bytes_per_sec: u64) {
        self.engine.set_bitrate(&self.id, self.index, bytes_per_sec);
    }
}

/// Read-ahead size: GStreamer demuxers ask for small pieces, a torrent answers best
/// in large ones.
const CHUNK: usize = 512 * 1024;

struct Feed {
    reader: Box<dyn ByteReader>,
    len: u64,
    /// Where the next `need-data` reads from.
    pos: u64,
    /// Where the reader is positioned.
    reader_pos: u64,
    /// Bytes read ahead, starting at `cache_start`.
    cache: Vec<u8>,
    cache_start: u64,
}

impl Feed {
    /// Returns `want` bytes at `pos` (fewer only at the end of the file).
    async fn read_at(&mut self, pos: u64, want: usize) -> std::io::Result<Vec<u8>> {
        let end = (pos + want as u64).min(self.len);
        let cache_end = self.cache_start + self.cache.len() as u64;
        if pos >= self.cache_start && end <= cache_end {
            let a = (pos - self.cache_start) as usize;
            return Ok(self.cache[a..a + (end - pos) as usize].to_vec());
        }
        if self.reader_pos != pos {
            self.reader.seek(SeekFrom::Start(pos)).await?;
            self.reader_pos = pos;
        }
        let fill = ((self.len - pos) as usize).min(want.max(CHUNK));
        let mut buf = vec![0u8; fill];
        let mut got = 0;
        while got < fill {
            let n = self.reader.read(&mut buf[got..]).await?;
            if n == 0 {
                break;
            }
            got += n;
        }
        buf.truncate(got);
        self.reader_pos = pos + got as u64;
        let out = buf[..got.min((end - pos) as usize)].to_vec();
        self.cache = buf;
        self.cache_start = pos;
        Ok(out)
    }
}

/// Configures `appsrc` to read `reader` in random-access mode. Reads run on the calling
/// streaming thread through `rt`; `cancel` interrupts a read that waits (pipeline
/// teardown), after which the feeder answers nothing more.
pub fn attach(
    appsrc: &gst_app::AppSrc,
    opened: OpenedReader,
    caps: Option<gst::Caps>,
    rt: tokio::runtime::Handle,
    cancel: CancellationToken,
) {
    attach_timed(appsrc, opened, caps, rt, cancel, Arc::default());
}

/// As `attach`, adding the milliseconds its reads spend waiting for bytes (a torrent
/// piece not downloaded yet) to `read_wait_ms`, so a stall watchdog can tell a slow
/// source from a stuck pipeline.
pub fn attach_timed(
    appsrc: &gst_app::AppSrc,
    opened: OpenedReader,
    caps: Option<gst::Caps>,
    rt: tokio::runtime::Handle,
    cancel: CancellationToken,
    read_wait_ms: Arc<std::sync::atomic::AtomicU64>,
) {
    let (reader, len) = opened;
    if let Some(caps) = caps {
        appsrc.set_caps(Some(&caps));
    }
    appsrc.set_stream_type(gst_app::AppStreamType::RandomAccess);
    appsrc.set_size(len as i64);
    appsrc.set_format(gst::Format::Bytes);
    let feed = Arc::new(Mutex::new(Feed { reader, len, pos: 0, reader_pos: 0, cache: Vec::new(), cache_start: 0 }));
    let seek_feed = feed.clone();
    appsrc.set_callbacks(
        gst_app::AppSrcCallbacks::builder()
            .need_data(move |src, n| {
                if cancel.is_cancelled() {
                    return;
                }
                let mut f = feed.lock().unwrap();
                let pos = f.pos;
                if pos >= f.len {
                    let _ = src.end_of_stream();
                    return;
                }
                let want = if n == 0 || n == u32::MAX { 64 * 1024 } else { n as usize };
                let began = std::time::Instant::now();
                let res = rt.block_on(async {
                    tokio::select! {
                        r = f.read_at(pos, want) => Some(r),
                        _ = cancel.cancelled() => None,
                    }
                });
                read_wait_ms.fetch_add(began.elapsed().as_millis() as u64, std::sync::atomic::Ordering::Relaxed);
                if began.elapsed() > std::time::Duration::from_secs(1) {
                    tracing::info!("read of {want} bytes at {pos} of {} waited {:?}", f.len, began.elapsed());
                }
                match res {
                    None => {}
                    Some(Ok(data)) if data.is_empty() => {
                        let _ = src.end_of_stream();
                    }
                    Some(Ok(data)) => {
                        f.pos = pos + data.len() as u64;
                        let mut buf = gst::Buffer::from_mut_slice(data);
                        buf.get_mut().unwrap().set_offset(pos);
                        drop(f);
                        let _ = src.push_buffer(buf);
                    }
                    Some(Err(e)) => {
                        gst::element_error!(src, gst::ResourceError::Read, ["reading at byte {pos} failed: {e}"]);
                    }
                }
            })
            .seek_data(move |_, offset| {
                seek_feed.lock().unwrap().pos = offset;
                true
            })
            .build(),
    );
}
