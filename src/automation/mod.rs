//! What the box does on its own: engine events in, actions out. Hooks and webhooks,
//! the seeding rules, and the watch folder.

pub mod hooks;
pub mod seeding;
pub mod watch_folder;
