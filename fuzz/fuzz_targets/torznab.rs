#![no_main]
//! Torznab feeds, as an indexer (Jackett, Prowlarr) answers a search
//! (`search::torznab::parse`, on the body read as lossy UTF-8 like the search does).
//!
//! Properties: every item comes from an `<item>` element, and an indexer's error is
//! only reported from a document that has an `error` element.

use libfuzzer_sys::fuzz_target;
use swarmcast::search::torznab::{FeedError, parse};

fuzz_target!(|data: &[u8]| {
    let xml = String::from_utf8_lossy(data);
    match parse(&xml) {
        Ok(items) => {
            assert!(items.len() <= xml.matches("item").count());
            for it in &items {
                let _ = (
                    it.attr("seeders"),
                    it.attr("infohash"),
                    it.attr("magneturl"),
                );
            }
        }
        Err(FeedError::Indexer { .. }) => assert!(xml.contains("error")),
        Err(FeedError::Malformed(_)) => {}
    }
});
