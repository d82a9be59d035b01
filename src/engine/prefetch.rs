//! Fast start: the moment a torrent's metadata is known, the pieces a player reads
//! before its first frame — the container's index and the first seconds of media —
//! are asked for together at the highest priority, before any player asks. Also the
//! bitrate hints that size every reader's read-ahead. (A seek needs no range asked for
//! ahead: its run's demuxer reads the target the moment it starts, and the reader's
//! read-ahead asks for the rest.)

use std::collections::HashMap;
use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::episodes::main_file;
use super::{Engine, container};

/// The head of a video file, asked for at once: a Matroska header and SeekHead, an MP4
/// `ftyp` (and a front `moov`), and the start of the media.
const HEAD: u64 = 2 << 20;
/// Seconds of media after the data start that are asked for with the index: a first
/// segment (4 s by default) and the keyframe that closes it. More would go first too,
/// in the way of what the player reads next.
const FIRST_SECS: u64 = 5;
/// The read-ahead of the reader that walks the container's headers: their pieces only.
const HEADER_READAHEAD: u64 = 64 << 10;
/// How long the header reads may wait for their pieces.
const HEADER_WAIT: Duration = Duration::from_secs(120);
/// How long prefetched pieces keep their priority at most.
const HOLD: Duration = Duration::from_secs(600);

/// Bitrate hints of files (bytes per second, 0 = not known), by (info-hash, file),
/// shared with the files' readers.
#[derive(Default)]
pub(super) struct Hints(Mutex<HashMap<(String, usize), Arc<AtomicU64>>>);

impl Hints {
    /// The hint of a file, made (unknown) on first use.
    pub(super) fn get(&self, id: &str, index: usize) -> Arc<AtomicU64> {
        let mut m = self.0.lock().unwrap();
        // Forget the hints of files nobody reads any more.
        if m.len() > 64 {
            m.retain(|_, v| Arc::strong_count(v) > 1);
        }
        m.entry((id.to_string(), index)).or_default().clone()
    }
}

impl Engine {
    /// Tells the readers of a file its average bitrate (bytes per second), so that their
    /// read-ahead covers the same stretch of film whatever the bitrate.
    pub fn set_bitrate(&self, id: &str, index: usize, bytes_per_sec: u64) {
        self.hints.get(id, index).store(bytes_per_sec, Ordering::Relaxed);
    }
}

/// Starts the prefetch of a torrent whose metadata just arrived (or that was added
/// from a .torrent): in the background, bounded by `HEADER_WAIT` and `HOLD`.
pub(super) fn spawn(engine: &Arc<Engine>, id: &str) {
    let shutdown = engine.shutdown_token().clone();
    let (engine, id) = (engine.clone(), id.to_string());
    crate::system::spawn("prefetch", &shutdown, async move {
        if let Err(e) = run(&engine, &id).await {
            tracing::debug!(torrent_id = id, "prefetch: {e:#}");
        }
        Ok(())
    });
}

async fn run(engine: &Arc<Engine>, id: &str) -> anyhow::Result<()> {
    let Some(h) = engine.handle(id) else { return Ok(()) };
    let files: Vec<(String, u64)> = h.with_metadata(|m| {
        m.file_infos.iter().map(|f| (f.relative_filename.to_string_lossy().into_owned(), f.len)).collect()
    })?;
    let Some(index) = main_file(files.iter().map(|(n, l)| (n.as_str(), *l))) else { return Ok(()) };
    if h.only_files().is_some_and(|o| !o.contains(&index)) || h.is_paused() {
        return Ok(());
    }
    let (name, len) = files[index].clone();
    let started = Instant::now();
    // The head at once; the index's place is known after its first piece.
    let mut guards = vec![h.clone().prioritize(index, 0..HEAD.min(len)).await?];
    let layout = tokio::time::timeout(HEADER_WAIT, async {
        let mut reader = engine.open_file(id, index).await.ok()?;
        reader.set_readahead(HEADER_READAHEAD);
        container::layout(&mut reader, len, &name).await
    })
    .await
    .ok()
    .flatten();
    let mut ranges = Vec::new();
    if let Some(l) = &layout {
        let rate = l.byte_rate(len);
        if let Some(rate) = rate {
            engine.set_bitrate(id, index, rate);
        }
        let first = rate.map_or(HEAD, |r| r.saturating_mul(FIRST_SECS));
        ranges.extend(l.index.iter().cloned());
        ranges.push(0..l.data_start.saturating_add(first).min(len));
        // The exact ranges replace the guess at the head.
        guards.clear();
        for r in &ranges {
            guards.push(h.clone().prioritize(index, r.clone()).await?);
        }
    }
    tracing::info!(
        torrent_id = id,
        file = name,
        "fast start: asking first for the head and {} ({:.1} s after the metadata)",
        describe(&ranges),
        started.elapsed().as_secs_f64()
    );
    let until = Instant::now() + HOLD;
    loop {
        if guards.iter().all(|g| g.is_complete()) {
            tracing::info!(
                torrent_id = id,
                file = name,
                "fast start: index and first segment here {:.1} s after the metadata",
                started.elapsed().as_secs_f64()
            );
            return Ok(());
        }
        // Gone, paused, replaced in the session (a move re-adds it): the guards go.
        let same = engine.handle(id).is_some_and(|now| Arc::ptr_eq(&now, &h));
        if !same || h.is_paused() || Instant::now() > until {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn describe(ranges: &[Range<u64>]) -> String {
    if ranges.is_empty() {
        return "no index (container not known)".into();
    }
    let parts: Vec<String> = ranges.iter().map(|r| format!("{}..{}", r.start, r.end)).collect();
    format!("bytes {}", parts.join(", "))
}
