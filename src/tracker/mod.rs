//! The built-in BitTorrent tracker (BEP 3 announce, BEP 23 compact peers, BEP 48
//! scrape, and WebTorrent's announces over WebSocket): a registry of swarms in memory,
//! with each swarm's completed count kept in the store so that it survives a restart.
//!
//! A swarm holds both kinds of peer: BitTorrent peers (HTTP announces, reached at an
//! address) and WebRTC peers (WebSocket announces, reached through the tracker's
//! relay of offers and answers). Each kind is only ever given peers of its own kind;
//! the counts (`complete`, `incomplete`, scrapes, `/api/tracker/torrents`) hold both.
//!
//! A peer's life in a swarm:
//!
//! ```text
//! announce ──▶ leecher (left > 0) ──(completed, or left = 0)──▶ seeder
//!                 │                                              │
//!                 └──(stopped, or silent for 2 × interval)──▶ gone ◀┘
//! ```
//!
//! Time comes from a `Clock`, so that tests can expire peers without waiting.

pub mod bencode;
pub mod create;
pub mod passkey_url;
pub mod request;
pub mod web_message;
pub mod websocket;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use rand::seq::SliceRandom;

use crate::config::TrackerConfig;
use crate::store::{Store, now_rfc3339};
use crate::system::clock::{Clock, SystemClock};
use bencode::Value;
pub use request::{Announce, BadRequest, Event};

/// Peers returned when the client does not say how many it wants.
pub const DEFAULT_NUMWANT: u32 = 50;
/// Swarms tracked at once; beyond this new swarms are refused.
pub const MAX_SWARMS: usize = 10_000;
/// Peers in one swarm; beyond this new peers are refused.
pub const MAX_PEERS_PER_SWARM: usize = 5_000;

struct Peer {
    addr: SocketAddr,
    left: u64,
    last_seen: Duration,
    /// The passkey's user, and the totals last reported, for crediting deltas.
    user: Option<i64>,
    uploaded: u64,
    downloaded: u64,
    /// Whether this peer's completion was already counted in `downloaded`.
    counted: bool,
    /// A WebRTC peer (announced over WebSocket): `addr` is its socket's, not one to
    /// connect to.
    web: bool,
}

struct Swarm {
    peers: HashMap<[u8; 20], Peer>,
    /// Completed downloads ever seen (BEP 48 `downloaded`), persisted.
    downloaded: u64,
    created_at: String,
    /// When it was last announced to (the tracker clock's `elapsed`).
    last_announce: Duration,
    /// The address whose announce started it (`None`: loaded from the store).
    started_by: Option<IpAddr>,
}

impl Swarm {
    fn new(now: Duration, started_by: IpAddr) -> Self {
        Swarm {
            peers: HashMap::new(),
            downloaded: 0,
            created_at: now_rfc3339(),
            last_announce: now,
            started_by: Some(started_by),
        }
    }

    /// Whether the swarm is kept: announced to within `idle`, and with peers or history.
    fn keep(&mut self, now: Duration, ttl: Duration, idle: Duration) -> bool {
        self.expire(now, ttl);
        now.saturating_sub(self.last_announce) <= idle && (!self.peers.is_empty() || self.downloaded > 0)
    }

    fn counts(&self) -> (u64, u64) {
        let seeders = self.peers.values().filter(|p| p.left == 0).count() as u64;
        (seeders, self.peers.len() as u64 - seeders)
    }

    fn expire(&mut self, now: Duration, ttl: Duration) {
        self.peers.retain(|_, p| now.saturating_sub(p.last_seen) <= ttl);
    }
}

/// What an announce is answered with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnnounceReply {
    pub interval: u64,
    pub min_interval: u64,
    pub complete: u64,
    pub incomplete: u64,
    pub downloaded: u64,
    /// Other peers, with their peer ids.
    pub peers: Vec<([u8; 20], SocketAddr)>,
}

impl AnnounceReply {
    /// Bencodes the reply: `peers` as 6-byte entries (and `peers6` as 18-byte ones,
    /// BEP 7) when `compact`, or as a list of dicts otherwise.
    pub fn encode(&self, compact: bool, no_peer_id: bool) -> Vec<u8> {
        let mut d = vec![
            ("interval", Value::int(self.interval)),
            ("min interval", Value::int(self.min_interval)),
            ("complete", Value::int(self.complete)),
            ("incomplete", Value::int(self.incomplete)),
            ("downloaded", Value::int(self.downloaded)),
        ];
        if compact {
            let (mut v4, mut v6) = (Vec::new(), Vec::new());
            for (_, addr) in &self.peers {
                match addr {
                    SocketAddr::V4(a) => {
                        v4.extend_from_slice(&a.ip().octets());
                        v4.extend_from_slice(&a.port().to_be_bytes());
                    }
                    SocketAddr::V6(a) => {
                        v6.extend_from_slice(&a.ip().octets());
                        v6.extend_from_slice(&a.port().to_be_bytes());
                    }
                }
            }
            d.push(("peers", Value::Bytes(v4)));
            if !v6.is_empty() {
                d.push(("peers6", Value::Bytes(v6)));
            }
        } else {
            let list = self
                .peers
                .iter()
                .map(|(id, addr)| {
                    let mut p = vec![("ip", Value::str(&addr.ip().to_string())), ("port", Value::int(addr.port()))];
                    if !no_peer_id {
                        p.push(("peer id", Value::Bytes(id.to_vec())));
                    }
                    Value::dict(p)
                })
                .collect();
            d.push(("peers", Value::List(list)));
        }
        Value::dict(d).encode()
    }
}

/// One swarm, as `/api/tracker/torrents` shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SwarmView {
    pub info_hash: String,
    /// The torrent's name, when this box has the torrent.
    pub name: Option<String>,
    pub seeders: u64,
    pub leechers: u64,
    /// Completed downloads ever seen.
    pub completed: u64,
    pub created_at: String,
}

/// The tracker. Shared behind an `Arc`.
pub struct Tracker {
    config: RwLock<TrackerConfig>,
    running: AtomicBool,
    swarms: Mutex<HashMap<[u8; 20], Swarm>>,
    clock: Arc<dyn Clock>,
    store: Store,
    /// The WebSockets of WebRTC peers.
    web: websocket::Hub,
}

impl Tracker {
    /// A tracker on the real clock, with completed counts loaded from the store.
    pub fn new(config: &TrackerConfig, store: Store) -> anyhow::Result<Self> {
        Self::with_clock(config, store, Arc::new(SystemClock))
    }

    pub fn with_clock(config: &TrackerConfig, store: Store, clock: Arc<dyn Clock>) -> anyhow::Result<Self> {
        let mut swarms = HashMap::new();
        let now = clock.elapsed();
        for (hash, downloaded, created_at) in store.tracker_swarms()? {
            let Ok(Ok(key)) = hex::decode(&hash).map(<[u8; 20]>::try_from) else { continue };
            let swarm = Swarm { peers: HashMap::new(), downloaded, created_at, last_announce: now, started_by: None };
            swarms.insert(key, swarm);
        }
        Ok(Self {
            config: RwLock::new(config.clone()),
            running: AtomicBool::new(config.enabled),
            swarms: Mutex::new(swarms),
            clock,
            store,
            web: websocket::Hub::default(),
        })
    }

    /// The open WebSockets of WebRTC peers.
    pub fn websockets(&self) -> &websocket::Hub {
        &self.web
    }

    /// Whether announces and scrapes are answered.
    pub fn is_running(&self) -> bool {
        self.running.load(Ordering::SeqCst)
    }

    /// Turns the tracker on or off at run time (the `tracker` service).
    pub fn set_running(&self, on: bool) {
        self.running.store(on, Ordering::SeqCst);
    }

    /// Applies changed settings.
    pub fn reconfigure(&self, config: &TrackerConfig) {
        *self.config.write().unwrap() = config.clone();
        self.set_running(config.enabled);
    }

    pub fn config(&self) -> TrackerConfig {
        self.config.read().unwrap().clone()
    }

    fn ttl(&self, c: &TrackerConfig) -> Duration {
        Duration::from_secs(c.interval_secs.saturating_mul(2))
    }

    /// Handles an announce from `ip`. A `stopped` peer leaves the swarm; the reply
    /// never contains the asking peer; a seeder is sent only leechers.
    pub fn announce(&self, req: &Announce, ip: IpAddr) -> Result<AnnounceReply, BadRequest> {
        self.announce_as(req, ip, None)
    }

    /// An announce made through `user`'s passkey (`None`: without one): the bytes
    /// uploaded and downloaded since the peer's last announce are credited to the
    /// user; a torrent made private by this box refuses announces without a passkey.
    pub fn announce_as(&self, req: &Announce, ip: IpAddr, user: Option<i64>) -> Result<AnnounceReply, BadRequest> {
        self.announce_peer(req, ip, user, false)
    }

    /// A WebSocket (WebRTC) peer's announce, from the socket at `ip`:`req.port`. The
    /// reply's peers are WebRTC peers of the swarm, the ones to relay offers to.
    pub fn announce_web(&self, req: &Announce, ip: IpAddr, user: Option<i64>) -> Result<AnnounceReply, BadRequest> {
        self.announce_peer(req, ip, user, true)
    }

    /// Removes a WebRTC peer whose socket closed.
    pub fn leave_web(&self, info_hash: &[u8; 20], peer_id: &[u8; 20]) {
        let mut swarms = self.swarms.lock().unwrap();
        let Some(swarm) = swarms.get_mut(info_hash) else { return };
        if swarm.peers.get(peer_id).is_some_and(|p| p.web) {
            swarm.peers.remove(peer_id);
        }
        if swarm.peers.is_empty() && swarm.downloaded == 0 {
            swarms.remove(info_hash);
        }
    }

    fn announce_peer(
        &self,
        req: &Announce,
        ip: IpAddr,
        user: Option<i64>,
        web: bool,
    ) -> Result<AnnounceReply, BadRequest> {
        let c = self.config();
        let hex_hash = hex::encode(req.info_hash);
        if user.is_none() && self.store.is_tracker_private(&hex_hash).unwrap_or(false) {
            return Err(BadRequest(format!(
                "torrent {hex_hash} is private: announce with your passkey (/announce/<passkey>, \
                 in the .torrent downloaded from this box)"
            )));
        }
        let mut credit = (0u64, 0u64);
        if c.only_known && !self.is_known(&hex_hash) {
            return Err(BadRequest(format!("torrent {hex_hash} is not tracked by this box")));
        }
        let now = self.clock.elapsed();
        let addr = SocketAddr::new(ip, req.port);
        let mut swarms = self.swarms.lock().unwrap();
        if !swarms.contains_key(&req.info_hash) {
            if req.event == Event::Stopped {
                return Ok(self.reply(&c, 0, 0, 0, Vec::new()));
            }
            let ip = ip.to_canonical();
            let by_ip = swarms.values().filter(|s| s.started_by == Some(ip)).count();
            if by_ip >= c.max_swarms_per_address as usize {
                drop(swarms);
                self.sweep();
                swarms = self.swarms.lock().unwrap();
                if swarms.values().filter(|s| s.started_by == Some(ip)).count() >= c.max_swarms_per_address as usize {
                    return Err(BadRequest(format!(
                        "this address already started {} swarms here (tracker.max_swarms_per_address)",
                        c.max_swarms_per_address
                    )));
                }
            }
            if swarms.len() >= MAX_SWARMS {
                drop(swarms);
                self.sweep();
                swarms = self.swarms.lock().unwrap();
                if swarms.len() >= MAX_SWARMS {
                    return Err(BadRequest("the tracker is full".into()));
                }
            }
            swarms.insert(req.info_hash, Swarm::new(now, ip));
        }
        let swarm = swarms.get_mut(&req.info_hash).expect("inserted above");
        swarm.last_announce = now;
        swarm.expire(now, self.ttl(&c));
        // A client that changed its peer id but kept its address is the same peer. (Not
        // so on a WebSocket: the clients of one page share their socket.)
        if !web {
            swarm.peers.retain(|id, p| p.web || id == &req.peer_id || p.addr != addr);
        }
        let mut newly_completed = false;
        if let Some(p) = swarm.peers.get(&req.peer_id).filter(|p| p.user == user) {
            credit = (req.uploaded.saturating_sub(p.uploaded), req.downloaded.saturating_sub(p.downloaded));
        } else if !swarm.peers.contains_key(&req.peer_id) {
            // A peer first seen already complete downloaded nothing here that this
            // swarm saw (librqbit, the box's own engine among them, reports the bytes
            // it has, read from disk too, as `downloaded`): only its upload counts.
            credit = (req.uploaded, if req.left == 0 { 0 } else { req.downloaded });
        }
        if req.event == Event::Stopped {
            swarm.peers.remove(&req.peer_id);
        } else {
            if !swarm.peers.contains_key(&req.peer_id) && swarm.peers.len() >= MAX_PEERS_PER_SWARM {
                return Err(BadRequest("this swarm is full".into()));
            }
            let peer = swarm.peers.entry(req.peer_id).or_insert(Peer {
                addr,
                left: req.left,
                last_seen: now,
                counted: false,
                user,
                uploaded: 0,
                downloaded: 0,
                web,
            });
            peer.user = user;
            peer.uploaded = req.uploaded;
            peer.downloaded = req.downloaded;
            let was_leecher = peer.left > 0;
            peer.addr = addr;
            peer.last_seen = now;
            peer.left = req.left;
            // A completion counts once per peer: on the `completed` event, or when a
            // leecher we knew reaches left = 0 without sending it.
            if !peer.counted && (req.event == Event::Completed || (was_leecher && req.left == 0)) {
                peer.counted = true;
                newly_completed = true;
            }
        }
        let persist = newly_completed.then(|| {
            swarm.downloaded += 1;
            (swarm.downloaded, swarm.created_at.clone())
        });
        let (complete, incomplete) = swarm.counts();
        let want = if req.event == Event::Stopped {
            0
        } else {
            req.numwant.unwrap_or(DEFAULT_NUMWANT).min(c.max_numwant) as usize
        };
        let asker_seeds = req.left == 0;
        let mut candidates: Vec<([u8; 20], SocketAddr)> = swarm
            .peers
            .iter()
            .filter(|(id, p)| **id != req.peer_id && p.web == web && (web || p.addr != addr))
            .filter(|(_, p)| !(asker_seeds && p.left == 0))
            .map(|(id, p)| (*id, p.addr))
            .collect();
        if candidates.len() > want {
            candidates.partial_shuffle(&mut rand::thread_rng(), want);
            candidates.truncate(want);
        }
        let downloaded = swarm.downloaded;
        if swarm.peers.is_empty() && swarm.downloaded == 0 {
            swarms.remove(&req.info_hash);
        }
        // Written after the registry is unlocked, so other announces need not wait.
        drop(swarms);
        if let Some(u) = user
            && credit != (0, 0)
            && let Err(e) = self.store.credit(u, credit.0, credit.1)
        {
            tracing::warn!(user = u, "cannot credit tracker bytes: {e:#}");
        }
        if let Some((count, created_at)) = persist
            && let Err(e) = self.store.set_tracker_downloaded(&hex_hash, count, &created_at)
        {
            tracing::warn!(info_hash = hex_hash, "cannot persist the completed count: {e:#}");
        }
        Ok(self.reply(&c, complete, incomplete, downloaded, candidates))
    }

    fn reply(
        &self,
        c: &TrackerConfig,
        complete: u64,
        incomplete: u64,
        downloaded: u64,
        peers: Vec<([u8; 20], SocketAddr)>,
    ) -> AnnounceReply {
        AnnounceReply {
            interval: c.interval_secs,
            min_interval: c.min_interval_secs,
            complete,
            incomplete,
            downloaded,
            peers,
        }
    }

    fn is_known(&self, hex_hash: &str) -> bool {
        match self.store.torrent(hex_hash) {
            Ok(r) => r.is_some(),
            Err(e) => {
                tracing::warn!("cannot look up torrent {hex_hash}: {e:#}");
                false
            }
        }
    }

    /// `(seeding, leeching, completed)`: the swarms `user`'s passkey is in now as a
    /// seeder and as a leecher, and the completions it announced since the start.
    pub fn user_counts(&self, user: i64) -> (u64, u64, u64) {
        let swarms = self.swarms.lock().unwrap();
        let mut n = (0, 0, 0);
        for p in swarms.values().flat_map(|s| s.peers.values()).filter(|p| p.user == Some(user)) {
            if p.left == 0 {
                n.0 += 1
            } else {
                n.1 += 1
            }
            if p.counted {
                n.2 += 1
            }
        }
        n
    }

    /// `(info_hash, complete, incomplete, downloaded)` of `hashes`, or of every swarm
    /// when empty. Unknown hashes are left out.
    pub fn scrape_counts(&self, hashes: &[[u8; 20]]) -> Vec<([u8; 20], u64, u64, u64)> {
        let c = self.config();
        let now = self.clock.elapsed();
        let mut swarms = self.swarms.lock().unwrap();
        let keys: Vec<[u8; 20]> = if hashes.is_empty() { swarms.keys().copied().collect() } else { hashes.to_vec() };
        let mut out = Vec::new();
        for k in keys {
            let Some(s) = swarms.get_mut(&k) else { continue };
            s.expire(now, self.ttl(&c));
            let (complete, incomplete) = s.counts();
            out.push((k, complete, incomplete, s.downloaded));
        }
        out
    }

    /// Bencoded BEP 48 scrape of `hashes`, or of every swarm when empty. Unknown
    /// hashes are left out.
    pub fn scrape(&self, hashes: &[[u8; 20]]) -> Vec<u8> {
        let files = self
            .scrape_counts(hashes)
            .into_iter()
            .map(|(k, complete, incomplete, downloaded)| {
                let counts = Value::dict([
                    ("complete", Value::int(complete)),
                    ("downloaded", Value::int(downloaded)),
                    ("incomplete", Value::int(incomplete)),
                ]);
                (k, counts)
            })
            .collect::<Vec<_>>();
        let interval = Value::dict([("min_request_interval", Value::int(self.config().min_interval_secs))]);
        Value::dict([("files", Value::dict(files)), ("flags", interval)]).encode()
    }

    /// Every swarm, with current counts. Names come from the store.
    pub fn swarms(&self) -> Vec<SwarmView> {
        let c = self.config();
        let now = self.clock.elapsed();
        let mut out = Vec::new();
        {
            let mut swarms = self.swarms.lock().unwrap();
            for (k, s) in swarms.iter_mut() {
                s.expire(now, self.ttl(&c));
                let (seeders, leechers) = s.counts();
                out.push(SwarmView {
                    info_hash: hex::encode(k),
                    name: None,
                    seeders,
                    leechers,
                    completed: s.downloaded,
                    created_at: s.created_at.clone(),
                });
            }
        }
        let names = match self.store.torrent_names() {
            Ok(names) => names,
            Err(e) => {
                tracing::warn!("cannot read torrent names: {e:#}");
                HashMap::new()
            }
        };
        for v in &mut out {
            v.name = names.get(&v.info_hash).cloned();
        }
        out
    }

    /// `(swarms, peers)` tracked now, for the service's status.
    pub fn counts(&self) -> (usize, usize) {
        self.sweep();
        let swarms = self.swarms.lock().unwrap();
        (swarms.len(), swarms.values().map(|s| s.peers.len()).sum())
    }

    /// Drops expired peers, swarms left with neither peers nor history, and swarms
    /// with no announce for `tracker.swarm_idle_secs` (with their stored rows).
    pub fn sweep(&self) {
        let c = self.config();
        let now = self.clock.elapsed();
        let idle = Duration::from_secs(c.swarm_idle_secs);
        let mut gone = Vec::new();
        self.swarms.lock().unwrap().retain(|hash, s| {
            let keep = s.keep(now, self.ttl(&c), idle);
            if !keep && s.downloaded > 0 {
                gone.push(hex::encode(hash));
            }
            keep
        });
        if !gone.is_empty()
            && let Err(e) = self.store.delete_tracker_swarms(&gone)
        {
            tracing::warn!("cannot forget {} idle tracker swarms: {e:#}", gone.len());
        }
    }

    /// Sweeps once a minute for as long as the tracker lives.
    pub fn spawn_sweeper(self: &Arc<Self>, shutdown: &tokio_util::sync::CancellationToken) {
        let weak = Arc::downgrade(self);
        crate::system::spawn("tracker-sweeper", shutdown, async move {
            let mut tick = tokio::time::interval(Duration::from_secs(60));
            loop {
                tick.tick().await;
                let Some(t) = weak.upgrade() else { return Ok(()) };
                t.sweep();
            }
        });
    }
}

#[cfg(test)]
mod tests;
