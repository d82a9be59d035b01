//! Accounts and security, end to end through the router: every route's auth,
//! sessions, remember-me, API keys, stream tokens, rate limits, Host and CSRF.

mod accounts;
mod guard;
mod routes;
mod tokens;
