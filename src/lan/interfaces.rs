//! Which LAN interfaces the discovery services (DLNA's SSDP, mDNS) serve on: the
//! configured names, or every non-loopback interface that is up with an IPv4 address.

use std::net::Ipv4Addr;

/// One IPv4 address of an interface.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct LanAddr {
    pub interface: String,
    pub ip: Ipv4Addr,
    pub netmask: Ipv4Addr,
}

impl LanAddr {
    /// Whether `ip` is on this address's subnet.
    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        let mask = u32::from(self.netmask);
        u32::from(self.ip) & mask == u32::from(ip) & mask
    }
}

/// The IPv4 addresses to serve on. `wanted` empty: every non-loopback interface;
/// otherwise exactly the named ones (`lo` included when named).
pub fn addresses(wanted: &[String]) -> Vec<LanAddr> {
    let all = match if_addrs::get_if_addrs() {
        Ok(a) => a,
        Err(e) => {
            tracing::warn!("cannot list network interfaces: {e}");
            return Vec::new();
        }
    };
    let mut out: Vec<LanAddr> = all
        .into_iter()
        .filter_map(|i| match &i.addr {
            if_addrs::IfAddr::V4(v4) => {
                let chosen = if wanted.is_empty() {
                    !i.is_loopback() && !matches!(i.oper_status, if_addrs::IfOperStatus::Down)
                } else {
                    wanted.iter().any(|w| w == &i.name)
                };
                chosen.then(|| LanAddr { interface: i.name.clone(), ip: v4.ip, netmask: v4.netmask })
            }
            if_addrs::IfAddr::V6(_) => None,
        })
        .collect();
    out.sort_by(|a, b| (&a.interface, a.ip).cmp(&(&b.interface, b.ip)));
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subnets() {
        let a = LanAddr { interface: "eth0".into(), ip: [192, 168, 1, 20].into(), netmask: [255, 255, 255, 0].into() };
        assert!(a.contains([192, 168, 1, 99].into()));
        assert!(!a.contains([192, 168, 2, 99].into()));
        let named = addresses(&["lo".into()]);
        assert!(named.iter().all(|a| a.interface == "lo"));
        assert!(addresses(&[]).iter().all(|a| !a.ip.is_loopback()));
    }
}
