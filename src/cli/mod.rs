//! Every `swarmcast` command other than the daemon itself: the remote commands that talk
//! to a running daemon over HTTP, the account tools that work on the database, and
//! `doctor`.

pub mod accounts;
mod remote;

pub use remote::{MaintenanceArgs, TorrentArgs, doctor, maintenance, torrent};
