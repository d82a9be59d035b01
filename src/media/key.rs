//! `StreamKey`: which stream, a file of a torrent.

/// A stream is one file of one torrent.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StreamKey {
    /// The torrent's info-hash (hex).
    pub torrent: String,
    /// The file's index in the torrent.
    pub file: usize,
}

impl StreamKey {
    pub fn new(torrent: impl Into<String>, file: usize) -> Self {
        Self {
            torrent: torrent.into(),
            file,
        }
    }

    /// The name of the stream's cache folder.
    pub fn dir_name(&self) -> String {
        format!("{}-{}", self.torrent, self.file)
    }
}

/// `{torrent}/{file}`, as the logs show it.
impl std::fmt::Display for StreamKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.torrent, self.file)
    }
}
