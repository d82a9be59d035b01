//! swarmcast's integration tests, one binary with a module per area (`cargo test --test
//! it <area>`), against real parts: the daemon binary, transmission seeders, ffmpeg
//! media, real players and clients. `fixture` is the harness they share.

mod fixture;

mod appliance;
mod auth;
mod auth_cli;
mod clean_stop;
mod compat;
mod core;
mod disk;
mod dlna;
mod fast_start;
mod playback_shaped;
mod faults;
mod files_search;
mod formats;
mod hls_local;
mod layout;
mod media_cache;
mod memory;
mod openapi;
mod powercut;
mod security;
mod renderers;
mod seeding;
mod services;
mod stall;
mod stream_api;
mod passkeys;
mod tracker;
mod tenbit;
mod tracks;
mod watching;
mod webtorrent;
mod uploads;
mod web_ui;
