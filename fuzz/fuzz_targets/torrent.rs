#![no_main]
//! .torrent (bencode) files, as `POST /api/torrents/upload`, the watch folder and
//! fetched torrent URLs hand them to `engine::parse_torrent`.
//!
//! Properties: an accepted torrent has a 40-hex info-hash and at least one file, and
//! its name, made a folder name (`library::sanitize`), stays one path component.

use libfuzzer_sys::fuzz_target;
use swarmcast::engine::{self, library};

fuzz_target!(|data: &[u8]| {
    let Ok(t) = engine::parse_torrent(bytes::Bytes::copy_from_slice(data)) else {
        return;
    };
    assert!(
        t.info_hash.len() == 40
            && t.info_hash
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')),
        "{:?}",
        t.info_hash
    );
    assert!(t.file_count >= 1);
    assert_eq!(&t.bytes[..], data);
    if let Some(name) = &t.name {
        let folder = library::sanitize(name);
        assert!(
            !folder.is_empty() && !folder.contains(['/', '\0']) && folder != "." && folder != ".."
        );
    }
});
