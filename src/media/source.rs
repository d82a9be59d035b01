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

use futures::FutureExt;
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

/// Opens `source` and names its container when the file's first bytes and its
/// extension agree (MP4/MOV, Matroska/WebM, AVI). Waits at most `wait` for those bytes.
///
/// The caps are meant for [`force_type`]: GStreamer's typefinding, run in pull mode on
/// every random-access source whatever caps it has, peeks at the end of the file (ID3
/// and APE tags) and at its middle. On a torrent those are two far-away pieces, fetched
/// one after the other before anything plays (seconds on a slow swarm).
pub async fn open_typed(
    source: &dyn ByteSource,
    wait: std::time::Duration,
) -> anyhow::Result<(OpenedReader, Option<gst::Caps>)> {
    use anyhow::Context;
    let (mut reader, len) = source.open().await.context("opening the file")?;
    let mut head = [0u8; 12];
    let caps = match tokio::time::timeout(wait, reader.read_exact(&mut head)).await {
        Err(_) => anyhow::bail!("the file's first bytes did not arrive within {wait:?}"),
        Ok(Err(_)) => None, // shorter than 12 bytes: let typefinding say what it is
        Ok(Ok(_)) => container_caps(&source.file_name(), &head),
    };
    reader.seek(SeekFrom::Start(0)).await.context("reading the file")?;
    Ok(((reader, len), caps))
}

/// The container named by both the file's extension and its first 12 bytes, if they agree.
pub(crate) fn container_caps(name: &str, head: &[u8; 12]) -> Option<gst::Caps> {
    let ext = name.rsplit('.').next()?.to_ascii_lowercase();
    let caps = match ext.as_str() {
        "mp4" | "m4v" | "mov" if [&b"ftyp"[..], b"moov", b"mdat", b"free", b"wide", b"skip"].contains(&&head[4..8]) => {
            "video/quicktime"
        }
        "mkv" if head[..4] == [0x1a, 0x45, 0xdf, 0xa3] => "video/x-matroska",
        "webm" if head[..4] == [0x1a, 0x45, 0xdf, 0xa3] => "video/webm",
        "avi" if &head[..4] == b"RIFF" && &head[8..12] == b"AVI " => "video/x-msvideo",
        _ => return None,
    };
    caps.parse().ok()
}

/// A `parsebin` that takes `caps`, when known, as the stream's type.
pub fn parsebin(caps: Option<&gst::Caps>) -> anyhow::Result<gst::Element> {
    let parse = gst::ElementFactory::make("parsebin").build()?;
    if let Some(caps) = caps {
        force_type(&parse, caps);
    }
    Ok(parse)
}

/// Makes the typefinder inside `bin` (a `parsebin` or `decodebin`) take `caps` as the
/// stream's type instead of reading the file to find it.
pub fn force_type(bin: &gst::Element, caps: &gst::Caps) {
    use gst::prelude::*;
    let typefind = bin.downcast_ref::<gst::Bin>().and_then(|b| b.by_name("typefind"));
    match typefind {
        Some(t) => t.set_property("force-caps", caps),
        None => tracing::debug!("no typefind in {}", bin.name()),
    }
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
/// in large ones. Only what is already here is read ahead: a read that waited for the
/// next 512 KiB of a torrent made the first frame and every segment wait for bytes
/// past the ones they need (2.3 s at 225 KB/s).
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
        let need = (end - pos) as usize;
        let mut got = 0;
        while got < fill {
            let read = self.reader.read(&mut buf[got..]);
            let n = if got < need {
                read.await?
            } else {
                match read.now_or_never() {
                    Some(r) => r?,
                    None => break,
                }
            };
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

#[cfg(test)]
mod tests {
    use std::pin::Pin;
    use std::task::{Context, Poll};

    use super::*;

    /// A local file that records every position a reader of it seeks to.
    struct Recorded(PathBuf, Arc<Mutex<Vec<u64>>>);
    struct RecordingReader(tokio::fs::File, Arc<Mutex<Vec<u64>>>);

    impl AsyncRead for RecordingReader {
        fn poll_read(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &mut tokio::io::ReadBuf<'_>,
        ) -> Poll<std::io::Result<()>> {
            Pin::new(&mut self.0).poll_read(cx, buf)
        }
    }
    impl AsyncSeek for RecordingReader {
        fn start_seek(mut self: Pin<&mut Self>, to: SeekFrom) -> std::io::Result<()> {
            if let SeekFrom::Start(p) = to {
                self.1.lock().unwrap().push(p);
            }
            Pin::new(&mut self.0).start_seek(to)
        }
        fn poll_complete(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<u64>> {
            Pin::new(&mut self.0).poll_complete(cx)
        }
    }
    impl ByteSource for Recorded {
        fn open(&self) -> BoxFuture<'static, anyhow::Result<OpenedReader>> {
            let (path, seeks) = (self.0.clone(), self.1.clone());
            Box::pin(async move {
                let f = tokio::fs::File::open(&path).await?;
                let len = f.metadata().await?.len();
                Ok((Box::new(RecordingReader(f, seeks)) as Box<dyn ByteReader>, len))
            })
        }
        fn describe(&self) -> String {
            self.0.display().to_string()
        }
    }

    #[test]
    fn container_needs_extension_and_bytes_to_agree() {
        gst::init().unwrap();
        let mkv = *b"\x1a\x45\xdf\xa3\x01\0\0\0\0\0\0\x1f";
        let mp4 = *b"\0\0\0\x20ftypisom";
        assert!(container_caps("a.mkv", &mkv).is_some());
        assert!(container_caps("a.MP4", &mp4).is_some());
        assert!(container_caps("a.mp4", &mkv).is_none(), "an MKV named .mp4 is left to typefinding");
        assert!(container_caps("a.mkv", &mp4).is_none());
        assert!(container_caps("a.bin", &mp4).is_none());
    }

    /// The probe of a file with its index first reads only the file's start (the index
    /// and the first frames): typefinding's peeks at the end and the middle would be two
    /// far-away pieces on a torrent.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn probe_reads_no_far_away_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let mkv_cues_first = &["-reserve_index_space", "4096", "-cluster_time_limit", "1000"][..];
        for (name, extra) in [("film.mp4", &["-movflags", "+faststart"][..]), ("film.mkv", mkv_cues_first)] {
            let path = dir.path().join(name);
            let status = std::process::Command::new("ffmpeg")
                .args(["-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25:duration=8"])
                .args(["-f", "lavfi", "-i", "sine=duration=8", "-c:v", "libx264", "-preset", "ultrafast"])
                .args(["-b:v", "4M", "-c:a", "aac"])
                .args(extra)
                .arg(&path)
                .status()
                .expect("ffmpeg");
            assert!(status.success());
            let len = std::fs::metadata(&path).unwrap().len();
            let seeks = Arc::new(Mutex::new(Vec::new()));
            let info = crate::media::probe::probe(&Recorded(path, seeks.clone()), std::time::Duration::from_secs(20))
                .await
                .unwrap();
            assert_eq!(info.duration.as_secs(), 8, "{name}");
            let seeks = seeks.lock().unwrap().clone();
            assert!(seeks.iter().all(|&p| p < len / 4), "{name} ({len} bytes): seeks {seeks:?}");
        }
    }
}
