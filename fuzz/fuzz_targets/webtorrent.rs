#![no_main]
//! The WebTorrent tracker's WebSocket messages (`tracker::web_message::parse`), as text
//! frames come off the socket.
//!
//! Properties: ids are 20 bytes that come back the same through a binary string; an
//! announce carries at most `MAX_OFFERS` offers; a scrape names at most `MAX_SCRAPE`
//! distinct hashes; a failure's message is valid JSON text that names the reason.

use libfuzzer_sys::fuzz_target;
use swarmcast::tracker::web_message::{MAX_OFFERS, MAX_SCRAPE, WebMessage, binary, failure, parse, to_binary};

fn round_trips(id: &[u8; 20]) {
    assert_eq!(binary(&to_binary(id)).as_deref(), Some(&id[..]));
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match parse(text) {
        Ok(WebMessage::Announce(a)) => {
            assert!(a.offers.len() <= MAX_OFFERS);
            round_trips(&a.info_hash);
            round_trips(&a.peer_id);
        }
        Ok(WebMessage::Answer(a)) => {
            assert!(a.answer.is_object());
            round_trips(&a.to_peer_id);
        }
        Ok(WebMessage::Scrape(hashes)) => {
            assert!(hashes.len() <= MAX_SCRAPE);
            for (i, h) in hashes.iter().enumerate() {
                assert!(!hashes[..i].contains(h), "a hash is listed twice");
            }
        }
        Err(e) => {
            assert!(!e.reason.is_empty());
            let f = failure(&e.reason, e.action, e.info_hash.as_ref());
            assert!(f.starts_with('{') && f.ends_with('}') && f.contains("failure reason"), "{f}");
        }
    }
});
