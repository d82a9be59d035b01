//! DNS-rebinding protection: which `Host` headers name this box. Accepted are IP
//! literals, `localhost`, the machine's hostname, `*.local`, and configured names.
//! A page on `evil.example` that rebinds its name to the box's address still sends
//! `Host: evil.example`, and is refused.

/// The accepted host names.
#[derive(Clone, Debug)]
pub struct HostPolicy {
    /// Exact names, lower case.
    names: Vec<String>,
    /// Suffixes from `*.example.net` entries, with their dot.
    suffixes: Vec<String>,
}

impl HostPolicy {
    pub fn new(configured: &[String]) -> Self {
        let mut names = vec!["localhost".to_string()];
        let mut suffixes = vec![".localhost".to_string(), ".local".to_string()];
        if let Some(h) = hostname() {
            names.push(h);
        }
        for c in configured {
            let c = c.trim().trim_end_matches('.').to_ascii_lowercase();
            match c.strip_prefix('*') {
                Some(suffix) if suffix.starts_with('.') => suffixes.push(suffix.to_string()),
                _ => names.push(c),
            }
        }
        Self { names, suffixes }
    }

    /// Whether a `Host` header value (with or without a port) names this box.
    pub fn allows(&self, host: &str) -> bool {
        let host = host.trim();
        if let Some(rest) = host.strip_prefix('[') {
            // An IPv6 literal.
            let inner = rest.split(']').next().unwrap_or("");
            return inner.parse::<std::net::Ipv6Addr>().is_ok();
        }
        let name = match host.rsplit_once(':') {
            Some((n, port)) if port.bytes().all(|b| b.is_ascii_digit()) => n,
            Some(_) => return false,
            None => host,
        };
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        if name.is_empty() {
            return false;
        }
        name.parse::<std::net::Ipv4Addr>().is_ok()
            || self.names.contains(&name)
            || self.suffixes.iter().any(|s| name.ends_with(s.as_str()) && name.len() > s.len())
    }
}

/// The machine's hostname, lower case.
fn hostname() -> Option<String> {
    let h = std::fs::read_to_string("/proc/sys/kernel/hostname").ok()?;
    let h = h.trim().to_ascii_lowercase();
    (!h.is_empty()).then_some(h)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_own_names_only() {
        let p = HostPolicy::new(&["box.example.net".into(), "*.home.arpa".into()]);
        for ok in [
            "localhost",
            "localhost:6991",
            "127.0.0.1:6991",
            "192.168.1.20",
            "[::1]:6991",
            "swarmcast.local",
            "SWARMCAST.LOCAL:6991",
            "box.example.net",
            "tv.home.arpa",
            "swarmcast.local.",
        ] {
            assert!(p.allows(ok), "{ok}");
        }
        for bad in ["evil.example", "evil.example:6991", "local", "home.arpa", "", "a:b", "example.net"] {
            assert!(!p.allows(bad), "{bad}");
        }
        if let Some(h) = hostname() {
            assert!(p.allows(&format!("{h}:6991")));
        }
    }
}
