//! The box on the LAN: which interfaces it serves, the DLNA media server, mDNS, and
//! the UPnP renderers (TVs) it can play on.

pub mod dlna;
pub mod interfaces;
pub mod mdns;
pub mod renderers;
