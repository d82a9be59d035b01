//! The box on the LAN: which interfaces it serves, the DLNA media server and mDNS.

pub mod dlna;
pub mod interfaces;
pub mod mdns;
