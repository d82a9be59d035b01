//! Every stream of the daemon, by key: opened (probed once however many players ask),
//! kept while players use it, swept when idle, and the encoder registry they share.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::{ByteSource, EncoderInfo, EncoderRegistry, Mode, Stream, StreamKey, StreamPhase, Waiting};
use super::{cache, gop, keyframes, probe, waiting};
use crate::config::MediaConfig;

/// The media side of the daemon: the encoder registry and every stream.
pub struct Media {
    pub config: MediaConfig,
    cache_dir: PathBuf,
    registry: tokio::sync::OnceCell<Arc<EncoderRegistry>>,
    streams: Mutex<HashMap<StreamKey, Arc<Stream>>>,
    /// Whether the transcoder service runs; stopped, it refuses new streams.
    running: std::sync::atomic::AtomicBool,
    /// Streams being probed, so concurrent requests probe once.
    opening: Mutex<HashMap<StreamKey, Arc<tokio::sync::OnceCell<Arc<Stream>>>>>,
    /// The metered sources of the streams being probed (what their players wait for).
    opening_sources: Mutex<HashMap<StreamKey, Arc<waiting::Metered>>>,
    /// Cancelled when the daemon stops: ends the sweeper and every stream's tasks.
    shutdown: CancellationToken,
    /// Subtitle cues read so far, per stream and subtitle track.
    subtitle_cues: Mutex<HashMap<(StreamKey, usize), SubtitleCell>>,
    /// The daemon's binary, when the encoder probe runs in a child process of it.
    probe_exe: std::sync::OnceLock<PathBuf>,
}

type SubtitleCell = Arc<tokio::sync::OnceCell<Arc<Vec<super::subtitles::Cue>>>>;

impl Media {
    /// Creates the media state. Call `start` inside the runtime to probe encoders and
    /// run the cache sweeper.
    pub fn new(config: MediaConfig, cache_dir: PathBuf, shutdown: CancellationToken) -> Arc<Self> {
        Arc::new(Self {
            shutdown,
            config,
            cache_dir,
            registry: tokio::sync::OnceCell::new(),
            streams: Mutex::default(),
            running: std::sync::atomic::AtomicBool::new(true),
            opening: Mutex::default(),
            opening_sources: Mutex::default(),
            subtitle_cues: Mutex::default(),
            probe_exe: Default::default(),
        })
    }

    /// Creates the media state with an already probed encoder registry.
    pub fn with_registry(config: MediaConfig, cache_dir: PathBuf, registry: EncoderRegistry) -> Arc<Self> {
        let m = Self::new(config, cache_dir, CancellationToken::new());
        let _ = m.registry.set(Arc::new(registry));
        m
    }

    /// Makes the encoder probe run in a child process, `exe probe-encoders` (see
    /// `encoder_probe`). Call before `start`.
    pub fn probe_in_child(&self, exe: PathBuf) {
        let _ = self.probe_exe.set(exe);
    }

    /// Probes the encoders in the background and starts the cache sweeper.
    pub fn start(self: &Arc<Self>) {
        let this = self.clone();
        crate::system::spawn("encoder-probe", &self.shutdown, async move {
            this.registry().await;
            // The test encodes' buffers go back to the kernel.
            crate::system::memory::trim_soon();
            Ok(())
        });
        let weak = Arc::downgrade(self);
        crate::system::spawn("media-sweeper", &self.shutdown, async move {
            let mut tick = tokio::time::interval(Duration::from_secs(5));
            loop {
                tick.tick().await;
                let Some(this) = weak.upgrade() else {
                    return Ok(());
                };
                this.sweep();
            }
        });
    }

    /// Follows the engine's events: a torrent removed (with or without its data) or
    /// evicted loses its streams and its HLS cache, so nothing of it is served again
    /// when it comes back (a stream's cache is only ever filled by its own runs).
    pub fn follow_engine(self: &Arc<Self>, mut events: tokio::sync::broadcast::Receiver<crate::engine::Event>) {
        use crate::engine::EventKind;
        let weak = Arc::downgrade(self);
        crate::system::spawn("media-follow-engine", &self.shutdown, async move {
            loop {
                let ev = match events.recv().await {
                    Ok(ev) => ev,
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(_) => return Ok(()),
                };
                if !matches!(ev.event, EventKind::Removed | EventKind::Evicted) {
                    continue;
                }
                let Some(this) = weak.upgrade() else { return Ok(()) };
                this.forget_torrent(&ev.torrent_id);
            }
        });
    }

    /// Stops every stream of `torrent` and deletes its cache folders, those of streams
    /// not open now included. Returns how many folders were removed.
    pub fn forget_torrent(&self, torrent: &str) -> usize {
        let keys: Vec<StreamKey> = self.of_torrent(torrent).iter().map(|s| s.key.clone()).collect();
        for k in &keys {
            self.remove(k);
        }
        let prefix = format!("{torrent}-");
        let mut removed = keys.len();
        for e in std::fs::read_dir(&self.cache_dir).into_iter().flatten().flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.strip_prefix(&prefix).is_some_and(|rest| rest.parse::<usize>().is_ok())
                && std::fs::remove_dir_all(e.path()).is_ok()
            {
                removed += 1;
            }
        }
        tracing::info!(torrent, "HLS cache of a removed torrent deleted ({removed} streams)");
        removed
    }

    /// The encoder registry, probing it on first use (a few seconds).
    pub async fn registry(&self) -> Arc<EncoderRegistry> {
        self.registry
            .get_or_init(|| async {
                let (pin, exclude) = (self.config.encoder.clone(), self.config.exclude_encoders.clone());
                let exe = self.probe_exe.get().cloned();
                Arc::new(
                    tokio::task::spawn_blocking(move || match exe {
                        Some(exe) => super::encoder_probe::probe_in_child(&exe, &pin, &exclude),
                        None => EncoderRegistry::probe(&pin, &exclude),
                    })
                    .await
                    .unwrap_or_default(),
                )
            })
            .await
            .clone()
    }

    /// The probed encoders, empty until the probe finished.
    pub fn encoders(&self) -> Vec<EncoderInfo> {
        self.registry.get().map(|r| r.encoders.clone()).unwrap_or_default()
    }

    /// Whether the encoder probe has finished.
    pub fn encoders_probed(&self) -> bool {
        self.registry.initialized()
    }

    /// The encoder new transcodes use.
    pub fn selected_encoder(&self) -> Option<String> {
        self.registry.get().and_then(|r| r.selected().map(|e| e.name.clone()))
    }

    /// The stream for `key`, probing `source` when it is new. Probe failures are not
    /// cached, so a retry probes again.
    pub async fn open(
        &self,
        key: &StreamKey,
        source: Arc<dyn ByteSource>,
        probe_timeout: Duration,
    ) -> anyhow::Result<Arc<Stream>> {
        if let Some(s) = self.get(key) {
            return Ok(s);
        }
        if !self.is_running() {
            anyhow::bail!("the transcoder is stopped; start it through /api/services/transcoder/start");
        }
        let cell = self.opening.lock().unwrap().entry(key.clone()).or_default().clone();
        let metered = self
            .opening_sources
            .lock()
            .unwrap()
            .entry(key.clone())
            .or_insert_with(|| {
                let meter = Default::default();
                Arc::new(waiting::Metered { inner: source, meter })
            })
            .clone();
        let source: Arc<dyn ByteSource> = metered.clone();
        let res = cell
            .get_or_try_init(|| async {
                let mut info = probe::probe(source.as_ref(), probe_timeout).await?;
                let (mut reader, len) = source.open().await?;
                // The engine's fast start knows the bitrate of an MKV or MP4 from its
                // header; an AVI or MPEG-TS has it from the probe.
                if let Some(secs) = Some(info.duration.as_secs()).filter(|&s| s > 0) {
                    source.hint_bitrate(len / secs);
                }
                let copies_video = info.mode(None) != Mode::Transcode;
                let keyframes = match copies_video {
                    true => tokio::time::timeout(
                        probe_timeout,
                        keyframes::read(&mut *reader, len, &source.file_name()),
                    )
                    .await
                    .ok()
                    .flatten(),
                    false => None,
                };
                drop(reader);
                // No index: the video's own keyframes, over the first three segments.
                if copies_video && keyframes.is_none() {
                    let seg_ns = super::playlist::Grid::uniform(info.duration.as_nanos() as u64, info.video.fps, self.config.segment_seconds).seg_ns;
                    let gap = gop::longest_gap(source.as_ref(), 3 * seg_ns, probe_timeout).await;
                    if gap.is_some_and(|g| g > seg_ns) {
                        tracing::info!(stream = %key, "keyframes {:.1} s apart and no index: transcoding", gap.unwrap_or(0) as f64 / 1e9);
                        info.video.gop_too_long = true;
                    }
                }
                let registry = self.registry().await;
                let dir = self.cache_dir.join(key.dir_name());
                let stream = Stream::new(
                    key.clone(),
                    metered.clone(),
                    info,
                    keyframes.as_deref(),
                    len,
                    &self.config,
                    dir,
                    registry,
                    self.shutdown.child_token(),
                )?;
                tracing::info!(stream = %key, mode = stream.mode.as_str(), segments = stream.grid.count, "stream ready");
                self.streams
                    .lock()
                    .unwrap()
                    .insert(key.clone(), stream.clone());
                anyhow::Ok(stream)
            })
            .await
            .cloned();
        self.opening.lock().unwrap().remove(key);
        self.opening_sources.lock().unwrap().remove(key);
        res
    }

    /// What the players of a stream still being probed wait for (its index).
    pub fn opening_wait(&self, key: &StreamKey) -> Option<Waiting> {
        let src = self.opening_sources.lock().unwrap().get(key).cloned()?;
        Some(src.meter.opening(src.as_ref()))
    }

    /// The keys of the streams of one torrent being probed.
    pub fn find_opening(&self, torrent: &str) -> Vec<StreamKey> {
        let map = self.opening_sources.lock().unwrap();
        map.keys().filter(|k| k.torrent == torrent).cloned().collect()
    }

    pub fn is_running(&self) -> bool {
        self.running.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Stops the transcoder service: every stream ends and its cache is freed; new
    /// streams are refused until `start_service`.
    pub fn stop_service(&self) {
        self.running.store(false, std::sync::atomic::Ordering::SeqCst);
        let keys: Vec<StreamKey> = self.streams.lock().unwrap().keys().cloned().collect();
        for key in keys {
            self.remove(&key);
        }
    }

    pub fn start_service(&self) {
        self.running.store(true, std::sync::atomic::Ordering::SeqCst);
    }

    /// Streams known now.
    pub fn stream_count(&self) -> usize {
        self.streams.lock().unwrap().len()
    }

    /// Streams whose pipeline is running now.
    pub fn active_pipelines(&self) -> usize {
        self.streams.lock().unwrap().values().filter(|s| s.status().state == StreamPhase::Running).count()
    }

    pub fn get(&self, key: &StreamKey) -> Option<Arc<Stream>> {
        self.streams.lock().unwrap().get(key).cloned()
    }

    /// The streams of every file of one torrent.
    pub fn of_torrent(&self, torrent: &str) -> Vec<Arc<Stream>> {
        self.streams.lock().unwrap().iter().filter(|(k, _)| k.torrent == torrent).map(|(_, s)| s.clone()).collect()
    }

    /// The cues of subtitle track `track` of stream `key`, read by `load` on first use.
    /// A failed read is not kept, so the next request tries again.
    pub async fn subtitle_cues(
        &self,
        key: &StreamKey,
        track: usize,
        load: impl std::future::Future<Output = anyhow::Result<Vec<super::subtitles::Cue>>>,
    ) -> anyhow::Result<Arc<Vec<super::subtitles::Cue>>> {
        let cell = self.subtitle_cues.lock().unwrap().entry((key.clone(), track)).or_default().clone();
        cell.get_or_try_init(|| async { load.await.map(Arc::new) }).await.cloned()
    }

    /// Stops a stream and deletes its cache. Returns whether it existed.
    pub fn remove(&self, key: &StreamKey) -> bool {
        self.subtitle_cues.lock().unwrap().retain(|(k, _), _| k != key);
        let s = self.streams.lock().unwrap().remove(key);
        if let Some(s) = &s {
            s.stop_and_clear();
        }
        s.is_some()
    }

    fn sweep(&self) {
        let streams: Vec<Arc<Stream>> = self.streams.lock().unwrap().values().cloned().collect();
        for key in cache::sweep_all(&streams, &self.config) {
            self.remove(&key);
        }
    }
}
