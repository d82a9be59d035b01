//! Outbound HTTP on behalf of users (torrent URLs, webhooks): only public addresses,
//! or a host:port the admin named in the config file, checked before connecting and
//! after every redirect; the checked address is the one connected to.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// Redirects followed at most.
const MAX_REDIRECTS: usize = 5;
/// Time allowed for resolving one host name.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(5);

/// Hosts (lower-case name or IP literal, and port) that may be reached even when they
/// are on the LAN or this box: the ones named in the config file.
#[derive(Clone, Debug, Default)]
pub struct Allowed(Vec<(String, u16)>);

impl Allowed {
    /// The hosts of the given URLs (the indexers and webhooks of the config file).
    pub fn from_urls<'a>(urls: impl IntoIterator<Item = &'a str>) -> Self {
        Allowed(
            urls.into_iter()
                .filter_map(|u| url::Url::parse(u).ok())
                .filter_map(|u| Some((u.host_str()?.to_ascii_lowercase(), u.port_or_known_default()?)))
                .collect(),
        )
    }

    fn contains(&self, host: &str, port: u16) -> bool {
        self.0.iter().any(|(h, p)| h == host && *p == port)
    }
}

/// Why `ip` may not be fetched from without being named in the config, or `None`.
pub fn refused_kind(ip: IpAddr) -> Option<&'static str> {
    let ip = ip.to_canonical();
    if ip.is_loopback() {
        return Some("a loopback address");
    }
    if ip.is_unspecified() {
        return Some("an unspecified address");
    }
    if ip.is_multicast() {
        return Some("a multicast address");
    }
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            if v4.is_link_local() {
                return Some("a link-local address");
            }
            if v4.is_broadcast() || o[0] == 0 || o[0] >= 240 {
                return Some("a reserved address");
            }
            if v4.is_private() || (o[0] == 100 && (o[1] & 0xc0) == 64) {
                return Some("a private (LAN) address");
            }
        }
        IpAddr::V6(v6) => {
            let s = v6.segments()[0];
            if s & 0xffc0 == 0xfe80 {
                return Some("a link-local address");
            }
            if s & 0xfe00 == 0xfc00 {
                return Some("a private (LAN) address");
            }
        }
    }
    if own_addresses().contains(&ip) {
        return Some("an address of this box");
    }
    None
}

fn own_addresses() -> Vec<IpAddr> {
    if_addrs::get_if_addrs().map(|a| a.into_iter().map(|i| i.ip().to_canonical()).collect()).unwrap_or_default()
}

/// Resolves the URL's host once and checks every address; returns the address to
/// connect to. Errors start with "refused".
pub async fn check(url: &url::Url, allowed: &Allowed) -> Result<SocketAddr, String> {
    let refused = |why: String| format!("refused: {why}");
    if !matches!(url.scheme(), "http" | "https") {
        return Err(refused(format!("only http and https URLs are fetched, not {}", url.scheme())));
    }
    let host = url.host_str().ok_or_else(|| refused("the URL has no host".into()))?;
    let port = url.port_or_known_default().ok_or_else(|| refused("the URL has no port".into()))?;
    let host = host.trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase();
    let addrs: Vec<SocketAddr> = match host.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        Err(_) => tokio::time::timeout(RESOLVE_TIMEOUT, tokio::net::lookup_host((host.as_str(), port)))
            .await
            .map_err(|_| refused(format!("{host} did not resolve within {RESOLVE_TIMEOUT:?}")))?
            .map_err(|_| refused(format!("{host} does not resolve")))?
            .collect(),
    };
    let first = *addrs.first().ok_or_else(|| refused(format!("{host} does not resolve")))?;
    if allowed.contains(&host, port) {
        return Ok(first);
    }
    for a in &addrs {
        if let Some(kind) = refused_kind(a.ip()) {
            return Err(refused(format!(
                "{host} is {kind}; only hosts named in the config file may be reached on the LAN or this box"
            )));
        }
    }
    Ok(first)
}

/// Sends a request built by `build` (method, headers, body) to `url`, following up to
/// five redirects of GET requests, each hop checked and pinned to its checked address.
/// `follow` false: a redirect is returned as is.
pub async fn send(
    url: &str,
    allowed: &Allowed,
    timeout: Duration,
    follow: bool,
    build: impl Fn(&reqwest::Client, url::Url) -> reqwest::RequestBuilder,
) -> Result<reqwest::Response, String> {
    let mut url = url::Url::parse(url).map_err(|e| format!("refused: not a URL: {e}"))?;
    for _ in 0..=MAX_REDIRECTS {
        let addr = check(&url, allowed).await?;
        let mut client =
            reqwest::Client::builder().timeout(timeout).redirect(reqwest::redirect::Policy::none()).no_proxy();
        if let Some(host) = url.host_str().filter(|h| h.parse::<IpAddr>().is_err() && !h.starts_with('[')) {
            client = client.resolve(host, addr);
        }
        let client = client.build().map_err(|e| format!("cannot make an HTTP client: {e}"))?;
        let resp = build(&client, url.clone()).send().await.map_err(|e| {
            if e.is_timeout() { "no answer in time".to_string() } else { "the connection failed".to_string() }
        })?;
        if !(follow && resp.status().is_redirection()) {
            return Ok(resp);
        }
        let Some(next) = resp.headers().get(reqwest::header::LOCATION).and_then(|l| l.to_str().ok()) else {
            return Ok(resp);
        };
        url = url.join(next).map_err(|_| "refused: a redirect to something that is not a URL".to_string())?;
    }
    Err(format!("refused: more than {MAX_REDIRECTS} redirects"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds() {
        for ip in [
            "127.0.0.1",
            "::1",
            "169.254.169.254",
            "10.1.2.3",
            "192.168.1.9",
            "172.20.0.1",
            "0.0.0.0",
            "224.0.0.251",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "100.64.0.1",
        ] {
            assert!(refused_kind(ip.parse().unwrap()).is_some(), "{ip}");
        }
        for ip in ["93.184.216.34", "2606:4700::1111"] {
            assert_eq!(refused_kind(ip.parse().unwrap()), None, "{ip}");
        }
    }

    #[tokio::test]
    async fn named_hosts_pass_by_host_and_port() {
        let allowed = Allowed::from_urls(["http://LocalHost:9117/api/v2.0/indexers/all/results/torznab/"]);
        let ok = url::Url::parse("http://localhost:9117/dl/1").unwrap();
        assert!(check(&ok, &allowed).await.is_ok());
        for bad in
            ["http://localhost:9118/", "http://127.0.0.1:9117/", "file:///etc/passwd", "http://169.254.169.254/latest/"]
        {
            let e = check(&url::Url::parse(bad).unwrap(), &allowed).await.unwrap_err();
            assert!(e.starts_with("refused"), "{bad}: {e}");
        }
    }
}
