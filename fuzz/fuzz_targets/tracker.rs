#![no_main]
//! The built-in tracker's `/announce` and `/scrape` query strings
//! (`tracker::request`), raw as they come off the URL.
//!
//! Properties: an accepted announce has a non-zero port and comes back the same from
//! the query a client would send for it; a scrape names at most 256 distinct hashes.

use libfuzzer_sys::fuzz_target;
use percent_encoding::{NON_ALPHANUMERIC, percent_encode};
use swarmcast::tracker::request::parse_scrape;
use swarmcast::tracker::{Announce, Event};

fn client_query(a: &Announce) -> String {
    let event = match a.event {
        Event::None => "",
        Event::Started => "&event=started",
        Event::Completed => "&event=completed",
        Event::Stopped => "&event=stopped",
        Event::Paused => "&event=paused",
    };
    let numwant = a
        .numwant
        .map(|n| format!("&numwant={n}"))
        .unwrap_or_default();
    format!(
        "info_hash={}&peer_id={}&port={}&uploaded={}&downloaded={}&left={}&compact={}&no_peer_id={}{event}{numwant}",
        percent_encode(&a.info_hash, NON_ALPHANUMERIC),
        percent_encode(&a.peer_id, NON_ALPHANUMERIC),
        a.port,
        a.uploaded,
        a.downloaded,
        a.left,
        u8::from(a.compact),
        u8::from(a.no_peer_id),
    )
}

fuzz_target!(|data: &[u8]| {
    let Ok(q) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(a) = Announce::parse(q) {
        assert_ne!(a.port, 0);
        let again = client_query(&a);
        assert_eq!(Announce::parse(&again).as_ref(), Ok(&a), "{again}");
    }
    if let Ok(hashes) = parse_scrape(q) {
        assert!(hashes.len() <= 256);
        for (i, h) in hashes.iter().enumerate() {
            assert!(!hashes[..i].contains(h), "a hash is listed twice");
        }
    }
});
