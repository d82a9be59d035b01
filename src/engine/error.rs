//! What can go wrong in the engine, each kind mapping to one contract error code.

/// What can go wrong in the engine, each mapping to one contract error code.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("{0}")]
    BadInput(String),
    #[error("torrent {0} is not known")]
    NotFound(String),
    #[error("torrent {id} has no file {index}")]
    FileNotFound { id: String, index: usize },
    #[error("torrent {0} was already added")]
    AlreadyAdded(String),
    #[error("torrent {0} has no metadata yet")]
    NoMetadata(String),
    #[error("no metadata for torrent {0} arrived in time: no peer could be reached")]
    MetadataTimeout(String),
    #[error("torrent {0} has no playable video file")]
    NoVideoFile(String),
    #[error("{0}")]
    NoSeeds(String),
    #[error("{0}")]
    QuotaExceeded(String),
    #[error("the BitTorrent engine is stopped; start it through /api/services/engine/start")]
    Stopped,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

pub type EngineResult<T> = Result<T, EngineError>;

/// Whether `e` is the disk refusing a torrent's files (read-only, no permission, I/O
/// error, full) rather than the swarm failing.
pub(super) fn is_disk_error(e: &anyhow::Error) -> bool {
    use nix::errno::Errno;
    e.chain().filter_map(|c| c.downcast_ref::<std::io::Error>()).any(|io| {
        io.raw_os_error()
            .is_some_and(|n| [Errno::EROFS, Errno::EACCES, Errno::EIO, Errno::ENOSPC].contains(&Errno::from_raw(n)))
    })
}
