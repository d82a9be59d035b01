//! UPnP MediaRenderers (TVs, speakers) on the LAN the box can play on.
//!
//! ```text
//! mod.rs          the list of renderers found: SSDP M-SEARCH on the served interfaces
//! description.rs  a renderer's device description: names and control URLs
//! control.rs      AVTransport and RenderingControl over SOAP
//! ```
//!
//! The box only talks to hosts on the subnets of the interfaces it serves: an answer
//! whose description is elsewhere, or whose control URLs point to another host, is
//! ignored. Every fetch is bounded in time and size, and never follows a redirect.

pub mod control;
pub mod description;

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::lan::dlna::ssdp::{GROUP, PORT};
use crate::lan::interfaces::{self, LanAddr};

/// What M-SEARCH asks for.
pub const SEARCH_TARGET: &str = "urn:schemas-upnp-org:device:MediaRenderer:1";
/// How long a search listens for answers.
pub const SEARCH_WINDOW: Duration = Duration::from_millis(1500);
/// A list younger than this is served without a new search.
const FRESH_FOR: Duration = Duration::from_secs(20);
/// The largest device description read.
const MAX_DESCRIPTION: usize = 128 * 1024;
/// How long a description fetch may take.
const DESCRIPTION_TIMEOUT: Duration = Duration::from_secs(3);
/// At most this many answers are looked at per search.
const MAX_ANSWERS: usize = 64;

/// A renderer found on the LAN.
#[derive(Clone, Debug, Serialize)]
pub struct Renderer {
    /// Its UDN without `uuid:`.
    pub id: String,
    pub name: String,
    pub manufacturer: String,
    pub model: String,
    /// Its IP address.
    pub address: Ipv4Addr,
    #[serde(skip)]
    pub av_transport: String,
    #[serde(skip)]
    pub rendering_control: Option<String>,
    /// The box's own address on the renderer's subnet: what stream URLs carry.
    #[serde(skip)]
    pub local_ip: Ipv4Addr,
}

/// The renderers found lately, and what the box last asked each to play.
pub struct Renderers {
    interfaces: Vec<String>,
    client: reqwest::Client,
    found: Mutex<(Option<Instant>, HashMap<String, Renderer>)>,
    searching: tokio::sync::Mutex<()>,
    /// Renderer id → (torrent, file) it was told to play.
    playing: Mutex<HashMap<String, (String, usize)>>,
}

/// The first `LOCATION` header of an SSDP answer that is a MediaRenderer.
pub fn parse_answer(datagram: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(datagram).ok()?;
    let mut lines = text.split("\r\n");
    if !lines.next()?.to_ascii_uppercase().starts_with("HTTP/1.1 200") {
        return None;
    }
    let mut location = None;
    let mut st_ok = false;
    for l in lines {
        let Some((k, v)) = l.split_once(':') else { continue };
        match k.trim().to_ascii_uppercase().as_str() {
            "LOCATION" => location = Some(v.trim().to_string()),
            "ST" => st_ok = v.trim().starts_with("urn:schemas-upnp-org:device:MediaRenderer:"),
            _ => {}
        }
    }
    location.filter(|_| st_ok)
}

/// Whether `url` is `http://` on `host` (any port).
fn on_host(url: &reqwest::Url, host: Ipv4Addr) -> bool {
    url.scheme() == "http" && url.host() == Some(url::Host::Ipv4(host))
}

impl Renderers {
    /// Renderers on `interfaces` (as `dlna.interfaces`: empty = every non-loopback one).
    pub fn new(interfaces: Vec<String>) -> Self {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .connect_timeout(Duration::from_secs(2))
            // Embedded UPnP stacks (libupnp) serve a kept-alive connection with one of
            // a few worker threads: a new connection per call keeps them free.
            .pool_max_idle_per_host(0)
            .build()
            .expect("an HTTP client");
        Self {
            interfaces,
            client,
            found: Mutex::new((None, HashMap::new())),
            searching: tokio::sync::Mutex::new(()),
            playing: Mutex::new(HashMap::new()),
        }
    }

    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// The renderers found, searching again when the list is older than 20 s (or
    /// `fresh` asks for it). Takes up to about 2 s when it searches.
    pub async fn list(&self, fresh: bool) -> Vec<Renderer> {
        let stale =
            |f: &(Option<Instant>, HashMap<String, Renderer>)| fresh || f.0.is_none_or(|t| t.elapsed() > FRESH_FOR);
        if stale(&self.found.lock().unwrap()) {
            let _one = self.searching.lock().await;
            if stale(&self.found.lock().unwrap()) {
                let now = self.search().await;
                *self.found.lock().unwrap() = (Some(Instant::now()), now);
            }
        }
        let mut v: Vec<Renderer> = self.found.lock().unwrap().1.values().cloned().collect();
        v.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
        v
    }

    /// One renderer by id (searching if the list is stale).
    pub async fn get(&self, id: &str) -> Option<Renderer> {
        if let Some(r) = self.found.lock().unwrap().1.get(id) {
            return Some(r.clone());
        }
        self.list(false).await.into_iter().find(|r| r.id == id)
    }

    /// Remembers what a renderer was told to play.
    pub fn set_playing(&self, id: &str, what: Option<(String, usize)>) {
        let mut p = self.playing.lock().unwrap();
        match what {
            Some(w) => p.insert(id.to_string(), w),
            None => p.remove(id),
        };
    }

    pub fn playing(&self, id: &str) -> Option<(String, usize)> {
        self.playing.lock().unwrap().get(id).cloned()
    }

    /// M-SEARCH on every served interface; describes each renderer that answers.
    async fn search(&self) -> HashMap<String, Renderer> {
        let addrs = interfaces::addresses(&self.interfaces);
        let mut locations: Vec<(String, Ipv4Addr, LanAddr)> = Vec::new();
        let msg = format!(
            "M-SEARCH * HTTP/1.1\r\nHOST: {GROUP}:{PORT}\r\nMAN: \"ssdp:discover\"\r\nMX: 1\r\nST: {SEARCH_TARGET}\r\n\r\n"
        );
        let mut socks = Vec::new();
        for a in &addrs {
            match crate::lan::dlna::ssdp::sender(a.ip) {
                Ok(s) => {
                    let to = SocketAddr::V4(SocketAddrV4::new(GROUP, PORT));
                    for _ in 0..2 {
                        if let Err(e) = s.send_to(msg.as_bytes(), to).await {
                            tracing::debug!("M-SEARCH on {}: {e}", a.interface);
                        }
                    }
                    socks.push((s, a.clone()));
                }
                Err(e) => tracing::debug!("no search socket on {} ({}): {e:#}", a.interface, a.ip),
            }
        }
        let deadline = tokio::time::Instant::now() + SEARCH_WINDOW;
        let mut buf = [0u8; 2048];
        'listen: for (s, a) in &socks {
            loop {
                let r = tokio::time::timeout_at(deadline, s.recv_from(&mut buf)).await;
                let Ok(Ok((n, from))) = r else { continue 'listen };
                let IpAddr::V4(ip) = from.ip() else { continue };
                if !a.contains(ip) && !addrs.iter().any(|x| x.contains(ip)) {
                    continue;
                }
                if let Some(loc) = parse_answer(&buf[..n])
                    && !locations.iter().any(|(l, _, _)| *l == loc)
                    && locations.len() < MAX_ANSWERS
                {
                    locations.push((loc, ip, a.clone()));
                }
            }
        }
        let mut out = HashMap::new();
        for (loc, ip, a) in locations {
            match self.describe(&loc, ip, &a).await {
                Ok(r) => {
                    out.insert(r.id.clone(), r);
                }
                Err(e) => tracing::info!("renderer at {loc} ignored: {e}"),
            }
        }
        out
    }

    /// Fetches and reads the description at `location`, which must be on `ip` (the
    /// host that answered).
    async fn describe(&self, location: &str, ip: Ipv4Addr, lan: &LanAddr) -> Result<Renderer, String> {
        let url = reqwest::Url::parse(location).map_err(|e| format!("bad LOCATION: {e}"))?;
        if !on_host(&url, ip) {
            return Err(format!("its LOCATION is not on the host that answered ({ip})"));
        }
        let r = self
            .client
            .get(url.clone())
            .timeout(DESCRIPTION_TIMEOUT)
            .send()
            .await
            .map_err(|e| format!("fetching the description: {e}"))?;
        if !r.status().is_success() {
            return Err(format!("the description answered HTTP {}", r.status()));
        }
        let text = control::read_bounded(r, MAX_DESCRIPTION).await?;
        let d = description::parse(&text)?;
        let resolve = |u: &str| -> Result<String, String> {
            let abs = url.join(u).map_err(|e| format!("bad control URL {u:?}: {e}"))?;
            if !on_host(&abs, ip) {
                return Err(format!("control URL {abs} is not on the renderer's host"));
            }
            Ok(abs.to_string())
        };
        let av = resolve(d.av_transport.as_deref().unwrap_or_default())?;
        let rc = d.rendering_control.as_deref().map(resolve).transpose()?;
        let id = d.udn.trim().trim_start_matches("uuid:").to_string();
        if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Err(format!("its UDN {:?} is not usable as an id", d.udn));
        }
        Ok(Renderer {
            id,
            name: if d.name.is_empty() { ip.to_string() } else { d.name },
            manufacturer: d.manufacturer,
            model: d.model,
            address: ip,
            av_transport: av,
            rendering_control: rc,
            local_ip: lan.ip,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers() {
        let a = b"HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=1800\r\nLOCATION: http://10.0.0.5:49494/d.xml\r\nST: urn:schemas-upnp-org:device:MediaRenderer:1\r\n\r\n";
        assert_eq!(parse_answer(a).as_deref(), Some("http://10.0.0.5:49494/d.xml"));
        let b = b"HTTP/1.1 200 OK\r\nLOCATION: http://10.0.0.5/d.xml\r\nST: upnp:rootdevice\r\n\r\n";
        assert_eq!(parse_answer(b), None);
        assert_eq!(parse_answer(b"NOTIFY * HTTP/1.1\r\n\r\n"), None);
        let u = reqwest::Url::parse("http://10.0.0.5:1/x").unwrap();
        assert!(on_host(&u, Ipv4Addr::new(10, 0, 0, 5)));
        assert!(!on_host(&u, Ipv4Addr::new(10, 0, 0, 6)));
        assert!(!on_host(&reqwest::Url::parse("https://10.0.0.5/x").unwrap(), Ipv4Addr::new(10, 0, 0, 5)));
    }
}
