//! Disk accounting: free space (statvfs) and bytes used under the download dir,
//! admission of a torrent whose size is known, eviction of finished `watch` torrents
//! to make room, and the guard that pauses downloads while the volume is short of
//! space (or a write hit ENOSPC) and resumes them once there is room again.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::config::Config;
use crate::engine::{Engine, EngineError, EngineResult, EventKind};
use crate::store::Purpose;

/// Extra room above the reserve before downloads paused for space resume, so they do
/// not flap around the threshold: 16 MiB, or 1/16 of a smaller volume.
fn resume_margin(total: u64) -> u64 {
    (16 << 20).min(total / 16)
}

/// Serialises admissions, so two adds cannot both take the last free bytes.
static ADMISSION: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Total and available bytes of the volume holding `path` (or its nearest existing
/// ancestor), and the volume's id.
pub fn space(path: &Path) -> std::io::Result<(u64, u64, u64)> {
    let mut p = path;
    while !p.exists() {
        p = p.parent().unwrap_or(Path::new("/"));
    }
    let s = nix::sys::statvfs::statvfs(p).map_err(std::io::Error::from)?;
    let frag = s.fragment_size() as u64;
    Ok((s.blocks() as u64 * frag, s.blocks_available() as u64 * frag, s.filesystem_id() as u64))
}

/// Bytes allocated on disk under `dir` (sparse regions do not count). Symlinks are
/// not followed.
pub fn used_bytes(dir: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let mut total = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else { continue };
        for e in entries.flatten() {
            let Ok(m) = e.path().symlink_metadata() else { continue };
            if m.is_dir() {
                stack.push(e.path());
            } else if m.is_file() {
                total += m.blocks() * 512;
            }
        }
    }
    total
}

/// The numbers an admission decision is made from.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Budget {
    /// `quota.max_bytes`; 0 = none.
    pub max_bytes: u64,
    /// `quota.min_free_bytes`.
    pub min_free: u64,
    /// Bytes now used under the download dir(s).
    pub used: u64,
    /// Bytes available on the volume.
    pub available: u64,
    /// Bytes the active torrents still have to download.
    pub pending: u64,
}

impl Budget {
    /// How many bytes must be freed before `need` more bytes fit both limits; 0 when
    /// they fit already.
    pub fn shortfall(&self, need: u64) -> u64 {
        let by_quota =
            if self.max_bytes == 0 { 0 } else { (self.used + self.pending + need).saturating_sub(self.max_bytes) };
        let by_space = (self.pending + need + self.min_free).saturating_sub(self.available);
        by_quota.max(by_space)
    }
}

/// A torrent eviction could remove: `(id, bytes it frees)`, oldest-watched first.
pub type Candidate = (String, u64);

/// Picks the fewest oldest-watched candidates (in the given order) that free at least
/// `shortfall` bytes; `None` when even all of them are not enough.
pub fn pick_evictions(candidates: &[Candidate], shortfall: u64) -> Option<Vec<String>> {
    if shortfall == 0 {
        return Some(Vec::new());
    }
    let mut freed = 0;
    let mut out = Vec::new();
    for (id, size) in candidates {
        out.push(id.clone());
        freed += size;
        if freed >= shortfall {
            return Some(out);
        }
    }
    None
}

/// The total size of a .torrent's files (the selected ones when `only` is given).
pub fn torrent_size(bytes: &[u8], only: Option<&[usize]>) -> Option<u64> {
    let t = librqbit::torrent_from_bytes(bytes).ok()?;
    let info = &t.info.data;
    let lengths: Vec<u64> = match (&info.files, info.length) {
        (Some(files), _) => files.iter().map(|f| f.length).collect(),
        (None, Some(len)) => vec![len],
        (None, None) => return None,
    };
    Some(match only {
        Some(only) => lengths.iter().enumerate().filter(|(i, _)| only.contains(i)).map(|(_, l)| l).sum(),
        None => lengths.iter().sum(),
    })
}

/// The dirs the quota counts.
fn quota_dirs(c: &Config) -> Vec<PathBuf> {
    let mut dirs = vec![c.storage.download_dir.clone()];
    if !c.storage.incomplete_dir.as_os_str().is_empty() {
        dirs.push(c.storage.incomplete_dir.clone());
    }
    dirs
}

/// Measures the budget now, leaving torrent `except` out of the pending bytes.
pub fn budget(engine: &Engine, except: &str) -> EngineResult<Budget> {
    let c = engine.live().get();
    let dir = if c.storage.incomplete_dir.as_os_str().is_empty() {
        &c.storage.download_dir
    } else {
        &c.storage.incomplete_dir
    };
    let (_, available, _) = space(dir).map_err(|e| EngineError::Internal(e.into()))?;
    let used = quota_dirs(&c).iter().map(|d| used_bytes(d)).sum();
    let mut pending = 0;
    for rec in engine.store().torrents()? {
        if rec.info_hash == except {
            continue;
        }
        if let Some(h) = engine.handle(&rec.info_hash) {
            let s = h.stats();
            if !s.finished {
                pending += s.total_bytes.saturating_sub(s.progress_bytes);
            }
        }
    }
    Ok(Budget { max_bytes: c.quota.max_bytes, min_free: c.quota.min_free_bytes, used, available, pending })
}

/// Finished `watch` torrents nobody watched within the grace period, oldest-watched
/// first, with the bytes each would free.
fn eviction_candidates(engine: &Engine, except: &str) -> EngineResult<Vec<Candidate>> {
    let c = engine.live().get();
    let grace = time::Duration::seconds(c.quota.watching_grace_secs as i64);
    let now = time::OffsetDateTime::now_utc();
    let parse = |s: &str| time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok();
    let mut out = Vec::new();
    for rec in engine.store().torrents()? {
        if rec.info_hash == except || rec.purpose != Purpose::Watch || rec.completed_at.is_none() {
            continue;
        }
        let last = rec.last_watched_at.as_deref().or(rec.completed_at.as_deref()).unwrap_or(&rec.added_at);
        let last_t = parse(last);
        if last_t.is_some_and(|t| now - t < grace) {
            continue; // being watched
        }
        let Some(h) = engine.handle(&rec.info_hash) else { continue };
        let s = h.stats();
        if !s.finished {
            continue;
        }
        let folder = h.output_folder().to_path_buf();
        let size = h
            .with_metadata(|m| m.file_infos.iter().map(|f| allocated(&folder.join(&f.relative_filename))).sum())
            .unwrap_or(s.progress_bytes);
        out.push((last.to_string(), rec.info_hash.clone(), size));
    }
    out.sort();
    Ok(out.into_iter().map(|(_, id, size)| (id, size)).collect())
}

fn allocated(p: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    p.symlink_metadata().map(|m| m.blocks() * 512).unwrap_or(0)
}

/// Sizes a torrent from its metainfo (the selected files only) and admits it: the one
/// check every path that puts a torrent with known size into the session makes.
pub async fn admit_metainfo(
    engine: &Arc<Engine>,
    id: &str,
    metainfo: &[u8],
    only: Option<&[usize]>,
) -> EngineResult<()> {
    match torrent_size(metainfo, only) {
        Some(size) => admit(engine, id, size).await,
        None => Ok(()),
    }
}

/// Admits torrent `id` needing `need` more bytes: evicts the oldest-watched finished
/// `watch` torrents when that makes it fit, refuses with `QuotaExceeded` otherwise
/// (evicting nothing).
pub async fn admit(engine: &Arc<Engine>, id: &str, need: u64) -> EngineResult<()> {
    let _guard = ADMISSION.lock().await;
    let b = budget(engine, id)?;
    let short = b.shortfall(need);
    if short == 0 {
        return Ok(());
    }
    let candidates = eviction_candidates(engine, id)?;
    let Some(victims) = pick_evictions(&candidates, short) else {
        return Err(EngineError::QuotaExceeded(refusal(&b, need)));
    };
    for victim in victims {
        let name = engine.store().torrent(&victim)?.and_then(|r| r.name);
        engine.remove(&victim, true).await?;
        let detail = format!("evicted to make room for {id}");
        engine.emit(EventKind::Evicted, &victim, name.as_deref(), Some(&detail));
    }
    Ok(())
}

fn refusal(b: &Budget, need: u64) -> String {
    use crate::system::disk::human;
    if b.max_bytes > 0 && b.used + b.pending + need > b.max_bytes {
        format!(
            "the torrent needs {} but the download quota of {} has {} left \
             ({} used, {} still to download by other torrents)",
            human(need),
            human(b.max_bytes),
            human(b.max_bytes.saturating_sub(b.used + b.pending)),
            human(b.used),
            human(b.pending)
        )
    } else {
        format!(
            "the torrent needs {} but the download volume has {} free, {} of which is the reserve \
             and {} is still to be downloaded by other torrents",
            human(need),
            human(b.available),
            human(b.min_free),
            human(b.pending)
        )
    }
}

/// A magnet refused by the quota once its metadata told its size.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Refused(pub String);

/// Whether a torrent error is a full disk.
pub fn is_enospc(error: &str) -> bool {
    error.contains("No space left on device") || error.contains("os error 28")
}

/// The message shown for a torrent stopped by a full disk.
pub const DISK_FULL: &str = "the download disk is full (no space left while writing); the torrent is \
     paused and resumes by itself once space is freed (or start it again)";

/// Starts the space guard: every `quota.check_interval_secs` it pauses every unfinished
/// torrent on a volume whose free space fell below the reserve, and every torrent
/// whose write hit ENOSPC; it resumes them once the volume has room again.
pub fn spawn_guard(engine: &Arc<Engine>) {
    let weak = Arc::downgrade(engine);
    crate::system::spawn("space-guard", engine.shutdown_token(), async move {
        // Paused by us: id → free bytes on its volume when it was paused.
        let mut held: HashMap<String, u64> = HashMap::new();
        loop {
            let Some(engine) = weak.upgrade() else { return Ok(()) };
            let interval = engine.live().get().quota.check_interval_secs.max(1);
            if let Err(e) = guard_once(&engine, &mut held).await {
                tracing::warn!("space guard: {e:#}");
            }
            drop(engine);
            tokio::time::sleep(Duration::from_secs(interval)).await;
        }
    });
}

async fn guard_once(engine: &Arc<Engine>, held: &mut HashMap<String, u64>) -> anyhow::Result<()> {
    let reserve = engine.live().get().quota.min_free_bytes;
    for rec in engine.store().torrents()? {
        let id = rec.info_hash.as_str();
        let Some(h) = engine.handle(id) else {
            held.remove(id);
            continue;
        };
        let (total, free, _) = space(h.output_folder())?;
        let margin = resume_margin(total);
        let stats = h.stats();
        if let Some(&free_then) = held.get(id) {
            let room = free >= reserve + margin && free >= free_then + margin;
            if rec.paused {
                held.remove(id); // the user paused it meanwhile: theirs now
            } else if room {
                held.remove(id);
                engine.start(id).await?;
                let detail = format!("disk space available again ({} free)", crate::system::disk::human(free));
                engine.emit(EventKind::Resumed, id, rec.name.as_deref(), Some(&detail));
            }
            continue;
        }
        if rec.paused {
            continue;
        }
        if stats.error.as_deref().is_some_and(is_enospc) {
            held.insert(id.to_string(), free);
            let detail = format!("{DISK_FULL}; {} free", crate::system::disk::human(free));
            engine.emit(EventKind::Stopped, id, rec.name.as_deref(), Some(&detail));
        } else if !stats.finished && !h.is_paused() && stats.error.is_none() && free < reserve {
            engine.session().pause(&h).await?;
            held.insert(id.to_string(), free);
            let detail = format!(
                "low disk space: {} free, below the reserve of {}; paused until there is room",
                crate::system::disk::human(free),
                crate::system::disk::human(reserve)
            );
            engine.emit(EventKind::Stopped, id, rec.name.as_deref(), Some(&detail));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const MB: u64 = 1 << 20;

    #[test]
    fn shortfall_by_quota_and_by_space() {
        let b = Budget { max_bytes: 50 * MB, min_free: 10 * MB, used: 0, available: 1000 * MB, pending: 0 };
        assert_eq!(b.shortfall(100 * MB), 50 * MB);
        assert_eq!(b.shortfall(50 * MB), 0);
        let b = Budget { used: 20 * MB, pending: 10 * MB, ..b };
        assert_eq!(b.shortfall(20 * MB), 0);
        assert_eq!(b.shortfall(21 * MB), MB);
        let b = Budget { max_bytes: 0, min_free: 10 * MB, used: 0, available: 100 * MB, pending: 30 * MB };
        assert_eq!(b.shortfall(60 * MB), 0);
        assert_eq!(b.shortfall(70 * MB), 10 * MB);
    }

    #[test]
    fn evictions_take_the_fewest_oldest() {
        let c: Vec<Candidate> = vec![("old".into(), 10), ("mid".into(), 30), ("new".into(), 50)];
        assert_eq!(pick_evictions(&c, 0), Some(vec![]));
        assert_eq!(pick_evictions(&c, 10), Some(vec!["old".to_string()]));
        assert_eq!(pick_evictions(&c, 11), Some(vec!["old".to_string(), "mid".to_string()]));
        assert_eq!(pick_evictions(&c, 91), None);
    }

    #[test]
    fn used_bytes_counts_allocation_not_sparse_length() {
        let dir = tempfile::tempdir().unwrap();
        let f = std::fs::File::create(dir.path().join("sparse")).unwrap();
        f.set_len(100 * MB).unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("sub/data"), vec![1u8; MB as usize]).unwrap();
        let used = used_bytes(dir.path());
        assert!((MB..2 * MB).contains(&used), "{used}");
        let (total, avail, _) = space(&dir.path().join("not/yet")).unwrap();
        assert!(total > 0 && avail <= total);
    }
}
