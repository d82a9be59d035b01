//! The HLS session manager: one `Stream` per (torrent, file), sharing one pipeline run
//! among its clients, producing segments on demand, and keeping them as a cache.
//!
//! A stream's run moves through these states:
//!
//! ```text
//!   none ──request for a missing segment──▶ running ──run-ahead reached──▶ paused
//!    ▲                                       │  ▲                            │
//!    │                                       │  └──request nearer the end────┘
//!    └──EOS / idle timeout / DELETE──────────┤
//!                                            ├──request far away──▶ running (restarted there)
//!                                            ├──encoder error──▶ running (next encoder, same place)
//!                                            ├──a fast-start run reaches its run-ahead──▶ paused,
//!                                            │     then running (a new run at full quality, same place)
//!                                            └──media error──▶ failed (this stream only)
//! ```

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::{mpsc, watch};

use super::encoder::{EncodeSettings, EncoderRegistry, start_preset};
use super::key::StreamKey;
use super::pipeline::{self, RunEvent, RunHandle, RunSpec};
use super::playlist::{self, Grid};
use super::probe::{MediaInfo, Mode};
use super::source::ByteSource;
use super::waiting::{Metered, ReadMeter};
use tokio_util::sync::CancellationToken;

use crate::config::MediaConfig;

mod housekeeping;
mod status;
mod waits;
mod watchdog;

pub use status::{StreamPhase, StreamStatus};

/// A fast-start run this many segments ahead of the players hands over to a run at
/// full quality (see `encoder::start_preset`).
const HANDOVER_AHEAD: usize = 3;
/// How long a run waits for the file's first bytes (the probe has read them already).
const OPEN_WAIT: Duration = Duration::from_secs(30);

/// What went wrong with a stream request.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    #[error("segment {0} does not exist")]
    NoSuchSegment(usize),
    #[error("the stream failed: {0}")]
    Failed(String),
    #[error("segment {0} was not ready within {1} s")]
    NotReady(usize, u64),
}

struct Segment {
    path: PathBuf,
    bytes: u64,
    last_access: Instant,
}

struct ActiveRun {
    id: u64,
    handle: RunHandle,
    start: usize,
    /// The next segment it will produce.
    next: usize,
    /// Encoding with the start preset: replaced by a full-quality run once ahead.
    fast: bool,
    /// When it last produced a segment (or started, or resumed), and how long its
    /// source had waited for bytes by then: the stall watchdog's clock.
    progress_at: Instant,
    read_wait_at: Duration,
}

#[derive(Default)]
struct StreamState {
    segments: BTreeMap<usize, Segment>,
    run: Option<ActiveRun>,
    /// A run being started at this segment (its reader is opening).
    starting: Option<usize>,
    /// The furthest segment asked for since the run started.
    furthest: usize,
    failed: Option<String>,
    /// Segments a run started at and ended without producing (the file is cut short or
    /// damaged there): asked for again, they fail at once rather than restart forever.
    unproducible: std::collections::BTreeSet<usize>,
    encoder: Option<String>,
    failed_encoders: Vec<String>,
    /// Encoders that passed a test encode at this stream's size.
    checked_encoders: Vec<String>,
    /// How many runs built an encoder (0 for passthrough).
    encoder_runs: u32,
    /// Wall seconds a segment took per second of media, as measured on this stream
    /// (the inverse of the encoder's speed here); `None` before the first segment.
    wall_per_media: Option<f64>,
    clients: HashMap<String, Instant>,
    last_access: Option<(Instant, SystemTime)>,
}

/// One file being served as HLS.
pub struct Stream {
    pub key: StreamKey,
    pub info: Arc<MediaInfo>,
    pub mode: Mode,
    pub audio: Option<usize>,
    pub grid: Grid,
    /// Output resolution.
    pub size: (u32, u32),
    /// The master playlist's CODECS attribute.
    pub codecs: String,
    pub bandwidth: u64,
    dir: PathBuf,
    source: Arc<dyn ByteSource>,
    /// The file's size, and the meter of its readers (what waiting players wait for).
    len: u64,
    meter: Arc<ReadMeter>,
    registry: Arc<EncoderRegistry>,
    settings: Arc<EncodeSettings>,
    run_ahead: usize,
    audio_channels: u32,
    next_run: AtomicU64,
    state: Mutex<StreamState>,
    changed: watch::Sender<u64>,
    /// Ends this stream's event task when the daemon stops.
    shutdown: CancellationToken,
    /// The cues of the subtitle track burned in (`key.burn`), set before the first run.
    pub burn_cues: std::sync::OnceLock<Arc<Vec<super::subtitles::Cue>>>,
}

impl Stream {
    /// Builds a stream over `source` from its probe and, when the container has an
    /// index, its video keyframes (the grid of a stream that copies the video).
    #[allow(clippy::too_many_arguments)] // what the probe found, and where the stream lives
    pub fn new(
        key: StreamKey,
        source: Arc<Metered>,
        info: MediaInfo,
        keyframes: Option<&[u64]>,
        size_bytes: u64,
        config: &MediaConfig,
        dir: PathBuf,
        registry: Arc<EncoderRegistry>,
        shutdown: CancellationToken,
    ) -> anyhow::Result<Arc<Self>> {
        let audio = info.pick_audio(&config.audio_languages);
        // Burned subtitles are drawn on decoded pictures: always a transcode.
        let mode = if key.burn.is_some() { Mode::Transcode } else { info.mode(audio) };
        let duration = info.duration.as_nanos() as u64;
        let grid = match keyframes {
            Some(k) if mode != Mode::Transcode => {
                Grid::from_keyframes(duration, info.video.fps, config.segment_seconds, k)
            }
            _ if mode == Mode::Transcode => {
                Grid::uniform_with_lead(duration, info.video.fps, config.segment_seconds, &playlist::LEAD_SECS)
            }
            _ => Grid::uniform(duration, info.video.fps, config.segment_seconds),
        };
        // Transcodes come out with square pixels at the display aspect, turned upright.
        let (w, h) = match mode {
            Mode::Transcode => super::probe::display_size(&info.video),
            _ => (info.video.width, info.video.height),
        };
        let size = if mode == Mode::Transcode && h > config.max_height {
            let nh = config.max_height & !1;
            let nw = ((w as u64 * nh as u64 / h as u64) as u32 + 1) & !1;
            (nw, nh)
        } else {
            (w, h)
        };
        let bitrate_kbps = match size.1 {
            0..=480 => 1500,
            481..=720 => 3500,
            _ => 6000,
        };
        let video_codec = match mode {
            Mode::Transcode => "avc1.640028".to_string(),
            _ => info.video.rfc6381.clone().unwrap_or_else(|| "avc1.640028".into()),
        };
        let audio_codec = match audio.map(|i| &info.audio[i]) {
            None => None,
            Some(a) if mode == Mode::Passthrough && a.codec == "audio/mp3" => Some("mp4a.40.34"),
            Some(_) => Some("mp4a.40.2"),
        };
        let codecs = match audio_codec {
            Some(a) => format!("{video_codec},{a}"),
            None => video_codec,
        };
        let secs = info.duration.as_secs_f64().max(1.0);
        let bandwidth = match mode {
            Mode::Passthrough | Mode::AudioTranscode => (size_bytes as f64 * 8.0 / secs * 1.1) as u64,
            Mode::Transcode => (bitrate_kbps as u64 + 192) * 1000,
        }
        .max(64_000);
        std::fs::create_dir_all(&dir)?;
        for entry in std::fs::read_dir(&dir)?.flatten() {
            let _ = std::fs::remove_file(entry.path());
        }
        let encoder = (mode == Mode::Transcode).then(|| registry.selected().map(|e| e.name.clone())).flatten();
        let (changed, _) = watch::channel(0);
        let meter = source.meter.clone();
        let source: Arc<dyn ByteSource> = source;
        Ok(Arc::new(Self {
            shutdown,
            burn_cues: Default::default(),
            key,
            mode,
            audio,
            grid,
            size,
            codecs,
            bandwidth,
            dir,
            source,
            len: size_bytes,
            meter,
            settings: Arc::new(EncodeSettings {
                gop: 0,
                bitrate_kbps,
                x264_preset: config.x264_preset.clone(),
                x264_start_preset: config.x264_start_preset.clone(),
            }),
            run_ahead: config.run_ahead_segments.max(1) as usize,
            audio_channels: config.audio_channels,
            next_run: AtomicU64::new(1),
            state: Mutex::new(StreamState { encoder, ..Default::default() }),
            changed,
            registry,
            info: Arc::new(info),
        }))
    }

    /// The media playlist with `query` on every segment URI.
    pub fn media_playlist(&self, query: &str) -> String {
        playlist::media(&self.grid, query)
    }

    fn touch(&self, st: &mut StreamState, client: &str) {
        let now = Instant::now();
        st.last_access = Some((now, SystemTime::now()));
        st.clients.insert(client.to_string(), now);
    }

    /// Notes a playlist fetch (a client arriving).
    pub fn touch_client(&self, client: &str) {
        let mut st = self.state.lock().unwrap();
        self.touch(&mut st, client);
    }

    /// Returns segment `idx`, producing it first when needed. Waits up to `wait`;
    /// cancelling the future only stops this wait, the pipeline runs on for others.
    pub async fn segment(self: &Arc<Self>, idx: usize, client: &str, wait: Duration) -> Result<PathBuf, MediaError> {
        if idx >= self.grid.count {
            return Err(MediaError::NoSuchSegment(idx));
        }
        let deadline = tokio::time::Instant::now() + wait;
        let mut rx = self.changed.subscribe();
        let _waiting = self.meter.wait_for(idx);
        loop {
            let start_at = {
                let mut st = self.state.lock().unwrap();
                self.touch(&mut st, client);
                if let Some(msg) = &st.failed {
                    return Err(MediaError::Failed(msg.clone()));
                }
                if st.unproducible.contains(&idx) {
                    return Err(MediaError::Failed(format!(
                        "segment {idx} cannot be produced: the file is cut short or damaged there"
                    )));
                }
                st.furthest = st.furthest.max(idx);
                if let Some(seg) = st.segments.get_mut(&idx) {
                    seg.last_access = Instant::now();
                    let path = seg.path.clone();
                    if let Some(at) = self.maybe_resume(&mut st) {
                        let this = self.clone();
                        crate::system::spawn("media-handover", &self.shutdown, async move {
                            this.start_run(at, false).await;
                            Ok(())
                        });
                    }
                    return Ok(path);
                }
                // A request up to one target length of media past what the run makes
                // next waits for it (a player asking for the segment after the one being
                // made); further on a new run starts there, as one encodes the segment
                // sooner than the run would get to it: counted in media time, not in
                // segments, as the lead-in's are short (1, 1, 2 s: three of them ahead
                // is 7 s to encode first). A run whose reader waits for the swarm gets
                // there no sooner than a new run would: only what it is making counts.
                let reach_ns = if self.meter.blocked() { 0 } else { self.grid.seg_ns };
                let near = |start: usize, next: usize| {
                    start <= idx && (idx <= next || self.grid.start_ns(idx) <= self.grid.start_ns(next) + reach_ns)
                };
                match (&st.run, st.starting) {
                    (_, Some(s)) if near(s, s) => None,
                    (Some(r), None) if near(r.start, r.next) => self.maybe_resume(&mut st).map(|at| (at, false)),
                    _ => {
                        st.starting = Some(idx);
                        st.furthest = idx;
                        Some((idx, true))
                    }
                }
            };
            if let Some((at, fast)) = start_at {
                self.start_run(at, fast).await;
                continue;
            }
            if tokio::time::timeout_at(deadline, rx.changed()).await.is_err() {
                return Err(MediaError::NotReady(idx, wait.as_secs()));
            }
        }
    }

    /// Resumes a paused run the players have come nearer to. A fast-start run is not
    /// resumed but replaced at its next segment by a full-quality one (returned: the
    /// caller starts it); the players have a whole run-ahead window buffered meanwhile.
    fn maybe_resume(&self, st: &mut StreamState) -> Option<usize> {
        let r = st.run.as_ref()?;
        if !r.handle.is_paused() || r.next > st.furthest + self.run_ahead {
            return None;
        }
        if r.fast && r.next < self.grid.count {
            let at = r.next;
            st.run = None;
            st.starting = Some(at);
            return Some(at);
        }
        r.handle.resume();
        None
    }

    fn notify(&self) {
        self.changed.send_modify(|v| *v += 1);
    }

    /// Starts a run at segment `at`, replacing the current one; `fast` when a player
    /// waits for it (the encoder uses the start preset).
    fn start_run(self: &Arc<Self>, at: usize, fast: bool) -> futures::future::BoxFuture<'static, ()> {
        let this = self.clone();
        Box::pin(async move { this.start_run_inner(at, fast).await })
    }

    async fn start_run_inner(self: &Arc<Self>, at: usize, fast: bool) {
        let (opened, caps) = match super::source::open_typed(self.source.as_ref(), OPEN_WAIT).await {
            Ok(o) => o,
            Err(e) => {
                let mut st = self.state.lock().unwrap();
                st.starting = None;
                st.failed = Some(format!("cannot open the file: {e:#}"));
                drop(st);
                self.notify();
                return;
            }
        };
        if self.mode == Mode::Transcode {
            self.check_encoder().await;
        }
        let id = self.next_run.fetch_add(1, Ordering::SeqCst);
        let mut st = self.state.lock().unwrap();
        st.starting = None;
        let encoder = match self.mode {
            Mode::Transcode => match st
                .encoder
                .as_deref()
                .and_then(|n| self.registry.verified().find(|e| e.name == n).map(|e| e.candidate.clone()))
            {
                Some(c) => Some(c),
                None => {
                    st.failed = Some("no working H.264 encoder on this box".into());
                    drop(st);
                    self.notify();
                    return;
                }
            },
            _ => None,
        };
        let fps = self.info.video.fps;
        let gop =
            (self.grid.seg_ns as f64 / 1e9 * if fps.0 > 0 { fps.0 as f64 / fps.1 as f64 } else { 25.0 }).round() as u32;
        let spec = RunSpec {
            mode: self.mode,
            audio: self.audio,
            audio_key: self.audio.and_then(|i| self.info.audio.get(i)).and_then(|a| a.stream_key.clone()),
            grid: self.grid.clone(),
            start: at,
            dir: self.dir.clone(),
            run_id: id,
            encoder,
            out_size: self.size,
            fps,
            audio_channels: self.audio_channels,
            audio_codec: self.audio.and_then(|i| self.info.audio.get(i)).map(|a| a.codec.clone()),
            pcm_little_endian: self.audio.and_then(|i| self.info.audio.get(i)).is_some_and(|a| a.little_endian_pcm),
            burn: self.burn_cues.get().cloned(),
            settings: Arc::new(EncodeSettings {
                gop: gop.max(1),
                x264_preset: match fast {
                    true => start_preset(&self.settings.x264_preset, &self.settings.x264_start_preset),
                    false => self.settings.x264_preset.clone(),
                },
                ..(*self.settings).clone()
            }),
        };
        let (tx, mut rx) = mpsc::unbounded_channel();
        // Drop the old run first: its teardown must not race the new run's files.
        st.run = None;
        match pipeline::start(spec, opened, caps, tx) {
            Ok(handle) => {
                if self.mode == Mode::Transcode {
                    st.encoder_runs += 1;
                }
                tracing::info!(stream = %self.key, run = id, fast, "pipeline started at segment {at}");
                let read_wait_at = handle.read_wait();
                st.run = Some(ActiveRun {
                    id,
                    handle,
                    start: at,
                    next: at,
                    fast: fast && self.mode == Mode::Transcode,
                    progress_at: Instant::now(),
                    read_wait_at,
                });
                let weak = Arc::downgrade(self);
                crate::system::spawn("media-watchdog", &self.shutdown, async move {
                    let mut tick = tokio::time::interval(Duration::from_millis(500));
                    loop {
                        tick.tick().await;
                        let Some(stream) = weak.upgrade() else { break };
                        if !stream.watch_run(id).await {
                            break;
                        }
                    }
                    Ok(())
                });
            }
            Err(e) => {
                st.failed = Some(format!("{e:#}"));
            }
        }
        drop(st);
        self.notify();
        let weak = Arc::downgrade(self);
        crate::system::spawn("media-events", &self.shutdown, async move {
            while let Some(ev) = rx.recv().await {
                let Some(stream) = weak.upgrade() else { break };
                stream.on_event(ev).await;
            }
            Ok(())
        });
    }

    /// Makes sure the stream's encoder can encode this stream's size, moving on to the
    /// next verified encoder while it cannot. Each encoder is checked once per stream.
    async fn check_encoder(&self) {
        for _ in 0..self.registry.encoders.len() {
            let candidate = {
                let st = self.state.lock().unwrap();
                let Some(name) = st.encoder.clone() else {
                    return;
                };
                if st.checked_encoders.contains(&name) {
                    return;
                }
                match self.registry.verified().find(|e| e.name == name) {
                    // A software encoder without a board's limits encodes any size:
                    // its test would only delay the first segment.
                    Some(e) if e.kind == "software" && e.candidate.output_caps.is_none() => {
                        return;
                    }
                    Some(e) => e.candidate.clone(),
                    None => return,
                }
            };
            let size = self.size;
            let c = candidate.clone();
            let result = tokio::task::spawn_blocking(move || super::encoder::test_encode_at(&c, size))
                .await
                .unwrap_or_else(|e| Err(anyhow::anyhow!("{e}")));
            let mut st = self.state.lock().unwrap();
            match result {
                Ok(()) => {
                    st.checked_encoders.push(candidate.label.clone());
                    return;
                }
                Err(e) => {
                    tracing::warn!(stream = %self.key, "encoder {} cannot encode {}x{}: {e:#}", candidate.label, size.0, size.1);
                    st.failed_encoders.push(candidate.label.clone());
                    st.encoder = self.registry.next_after(&st.failed_encoders).map(|e| e.name.clone());
                }
            }
        }
    }

    pub(super) async fn on_event(self: &Arc<Self>, ev: RunEvent) {
        let mut restart = None;
        {
            let mut st = self.state.lock().unwrap();
            let current = |st: &StreamState, id: u64| st.run.as_ref().is_some_and(|r| r.id == id);
            match ev {
                RunEvent::Segment { run_id, index, path, bytes } => {
                    tracing::debug!(stream = %self.key, run = run_id, "segment {index} ready ({bytes} bytes)");
                    st.segments.insert(index, Segment { path, bytes, last_access: Instant::now() });
                    if current(&st, run_id) {
                        let furthest = st.furthest;
                        let media = self.grid.duration_of(index) as f64 / 1e9;
                        let r = st.run.as_mut().unwrap();
                        let wall = r.stalled_for().as_secs_f64();
                        r.mark_progress();
                        if media > 0.1 {
                            let ratio = wall / media;
                            st.wall_per_media = Some(st.wall_per_media.map_or(ratio, |w| 0.7 * w + 0.3 * ratio));
                        }
                        let r = st.run.as_mut().unwrap();
                        r.next = r.next.max(index + 1);
                        if r.fast && r.next > furthest + HANDOVER_AHEAD && r.next < self.grid.count {
                            // The players are well ahead: full quality from here on.
                            let at = r.next;
                            st.run = None;
                            st.starting = Some(at);
                            restart = Some((at, false));
                        } else if r.next > furthest + self.run_ahead {
                            r.handle.pause();
                        }
                    }
                }
                RunEvent::Eos { run_id } => {
                    if current(&st, run_id) {
                        let r = st.run.take().unwrap();
                        if r.next == r.start && !st.segments.contains_key(&r.start) {
                            tracing::warn!(stream = %self.key, "the run from segment {} ended without producing it", r.start);
                            st.unproducible.insert(r.start);
                        }
                    }
                }
                RunEvent::EncoderFailed { run_id, message } => {
                    if current(&st, run_id) {
                        let at = st.run.take().map_or(0, |r| r.next);
                        let failed = st.encoder.take().unwrap_or_default();
                        tracing::warn!(stream = %self.key, "encoder {failed} failed: {message}");
                        st.failed_encoders.push(failed);
                        match self.registry.next_after(&st.failed_encoders) {
                            Some(next) => {
                                tracing::warn!(stream = %self.key, "switching to encoder {}", next.name);
                                st.encoder = Some(next.name.clone());
                                st.starting = Some(at);
                                restart = Some((at, true));
                            }
                            None => {
                                tracing::warn!(stream = %self.key, "no encoder left; the last failed with: {message}");
                                let why = if message.starts_with("stalled") {
                                    "every encoder on this box stalled on it"
                                } else {
                                    "every encoder on this box failed on it"
                                };
                                st.failed = Some(format!(
                                    "this film's video ({}) could not be converted: {why}",
                                    self.info.video.describe()
                                ))
                            }
                        }
                    }
                }
                RunEvent::Failed { run_id, message } => {
                    if current(&st, run_id) {
                        tracing::warn!(stream = %self.key, "stream failed: {message}");
                        st.run = None;
                        st.failed = Some(message);
                    }
                }
            }
        }
        self.notify();
        if let Some((at, fast)) = restart {
            self.start_run(at, fast).await;
        }
    }

    /// The stream's status.
    pub fn status(&self) -> StreamStatus {
        let waiting = self.meter.waiting(&self.grid, self.len, self.source.as_ref());
        let st = self.state.lock().unwrap();
        let now = Instant::now();
        let state = match (&st.failed, &st.run) {
            (Some(_), _) => StreamPhase::Failed,
            (None, Some(r)) if r.handle.is_paused() => StreamPhase::Paused,
            (None, Some(_)) => StreamPhase::Running,
            (None, None) if st.starting.is_some() => StreamPhase::Starting,
            (None, None) => StreamPhase::Idle,
        };
        let mut buffered = 0u64;
        let mut i = st.furthest;
        while st.segments.contains_key(&i) {
            buffered += self.grid.duration_of(i);
            i += 1;
        }
        StreamStatus {
            state,
            mode: self.mode,
            encoder: st.encoder.clone(),
            encoder_runs: st.encoder_runs,
            failed_encoders: st.failed_encoders.clone(),
            segments_ready: st.segments.len(),
            segments_total: self.grid.count,
            buffered_seconds: buffered as f64 / 1e9,
            clients: st.clients.values().filter(|t| now.duration_since(**t) < Duration::from_secs(60)).count(),
            last_access: st.last_access.map(|(_, t)| {
                time::OffsetDateTime::from(t).format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
            }),
            duration: self.info.duration.as_secs_f64(),
            error: st.failed.clone(),
            waiting,
        }
    }
}
