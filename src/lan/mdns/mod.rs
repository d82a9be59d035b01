//! mDNS / DNS-SD: phones and laptops reach the web UI as `swarmcast.local`, and find
//! it as `_http._tcp` "swarmcast" and `_swarmcast._tcp` (TXT `version=`).
//!
//! Where the host runs no Avahi, the daemon answers itself (the `mdns-sd` responder,
//! which answers only for its own names: the two services and `swarmcast.local`).
//! Where Avahi runs (its socket `/run/avahi-daemon/socket` exists), a second
//! responder on port 5353 would fight it over the host's records, so the services are
//! registered through Avahi's D-Bus API instead (`avahi.rs`), on the host's own name.

use std::path::Path;

use mdns_sd::{IfKind, ServiceDaemon, ServiceInfo};

use crate::config::MdnsConfig;

mod avahi;
mod names;

pub use names::{AVAHI_SOCKET, HOST_NAME, HTTP_TYPE, INSTANCE, SWARMCAST_TYPE, txt};

/// A running advertisement; `stop` withdraws it (goodbye packets).
pub enum Advertiser {
    Own(ServiceDaemon, Vec<String>),
    Avahi(avahi::Registration),
}

impl Advertiser {
    /// Withdraws the services. Waits at most a second for the goodbyes to go out.
    pub fn stop(self) {
        match self {
            Advertiser::Own(d, names) => {
                for n in names {
                    if let Ok(rx) = d.unregister(&n) {
                        let _ = rx.recv_timeout(std::time::Duration::from_secs(1));
                    }
                }
                let _ = d.shutdown();
            }
            Advertiser::Avahi(r) => drop(r),
        }
    }
}

/// Starts advertising the web UI on `port`, through Avahi when it runs. `None` when
/// mDNS is off or nothing could be started (the reason is logged).
pub async fn start(config: &MdnsConfig, port: u16) -> Option<Advertiser> {
    if !config.enabled {
        return None;
    }
    if Path::new(AVAHI_SOCKET).exists() {
        let registered = tokio::time::timeout(std::time::Duration::from_secs(10), avahi::register(port))
            .await
            .unwrap_or_else(|_| Err(anyhow::anyhow!("no answer from D-Bus / Avahi within 10 s")));
        return match registered {
            Ok(r) => {
                tracing::info!(port, "mDNS: services registered through Avahi");
                Some(Advertiser::Avahi(r))
            }
            Err(e) => {
                // Never a second responder beside Avahi: say why and stay quiet.
                tracing::warn!("mDNS: Avahi runs but the services could not be registered with it: {e:#}");
                None
            }
        };
    }
    match own_responder(config, port) {
        Ok(a) => {
            tracing::info!(port, "mDNS: answering for {HOST_NAME} ({INSTANCE} on {HTTP_TYPE} and {SWARMCAST_TYPE})");
            Some(a)
        }
        Err(e) => {
            tracing::warn!("mDNS: cannot start the responder: {e:#}");
            None
        }
    }
}

fn own_responder(config: &MdnsConfig, port: u16) -> anyhow::Result<Advertiser> {
    let d = ServiceDaemon::new()?;
    if config.interfaces.is_empty() {
        d.disable_interface(vec![IfKind::LoopbackV4, IfKind::LoopbackV6])?;
    } else {
        d.disable_interface(IfKind::All)?;
        let names: Vec<IfKind> = config.interfaces.iter().map(|n| IfKind::Name(n.clone())).collect();
        d.enable_interface(names)?;
    }
    let mut names = Vec::new();
    let services = [(HTTP_TYPE, vec![("path", "/".to_string())]), (SWARMCAST_TYPE, txt())];
    for (ty, props) in services {
        let info = ServiceInfo::new(ty, INSTANCE, HOST_NAME, (), port, &props[..])?.enable_addr_auto();
        names.push(info.get_fullname().to_string());
        d.register(info)?;
    }
    Ok(Advertiser::Own(d, names))
}
