//! `/dlna/…`: the HTTP side of the UPnP media server (description, service
//! descriptions, SOAP control, event subscriptions). These routes need no login (a TV
//! cannot log in) and change nothing; the resource URLs they hand out are the API's
//! raw-file and HLS routes with a stream token. All of it is 404 when `dlna.enabled`
//! is off.

use std::net::IpAddr;

use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::error::{ApiError, ApiResult};
use super::extract::client_ip;
use crate::api::AppState;
use crate::lan::dlna::description::{self, CONNECTION_MANAGER, CONTENT_DIRECTORY};
use crate::lan::dlna::directory::{self, Entry, Snapshot};
use crate::lan::dlna::soap::{self, Call, Fault};

const XML: &str = "text/xml; charset=\"utf-8\"";

fn enabled(state: &AppState) -> ApiResult<()> {
    if state.config.dlna.enabled { Ok(()) } else { Err(ApiError::not_found("the DLNA server is off (dlna.enabled)")) }
}

fn xml(status: StatusCode, body: String) -> Response {
    let mut h = HeaderMap::new();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(XML));
    if let Ok(v) = HeaderValue::from_str(&crate::lan::dlna::server_string()) {
        h.insert(header::SERVER, v);
    }
    (status, h, body).into_response()
}

/// `GET /dlna/description.xml`.
pub async fn description(State(state): State<AppState>) -> ApiResult<Response> {
    enabled(&state)?;
    Ok(xml(StatusCode::OK, description::device(&state.config.dlna.friendly_name, &state.dlna.udn)))
}

/// `GET /dlna/ContentDirectory.xml`.
pub async fn content_directory_scpd(State(state): State<AppState>) -> ApiResult<Response> {
    enabled(&state)?;
    Ok(xml(StatusCode::OK, description::content_directory_scpd()))
}

/// `GET /dlna/ConnectionManager.xml`.
pub async fn connection_manager_scpd(State(state): State<AppState>) -> ApiResult<Response> {
    enabled(&state)?;
    Ok(xml(StatusCode::OK, description::connection_manager_scpd()))
}

/// Resource URLs on the address the control point used, with stream tokens that stay
/// the same for an hour (a TV may key its resume points on the URL).
struct TokenUrls<'a> {
    state: &'a AppState,
    base: String,
    expires_at: i64,
}

impl directory::Urls for TokenUrls<'_> {
    fn urls(&self, e: &Entry) -> (String, String) {
        let token = self.state.auth.mint_scoped_token(
            &e.torrent,
            Some(e.index),
            crate::auth::TokenOwner::Dlna,
            self.expires_at,
        );
        let (b, id, i) = (&self.base, &e.torrent, e.index);
        (
            format!("{b}/api/torrents/{id}/files/{i}?token={token}"),
            format!("{b}/api/stream/{id}?file={i}&token={token}"),
        )
    }
    fn file_url(&self, e: &Entry, index: usize) -> String {
        let token = self.state.auth.mint_stream_token_until(&e.torrent, None, self.expires_at);
        format!("{}/api/torrents/{}/files/{index}?token={token}", self.base, e.torrent)
    }
}

/// `POST /dlna/control/{service}`: one SOAP action.
pub async fn control(
    State(state): State<AppState>,
    Path(service): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    enabled(&state)?;
    let service_type = match service.as_str() {
        "ContentDirectory" => CONTENT_DIRECTORY,
        "ConnectionManager" => CONNECTION_MANAGER,
        _ => return Err(ApiError::not_found(format!("no UPnP service {service:?}"))),
    };
    let answer = std::str::from_utf8(&body)
        .map_err(|_| Fault::invalid_args("the SOAP request is not UTF-8"))
        .and_then(soap::parse)
        .and_then(|call| {
            // The SOAPACTION header, when sent, must name this service and this action.
            let named = headers.get("soapaction").and_then(|v| v.to_str().ok()).and_then(soap::header_action);
            if let Some((svc, action)) = named
                && (svc != service_type || action != call.action)
            {
                return Err(Fault::invalid_action(action));
            }
            if service_type == CONTENT_DIRECTORY {
                content_directory(&state, &headers, &call)
            } else {
                connection_manager(&call)
            }
            .map(|out| soap::response(service_type, &call.action, &out))
        });
    Ok(match answer {
        Ok(body) => xml(StatusCode::OK, body),
        Err(f) => {
            tracing::debug!(service, "UPnP fault {}: {}", f.code, f.description);
            xml(StatusCode::INTERNAL_SERVER_ERROR, soap::fault(&f))
        }
    })
}

type Out = Vec<(&'static str, String)>;

fn content_directory(state: &AppState, headers: &HeaderMap, call: &Call) -> Result<Out, Fault> {
    let snap = Snapshot::take(&state.engine, &state.media);
    let update_id = state.dlna.system_update_id(snap.fingerprint()).to_string();
    Ok(match call.action.as_str() {
        "Browse" => {
            let hour = 3600;
            let expires_at = (state.auth.now() / hour + 1) * hour + state.config.auth.stream_token_hours as i64 * hour;
            let urls = TokenUrls { state, base: super::playlist::base_url(state, headers), expires_at };
            let r = directory::browse(
                &snap,
                call.need("ObjectID")?,
                call.need("BrowseFlag")?,
                call.number("StartingIndex", 0)? as usize,
                call.number("RequestedCount", 0)? as usize,
                call.arg("SortCriteria").unwrap_or(""),
                &urls,
            )?;
            vec![
                ("Result", r.didl),
                ("NumberReturned", r.returned.to_string()),
                ("TotalMatches", r.total.to_string()),
                ("UpdateID", update_id),
            ]
        }
        "GetSearchCapabilities" => vec![("SearchCaps", String::new())],
        "GetSortCapabilities" => vec![("SortCaps", directory::SORT_CAPS.to_string())],
        "GetSystemUpdateID" => vec![("Id", update_id)],
        other => return Err(Fault::invalid_action(other)),
    })
}

/// The MIME types the raw resources may have, for `GetProtocolInfo`.
const SOURCE_MIMES: &[&str] = &[
    "video/mp4",
    "video/x-matroska",
    "video/quicktime",
    "video/x-msvideo",
    "video/webm",
    "video/mp2t",
    "video/mpeg",
    "video/x-ms-wmv",
    "video/x-flv",
    "video/ogg",
    "video/3gpp",
];

fn connection_manager(call: &Call) -> Result<Out, Fault> {
    Ok(match call.action.as_str() {
        "GetProtocolInfo" => {
            let mut source: Vec<String> = SOURCE_MIMES.iter().map(|m| crate::lan::dlna::protocol_info(m)).collect();
            source.push(crate::lan::dlna::HLS_PROTOCOL_INFO.to_string());
            vec![("Source", source.join(",")), ("Sink", String::new())]
        }
        "GetCurrentConnectionIDs" => vec![("ConnectionIDs", "0".into())],
        "GetCurrentConnectionInfo" => {
            if call.need("ConnectionID")?.trim() != "0" {
                return Err(Fault::new(706, "Invalid connection reference"));
            }
            vec![
                ("RcsID", "-1".into()),
                ("AVTransportID", "-1".into()),
                ("ProtocolInfo", String::new()),
                ("PeerConnectionManager", String::new()),
                ("PeerConnectionID", "-1".into()),
                ("Direction", "Output".into()),
                ("Status", "OK".into()),
            ]
        }
        other => return Err(Fault::invalid_action(other)),
    })
}

/// `SUBSCRIBE` / `UNSUBSCRIBE /dlna/event/{service}` (GENA). A subscription is granted
/// and gets its initial event (the current `SystemUpdateID`), sent only to the
/// subscriber's own address; later changes are found by polling `GetSystemUpdateID`,
/// as every control point can.
pub async fn event(State(state): State<AppState>, Path(service): Path<String>, req: Request) -> ApiResult<Response> {
    enabled(&state)?;
    if service != "ContentDirectory" && service != "ConnectionManager" {
        return Err(ApiError::not_found(format!("no UPnP service {service:?}")));
    }
    let from = client_ip(req.extensions());
    let headers = req.headers();
    let hv = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).map(str::to_string);
    let ok = |sid: String| {
        let mut r = StatusCode::OK.into_response();
        let h = r.headers_mut();
        h.insert("sid", HeaderValue::from_str(&sid).unwrap_or(HeaderValue::from_static("uuid:0")));
        h.insert("timeout", HeaderValue::from_static("Second-1800"));
        if let Ok(v) = HeaderValue::from_str(&crate::lan::dlna::server_string()) {
            h.insert(header::SERVER, v);
        }
        r
    };
    match req.method().as_str() {
        "SUBSCRIBE" => {
            if let Some(sid) = hv("sid") {
                return Ok(ok(sid)); // a renewal
            }
            let (Some(callback), Some("upnp:event")) = (hv("callback"), hv("nt").as_deref()) else {
                return Ok(StatusCode::PRECONDITION_FAILED.into_response());
            };
            let sid = format!("uuid:{}", hex::encode(rand::random::<[u8; 16]>()));
            if service == "ContentDirectory"
                && let Some(url) = callback_url(&callback, from)
            {
                let sid2 = sid.clone();
                let id = state.dlna.system_update_id(Snapshot::take(&state.engine, &state.media).fingerprint());
                crate::system::spawn("dlna-event", &state.shutdown, async move {
                    initial_event(url, sid2, id).await;
                    Ok(())
                });
            }
            Ok(ok(sid))
        }
        "UNSUBSCRIBE" => Ok(StatusCode::OK.into_response()),
        _ => Err(ApiError::new(super::error::Code::MethodNotAllowed, "use SUBSCRIBE or UNSUBSCRIBE")),
    }
}

/// The first `<http://…>` of a CALLBACK header, when it points at the subscriber.
fn callback_url(callback: &str, subscriber: IpAddr) -> Option<url::Url> {
    let first = callback.split('>').next()?.trim().strip_prefix('<')?;
    let url = url::Url::parse(first).ok()?;
    let host: IpAddr = url.host_str()?.trim_matches(['[', ']']).parse().ok()?;
    (url.scheme() == "http" && host == subscriber).then_some(url)
}

async fn initial_event(url: url::Url, sid: String, update_id: u32) {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><e:propertyset xmlns:e=\"urn:schemas-upnp-org:event-1-0\">\
<e:property><SystemUpdateID>{update_id}</SystemUpdateID></e:property>\
<e:property><ContainerUpdateIDs></ContainerUpdateIDs></e:property></e:propertyset>"
    );
    let client = reqwest::Client::builder().timeout(std::time::Duration::from_secs(5)).build();
    let Ok(client) = client else { return };
    let sent = client
        .request(Method::from_bytes(b"NOTIFY").expect("valid method"), url)
        .header(header::CONTENT_TYPE, XML)
        .header("nt", "upnp:event")
        .header("nts", "upnp:propchange")
        .header("sid", sid)
        .header("seq", "0")
        .body(body)
        .send()
        .await;
    if let Err(e) = sent {
        tracing::debug!("UPnP initial event not delivered: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callbacks_only_to_the_subscriber() {
        let me: IpAddr = "192.168.1.9".parse().unwrap();
        assert!(callback_url("<http://192.168.1.9:8058/cb>", me).is_some());
        assert!(callback_url("<http://192.168.1.10:8058/cb>", me).is_none());
        assert!(callback_url("<http://example.net/cb>", me).is_none());
        assert!(callback_url("junk", me).is_none());
    }
}
