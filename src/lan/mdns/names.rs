//! The names and records the box advertises over mDNS.

/// The host name answered when no Avahi runs.
pub const HOST_NAME: &str = "swarmcast.local.";
/// The instance name of both services.
pub const INSTANCE: &str = "swarmcast";
pub const HTTP_TYPE: &str = "_http._tcp.local.";
pub const SWARMCAST_TYPE: &str = "_swarmcast._tcp.local.";
/// Avahi's client socket: present while avahi-daemon runs.
pub const AVAHI_SOCKET: &str = "/run/avahi-daemon/socket";

/// The TXT records of `_swarmcast._tcp`.
pub fn txt() -> Vec<(&'static str, String)> {
    vec![("version", env!("CARGO_PKG_VERSION").to_string()), ("path", "/".to_string())]
}
