//! Making a .torrent from a file or folder already on the box, announced on the box's
//! own tracker, ready to be seeded from where the data lies.

use std::path::{Path, PathBuf};

use anyhow::Context;
use librqbit::{ByteBufOwned, CreateTorrentOptions};

use crate::engine::{TorrentFile, parse_torrent};

/// What `create` made.
pub struct Created {
    pub torrent: TorrentFile,
    /// The folder the torrent's files are relative to (the engine's output folder).
    pub output_folder: PathBuf,
}

/// A piece length giving about 1,500 pieces: a power of two from 16 KiB to 16 MiB.
pub fn piece_length_for(total: u64) -> u32 {
    let target = (total / 1500).max(1);
    target.next_power_of_two().clamp(16 << 10, 16 << 20) as u32
}

/// The bytes under `path`, refusing names that are not UTF-8 (a torrent's paths are
/// UTF-8, and librqbit would panic on them).
fn total_size(path: &Path) -> anyhow::Result<u64> {
    let check = |p: &Path| match p.file_name().map(|n| n.to_str().is_some()) {
        Some(false) => Err(anyhow::anyhow!("{} has a name that is not UTF-8", p.to_string_lossy())),
        _ => Ok(()),
    };
    check(path)?;
    if path.is_file() {
        return Ok(path.metadata()?.len());
    }
    let mut total = 0;
    let mut stack = vec![path.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir)?.flatten() {
            let t = e.file_type()?;
            if t.is_dir() || t.is_file() {
                check(&e.path())?;
            }
            if t.is_dir() {
                stack.push(e.path());
            } else if t.is_file() {
                total += e.metadata()?.len();
            }
        }
    }
    Ok(total)
}

/// Hashes `path` (a file or a folder; symlinks inside a folder are skipped) into a
/// torrent whose trackers are `trackers`, the first one also as `announce`.
///
/// Cancelling drops the hashing at its next read.
pub async fn create(path: &Path, trackers: &[String], private: bool) -> anyhow::Result<Created> {
    let total = total_size(path)?;
    if total == 0 {
        anyhow::bail!("{} holds no data to share", path.display());
    }
    let spawner = librqbit::spawn_utils::BlockingSpawner::new(1);
    let opts =
        CreateTorrentOptions { name: None, trackers: trackers.to_vec(), piece_length: Some(piece_length_for(total)) };
    let mut result = librqbit::create_torrent(path, opts, &spawner).await.context("hashing the data")?;
    result.meta.announce = trackers.first().map(|t| ByteBufOwned::from(t.as_bytes()));
    result.meta.info.data.private = private;
    result.meta.created_by = Some(ByteBufOwned::from(format!("swarmcast {}", env!("CARGO_PKG_VERSION")).as_bytes()));
    result.meta.creation_date = Some(time::OffsetDateTime::now_utc().unix_timestamp().max(0) as usize);
    if trackers.is_empty() {
        result.meta.announce_list.clear();
    }
    // The info dict is serialised from its fields, so the hash covers `private`.
    let bytes = result.as_bytes()?;
    let torrent = parse_torrent(bytes).map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(Created { torrent, output_folder: result.output_folder })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn piece_lengths() {
        assert_eq!(piece_length_for(1), 16 << 10);
        assert_eq!(piece_length_for(3 << 20), 16 << 10);
        assert_eq!(piece_length_for(100 << 20), 128 << 10);
        assert_eq!(piece_length_for(4 << 30), 4 << 20);
        assert_eq!(piece_length_for(u64::MAX / 2), 16 << 20);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn private_flag_changes_the_hash_and_trackers_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("clip.bin");
        std::fs::write(&f, vec![7u8; 100_000]).unwrap();
        let t = vec!["http://box:6991/announce".to_string(), "udp://other:1".to_string()];
        let open = create(&f, &t, false).await.unwrap();
        let private = create(&f, &t, true).await.unwrap();
        assert_ne!(open.torrent.info_hash, private.torrent.info_hash);
        assert_eq!(open.output_folder, dir.path().canonicalize().unwrap());
        let parsed = librqbit::torrent_from_bytes(&private.torrent.bytes).unwrap();
        assert!(parsed.info.data.private);
        let announce: Vec<String> =
            parsed.iter_announce().map(|b| String::from_utf8_lossy(b.as_ref()).into_owned()).collect();
        assert_eq!(announce, t);
        assert_eq!(private.torrent.name.as_deref(), Some("clip.bin"));
        let empty = dir.path().join("empty");
        std::fs::create_dir(&empty).unwrap();
        assert!(create(&empty, &t, false).await.is_err());
        use std::os::unix::ffi::OsStrExt;
        let odd = dir.path().join("odd");
        std::fs::create_dir(&odd).unwrap();
        std::fs::write(odd.join(std::ffi::OsStr::from_bytes(b"bad\xffname.bin")), b"data").unwrap();
        let e = create(&odd, &t, false).await.err().unwrap();
        assert!(format!("{e:#}").contains("not UTF-8"), "{e:#}");
    }
}
