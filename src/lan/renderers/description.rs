//! A MediaRenderer's device description: its names and the control URLs of its
//! AVTransport and RenderingControl services.

use quick_xml::Reader;
use quick_xml::events::Event;

/// What the box needs of a renderer's description.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Described {
    pub udn: String,
    pub name: String,
    pub manufacturer: String,
    pub model: String,
    pub device_type: String,
    /// Control URLs as written (relative or absolute).
    pub av_transport: Option<String>,
    pub rendering_control: Option<String>,
}

/// Reads a device description; the first device that offers AVTransport wins (a TV's
/// root device may be a plain one with the renderer as an embedded device).
pub fn parse(xml: &str) -> Result<Described, String> {
    let mut reader = Reader::from_str(xml);
    let mut path: Vec<String> = Vec::new();
    let mut text = String::new();
    // Per device (by depth): its fields; per service: type and control URL.
    let mut devices: Vec<Described> = Vec::new();
    let mut stack: Vec<usize> = Vec::new();
    let (mut stype, mut curl) = (String::new(), String::new());
    loop {
        let ev = reader.read_event().map_err(|e| format!("at byte {}: {e}", reader.buffer_position()))?;
        match ev {
            Event::Start(ref e) => {
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                if name == "device" {
                    devices.push(Described::default());
                    stack.push(devices.len() - 1);
                }
                if name == "service" {
                    stype.clear();
                    curl.clear();
                }
                text.clear();
                path.push(name);
            }
            Event::Text(t) => text.push_str(&t.decode().map_err(|e| e.to_string())?),
            Event::GeneralRef(r) => {
                if let Some(s) = r.decode().ok().and_then(|n| quick_xml::escape::resolve_predefined_entity(&n)) {
                    text.push_str(s);
                }
            }
            Event::End(_) => {
                let name = path.pop().unwrap_or_default();
                let parent = path.last().map(String::as_str).unwrap_or("");
                let value = text.trim().to_string();
                if let Some(&d) = stack.last() {
                    let dev = &mut devices[d];
                    match (parent, name.as_str()) {
                        ("device", "UDN") => dev.udn = value,
                        ("device", "friendlyName") => dev.name = value,
                        ("device", "manufacturer") => dev.manufacturer = value,
                        ("device", "modelName") => dev.model = value,
                        ("device", "deviceType") => dev.device_type = value,
                        ("service", "serviceType") => stype = value,
                        ("service", "controlURL") => curl = value,
                        (_, "service") => {
                            if stype.contains(":service:AVTransport:") {
                                dev.av_transport = Some(curl.clone());
                            } else if stype.contains(":service:RenderingControl:") {
                                dev.rendering_control = Some(curl.clone());
                            }
                        }
                        (_, "device") => {
                            stack.pop();
                        }
                        _ => {}
                    }
                }
                text.clear();
            }
            Event::Eof => break,
            _ => {}
        }
    }
    devices
        .into_iter()
        .find(|d| d.av_transport.is_some())
        .ok_or_else(|| "the description names no AVTransport service".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_renderer() {
        let xml = r#"<?xml version="1.0"?><root xmlns="urn:schemas-upnp-org:device-1-0"><device>
<deviceType>urn:schemas-upnp-org:device:Basic:1</deviceType><friendlyName>TV root</friendlyName><UDN>uuid:root</UDN>
<deviceList><device><deviceType>urn:schemas-upnp-org:device:MediaRenderer:1</deviceType>
<friendlyName>Living room &amp; TV</friendlyName><manufacturer>Acme</manufacturer><modelName>X1</modelName>
<UDN>uuid:1234</UDN><serviceList>
<service><serviceType>urn:schemas-upnp-org:service:RenderingControl:1</serviceType><controlURL>/rc</controlURL></service>
<service><serviceType>urn:schemas-upnp-org:service:AVTransport:1</serviceType><controlURL>/av</controlURL></service>
</serviceList></device></deviceList></device></root>"#;
        let d = parse(xml).unwrap();
        assert_eq!(d.udn, "uuid:1234");
        assert_eq!(d.name, "Living room & TV");
        assert_eq!((d.manufacturer.as_str(), d.model.as_str()), ("Acme", "X1"));
        assert_eq!(d.av_transport.as_deref(), Some("/av"));
        assert_eq!(d.rendering_control.as_deref(), Some("/rc"));
        assert!(parse("<root><device><UDN>x</UDN></device></root>").is_err());
    }
}
