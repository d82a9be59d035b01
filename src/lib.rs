//! swarmcast: a BitTorrent engine and an HLS streamer for a box on the home network.
//! Data flows one way: engine → media → api.

pub mod api;
pub mod app;
pub mod auth;
pub mod config;
pub mod engine;
pub mod hooks;
pub mod library;
pub mod quota;
pub mod seeding;
pub mod settings;
pub mod watch;
pub mod files;
pub mod search;
pub mod media;
pub mod store;
pub mod system;
pub mod cli;
pub mod serve;
pub mod sysinfo;
pub mod tracker;
pub mod web;
pub mod lan;
pub mod dlna;
pub mod mdns;
