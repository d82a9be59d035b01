//! swarmcast: a BitTorrent engine and an HLS streamer for a box on the home network.
//!
//! The modules in the order of the flow: each one imports only from those below it.
//! Data flows the other way: engine → media → api.

pub mod cli;
pub mod daemon;
pub mod api;
pub mod compat;
pub mod web;
pub mod lan;
pub mod media;
pub mod automation;
pub mod search;
pub mod tracker;
pub mod engine;
pub mod auth;
pub mod config;
pub mod store;
pub mod system;
