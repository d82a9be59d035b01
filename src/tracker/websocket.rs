//! WebTorrent announces over WebSocket: one task per socket reads the JSON messages
//! (`web_message`), answers them through the `Tracker`, and relays offers and answers
//! between the sockets of a swarm through the `Hub`.
//!
//! Limits: every message counts against the address's announce rate (over it, a
//! `failure reason` and the socket is closed); messages over `MAX_MESSAGE_BYTES` are
//! refused and close the socket; sockets are capped in total and per address; a socket
//! silent for twice the announce interval is closed; a closed socket's peers leave
//! their swarms.

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::web_message::{self as msg, WebMessage};
use super::{Announce, Tracker};

/// Longest message answered; a longer one gets a `failure reason` and the socket closes.
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;
/// Longest message read at all (the WebSocket layer's own limit): beyond it the
/// socket closes without reading the message.
pub const HARD_MAX_MESSAGE_BYTES: usize = 2 * MAX_MESSAGE_BYTES;
/// Open sockets at once, and per client address.
pub const MAX_SOCKETS: usize = 512;
pub const MAX_SOCKETS_PER_ADDRESS: usize = 16;
/// Swarms one socket may be in (each peer id of each announced info hash).
pub const MAX_PEERS_PER_SOCKET: usize = 64;
/// Relayed messages waiting for a socket; beyond this, relays to it are dropped.
const QUEUE: usize = 64;
/// A write that takes longer closes the socket (a client that does not read).
const SEND_TIMEOUT: Duration = Duration::from_secs(10);

type PeerKey = ([u8; 20], [u8; 20]);

struct Socket {
    ip: IpAddr,
    queue: mpsc::Sender<String>,
    peers: HashSet<PeerKey>,
}

#[derive(Default)]
struct HubInner {
    next_id: u64,
    sockets: HashMap<u64, Socket>,
    per_address: HashMap<IpAddr, usize>,
    /// Which socket reaches each (info hash, peer id).
    peers: HashMap<PeerKey, u64>,
}

/// The open sockets and the peers each one reaches.
#[derive(Default)]
pub struct Hub {
    inner: Mutex<HubInner>,
    /// Cancelled when the HTTP server stops: every socket closes (1001).
    stop: CancellationToken,
}

impl Hub {
    /// Registers a socket from `ip`, or says why not.
    fn open(&self, ip: IpAddr) -> Result<(u64, mpsc::Receiver<String>), String> {
        if self.stop.is_cancelled() {
            return Err("the box is stopping".into());
        }
        let mut h = self.inner.lock().unwrap();
        if h.sockets.len() >= MAX_SOCKETS {
            return Err(format!("the tracker has {MAX_SOCKETS} WebSockets open, its most; retry later"));
        }
        let n = h.per_address.get(&ip).copied().unwrap_or(0);
        if n >= MAX_SOCKETS_PER_ADDRESS {
            return Err(format!("this address has {MAX_SOCKETS_PER_ADDRESS} WebSockets open to the tracker, its most"));
        }
        h.per_address.insert(ip, n + 1);
        h.next_id += 1;
        let id = h.next_id;
        let (queue, rx) = mpsc::channel(QUEUE);
        h.sockets.insert(id, Socket { ip, queue, peers: HashSet::new() });
        Ok((id, rx))
    }

    /// Forgets a socket; returns the peers it still reached (they leave their swarms).
    fn close(&self, id: u64) -> Vec<PeerKey> {
        let mut h = self.inner.lock().unwrap();
        let Some(s) = h.sockets.remove(&id) else { return Vec::new() };
        if let Some(n) = h.per_address.get_mut(&s.ip) {
            *n -= 1;
            if *n == 0 {
                h.per_address.remove(&s.ip);
            }
        }
        let gone: Vec<PeerKey> = s.peers.into_iter().filter(|k| h.peers.get(k) == Some(&id)).collect();
        for k in &gone {
            h.peers.remove(k);
        }
        gone
    }

    /// Makes `key` reached through socket `id` (a peer that reconnected moves).
    fn bind(&self, id: u64, key: PeerKey) -> Result<(), String> {
        let mut h = self.inner.lock().unwrap();
        let Some(s) = h.sockets.get_mut(&id) else { return Ok(()) };
        if !s.peers.contains(&key) && s.peers.len() >= MAX_PEERS_PER_SOCKET {
            return Err(format!("one WebSocket may announce at most {MAX_PEERS_PER_SOCKET} torrents"));
        }
        s.peers.insert(key);
        h.peers.insert(key, id);
        Ok(())
    }

    fn unbind(&self, id: u64, key: &PeerKey) {
        let mut h = self.inner.lock().unwrap();
        if let Some(s) = h.sockets.get_mut(&id) {
            s.peers.remove(key);
        }
        if h.peers.get(key) == Some(&id) {
            h.peers.remove(key);
        }
    }

    fn reaches(&self, id: u64, key: &PeerKey) -> bool {
        self.inner.lock().unwrap().peers.get(key) == Some(&id)
    }

    /// Queues `text` for the socket that reaches `key`; false when there is none or
    /// its queue is full.
    fn relay(&self, key: &PeerKey, text: String) -> bool {
        let h = self.inner.lock().unwrap();
        let Some(s) = h.peers.get(key).and_then(|id| h.sockets.get(id)) else { return false };
        s.queue.try_send(text).is_ok()
    }

    /// Sockets open now.
    pub fn open_sockets(&self) -> usize {
        self.inner.lock().unwrap().sockets.len()
    }

    /// Closes every socket, and refuses new ones, as the HTTP server stops (upgraded
    /// connections are no longer the server's to wait for). Waits up to `bound` for
    /// the sockets to say goodbye.
    pub async fn close_all(&self, bound: Duration) {
        self.stop.cancel();
        let deadline = Instant::now() + bound;
        while self.open_sockets() > 0 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// Unregisters the socket however its task ends.
struct Registration {
    tracker: Arc<Tracker>,
    id: u64,
}

impl Drop for Registration {
    fn drop(&mut self) {
        for (info_hash, peer_id) in self.tracker.websockets().close(self.id) {
            self.tracker.leave_web(&info_hash, &peer_id);
        }
    }
}

/// Who is on the other end of a socket.
#[derive(Clone, Copy, Debug)]
pub struct Client {
    pub addr: SocketAddr,
    /// The passkey's user (`/announce/{passkey}`), credited like HTTP announces.
    pub user: Option<i64>,
}

/// What to do after a message.
enum Next {
    Go,
    /// Close with this code and reason.
    Close(u16, &'static str),
}

/// Serves one upgraded socket until it closes, idles out, breaks a limit or the daemon
/// stops. `rate` counts one announce of an address (`Err(seconds)` when over).
/// However it ends, cancelled too, the socket is unregistered and its peers leave
/// their swarms (`Registration`'s drop).
pub async fn serve(
    tracker: Arc<Tracker>,
    mut socket: WebSocket,
    client: Client,
    rate: impl Fn(IpAddr) -> Result<(), u64> + Send,
    shutdown: CancellationToken,
) {
    let ip = client.addr.ip().to_canonical();
    let (id, mut queue) = match tracker.websockets().open(ip) {
        Ok(r) => r,
        Err(reason) => {
            tracing::debug!(client = %client.addr, "refusing a WebSocket: {reason}");
            refuse(&mut socket, &msg::failure(&reason, None, None), 1013, "too many sockets").await;
            return;
        }
    };
    let _registration = Registration { tracker: tracker.clone(), id };
    let idle = Duration::from_secs(tracker.config().interval_secs.saturating_mul(2).max(1));
    let mut deadline = Instant::now() + idle;
    let mut replies = Vec::new();
    let stopping = tracker.websockets().stop.clone();
    loop {
        let next = tokio::select! {
            () = shutdown.cancelled() => Next::Close(1001, "the box is stopping"),
            () = stopping.cancelled() => Next::Close(1001, "the box is stopping"),
            () = tokio::time::sleep_until(deadline) => Next::Close(1000, "idle: no announce for twice the interval"),
            Some(text) = queue.recv() => {
                if send(&mut socket, text).await { Next::Go } else { return }
            }
            m = socket.recv() => match m {
                None => return,
                Some(Err(e)) => {
                    // Over the hard limit, or not WebSocket at all.
                    tracing::debug!(client = %client.addr, "WebSocket broke: {e}");
                    let reason = format!("the socket is closed: {e} (messages are at most {MAX_MESSAGE_BYTES} bytes)");
                    refuse(&mut socket, &msg::failure(&reason, None, None), 1009, "message refused").await;
                    return;
                }
                Some(Ok(Message::Close(_))) => {
                    // Sends the close reply tungstenite queued.
                    let _ = tokio::time::timeout(SEND_TIMEOUT, futures::SinkExt::flush(&mut socket)).await;
                    return;
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => Next::Go,
                Some(Ok(Message::Text(t))) => {
                    deadline = Instant::now() + idle;
                    handle(&tracker, id, client, &rate, t.as_bytes(), &mut replies)
                }
                Some(Ok(Message::Binary(b))) => {
                    deadline = Instant::now() + idle;
                    handle(&tracker, id, client, &rate, &b, &mut replies)
                }
            },
        };
        for r in replies.drain(..) {
            if !send(&mut socket, r).await {
                return;
            }
        }
        if let Next::Close(code, reason) = next {
            close(&mut socket, code, reason).await;
            return;
        }
    }
}

async fn send(socket: &mut WebSocket, text: String) -> bool {
    matches!(tokio::time::timeout(SEND_TIMEOUT, socket.send(Message::Text(text.into()))).await, Ok(Ok(())))
}

async fn close(socket: &mut WebSocket, code: u16, reason: &'static str) {
    let frame = CloseFrame { code, reason: reason.into() };
    let _ = tokio::time::timeout(SEND_TIMEOUT, socket.send(Message::Close(Some(frame)))).await;
}

async fn refuse(socket: &mut WebSocket, failure: &str, code: u16, reason: &'static str) {
    if send(socket, failure.to_string()).await {
        close(socket, code, reason).await;
    }
}

/// Answers one message: replies to this socket go in `out`, relays to other sockets'
/// queues.
fn handle(
    tracker: &Tracker,
    id: u64,
    client: Client,
    rate: &impl Fn(IpAddr) -> Result<(), u64>,
    bytes: &[u8],
    out: &mut Vec<String>,
) -> Next {
    let ip = client.addr.ip().to_canonical();
    if let Err(secs) = rate(ip) {
        let reason = format!("too many announces from this address; retry in {secs} s");
        out.push(msg::failure(&reason, None, None));
        return Next::Close(1008, "rate limited");
    }
    if bytes.len() > MAX_MESSAGE_BYTES {
        let reason = format!("a message of {} bytes: at most {MAX_MESSAGE_BYTES} are read", bytes.len());
        out.push(msg::failure(&reason, None, None));
        return Next::Close(1009, "message too big");
    }
    let Ok(text) = std::str::from_utf8(bytes) else {
        out.push(msg::failure("the message is not UTF-8 text", None, None));
        return Next::Go;
    };
    if !tracker.is_running() {
        out.push(msg::failure("the tracker of this box is turned off", None, None));
        return Next::Go;
    }
    let hub = tracker.websockets();
    match msg::parse(text) {
        Err(e) => {
            tracing::debug!(client = %client.addr, "bad WebSocket message: {e}");
            out.push(msg::failure(&e.reason, e.action, e.info_hash.as_ref()));
        }
        Ok(WebMessage::Scrape(hashes)) => {
            out.push(msg::scrape_reply(&tracker.scrape_counts(&hashes), tracker.config().min_interval_secs));
        }
        Ok(WebMessage::Answer(a)) => {
            let fail = |reason: &str| msg::failure(reason, Some("announce"), Some(&a.info_hash));
            if !hub.reaches(id, &(a.info_hash, a.peer_id)) {
                out.push(fail("announce this torrent with this peer_id on this socket before answering"));
            } else if !hub.relay(&(a.info_hash, a.to_peer_id), msg::answer(&a)) {
                out.push(fail("the peer of to_peer_id is gone from this swarm"));
            }
        }
        Ok(WebMessage::Announce(a)) => {
            let key = (a.info_hash, a.peer_id);
            let req = Announce {
                info_hash: a.info_hash,
                peer_id: a.peer_id,
                port: client.addr.port(),
                uploaded: a.uploaded,
                downloaded: a.downloaded,
                left: a.left,
                event: a.event,
                compact: true,
                no_peer_id: false,
                numwant: Some(a.offers.len() as u32),
            };
            let fail = |reason: &str| msg::failure(reason, Some("announce"), Some(&a.info_hash));
            // Bound before the announce, so that an offer made to this peer at once
            // finds its socket.
            let was_bound = hub.reaches(id, &key);
            if a.event != super::Event::Stopped
                && let Err(reason) = hub.bind(id, key)
            {
                out.push(fail(&reason));
                return Next::Go;
            }
            match tracker.announce_web(&req, ip, client.user) {
                Err(e) => {
                    if !was_bound {
                        hub.unbind(id, &key);
                    }
                    out.push(fail(&e.0));
                }
                Ok(reply) => {
                    if a.event == super::Event::Stopped {
                        hub.unbind(id, &key);
                    }
                    out.push(msg::announce_reply(&a.info_hash, reply.interval, reply.complete, reply.incomplete));
                    for ((peer, _), offer) in reply.peers.iter().zip(&a.offers) {
                        hub.relay(&(a.info_hash, *peer), msg::offer(&a.info_hash, &a.peer_id, offer));
                    }
                }
            }
        }
    }
    Next::Go
}
