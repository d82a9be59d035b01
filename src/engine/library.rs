//! Where a torrent's files live: the folder it starts in (incomplete dir, a download
//! dir changed at run time), quota admission and placement when a magnet's metadata
//! arrives (before it is added to the session), moving a torrent (to the library when it completes, or to its own output
//! folder) and per-torrent speed limits. Moving and changing limits both take the
//! torrent out of the session (files kept) and add it again with its stored .torrent.

use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use librqbit::api::TorrentIdOrHash;
use librqbit::{AddTorrent, AddTorrentOptions, AddTorrentResponse, ManagedTorrent};

use super::quota::Refused;

use crate::engine::{Engine, EventKind, Source};
use crate::store::{PendingMove, Store, TorrentRecord};

/// The folder the files of a newly added torrent go to, when it is not the session's
/// default: the incomplete dir, or a download dir changed at run time. `None` for a
/// magnet (placed once its metadata says whether it is one file or a folder).
pub fn initial_output_folder(engine: &Engine, source: &Source) -> Option<String> {
    let Source::Torrent(t) = source else { return None };
    let target = start_dir(engine);
    if target == engine.download_dir() {
        return None;
    }
    let multi = librqbit::torrent_from_bytes(&t.bytes).is_ok_and(|m| m.info.data.files.is_some());
    Some(folder_in(&target, multi, t.name.as_deref().unwrap_or(&t.info_hash)).to_string_lossy().into_owned())
}

/// The output folder of a .torrent saved in `dir` (a folder of its own when it has
/// several files); `None` for a magnet (placed when its metadata comes).
pub fn output_folder_in(dir: &Path, source: &Source) -> Option<String> {
    let Source::Torrent(t) = source else { return None };
    let multi = librqbit::torrent_from_bytes(&t.bytes).is_ok_and(|m| m.info.data.files.is_some());
    Some(folder_in(dir, multi, t.name.as_deref().unwrap_or(&t.info_hash)).to_string_lossy().into_owned())
}

/// The dir unfinished torrents start in now.
fn start_dir(engine: &Engine) -> PathBuf {
    let c = engine.live().get();
    if c.storage.incomplete_dir.as_os_str().is_empty() {
        c.storage.download_dir.clone()
    } else {
        c.storage.incomplete_dir.clone()
    }
}

/// librqbit's layout: a multi-file torrent gets a folder named after it.
fn folder_in(dir: &Path, multi: bool, name: &str) -> PathBuf {
    if multi { dir.join(sanitize(name)) } else { dir.to_path_buf() }
}

/// A torrent's name (from its metadata, so from peers) made safe as one folder name:
/// no separator, no NUL, never empty, `.` or `..`.
pub fn sanitize(name: &str) -> String {
    let s: String = name.chars().map(|c| if c == '/' || c == '\0' { '_' } else { c }).collect();
    if s.is_empty() || s == "." || s == ".." { "torrent".into() } else { s }
}

fn is_multi(h: &ManagedTorrent) -> bool {
    h.with_metadata(|m| m.info.info().files.is_some()).unwrap_or(false)
}

/// The per-torrent rate limits stored for `id`.
pub fn torrent_ratelimits(store: &Store, id: &str) -> librqbit::limits::LimitsConfig {
    let s = store.torrent_settings(id).unwrap_or_default();
    let nz = |v: Option<u64>| v.and_then(|v| NonZeroU32::new(v.min(u32::MAX as u64) as u32));
    librqbit::limits::LimitsConfig { download_bps: nz(s.download_limit), upload_bps: nz(s.upload_limit) }
}

/// Sets the session-wide rate limits (bytes/s; 0 = unlimited) at once.
pub fn apply_global_limits(engine: &Engine, download: u64, upload: u64) {
    let nz = |v: u64| NonZeroU32::new(v.min(u32::MAX as u64) as u32);
    engine.session().ratelimits.set_download_bps(nz(download));
    engine.session().ratelimits.set_upload_bps(nz(upload));
}

/// Fetches a magnet's metadata (without adding it), admits it by the quota — a
/// refusal is a `quota::Refused` error — and adds it to the session in the start dir.
pub async fn resolve_and_add(engine: &Arc<Engine>, rec: &TorrentRecord) -> anyhow::Result<Arc<ManagedTorrent>> {
    let id = rec.info_hash.as_str();
    let (peers, trackers) = match super::input::parse_uri_async(&rec.source).await {
        Ok(Source::Magnet(m)) => (m.peers, m.trackers),
        _ => (Vec::new(), Vec::new()),
    };
    let opts = || AddTorrentOptions {
        list_only: true,
        initial_peers: (!peers.is_empty()).then(|| peers.clone()),
        trackers: (!trackers.is_empty()).then(|| trackers.clone()),
        ..Default::default()
    };
    // With only a few known peers the fetch fails as soon as each refused one
    // connection (a peer that still holds our previous connection does): retry a few
    // times, backing off, before giving up.
    let mut delay = std::time::Duration::from_millis(500);
    let resp = loop {
        match engine.session().add_torrent(AddTorrent::from_url(&rec.source), Some(opts())).await {
            Ok(r) => break r,
            Err(e) if delay <= std::time::Duration::from_secs(8) && format!("{e:#}").contains("stream exhausted") => {
                tracing::debug!(torrent_id = id, "metadata fetch: {e:#}; retrying in {delay:?}");
                tokio::time::sleep(delay).await;
                delay *= 2;
            }
            Err(e) => return Err(e),
        }
    };
    let AddTorrentResponse::ListOnly(listed) = resp else { bail!("the session added a list-only torrent") };
    super::quota::admit_metainfo(engine, id, &listed.torrent_bytes, rec.only_files.as_deref())
        .await
        .map_err(|e| Refused(e.to_string()))?;
    let mut rec = rec.clone();
    let asked = engine.store().torrent_save_dir(id)?.map(PathBuf::from);
    let target = asked.clone().unwrap_or_else(|| start_dir(engine));
    if rec.output_folder.is_none() && (asked.is_some() || target != engine.download_dir()) {
        let multi = listed.info.info().files.is_some();
        let name = listed.info.name().map(|n| n.into_owned()).unwrap_or_else(|| id.to_string());
        let folder = folder_in(&target, multi, &name).to_string_lossy().into_owned();
        engine.store().set_torrent_output_folder(id, &folder)?;
        rec.output_folder = Some(folder);
    }
    engine.add_to_session(AddTorrent::from_bytes(listed.torrent_bytes), &rec, listed.seen_peers).await
}

/// Takes a torrent out of the session (files kept) and adds it again from its stored
/// .torrent, in `folder` when given (recorded in the store). Picks up per-torrent
/// limits. The torrent re-checks its files and seeds on.
pub async fn readd(engine: &Arc<Engine>, id: &str, folder: Option<&Path>) -> anyhow::Result<Arc<ManagedTorrent>> {
    let mut rec = engine.store().torrent(id)?.context("torrent is not known")?;
    let h = engine.handle(id).context("torrent is not in the session")?;
    let bytes = h
        .with_metadata(|m| m.torrent_bytes.clone())
        .ok()
        .or(rec.torrent_bytes.clone().map(bytes::Bytes::from))
        .context("torrent has no metadata yet")?;
    engine.session().delete(TorrentIdOrHash::Id(h.id()), false).await?;
    if let Some(f) = folder {
        let f = f.to_string_lossy().into_owned();
        engine.store().set_torrent_output_folder(id, &f)?;
        rec.output_folder = Some(f);
    }
    engine.add_to_session(AddTorrent::from_bytes(bytes), &rec, Vec::new()).await
}

/// Moves a torrent's files into `dir` (a multi-file torrent keeps its own folder
/// inside it) and seeds on from there. Renames where the filesystem allows, copies
/// then deletes across filesystems. Emits `transfer_started` and `transfer_completed`
/// (or `error`, after putting back what was moved).
pub async fn move_torrent(engine: &Arc<Engine>, id: &str, dir: &Path) -> anyhow::Result<PathBuf> {
    let h = engine.handle(id).context("torrent has no metadata yet")?;
    let name = h.name().unwrap_or_else(|| id.to_string());
    let from = h.output_folder().to_path_buf();
    let to = folder_in(dir, is_multi(&h), &name);
    if to == from {
        return Ok(to);
    }
    let files: Vec<PathBuf> =
        h.with_metadata(|m| m.file_infos.iter().map(|f| f.relative_filename.clone()).collect())?;
    let detail = format!("{} → {}", from.display(), to.display());
    // Journalled before anything moves: a move cut short is finished on the next start.
    let journal = PendingMove { from: from.clone(), to: to.clone(), files: files.clone() };
    engine.store().begin_move(id, &journal)?;
    engine.emit(EventKind::TransferStarted, id, Some(&name), Some(&detail));
    // Out of the session first, so no write lands in a file being moved.
    if let Err(e) = engine.session().delete(TorrentIdOrHash::Id(h.id()), false).await {
        let _ = engine.store().end_move(id);
        return Err(e);
    }
    drop(h);
    let (from2, to2, files2) = (from.clone(), to.clone(), files.clone());
    let moved = tokio::task::spawn_blocking(move || move_files(&from2, &to2, &files2)).await?;
    let result = match moved {
        Ok(()) => readd_at(engine, id, &to).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => {
            let _ = engine.store().end_move(id);
            engine.emit(EventKind::TransferCompleted, id, Some(&name), Some(&detail));
            Ok(to)
        }
        Err(e) => {
            let (from2, to2) = (from.clone(), to.clone());
            let _ = tokio::task::spawn_blocking(move || move_files(&to2, &from2, &files)).await;
            let _ = engine.store().end_move(id);
            let _ = readd_at(engine, id, &from).await;
            let msg = format!("moving to {} failed: {e:#}", to.display());
            engine.emit(EventKind::Error, id, Some(&name), Some(&msg));
            Err(anyhow::anyhow!(msg))
        }
    }
}

async fn readd_at(engine: &Arc<Engine>, id: &str, folder: &Path) -> anyhow::Result<()> {
    let mut rec = engine.store().torrent(id)?.context("torrent is not known")?;
    let bytes = rec.torrent_bytes.clone().context("torrent has no stored .torrent")?;
    let f = folder.to_string_lossy().into_owned();
    engine.store().set_torrent_output_folder(id, &f)?;
    rec.output_folder = Some(f);
    engine.add_to_session(AddTorrent::from_bytes(bytes), &rec, Vec::new()).await?;
    Ok(())
}

/// Moves `files` (relative paths) from `from` to `to`; files missing at `from` (not
/// selected, never written) are skipped. Empty folders left behind are removed.
fn move_files(from: &Path, to: &Path, files: &[PathBuf]) -> anyhow::Result<()> {
    for rel in files {
        let src = from.join(rel);
        if !src.exists() {
            continue;
        }
        let dst = to.join(rel);
        if let Some(parent) = dst.parent() {
            std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
        }
        move_file(&src, &dst)?;
        // Remove emptied folders up to `from` (kept itself when it is shared).
        let mut dir = src.parent();
        while let Some(d) = dir {
            if !d.starts_with(from) || d == from || std::fs::remove_dir(d).is_err() {
                break;
            }
            dir = d.parent();
        }
    }
    if from.file_name().is_some() {
        let _ = std::fs::remove_dir(from); // only when empty
    }
    Ok(())
}

/// Renames a file, or copies (and fsyncs) then deletes it across filesystems.
fn move_file(src: &Path, dst: &Path) -> anyhow::Result<()> {
    match std::fs::rename(src, dst) {
        Ok(()) => Ok(()),
        Err(e) if e.raw_os_error() == Some(nix::libc::EXDEV) => {
            let tmp = dst.with_extension("swarmcast-part");
            let copy = || -> std::io::Result<()> {
                std::fs::copy(src, &tmp)?;
                std::fs::File::open(&tmp)?.sync_all()?;
                std::fs::rename(&tmp, dst)
            };
            if let Err(e) = copy() {
                let _ = std::fs::remove_file(&tmp);
                bail!("copying {} to {}: {e}", src.display(), dst.display());
            }
            std::fs::remove_file(src).with_context(|| format!("removing {}", src.display()))
        }
        Err(e) => bail!("moving {} to {}: {e}", src.display(), dst.display()),
    }
}

/// Finishes the moves that a crash or power cut interrupted (see `move_torrent`'s
/// journal): the torrent leaves the session if its persistence restored it at the old
/// place, the files still at the old place move on (a file already copied is
/// overwritten by its whole original), and the store points at the new place. Runs
/// before the torrents are restored, which then add it there.
pub async fn finish_interrupted_moves(engine: &Arc<Engine>) {
    let moves = match engine.store().pending_moves() {
        Ok(m) => m,
        Err(e) => {
            tracing::error!("cannot read the move journal: {e:#}");
            return;
        }
    };
    for (id, m) in moves {
        if engine.store().torrent(&id).ok().flatten().is_none() {
            let _ = engine.store().end_move(&id);
            continue;
        }
        if let Some(h) = engine.handle(&id) {
            if h.output_folder() == m.to {
                let _ = engine.store().set_torrent_output_folder(&id, &m.to.to_string_lossy());
                let _ = engine.store().end_move(&id);
                continue;
            }
            if let Err(e) = engine.session().delete(TorrentIdOrHash::Id(h.id()), false).await {
                tracing::error!(torrent_id = id, "cannot finish an interrupted move: {e:#}");
                continue;
            }
        }
        let detail = format!("{} → {} (finished after a restart)", m.from.display(), m.to.display());
        let (from, to, files) = (m.from.clone(), m.to.clone(), m.files.clone());
        let moved = tokio::task::spawn_blocking(move || move_files(&from, &to, &files)).await;
        match moved.map_err(anyhow::Error::from).and_then(|r| r) {
            Ok(()) => {
                let _ = engine.store().set_torrent_output_folder(&id, &m.to.to_string_lossy());
                engine.emit(EventKind::TransferCompleted, &id, None, Some(&detail));
            }
            Err(e) => {
                // Whatever moved stays where it is now; the torrent is checked at the
                // old place and fetches what it misses there.
                let msg = format!("finishing the move to {} failed: {e:#}", m.to.display());
                engine.emit(EventKind::Error, &id, None, Some(&msg));
            }
        }
        let _ = engine.store().end_move(&id);
    }
}

/// Where a finished torrent moves to: the library dir, or out of the incomplete dir
/// into the download dir. `at_start` is for torrents that finished before a restart
/// (their move may never have begun): only those still in the incomplete dir or the
/// download dir move then, never one the user placed elsewhere.
fn move_target(engine: &Engine, h: &ManagedTorrent, at_start: bool) -> Option<PathBuf> {
    // Saved where a client (a category's save path) asked: it stays there, where
    // that client will look for it.
    if engine.store().torrent_save_dir(&h.info_hash().as_string()).ok().flatten().is_some() {
        return None;
    }
    let c = engine.live().get();
    let folder = h.output_folder();
    let set = |p: &Path| !p.as_os_str().is_empty();
    let in_incomplete = set(&c.storage.incomplete_dir) && folder.starts_with(&c.storage.incomplete_dir);
    if set(&c.storage.library_dir) {
        let placed = in_incomplete || folder.starts_with(&c.storage.download_dir);
        (!at_start || (placed && !folder.starts_with(&c.storage.library_dir))).then(|| c.storage.library_dir.clone())
    } else if in_incomplete {
        Some(c.storage.download_dir.clone())
    } else {
        None
    }
}

/// Moves each torrent that completes to the library dir (or out of the incomplete
/// dir into the download dir), and, once at start, the finished torrents whose move
/// a restart cut off before it began.
pub fn spawn_mover(engine: &Arc<Engine>) {
    let mut events = engine.subscribe();
    let weak = Arc::downgrade(engine);
    let finished_before: Vec<String> = engine
        .store()
        .torrents()
        .unwrap_or_default()
        .into_iter()
        .filter(|r| r.completed_at.is_some())
        .map(|r| r.info_hash)
        .collect();
    let weak_sweep = Arc::downgrade(engine);
    crate::system::spawn("library-sweep", engine.shutdown_token(), async move {
        // Each waits (bounded) for its check after the restore to say it is whole.
        let mut left = finished_before;
        for _ in 0..300 {
            if left.is_empty() {
                break;
            }
            let Some(engine) = weak_sweep.upgrade() else { return Ok(()) };
            let mut still = Vec::new();
            for id in left {
                let Some(h) = engine.handle(&id) else { continue };
                if !h.stats().finished {
                    still.push(id);
                    continue;
                }
                let target = move_target(&engine, &h, true);
                drop(h);
                if let Some(target) = target
                    && let Err(e) = move_torrent(&engine, &id, &target).await
                {
                    tracing::warn!(torrent_id = id, "library move failed: {e:#}");
                }
            }
            left = still;
            drop(engine);
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        }
        Ok(())
    });
    crate::system::spawn("library-mover", engine.shutdown_token(), async move {
        loop {
            let ev = match events.recv().await {
                Ok(ev) => ev,
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(_) => return Ok(()),
            };
            if ev.event != EventKind::Completed {
                continue;
            }
            let Some(engine) = weak.upgrade() else { return Ok(()) };
            let Some(h) = engine.handle(&ev.torrent_id) else { continue };
            let target = move_target(&engine, &h, false);
            drop(h);
            let Some(target) = target else { continue };
            if let Err(e) = move_torrent(&engine, &ev.torrent_id, &target).await {
                tracing::warn!(torrent_id = ev.torrent_id, "library move failed: {e:#}");
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moves_files_and_prunes_empty_folders() {
        let d = tempfile::tempdir().unwrap();
        let from = d.path().join("in/Show");
        std::fs::create_dir_all(from.join("s1")).unwrap();
        std::fs::write(from.join("s1/e1.mkv"), b"one").unwrap();
        std::fs::write(from.join("e0.mkv"), b"zero").unwrap();
        let to = d.path().join("lib/Show");
        let files = [PathBuf::from("s1/e1.mkv"), PathBuf::from("e0.mkv"), PathBuf::from("missing")];
        move_files(&from, &to, &files).unwrap();
        assert_eq!(std::fs::read(to.join("s1/e1.mkv")).unwrap(), b"one");
        assert_eq!(std::fs::read(to.join("e0.mkv")).unwrap(), b"zero");
        assert!(!from.exists(), "emptied source folder removed");
        assert_eq!(sanitize("../x/y"), ".._x_y");
    }
}
