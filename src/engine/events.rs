//! What happens to torrents: the typed events the engine logs to the activity table and
//! broadcasts to subscribers (live UI updates, hooks, the library mover).

use serde::Serialize;

/// The kind of an event. Its `as_str` is the name the activity log, the live stream and
/// the hooks' `SWARMCAST_EVENT` carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// A torrent was added (its metadata may still be on the way).
    Added,
    /// A magnet's metadata arrived.
    Metadata,
    Started,
    Stopped,
    /// Resumed by the engine itself (disk back, space again), not by a user.
    Resumed,
    FilesSelected,
    /// The first bytes of a torrent arrived.
    TransferStarted,
    /// Every selected byte is on disk and verified (before any library move).
    TransferCompleted,
    /// Done and in its final place: what users and hooks call complete.
    Completed,
    /// A seeding rule (ratio or time) acted on the torrent.
    SeedingLimit,
    /// Removed to make room (quota).
    Evicted,
    /// Paused because the download disk went away.
    DiskRemoved,
    Error,
    Removed,
}

impl EventKind {
    pub const ALL: [EventKind; 14] = [
        Self::Added,
        Self::Metadata,
        Self::Started,
        Self::Stopped,
        Self::Resumed,
        Self::FilesSelected,
        Self::TransferStarted,
        Self::TransferCompleted,
        Self::Completed,
        Self::SeedingLimit,
        Self::Evicted,
        Self::DiskRemoved,
        Self::Error,
        Self::Removed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Added => "added",
            Self::Metadata => "metadata",
            Self::Started => "started",
            Self::Stopped => "stopped",
            Self::Resumed => "resumed",
            Self::FilesSelected => "files_selected",
            Self::TransferStarted => "transfer_started",
            Self::TransferCompleted => "transfer_completed",
            Self::Completed => "completed",
            Self::SeedingLimit => "seeding_limit",
            Self::Evicted => "evicted",
            Self::DiskRemoved => "disk_removed",
            Self::Error => "error",
            Self::Removed => "removed",
        }
    }
}

impl std::fmt::Display for EventKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Something that happened to a torrent.
#[derive(Clone, Debug, Serialize)]
pub struct Event {
    pub event: EventKind,
    pub torrent_id: String,
    pub name: Option<String>,
    pub detail: Option<String>,
    pub time: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_serde() {
        for k in EventKind::ALL {
            assert_eq!(serde_json::to_value(k).unwrap(), k.as_str());
        }
    }
}
