#![no_main]
//! Magnet URIs, bare info-hashes and http(s) URLs, as `POST /api/torrents`,
//! `POST /api/stream`, the watch folder and search results hand them to
//! `engine::parse_uri`.
//!
//! Properties: an info-hash is 40 lower-case hex digits (20 bytes), and a parsed
//! magnet survives its own canonical URI (`MagnetLink::to_uri`) unchanged.

use std::net::{Ipv4Addr, SocketAddr};

use libfuzzer_sys::fuzz_target;
use swarmcast::engine::{self, Source};

/// An offline stand-in for the system resolver: `x.pe` names never reach the network.
/// Names starting with `x` do not resolve, the others land on a loopback address.
fn resolve(host: &str, port: u16) -> Option<SocketAddr> {
    (!host.starts_with('x'))
        .then(|| SocketAddr::from((Ipv4Addr::new(127, 0, 0, host.len() as u8), port)))
}

fn is_info_hash(h: &str) -> bool {
    h.len() == 40 && h.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(h) = engine::parse_info_hash(s) {
        assert!(is_info_hash(&h), "{h:?}");
        assert_eq!(hex::decode(&h).unwrap().len(), 20);
    }
    // Called directly too, as a library user would, without `parse_uri`'s prefix check.
    if let Ok(m) = engine::parse_magnet_with(s, &resolve) {
        assert!(is_info_hash(&m.info_hash), "{:?}", m.info_hash);
    }
    match engine::parse_uri_with(s, &resolve) {
        Ok(Source::Magnet(m)) => {
            assert!(is_info_hash(&m.info_hash), "{:?}", m.info_hash);
            let uri = m.to_uri();
            let again = engine::parse_magnet_with(&uri, &resolve)
                .unwrap_or_else(|e| panic!("the canonical URI {uri:?} does not parse: {e}"));
            assert_eq!(again.info_hash, m.info_hash);
            assert_eq!(again.name, m.name);
            assert_eq!(again.trackers, m.trackers);
            assert_eq!(again.peers, m.peers);
        }
        Ok(Source::Url(u)) => assert!(
            u.starts_with("http://") || u.starts_with("https://"),
            "{u:?}"
        ),
        Ok(Source::Torrent(_)) => panic!("a URI parsed as .torrent bytes"),
        Err(_) => {}
    }
});
