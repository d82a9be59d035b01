//! UPnP AV control of a renderer over SOAP: AVTransport (SetAVTransportURI, Play,
//! Pause, Seek, Stop, GetPositionInfo, GetTransportInfo) and RenderingControl volume.

use std::time::Duration;

use quick_xml::escape::escape;

use crate::lan::dlna::soap;

pub const AV_TRANSPORT: &str = "urn:schemas-upnp-org:service:AVTransport:1";
pub const RENDERING_CONTROL: &str = "urn:schemas-upnp-org:service:RenderingControl:1";

/// How long one SOAP call may take.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(5);
/// The largest SOAP answer read.
const MAX_ANSWER: usize = 256 * 1024;

/// A renderer's answer, or why there is none.
pub type Answer = Result<Vec<(String, String)>, String>;

fn envelope(service: &str, action: &str, args: &[(&str, String)]) -> String {
    let inner: String = args.iter().map(|(k, v)| format!("<{k}>{}</{k}>", escape(v.as_str()))).collect();
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\" \
s:encodingStyle=\"http://schemas.xmlsoap.org/soap/encoding/\"><s:Body><u:{action} xmlns:u=\"{service}\">{inner}</u:{action}>\
</s:Body></s:Envelope>\n"
    )
}

/// Reads a body up to `max` bytes.
pub async fn read_bounded(mut r: reqwest::Response, max: usize) -> Result<String, String> {
    let mut buf = Vec::new();
    while let Some(chunk) = r.chunk().await.map_err(|e| format!("reading the answer: {e}"))? {
        buf.extend_from_slice(&chunk);
        if buf.len() > max {
            return Err(format!("the answer is larger than {max} bytes"));
        }
    }
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

/// Calls `action` of `service` at `url`; its out arguments.
pub async fn call(client: &reqwest::Client, url: &str, service: &str, action: &str, args: &[(&str, String)]) -> Answer {
    let r = client
        .post(url)
        .timeout(CALL_TIMEOUT)
        .header("Content-Type", "text/xml; charset=\"utf-8\"")
        .header("Connection", "close")
        .header("SOAPACTION", format!("\"{service}#{action}\""))
        .body(envelope(service, action, args))
        .send()
        .await
        .map_err(|e| format!("{action}: the renderer did not answer: {e}"))?;
    let status = r.status();
    let body = read_bounded(r, MAX_ANSWER).await?;
    let parsed = soap::parse(&body).map_err(|e| format!("{action}: the renderer's answer cannot be read: {e}"))?;
    if !status.is_success() || parsed.action == "Fault" {
        let why = parsed.arg("faultstring").unwrap_or("").to_string();
        let code = upnp_error_code(&body).map(|c| format!(" (UPnP error {c})")).unwrap_or_default();
        return Err(format!("{action}: the renderer refused: HTTP {status} {why}{code}"));
    }
    Ok(parsed.args)
}

/// The `errorCode` of a UPnP fault.
fn upnp_error_code(body: &str) -> Option<u32> {
    let at = body.find("errorCode>")? + "errorCode>".len();
    body[at..].split('<').next()?.trim().parse().ok()
}

/// `H:MM:SS` (and `H:MM:SS.fff`) as seconds; `NOT_IMPLEMENTED` and junk as `None`.
pub fn parse_time(s: &str) -> Option<f64> {
    let mut parts = s.trim().split(':');
    let (h, m, sec) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let v = h.parse::<f64>().ok()? * 3600.0 + m.parse::<f64>().ok()? * 60.0 + sec.parse::<f64>().ok()?;
    v.is_finite().then_some(v)
}

/// Seconds as `H:MM:SS` for Seek's `REL_TIME`.
pub fn format_time(secs: f64) -> String {
    let s = secs.max(0.0).round() as u64;
    format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

/// The DIDL-Lite a TV shows for what it plays.
pub fn didl(title: &str, url: &str, protocol_info: &str) -> String {
    format!(
        "<DIDL-Lite xmlns=\"urn:schemas-upnp-org:metadata-1-0/DIDL-Lite/\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\" \
xmlns:upnp=\"urn:schemas-upnp-org:metadata-1-0/upnp/\"><item id=\"swarmcast\" parentID=\"0\" restricted=\"1\">\
<dc:title>{}</dc:title><upnp:class>object.item.videoItem</upnp:class><res protocolInfo=\"{}\">{}</res></item></DIDL-Lite>",
        escape(title),
        escape(protocol_info),
        escape(url)
    )
}

fn arg<'a>(a: &'a [(String, String)], name: &str) -> &'a str {
    a.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).unwrap_or("")
}

/// What a renderer says it does now.
#[derive(Clone, Debug, PartialEq)]
pub struct Transport {
    pub state: String,
    pub position_s: Option<f64>,
    pub duration_s: Option<f64>,
    pub uri: String,
}

/// AVTransport of one renderer.
pub struct AvTransport<'a> {
    pub client: &'a reqwest::Client,
    pub url: &'a str,
}

impl AvTransport<'_> {
    async fn av(&self, action: &str, mut args: Vec<(&str, String)>) -> Answer {
        args.insert(0, ("InstanceID", "0".into()));
        call(self.client, self.url, AV_TRANSPORT, action, &args).await
    }

    pub async fn set_uri(&self, url: &str, metadata: &str) -> Answer {
        self.av("SetAVTransportURI", vec![("CurrentURI", url.into()), ("CurrentURIMetaData", metadata.into())]).await
    }
    pub async fn play(&self) -> Answer {
        self.av("Play", vec![("Speed", "1".into())]).await
    }
    pub async fn pause(&self) -> Answer {
        self.av("Pause", vec![]).await
    }
    pub async fn stop(&self) -> Answer {
        self.av("Stop", vec![]).await
    }
    pub async fn seek(&self, secs: f64) -> Answer {
        self.av("Seek", vec![("Unit", "REL_TIME".into()), ("Target", format_time(secs))]).await
    }

    /// GetTransportInfo and GetPositionInfo together.
    pub async fn transport(&self) -> Result<Transport, String> {
        let t = self.av("GetTransportInfo", vec![]).await?;
        let p = self.av("GetPositionInfo", vec![]).await?;
        Ok(Transport {
            state: arg(&t, "CurrentTransportState").to_string(),
            position_s: parse_time(arg(&p, "RelTime")),
            duration_s: parse_time(arg(&p, "TrackDuration")).filter(|d| *d > 0.0),
            uri: arg(&p, "TrackURI").to_string(),
        })
    }
}

/// RenderingControl's master volume (0–100).
pub async fn set_volume(client: &reqwest::Client, url: &str, volume: u8) -> Answer {
    let args =
        [("InstanceID", "0".to_string()), ("Channel", "Master".into()), ("DesiredVolume", volume.min(100).to_string())];
    call(client, url, RENDERING_CONTROL, "SetVolume", &args).await
}

/// RenderingControl's master volume now.
pub async fn volume(client: &reqwest::Client, url: &str) -> Result<Option<u8>, String> {
    let args = [("InstanceID", "0".to_string()), ("Channel", "Master".into())];
    let a = call(client, url, RENDERING_CONTROL, "GetVolume", &args).await?;
    Ok(arg(&a, "CurrentVolume").parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_envelopes() {
        assert_eq!(parse_time("1:02:03"), Some(3723.0));
        assert_eq!(parse_time("0:00:01.500"), Some(1.5));
        assert_eq!(parse_time("NOT_IMPLEMENTED"), None);
        assert_eq!(format_time(3723.4), "1:02:03");
        let e = envelope(AV_TRANSPORT, "Seek", &[("Target", "0:00:10".into()), ("X", "a&b".into())]);
        let c = soap::parse(&e).unwrap();
        assert_eq!(c.action, "Seek");
        assert_eq!(c.arg("X"), Some("a&b"));
        let d = didl("A <film>", "http://h/s?a=1&token=t", "http-get:*:video/mp4:*");
        assert!(d.contains("A &lt;film&gt;") && d.contains("a=1&amp;token=t"));
    }
}
