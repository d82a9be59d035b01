#![no_main]
//! HTTP `Range` headers, as the file routes (`/api/torrents/{id}/files/{index}`,
//! `/api/files/content`) parse them (`api::range::parse_range`) and serve them
//! (`api::range::serve`).
//!
//! The input is an 8-byte resource length, then the header value. Properties: a
//! partial range lies inside the resource, and for small resources the answer served
//! carries exactly the bytes its `Content-Range` and `Content-Length` name.

use std::sync::OnceLock;

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use libfuzzer_sys::fuzz_target;
use swarmcast::api::range::{RangeRequest, parse_range, serve};

/// Resources up to this size are also served, not only parsed.
const SERVED_MAX: u64 = 4096;

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
    })
}

fn header_str(h: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    h.get(name).map(|v| v.to_str().unwrap())
}

fuzz_target!(|data: &[u8]| {
    let Some((len, value)) = data.split_first_chunk::<8>() else {
        return;
    };
    let len = u64::from_le_bytes(*len);
    // Mostly small resources, where ranges meet the end; sometimes any length at all.
    let len = if len & 1 == 0 {
        (len >> 1) % (SERVED_MAX + 1)
    } else {
        len >> 1
    };
    let Ok(value) = std::str::from_utf8(value) else {
        return;
    };
    let parsed = parse_range(Some(value), len);
    if let RangeRequest::Partial { start, end } = parsed {
        assert!(
            start <= end && end < len,
            "{value:?} on {len} bytes gave {start}-{end}"
        );
    }
    if len > SERVED_MAX {
        return;
    }
    let Ok(hv) = HeaderValue::from_str(value) else {
        return;
    };
    // A header value that is not visible ASCII is not read as a range at all.
    let parsed = if hv.to_str().is_ok() {
        parsed
    } else {
        RangeRequest::Full
    };
    let mut headers = HeaderMap::new();
    headers.insert(header::RANGE, hv);
    let content: Vec<u8> = (0..len).map(|i| i as u8).collect();
    let reader = std::io::Cursor::new(content.clone());
    let resp = match runtime().block_on(serve(reader, len, "video/mp4", &headers, false)) {
        Ok(r) => r,
        Err(e) => {
            assert_eq!(parsed, RangeRequest::Unsatisfiable);
            let r = e.into_response();
            assert_eq!(r.status(), StatusCode::RANGE_NOT_SATISFIABLE);
            assert_eq!(
                header_str(r.headers(), header::CONTENT_RANGE),
                Some(format!("bytes */{len}").as_str())
            );
            return;
        }
    };
    let (parts, body) = resp.into_parts();
    let body = runtime()
        .block_on(axum::body::to_bytes(body, usize::MAX))
        .unwrap();
    let length: u64 = header_str(&parts.headers, header::CONTENT_LENGTH)
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(length, body.len() as u64);
    match parsed {
        RangeRequest::Full => {
            assert_eq!(parts.status, StatusCode::OK);
            assert_eq!(&body[..], &content[..]);
        }
        RangeRequest::Partial { start, end } => {
            assert_eq!(parts.status, StatusCode::PARTIAL_CONTENT);
            let want = format!("bytes {start}-{end}/{len}");
            assert_eq!(
                header_str(&parts.headers, header::CONTENT_RANGE),
                Some(want.as_str())
            );
            assert_eq!(&body[..], &content[start as usize..=end as usize]);
        }
        RangeRequest::Unsatisfiable => panic!("an unsatisfiable range was served"),
    }
});
