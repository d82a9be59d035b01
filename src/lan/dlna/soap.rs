//! SOAP for UPnP control: reading an action call out of its envelope, and writing
//! the action's answer or a UPnP fault. Names are matched by local name, so any
//! namespace prefix a control point picks is accepted.

use quick_xml::Reader;
use quick_xml::escape::escape;
use quick_xml::events::Event;

/// A UPnP error (UPnP Device Architecture 1.0, 3.2.2; ContentDirectory 2.5.4).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("UPnP error {code}: {description}")]
pub struct Fault {
    pub code: u16,
    pub description: String,
}

impl Fault {
    pub fn new(code: u16, description: impl Into<String>) -> Self {
        Self { code, description: description.into() }
    }
    /// 401: not an action of this service (or one that would change something).
    pub fn invalid_action(name: &str) -> Self {
        Self::new(401, format!("Invalid Action: {name} is not offered; this server is read-only"))
    }
    /// 402: a missing or malformed argument.
    pub fn invalid_args(why: impl std::fmt::Display) -> Self {
        Self::new(402, format!("Invalid Args: {why}"))
    }
    /// 701: ContentDirectory's "No such object".
    pub fn no_such_object(id: &str) -> Self {
        Self::new(701, format!("No such object: {id:?}"))
    }
}

/// An action call: its name and its arguments in order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Call {
    pub action: String,
    pub args: Vec<(String, String)>,
}

impl Call {
    pub fn arg(&self, name: &str) -> Option<&str> {
        self.args.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// A required argument.
    pub fn need(&self, name: &str) -> Result<&str, Fault> {
        self.arg(name).ok_or_else(|| Fault::invalid_args(format!("{name} is missing")))
    }

    /// An unsigned number argument; absent or empty gives `default`.
    pub fn number(&self, name: &str, default: u32) -> Result<u32, Fault> {
        match self.arg(name).map(str::trim) {
            None | Some("") => Ok(default),
            Some(v) => v.parse().map_err(|_| Fault::invalid_args(format!("{name} {v:?} is not a number"))),
        }
    }
}

/// The action named by a `SOAPACTION` header (`"urn:…:ContentDirectory:1#Browse"`).
pub fn header_action(value: &str) -> Option<(&str, &str)> {
    let v = value.trim().trim_matches('"');
    let (service, action) = v.rsplit_once('#')?;
    (!action.is_empty()).then_some((service, action))
}

/// Reads `Envelope/Body/<Action>/<arg>…` out of a control request.
pub fn parse(body: &str) -> Result<Call, Fault> {
    let bad = |why: String| Fault::invalid_args(format!("the SOAP request cannot be read: {why}"));
    let mut reader = Reader::from_str(body);
    // Element path as local names: Envelope(1) / Body(2) / Action(3) / arg(4).
    let mut path: Vec<String> = Vec::new();
    let mut call: Option<Call> = None;
    let mut text = String::new();
    loop {
        let ev = reader.read_event().map_err(|e| bad(format!("at byte {}: {e}", reader.buffer_position())))?;
        match ev {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                let ok = match path.len() {
                    0 => name == "Envelope",
                    1 => name == "Body" || name == "Header",
                    _ => true,
                };
                if !ok {
                    return Err(bad(format!("unexpected <{name}>")));
                }
                if path.len() == 2 && path[1] == "Body" && call.is_none() {
                    call = Some(Call { action: name.clone(), args: Vec::new() });
                }
                if path.len() == 3 {
                    text.clear();
                }
                if matches!(ev, Event::Start(_)) {
                    path.push(name);
                } else if path.len() == 3
                    && let Some(c) = call.as_mut()
                {
                    c.args.push((name, String::new()));
                }
            }
            Event::Text(t) if path.len() == 4 => {
                text.push_str(&t.decode().map_err(|e| bad(e.to_string()))?);
            }
            Event::CData(t) if path.len() == 4 => text.push_str(&String::from_utf8_lossy(&t)),
            Event::GeneralRef(r) if path.len() == 4 => {
                if let Ok(Some(c)) = r.resolve_char_ref() {
                    text.push(c);
                } else if let Some(s) = r.decode().ok().and_then(|n| quick_xml::escape::resolve_predefined_entity(&n)) {
                    text.push_str(s);
                } else {
                    return Err(bad("an unknown entity".into()));
                }
            }
            Event::End(_) => {
                let name = path.pop().unwrap_or_default();
                if path.len() == 3
                    && let Some(c) = call.as_mut()
                {
                    c.args.push((name, std::mem::take(&mut text)));
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !path.is_empty() {
        return Err(bad("the envelope is not closed".into()));
    }
    call.ok_or_else(|| bad("no action in the SOAP body".into()))
}

const ENVELOPE_OPEN: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" s:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/"><s:Body>"#;
const ENVELOPE_CLOSE: &str = "</s:Body></s:Envelope>\n";

/// The answer to `action` of `service`, with its out arguments (escaped here).
pub fn response(service: &str, action: &str, out: &[(&str, String)]) -> String {
    let args: String = out.iter().map(|(k, v)| format!("<{k}>{}</{k}>", escape(v.as_str()))).collect();
    format!("{ENVELOPE_OPEN}<u:{action}Response xmlns:u=\"{service}\">{args}</u:{action}Response>{ENVELOPE_CLOSE}")
}

/// A UPnP fault, sent with HTTP 500.
pub fn fault(f: &Fault) -> String {
    format!(
        "{ENVELOPE_OPEN}<s:Fault><faultcode>s:Client</faultcode><faultstring>UPnPError</faultstring><detail>\
<UPnPError xmlns=\"urn:schemas-upnp-org:control-1-0\"><errorCode>{}</errorCode>\
<errorDescription>{}</errorDescription></UPnPError></detail></s:Fault>{ENVELOPE_CLOSE}",
        f.code,
        escape(f.description.as_str())
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const BROWSE: &str = r#"<?xml version="1.0"?>
<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" s:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/">
 <s:Body><u:Browse xmlns:u="urn:schemas-upnp-org:service:ContentDirectory:1">
  <ObjectID>library</ObjectID><BrowseFlag>BrowseDirectChildren</BrowseFlag>
  <Filter>*</Filter><StartingIndex>0</StartingIndex><RequestedCount>10</RequestedCount>
  <SortCriteria>+dc:title&amp;x</SortCriteria><Empty/>
 </u:Browse></s:Body></s:Envelope>"#;

    #[test]
    fn reads_a_browse() {
        let c = parse(BROWSE).unwrap();
        assert_eq!(c.action, "Browse");
        assert_eq!(c.arg("ObjectID"), Some("library"));
        assert_eq!(c.arg("SortCriteria"), Some("+dc:title&x"));
        assert_eq!(c.arg("Empty"), Some(""));
        assert_eq!(c.number("RequestedCount", 0).unwrap(), 10);
        assert_eq!(c.number("Missing", 3).unwrap(), 3);
        assert_eq!(
            header_action("\"urn:schemas-upnp-org:service:ContentDirectory:1#Browse\""),
            Some(("urn:schemas-upnp-org:service:ContentDirectory:1", "Browse"))
        );
    }

    #[test]
    fn garbage_is_a_fault_not_a_panic() {
        for bad in [
            "",
            "not xml",
            "<a>",
            "<Envelope><Body>",
            "<x:Envelope xmlns:x='y'><Nope/></x:Envelope>",
            "<Envelope><Body></Body></Envelope>",
            "<Envelope><Body><Browse><ObjectID>&bogus;</ObjectID></Browse></Body></Envelope>",
        ] {
            let f = parse(bad).unwrap_err();
            assert_eq!(f.code, 402, "{bad}");
        }
        let f = fault(&Fault::invalid_action("DestroyObject"));
        assert!(f.contains("<errorCode>401</errorCode>"));
    }
}
