//! SSDP (UPnP Device Architecture 1.0, section 1): announces the media server with
//! NOTIFY `ssdp:alive` on each chosen interface (and `ssdp:byebye` on shutdown), and
//! answers M-SEARCH for `ssdp:all`, `upnp:rootdevice`, the device's UUID, MediaServer:1,
//! ContentDirectory:1 and ConnectionManager:1.
//!
//! One socket bound to `0.0.0.0:1900` joins the group on every chosen interface and
//! receives; one socket per interface address sends, so each announcement leaves by
//! its own interface with a `LOCATION` on that interface's address. Interfaces are
//! scanned again every 30 s, so a box whose network comes up late is still found.
//! A search is answered only when it comes from the subnet of a chosen interface.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::UdpSocket;
use tokio_util::sync::CancellationToken;

use super::Dlna;
use super::description::{CONNECTION_MANAGER, CONTENT_DIRECTORY, DESCRIPTION_PATH, DEVICE_TYPE};
use crate::lan::interfaces::{self as lan, LanAddr};

pub const GROUP: Ipv4Addr = Ipv4Addr::new(239, 255, 255, 250);
pub const PORT: u16 = 1900;
const MAX_AGE_SECS: u64 = 1800;
/// Alive announcements are repeated well within `max-age`.
const ANNOUNCE_EVERY: Duration = Duration::from_secs(300);
const RESCAN_EVERY: Duration = Duration::from_secs(30);
/// Searches answered at once at most; more are dropped (no amplification).
const MAX_PENDING_REPLIES: usize = 64;

/// The (NT/ST, USN) pairs this device announces.
fn targets(udn: &str) -> Vec<(String, String)> {
    let mut v =
        vec![("upnp:rootdevice".to_string(), format!("{udn}::upnp:rootdevice")), (udn.to_string(), udn.to_string())];
    for t in [DEVICE_TYPE, CONTENT_DIRECTORY, CONNECTION_MANAGER] {
        v.push((t.to_string(), format!("{udn}::{t}")));
    }
    v
}

/// What an M-SEARCH asks for, when it is one.
#[derive(Debug, PartialEq, Eq)]
pub struct Search {
    pub st: String,
    pub mx: u64,
}

/// Parses an M-SEARCH request; anything else (NOTIFY, answers, junk) gives `None`.
pub fn parse_search(datagram: &[u8]) -> Option<Search> {
    let text = std::str::from_utf8(datagram).ok()?;
    let mut lines = text.split("\r\n").flat_map(|l| l.split('\n'));
    let first = lines.next()?.trim();
    if !first.starts_with("M-SEARCH ") {
        return None;
    }
    let (mut man, mut st, mut mx) = (None, None, None);
    for l in lines {
        let Some((k, v)) = l.split_once(':') else { continue };
        let v = v.trim();
        match k.trim().to_ascii_uppercase().as_str() {
            "MAN" => man = Some(v.trim_matches('"').to_string()),
            "ST" => st = Some(v.to_string()),
            "MX" => mx = v.parse::<u64>().ok(),
            _ => {}
        }
    }
    (man.as_deref() == Some("ssdp:discover")).then(|| Search { st: st.unwrap_or_default(), mx: mx.unwrap_or(1) })
}

/// The (ST, USN) answers owed to a search for `st`.
pub fn answers(udn: &str, st: &str) -> Vec<(String, String)> {
    let all = targets(udn);
    if st == "ssdp:all" { all } else { all.into_iter().filter(|(nt, _)| nt == st).collect() }
}

fn http_date() -> String {
    let fmt = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    time::OffsetDateTime::now_utc().format(&fmt).unwrap_or_default()
}

/// The answer datagram to a search.
pub fn search_response(location: &str, server: &str, st: &str, usn: &str) -> String {
    format!(
        "HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age={MAX_AGE_SECS}\r\nDATE: {}\r\nEXT:\r\nLOCATION: {location}\r\n\
SERVER: {server}\r\nST: {st}\r\nUSN: {usn}\r\nCONTENT-LENGTH: 0\r\n\r\n",
        http_date()
    )
}

/// A NOTIFY datagram; `location` `None` makes it a byebye.
pub fn notify(location: Option<&str>, server: &str, nt: &str, usn: &str) -> String {
    match location {
        Some(loc) => format!(
            "NOTIFY * HTTP/1.1\r\nHOST: {GROUP}:{PORT}\r\nCACHE-CONTROL: max-age={MAX_AGE_SECS}\r\nLOCATION: {loc}\r\n\
NT: {nt}\r\nNTS: ssdp:alive\r\nSERVER: {server}\r\nUSN: {usn}\r\n\r\n"
        ),
        None => {
            format!("NOTIFY * HTTP/1.1\r\nHOST: {GROUP}:{PORT}\r\nNT: {nt}\r\nNTS: ssdp:byebye\r\nUSN: {usn}\r\n\r\n")
        }
    }
}

/// One interface address being served: its sending socket.
struct Served {
    addr: LanAddr,
    sock: Arc<UdpSocket>,
}

struct Runner {
    dlna: Arc<Dlna>,
    http_port: u16,
    server: String,
    recv: UdpSocket,
    served: HashMap<Ipv4Addr, Served>,
    pending: Arc<tokio::sync::Semaphore>,
    shutdown: CancellationToken,
}

fn receiver() -> anyhow::Result<UdpSocket> {
    let s = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))?;
    s.set_reuse_address(true)?;
    s.set_reuse_port(true)?;
    s.set_nonblocking(true)?;
    s.bind(&SocketAddr::from((Ipv4Addr::UNSPECIFIED, PORT)).into())
        .with_context(|| format!("binding UDP port {PORT}"))?;
    Ok(UdpSocket::from_std(s.into())?)
}

/// A socket sending multicast out of the interface with address `ip`.
pub fn sender(ip: Ipv4Addr) -> anyhow::Result<UdpSocket> {
    let s = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))?;
    s.set_nonblocking(true)?;
    s.set_multicast_if_v4(&ip)?;
    s.set_multicast_ttl_v4(2)?;
    s.set_multicast_loop_v4(true)?;
    s.bind(&SocketAddr::from((ip, 0)).into())?;
    Ok(UdpSocket::from_std(s.into())?)
}

impl Runner {
    fn location(&self, ip: Ipv4Addr) -> String {
        format!("http://{ip}:{}{DESCRIPTION_PATH}", self.http_port)
    }

    /// Sends alive (or byebye) for every target on one interface.
    async fn announce(&self, s: &Served, alive: bool) {
        let loc = self.location(s.addr.ip);
        let group = SocketAddr::V4(SocketAddrV4::new(GROUP, PORT));
        for (nt, usn) in targets(&self.dlna.udn) {
            let msg = notify(alive.then_some(loc.as_str()), &self.server, &nt, &usn);
            if let Err(e) = s.sock.send_to(msg.as_bytes(), group).await {
                tracing::debug!(interface = %s.addr.interface, "SSDP NOTIFY not sent: {e}");
            }
        }
    }

    /// Serves interfaces that appeared, drops those that went away.
    async fn rescan(&mut self) {
        let now = lan::addresses(&self.dlna.config.interfaces);
        let gone: Vec<Ipv4Addr> = self.served.keys().filter(|ip| !now.iter().any(|a| a.ip == **ip)).copied().collect();
        for ip in gone {
            if let Some(s) = self.served.remove(&ip) {
                tracing::info!(interface = %s.addr.interface, %ip, "DLNA: interface gone");
                let _ = self.recv.leave_multicast_v4(GROUP, ip);
            }
        }
        for addr in now {
            if self.served.contains_key(&addr.ip) {
                continue;
            }
            if let Err(e) = self.recv.join_multicast_v4(GROUP, addr.ip) {
                tracing::warn!(interface = %addr.interface, "DLNA: cannot join the SSDP group: {e}");
                continue;
            }
            let sock = match sender(addr.ip) {
                Ok(s) => Arc::new(s),
                Err(e) => {
                    tracing::warn!(interface = %addr.interface, "DLNA: cannot send SSDP: {e:#}");
                    let _ = self.recv.leave_multicast_v4(GROUP, addr.ip);
                    continue;
                }
            };
            tracing::info!(interface = %addr.interface, ip = %addr.ip, "DLNA media server announced");
            let s = Served { addr, sock };
            // Three times, as UDP may drop one.
            for _ in 0..3 {
                self.announce(&s, true).await;
            }
            self.served.insert(s.addr.ip, s);
        }
    }

    /// Answers a search after a random delay within its MX (at most 1 s).
    fn answer(&self, from: SocketAddr, search: Search) {
        let SocketAddr::V4(v4) = from else { return };
        let Some(s) = self.served.values().find(|s| s.addr.contains(*v4.ip())) else {
            tracing::trace!(%from, "SSDP search from outside the served subnets");
            return;
        };
        let replies = answers(&self.dlna.udn, &search.st);
        if replies.is_empty() {
            return;
        }
        let Ok(permit) = self.pending.clone().try_acquire_owned() else { return };
        let (sock, loc, server) = (s.sock.clone(), self.location(s.addr.ip), self.server.clone());
        let delay = Duration::from_millis(rand::random::<u64>() % (search.mx.clamp(1, 5) * 200));
        crate::system::spawn("ssdp-reply", &self.shutdown, async move {
            tokio::time::sleep(delay).await;
            for (st, usn) in replies {
                let _ = sock.send_to(search_response(&loc, &server, &st, &usn).as_bytes(), from).await;
            }
            drop(permit);
            Ok(())
        });
    }
}

/// Runs SSDP until `shutdown`, then says byebye on every interface.
///
/// Cancel-safe: the byebye is sent before this returns.
pub async fn run(dlna: Arc<Dlna>, http_port: u16, shutdown: CancellationToken) -> anyhow::Result<()> {
    let mut r = Runner {
        dlna,
        http_port,
        server: super::server_string(),
        recv: receiver()?,
        served: HashMap::new(),
        pending: Arc::new(tokio::sync::Semaphore::new(MAX_PENDING_REPLIES)),
        shutdown: shutdown.clone(),
    };
    r.rescan().await;
    if r.served.is_empty() {
        tracing::warn!(
            interfaces = ?r.dlna.config.interfaces,
            "DLNA: no interface to announce on yet; retrying every {} s",
            RESCAN_EVERY.as_secs()
        );
    }
    let mut rescan = tokio::time::interval(RESCAN_EVERY);
    let mut announce = tokio::time::interval(ANNOUNCE_EVERY);
    rescan.tick().await;
    announce.tick().await;
    let mut buf = vec![0u8; 2048];
    loop {
        tokio::select! {
            () = shutdown.cancelled() => break,
            _ = rescan.tick() => r.rescan().await,
            _ = announce.tick() => {
                for s in r.served.values() {
                    r.announce(s, true).await;
                }
            }
            got = r.recv.recv_from(&mut buf) => match got {
                Ok((n, from)) => {
                    if let Some(search) = parse_search(&buf[..n]) {
                        r.answer(from, search);
                    }
                }
                Err(e) => tracing::debug!("SSDP receive: {e}"),
            },
        }
    }
    for s in r.served.values() {
        r.announce(s, false).await;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn searches() {
        let m = b"M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: \"ssdp:discover\"\r\nMX: 2\r\nST: ssdp:all\r\n\r\n";
        assert_eq!(parse_search(m), Some(Search { st: "ssdp:all".into(), mx: 2 }));
        assert_eq!(parse_search(b"NOTIFY * HTTP/1.1\r\n\r\n"), None);
        assert_eq!(parse_search(b"M-SEARCH * HTTP/1.1\r\nST: ssdp:all\r\n\r\n"), None);
        assert_eq!(parse_search(&[0xff, 0xfe]), None);
        assert_eq!(answers("uuid:x", "ssdp:all").len(), 5);
        let cd = answers("uuid:x", CONTENT_DIRECTORY);
        assert_eq!(cd, vec![(CONTENT_DIRECTORY.to_string(), format!("uuid:x::{CONTENT_DIRECTORY}"))]);
        assert_eq!(answers("uuid:x", "uuid:x")[0].1, "uuid:x");
        assert!(answers("uuid:x", "urn:schemas-upnp-org:device:MediaRenderer:1").is_empty());
        let r = search_response(
            "http://1.2.3.4:6991/dlna/description.xml",
            "s",
            "upnp:rootdevice",
            "uuid:x::upnp:rootdevice",
        );
        assert!(r.starts_with("HTTP/1.1 200 OK\r\n") && r.contains("\r\nEXT:\r\n") && r.ends_with("\r\n\r\n"));
        assert!(r.contains(" GMT\r\n"));
        assert!(notify(None, "s", "upnp:rootdevice", "u").contains("NTS: ssdp:byebye"));
    }
}
