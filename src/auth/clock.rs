//! The contract's time format for the auth records (RFC 3339, UTC).

/// Unix seconds as the contract's RFC 3339 string.
pub fn rfc3339(unix_secs: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(unix_secs).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    crate::store::format_time(t)
}
