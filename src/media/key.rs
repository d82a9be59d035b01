//! `StreamKey`: which stream, a file of a torrent.

/// A stream is one file of one torrent.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StreamKey {
    /// The torrent's info-hash (hex).
    pub torrent: String,
    /// The file's index in the torrent.
    pub file: usize,
    /// A subtitle track burned into the picture (`burn=N`): a stream of its own.
    pub burn: Option<usize>,
}

impl StreamKey {
    pub fn new(torrent: impl Into<String>, file: usize) -> Self {
        Self { torrent: torrent.into(), file, burn: None }
    }

    /// The same file with subtitle track `n` burned in.
    pub fn burned(mut self, n: Option<usize>) -> Self {
        self.burn = n;
        self
    }

    /// The name of the stream's cache folder.
    pub fn dir_name(&self) -> String {
        match self.burn {
            Some(n) => format!("{}-{}-burn{n}", self.torrent, self.file),
            None => format!("{}-{}", self.torrent, self.file),
        }
    }
}

/// `{torrent}/{file}`, as the logs show it.
impl std::fmt::Display for StreamKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.torrent, self.file)?;
        match self.burn {
            Some(n) => write!(f, "+burn{n}"),
            None => Ok(()),
        }
    }
}
