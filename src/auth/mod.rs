//! Accounts and security: users with argon2id passwords, sliding sessions,
//! remember-me series, API keys, signed stream tokens, rate limits and the
//! Host policy. `Auth` holds it all; the API layer turns requests into calls here.

pub mod basic;
pub mod clock;
pub mod host;
pub mod password;
pub mod rate_limit;
mod service;
mod sessions;
mod stream;
pub mod tokens;

pub use basic::Basic;
pub use rate_limit::{Class, RateLimiter};
pub use service::{API_KEY_TAG, AccountError, Auth, NewApiKey, check_username};
pub use sessions::{RememberOutcome, SessionLogin};
pub use stream::{StreamTokenError, TokenOwner};
