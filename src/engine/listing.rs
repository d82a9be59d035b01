//! The engine's views of its torrents: the list (paged, cached briefly), one torrent,
//! its peers, its .torrent file, counts by status and the session-wide totals.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use librqbit::{ManagedTorrent, TorrentStatsState};

use crate::store::TorrentRecord;

use super::episodes::main_file;
use super::error::{EngineError, EngineResult};
use super::state::Engine;
use super::video::is_video;
use super::view::{FileView, PeerView, Status, TorrentView};

impl Engine {
    /// Every torrent, in the order added.
    pub fn list(&self) -> EngineResult<Vec<TorrentView>> {
        let records = self.store.torrent_summaries()?;
        let handles = self.handles();
        let find = |id: &str| {
            let hash = <librqbit::dht::Id20 as std::str::FromStr>::from_str(id).ok()?;
            handles.get(&hash).cloned()
        };
        Ok(records.iter().map(|r| self.build_view_with(r, find(&r.info_hash))).collect())
    }

    /// One page of the torrents in the order added (newest first when `desc`), and
    /// how many there are: only the page's torrents are looked at.
    pub fn list_page(&self, desc: bool, skip: usize, take: usize) -> EngineResult<(usize, Vec<TorrentView>)> {
        let (total, records) = self.store.torrent_page(desc, skip, take)?;
        // One pass over the session for the page rather than a search per torrent.
        let wanted: HashMap<librqbit::dht::Id20, usize> = records
            .iter()
            .enumerate()
            .filter_map(|(i, r)| Some((<librqbit::dht::Id20 as std::str::FromStr>::from_str(&r.info_hash).ok()?, i)))
            .collect();
        let mut handles: Vec<Option<Arc<ManagedTorrent>>> = vec![None; records.len()];
        let found: Vec<(usize, Arc<ManagedTorrent>)> = self
            .session()
            .with_torrents(|ts| ts.filter_map(|(_, t)| wanted.get(&t.info_hash()).map(|&i| (i, t.clone()))).collect());
        for (i, t) in found {
            handles[i] = Some(t);
        }
        let views = records.iter().zip(handles).map(|(r, h)| self.build_view_with(r, h)).collect();
        Ok((total, views))
    }

    /// A number that changes whenever a torrent changes in a way the list shows
    /// (every event and error): a cached list older than it is stale.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// Every torrent in the session by info-hash (`handle` searches the session).
    pub(super) fn handles(&self) -> HashMap<librqbit::dht::Id20, Arc<ManagedTorrent>> {
        self.session().with_torrents(|ts| ts.map(|(_, t)| (t.info_hash(), t.clone())).collect())
    }

    /// One torrent.
    pub fn view(&self, id: &str) -> EngineResult<TorrentView> {
        let rec = self.require_known(id)?;
        Ok(self.build_view(&rec))
    }

    pub(super) fn build_view(&self, rec: &TorrentRecord) -> TorrentView {
        self.build_view_with(rec, self.handle(&rec.info_hash))
    }

    /// The view of `rec`, whose session handle (if any) is `handle`.
    pub(super) fn build_view_with(&self, rec: &TorrentRecord, handle: Option<Arc<ManagedTorrent>>) -> TorrentView {
        let id = rec.info_hash.as_str();
        let mut v = TorrentView {
            id: id.to_string(),
            name: rec.name.clone().unwrap_or_else(|| id.to_string()),
            status: if rec.paused { Status::Paused } else { Status::Metadata },
            progress: 0.0,
            size: 0,
            downloaded: 0,
            uploaded: 0,
            download_rate: 0,
            upload_rate: 0,
            peers: 0,
            seeds: 0,
            eta: None,
            ratio: 0.0,
            magnet_uri: rec.source.clone(),
            files: Vec::new(),
            video_file: None,
            added_at: rec.added_at.clone(),
            completed_at: rec.completed_at.clone(),
            error: self.errors.lock().unwrap().get(id).cloned(),
            purpose: rec.purpose,
            added_by: rec.added_by,
            category: self.store.torrent_category(id).ok().flatten(),
            save_path: self.download_dir().to_path_buf(),
            content_path: std::path::PathBuf::new(),
        };
        if let Ok(Some(dir)) = self.store.torrent_save_dir(id) {
            v.save_path = dir.into();
        }
        v.content_path = v.save_path.join(crate::engine::library::sanitize(&v.name));
        // Still fetching (a disk error shows as `error` even while it is retried).
        let pending = self.pending.lock().unwrap().get(id).map(|p| !p.disk_error);
        let pending = pending.unwrap_or(false);
        if let Some(p) = self.pending.lock().unwrap().get(id) {
            // Still trying: the status stays `metadata`; the last failure is shown.
            if let Some(err) = &p.error {
                v.error = Some(err.clone());
            }
            if let Some(n) = &p.name {
                v.name = n.clone();
            }
        }
        let Some(h) = handle else {
            if v.error.is_some() && !pending {
                v.status = Status::Error;
            }
            return v;
        };
        if let Some(name) = h.name() {
            v.name = name;
        }
        let stats = h.stats();
        let only = h.only_files();
        if let Ok(files) = h.with_metadata(|m| {
            m.file_infos
                .iter()
                .enumerate()
                .map(|(i, f)| {
                    let name = f.relative_filename.to_string_lossy().into_owned();
                    let done = stats.file_progress.get(i).copied().unwrap_or(0);
                    FileView {
                        index: i,
                        is_video: is_video(&name),
                        name,
                        size: f.len,
                        progress: super::view::percent(done, f.len),
                        selected: only.as_ref().is_none_or(|o| o.contains(&i)),
                    }
                })
                .collect::<Vec<_>>()
        }) {
            v.video_file = main_file(files.iter().map(|f| (f.name.as_str(), f.size)));
            v.files = files;
        }
        // librqbit keeps a multi-file torrent's files in a folder of its own.
        let output = h.output_folder().to_path_buf();
        if h.with_metadata(|m| m.info.info().files.is_some()).unwrap_or(false) {
            v.save_path = output.parent().map(|p| p.to_path_buf()).unwrap_or_else(|| output.clone());
            v.content_path = output;
        } else if let Some(f) = v.files.first() {
            v.content_path = output.join(&f.name);
            v.save_path = output;
        }
        v.size = stats.total_bytes;
        v.downloaded = stats.progress_bytes;
        v.uploaded = stats.uploaded_bytes;
        v.progress = if stats.finished { 100.0 } else { super::view::percent(stats.progress_bytes, stats.total_bytes) };
        let torrent_size: u64 = v.files.iter().map(|f| f.size).sum();
        v.ratio = if torrent_size > 0 {
            ((stats.uploaded_bytes as f64 / torrent_size as f64) * 1000.0).round() / 1000.0
        } else {
            0.0
        };
        if stats.finished && stats.total_bytes > 0 && rec.completed_at.is_none() {
            v.completed_at = self.note_completion(id, Some(&v.name));
        }
        v.status = match stats.state {
            TorrentStatsState::Initializing { .. } => Status::Checking,
            TorrentStatsState::Paused => Status::Paused,
            TorrentStatsState::Error => Status::Error,
            TorrentStatsState::Live if stats.finished => Status::Seeding,
            TorrentStatsState::Live => Status::Downloading,
        };
        if let Some(err) = &stats.error {
            v.error = Some(err.clone());
            v.status = Status::Error;
        }
        // Its folder vanished (see `check_folders`): an error until it is back.
        if v.error.as_deref().is_some_and(|e| e.starts_with(super::disk::FOLDER_MISSING)) {
            v.status = Status::Error;
        }
        // A full disk pauses a torrent (the space guard resumes it): say so plainly.
        if v.error.as_deref().is_some_and(super::quota::is_enospc) {
            v.status = Status::Paused;
            v.error = Some(super::quota::DISK_FULL.into());
        }
        if let Some(live) = &stats.live {
            v.download_rate = (live.download_speed.mbps * 1024.0 * 1024.0) as u64;
            v.upload_rate = (live.upload_speed.mbps * 1024.0 * 1024.0) as u64;
            v.peers = live.snapshot.peer_stats.live;
            v.seeds = live.snapshot.peer_stats.live_seeders;
            if !stats.finished && v.download_rate > 0 {
                v.eta = Some(stats.total_bytes.saturating_sub(stats.progress_bytes) / v.download_rate);
            } else if stats.finished {
                v.eta = Some(0);
            }
        }
        v
    }

    /// The connected peers of a torrent.
    pub fn peers(&self, id: &str) -> EngineResult<Vec<PeerView>> {
        self.require_known(id)?;
        let Some(live) = self.handle(id).and_then(|h| h.live()) else {
            return Ok(Vec::new());
        };
        let snap = live.per_peer_stats_snapshot(Default::default());
        let now = Instant::now();
        let mut samples = self.peer_samples.lock().unwrap();
        samples.retain(|_, (t, _, _)| now.duration_since(*t) < Duration::from_secs(60));
        let mut out = Vec::new();
        for (addr, p) in snap.peers {
            let Ok(sock) = addr.parse::<SocketAddr>() else {
                continue;
            };
            let key = (id.to_string(), addr.clone());
            let (down, up) = match samples.get(&key) {
                Some((t, f, u)) if now.duration_since(*t) >= Duration::from_millis(200) => {
                    let secs = now.duration_since(*t).as_secs_f64();
                    (
                        (p.counters.fetched_bytes.saturating_sub(*f) as f64 / secs) as u64,
                        (p.counters.uploaded_bytes.saturating_sub(*u) as f64 / secs) as u64,
                    )
                }
                _ => (0, 0),
            };
            if samples.get(&key).is_none_or(|(t, _, _)| now.duration_since(*t) >= Duration::from_millis(200)) {
                samples.insert(key, (now, p.counters.fetched_bytes, p.counters.uploaded_bytes));
            }
            out.push(PeerView {
                ip: sock.ip().to_string(),
                port: sock.port(),
                client: p.client_name,
                progress: None,
                down_speed: down,
                up_speed: up,
                downloaded: p.counters.fetched_bytes,
                uploaded: p.counters.uploaded_bytes,
                connection: p.conn_kind.map(|k| format!("{k:?}").to_lowercase()),
            });
        }
        out.sort_by(|a, b| b.down_speed.cmp(&a.down_speed).then(a.ip.cmp(&b.ip)));
        Ok(out)
    }

    /// The .torrent file of a torrent with metadata.
    pub fn torrent_file(&self, id: &str) -> EngineResult<(String, bytes::Bytes)> {
        let rec = self.require_known(id)?;
        if let Some(h) = self.handle(id)
            && let Ok(bytes) = h.with_metadata(|m| m.torrent_bytes.clone())
        {
            return Ok((h.name().unwrap_or_else(|| id.to_string()), bytes));
        }
        match rec.torrent_bytes {
            Some(b) => Ok((rec.name.unwrap_or_else(|| id.to_string()), b.into())),
            None => Err(EngineError::NoMetadata(id.to_string())),
        }
    }

    /// Session-wide numbers, from one look at every torrent.
    pub fn totals(&self) -> EngineResult<Totals> {
        let torrents = self.list()?;
        let mut t = Totals { torrents: torrents.len(), ..Totals::default() };
        for v in &torrents {
            t.download_rate += v.download_rate;
            t.upload_rate += v.upload_rate;
            t.peers += v.peers as u64;
            *t.by_status.entry(v.status).or_insert(0) += 1;
        }
        let session = self.session();
        t.dht_nodes = session.get_dht().map(|d| d.stats().routing_table_size).unwrap_or(0);
        t.listen_port = self.is_running().then(|| session.announce_port()).flatten();
        Ok(t)
    }

    /// Whether the session answers: its lock can be taken and its torrents walked.
    pub fn responsive(&self) -> bool {
        self.session().with_torrents(|ts| ts.count()) < usize::MAX
    }
}

/// Rates, peers and counts over every torrent, and the session's own numbers.
#[derive(Clone, Debug, Default)]
pub struct Totals {
    pub torrents: usize,
    pub download_rate: u64,
    pub upload_rate: u64,
    pub peers: u64,
    pub by_status: HashMap<Status, usize>,
    pub dht_nodes: usize,
    /// The BitTorrent listen port, while the engine runs.
    pub listen_port: Option<u16>,
}
