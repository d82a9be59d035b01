//! The BitTorrent engine: a librqbit `Session` wrapped with what the box needs on top
//! of it — magnets that wait for metadata in the background, the store as the source of
//! truth for what should be on the box, the activity log, events, and readers that
//! cannot starve the session's disk writes.

mod add;
mod bencode;
pub mod boxes;
mod container;
mod control;
pub mod episodes;
pub mod disk;
mod error;
mod events;
pub mod files;
mod input;
pub mod library;
mod listing;
mod prefetch;
pub mod quota;
mod reader;
mod session;
mod state;
mod video;
mod view;
mod watcher;

pub use add::AddOptions;
pub use disk::DISK_REMOVED;
pub use error::{EngineError, EngineResult};
pub use events::{Event, EventKind};
pub use input::{
    MagnetLink, Resolve, Source, TorrentFile, parse_info_hash, parse_magnet, parse_magnet_with, parse_torrent,
    parse_uri, parse_uri_async, parse_uri_with, system_resolve,
};
pub use listing::Totals;
pub use reader::FileReader;
pub use state::Engine;
pub use video::{PlayableFile, is_video, mime_type, pick_video, playable_files, why_no_video};
pub use view::{FileView, PeerView, Status, TorrentView};
