#![no_main]
//! Names that come in the path and query of the stream and file routes:
//! segment names (`GET /api/stream/{id}/{segment}`, `media::playlist`), the `file`
//! and `token` query parameters carried into playlists (`api::stream`), paths in the
//! download dir (`GET /api/files?path=`, `files::confine`), and torrent names made
//! folder names (`library::sanitize`).
//!
//! Properties: a segment name round-trips through its index and never holds `/` or
//! `..`; playlists carry only `file=` and `token=` parameters; a confined path is
//! inside the download dir whatever the symlinks; a folder name is one component.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use swarmcast::api::extract::query_param;
use swarmcast::api::open::{carried_query, file_param};
use swarmcast::engine::files::{Denied, confine};
use swarmcast::engine::library::sanitize;
use swarmcast::media::playlist::{parse_segment_name, segment_name};

/// A download dir with a film, a secret beside it, and symlinks inside and out.
/// Made once per process at a fixed path, so that parallel runs share it.
fn fixture() -> &'static (PathBuf, PathBuf) {
    static F: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    F.get_or_init(|| {
        let base = std::env::temp_dir().join("swarmcast-fuzz-confine");
        let root = base.join("downloads");
        std::fs::create_dir_all(root.join("films/a")).unwrap();
        std::fs::write(root.join("films/a/movie.mkv"), b"x").unwrap();
        std::fs::write(base.join("secret.txt"), b"s").unwrap();
        for (target, link) in [
            (base.join("secret.txt"), root.join("escape")),
            (base.clone(), root.join("films/up")),
            (PathBuf::from("/etc"), root.join("etc")),
            (root.join("films/a/movie.mkv"), root.join("inside")),
        ] {
            match std::os::unix::fs::symlink(&target, &link) {
                Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => panic!("{link:?}: {e}"),
                _ => {}
            }
        }
        let canon = root.canonicalize().unwrap();
        (root, canon)
    })
}

fn no_traversal(s: &str) -> bool {
    !s.contains(['/', '\\', '\0']) && !s.contains("..")
}

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };

    if let Some(i) = parse_segment_name(s) {
        assert!(no_traversal(s), "{s:?}");
        assert_eq!(parse_segment_name(&segment_name(i)), Some(i));
    }

    let raw = Some(s);
    let carried = carried_query(raw);
    for p in carried.split('&').filter(|_| !carried.is_empty()) {
        assert!(
            ["file=", "token=", "audio=", "burn="].iter().any(|k| p.starts_with(k)),
            "{carried:?}"
        );
    }
    if let Ok(Some(i)) = file_param(raw) {
        assert_eq!(
            query_param(raw, "file").unwrap().parse::<usize>().ok(),
            Some(i)
        );
        assert!(carried.split('&').any(|p| p.starts_with("file=")));
    }

    let folder = sanitize(s);
    assert!(
        !folder.is_empty() && !folder.contains(['/', '\0']) && folder != "." && folder != "..",
        "{folder:?}"
    );

    let (root, canon) = fixture();
    match confine(root, s) {
        Ok(real) => {
            assert!(real.starts_with(canon), "{s:?} escaped to {real:?}");
            assert!(!real.starts_with(Path::new("/etc")));
        }
        Err(Denied::Forbidden { .. } | Denied::NotFound(_)) => {}
    }
});
