//! HTTP `Range` (RFC 9110) for single byte ranges, and serving a reader with it.

use std::io::SeekFrom;

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncSeek, AsyncSeekExt};

use super::error::{ApiError, Code};

/// What a `Range` header asks of a resource of known length.
#[derive(Debug, PartialEq, Eq)]
pub enum RangeRequest {
    /// No usable range: send the whole resource (200).
    Full,
    /// One satisfiable range, inclusive bounds (206).
    Partial { start: u64, end: u64 },
    /// A syntactically valid range that lies outside the resource (416).
    Unsatisfiable,
}

/// Parses a `Range` header value against a resource of `len` bytes. Multiple ranges
/// and unknown units are answered with the whole resource, as RFC 9110 allows.
pub fn parse_range(value: Option<&str>, len: u64) -> RangeRequest {
    let Some(value) = value else { return RangeRequest::Full };
    let Some(spec) = value.trim().strip_prefix("bytes=") else { return RangeRequest::Full };
    if spec.contains(',') {
        return RangeRequest::Full;
    }
    let Some((a, b)) = spec.trim().split_once('-') else { return RangeRequest::Full };
    let (a, b) = (a.trim(), b.trim());
    let num = |s: &str| -> Option<u64> {
        (!s.is_empty() && s.len() <= 20 && s.bytes().all(|c| c.is_ascii_digit())).then(|| s.parse().ok()).flatten()
    };
    match (a.is_empty(), b.is_empty()) {
        // bytes=-N: the last N bytes.
        (true, false) => match num(b) {
            Some(0) => RangeRequest::Unsatisfiable,
            Some(_) if len == 0 => RangeRequest::Unsatisfiable,
            Some(n) => RangeRequest::Partial { start: len.saturating_sub(n), end: len - 1 },
            None => RangeRequest::Full,
        },
        // bytes=N-: from N to the end.
        (false, true) => match num(a) {
            Some(s) if s < len => RangeRequest::Partial { start: s, end: len - 1 },
            Some(_) => RangeRequest::Unsatisfiable,
            None => RangeRequest::Full,
        },
        (false, false) => match (num(a), num(b)) {
            (Some(s), Some(e)) if s > e => RangeRequest::Full,
            (Some(s), Some(_)) if s >= len => RangeRequest::Unsatisfiable,
            (Some(s), Some(e)) => RangeRequest::Partial { start: s, end: e.min(len - 1) },
            _ => RangeRequest::Full,
        },
        (true, true) => RangeRequest::Full,
    }
}

/// Answers a GET or HEAD for `reader` with range support.
pub async fn serve<R>(
    mut reader: R,
    len: u64,
    content_type: &str,
    headers: &HeaderMap,
    head_only: bool,
) -> Result<Response, ApiError>
where
    R: AsyncRead + AsyncSeek + Unpin + Send + 'static,
{
    let range = headers.get(header::RANGE).and_then(|v| v.to_str().ok());
    let (status, start, count) = match parse_range(range, len) {
        RangeRequest::Full => (StatusCode::OK, 0, len),
        RangeRequest::Partial { start, end } => (StatusCode::PARTIAL_CONTENT, start, end - start + 1),
        RangeRequest::Unsatisfiable => {
            return Err(ApiError::new(
                Code::RangeNotSatisfiable,
                format!("range {} is outside the file's {len} bytes", range.unwrap_or("")),
            )
            .with_header(header::CONTENT_RANGE, HeaderValue::from_str(&format!("bytes */{len}")).expect("ascii")));
        }
    };
    let mut resp = Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, content_type)
        .header(header::ACCEPT_RANGES, "bytes")
        .header(header::CONTENT_LENGTH, count);
    if status == StatusCode::PARTIAL_CONTENT {
        resp = resp.header(header::CONTENT_RANGE, format!("bytes {start}-{}/{len}", start + count - 1));
    }
    let body = if head_only || count == 0 {
        Body::empty()
    } else {
        if start > 0 {
            reader.seek(SeekFrom::Start(start)).await.map_err(ApiError::internal)?;
        }
        Body::from_stream(tokio_util::io::ReaderStream::with_capacity(reader.take(count), 64 * 1024))
    };
    resp.body(body).map_err(ApiError::internal)
}

#[cfg(test)]
mod tests {
    use super::RangeRequest::*;
    use super::*;

    #[test]
    fn ranges() {
        let p = |s| parse_range(Some(s), 1000);
        assert_eq!(parse_range(None, 1000), Full);
        assert_eq!(p("bytes=0-99"), Partial { start: 0, end: 99 });
        assert_eq!(p("bytes=500-"), Partial { start: 500, end: 999 });
        assert_eq!(p("bytes=-100"), Partial { start: 900, end: 999 });
        assert_eq!(p("bytes=-5000"), Partial { start: 0, end: 999 });
        assert_eq!(p("bytes=990-5000"), Partial { start: 990, end: 999 });
        assert_eq!(p("bytes=1000-"), Unsatisfiable);
        assert_eq!(p("bytes=1000-1001"), Unsatisfiable);
        assert_eq!(p("bytes=-0"), Unsatisfiable);
        assert_eq!(p("bytes=5-1"), Full);
        assert_eq!(p("bytes=0-1,5-6"), Full);
        assert_eq!(p("items=0-1"), Full);
        assert_eq!(p("bytes=x-1"), Full);
        assert_eq!(p("bytes=99999999999999999999999-"), Full);
        assert_eq!(parse_range(Some("bytes=0-"), 0), Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=-1"), 0), Unsatisfiable);
    }
}
