//! The device description (`/dlna/description.xml`) and the service descriptions
//! (SCPD) of ContentDirectory:1 and ConnectionManager:1. Their URLs are relative, so
//! they resolve against whichever address the control point reached.

use quick_xml::escape::escape;

pub const DEVICE_TYPE: &str = "urn:schemas-upnp-org:device:MediaServer:1";
pub const CONTENT_DIRECTORY: &str = "urn:schemas-upnp-org:service:ContentDirectory:1";
pub const CONNECTION_MANAGER: &str = "urn:schemas-upnp-org:service:ConnectionManager:1";

/// Path of the device description; SSDP's `LOCATION` points here.
pub const DESCRIPTION_PATH: &str = "/dlna/description.xml";

/// The root device description.
pub fn device(friendly_name: &str, udn: &str) -> String {
    let version = env!("CARGO_PKG_VERSION");
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<root xmlns="urn:schemas-upnp-org:device-1-0" xmlns:dlna="urn:schemas-dlna-org:device-1-0">
  <specVersion><major>1</major><minor>0</minor></specVersion>
  <device>
    <deviceType>{DEVICE_TYPE}</deviceType>
    <friendlyName>{name}</friendlyName>
    <manufacturer>swarmcast</manufacturer>
    <modelDescription>Films from BitTorrent, streamed while they download</modelDescription>
    <modelName>swarmcast</modelName>
    <modelNumber>{version}</modelNumber>
    <serialNumber>{serial}</serialNumber>
    <UDN>{udn}</UDN>
    <dlna:X_DLNADOC>DMS-1.50</dlna:X_DLNADOC>
    <presentationURL>/</presentationURL>
    <serviceList>
      <service>
        <serviceType>{CONTENT_DIRECTORY}</serviceType>
        <serviceId>urn:upnp-org:serviceId:ContentDirectory</serviceId>
        <SCPDURL>/dlna/ContentDirectory.xml</SCPDURL>
        <controlURL>/dlna/control/ContentDirectory</controlURL>
        <eventSubURL>/dlna/event/ContentDirectory</eventSubURL>
      </service>
      <service>
        <serviceType>{CONNECTION_MANAGER}</serviceType>
        <serviceId>urn:upnp-org:serviceId:ConnectionManager</serviceId>
        <SCPDURL>/dlna/ConnectionManager.xml</SCPDURL>
        <controlURL>/dlna/control/ConnectionManager</controlURL>
        <eventSubURL>/dlna/event/ConnectionManager</eventSubURL>
      </service>
    </serviceList>
  </device>
</root>
"#,
        name = escape(friendly_name),
        serial = udn.trim_start_matches("uuid:"),
    )
}

fn arg(name: &str, out: bool, var: &str) -> String {
    let dir = if out { "out" } else { "in" };
    format!(
        "<argument><name>{name}</name><direction>{dir}</direction><relatedStateVariable>{var}</relatedStateVariable></argument>"
    )
}

fn action(name: &str, args: &[String]) -> String {
    format!("<action><name>{name}</name><argumentList>{}</argumentList></action>", args.concat())
}

fn var(name: &str, ty: &str, events: bool, allowed: &[&str]) -> String {
    let allowed = if allowed.is_empty() {
        String::new()
    } else {
        let v: String = allowed.iter().map(|a| format!("<allowedValue>{a}</allowedValue>")).collect();
        format!("<allowedValueList>{v}</allowedValueList>")
    };
    let ev = if events { "yes" } else { "no" };
    format!("<stateVariable sendEvents=\"{ev}\"><name>{name}</name><dataType>{ty}</dataType>{allowed}</stateVariable>")
}

fn scpd(actions: &[String], vars: &[String]) -> String {
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<scpd xmlns="urn:schemas-upnp-org:service-1-0">
<specVersion><major>1</major><minor>0</minor></specVersion>
<actionList>{}</actionList>
<serviceStateTable>{}</serviceStateTable>
</scpd>
"#,
        actions.concat(),
        vars.concat()
    )
}

/// ContentDirectory:1 as served: Browse and the three Get actions; no search, no
/// object creation (the tree is read-only).
pub fn content_directory_scpd() -> String {
    scpd(
        &[
            action(
                "Browse",
                &[
                    arg("ObjectID", false, "A_ARG_TYPE_ObjectID"),
                    arg("BrowseFlag", false, "A_ARG_TYPE_BrowseFlag"),
                    arg("Filter", false, "A_ARG_TYPE_Filter"),
                    arg("StartingIndex", false, "A_ARG_TYPE_Index"),
                    arg("RequestedCount", false, "A_ARG_TYPE_Count"),
                    arg("SortCriteria", false, "A_ARG_TYPE_SortCriteria"),
                    arg("Result", true, "A_ARG_TYPE_Result"),
                    arg("NumberReturned", true, "A_ARG_TYPE_Count"),
                    arg("TotalMatches", true, "A_ARG_TYPE_Count"),
                    arg("UpdateID", true, "A_ARG_TYPE_UpdateID"),
                ],
            ),
            action("GetSearchCapabilities", &[arg("SearchCaps", true, "SearchCapabilities")]),
            action("GetSortCapabilities", &[arg("SortCaps", true, "SortCapabilities")]),
            action("GetSystemUpdateID", &[arg("Id", true, "SystemUpdateID")]),
        ],
        &[
            var("A_ARG_TYPE_ObjectID", "string", false, &[]),
            var("A_ARG_TYPE_BrowseFlag", "string", false, &["BrowseMetadata", "BrowseDirectChildren"]),
            var("A_ARG_TYPE_Filter", "string", false, &[]),
            var("A_ARG_TYPE_Index", "ui4", false, &[]),
            var("A_ARG_TYPE_Count", "ui4", false, &[]),
            var("A_ARG_TYPE_SortCriteria", "string", false, &[]),
            var("A_ARG_TYPE_Result", "string", false, &[]),
            var("A_ARG_TYPE_UpdateID", "ui4", false, &[]),
            var("SearchCapabilities", "string", false, &[]),
            var("SortCapabilities", "string", false, &[]),
            var("SystemUpdateID", "ui4", true, &[]),
        ],
    )
}

/// ConnectionManager:1 as served: the three read-only actions.
pub fn connection_manager_scpd() -> String {
    scpd(
        &[
            action(
                "GetProtocolInfo",
                &[arg("Source", true, "SourceProtocolInfo"), arg("Sink", true, "SinkProtocolInfo")],
            ),
            action("GetCurrentConnectionIDs", &[arg("ConnectionIDs", true, "CurrentConnectionIDs")]),
            action(
                "GetCurrentConnectionInfo",
                &[
                    arg("ConnectionID", false, "A_ARG_TYPE_ConnectionID"),
                    arg("RcsID", true, "A_ARG_TYPE_RcsID"),
                    arg("AVTransportID", true, "A_ARG_TYPE_AVTransportID"),
                    arg("ProtocolInfo", true, "A_ARG_TYPE_ProtocolInfo"),
                    arg("PeerConnectionManager", true, "A_ARG_TYPE_ConnectionManager"),
                    arg("PeerConnectionID", true, "A_ARG_TYPE_ConnectionID"),
                    arg("Direction", true, "A_ARG_TYPE_Direction"),
                    arg("Status", true, "A_ARG_TYPE_ConnectionStatus"),
                ],
            ),
        ],
        &[
            var("SourceProtocolInfo", "string", true, &[]),
            var("SinkProtocolInfo", "string", true, &[]),
            var("CurrentConnectionIDs", "string", true, &[]),
            var(
                "A_ARG_TYPE_ConnectionStatus",
                "string",
                false,
                &["OK", "ContentFormatMismatch", "InsufficientBandwidth", "UnreliableChannel", "Unknown"],
            ),
            var("A_ARG_TYPE_ConnectionManager", "string", false, &[]),
            var("A_ARG_TYPE_Direction", "string", false, &["Input", "Output"]),
            var("A_ARG_TYPE_ProtocolInfo", "string", false, &[]),
            var("A_ARG_TYPE_ConnectionID", "i4", false, &[]),
            var("A_ARG_TYPE_AVTransportID", "i4", false, &[]),
            var("A_ARG_TYPE_RcsID", "i4", false, &[]),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_are_well_formed_xml() {
        for doc in [device("Films & <more>", "uuid:1"), content_directory_scpd(), connection_manager_scpd()] {
            let mut r = quick_xml::Reader::from_str(&doc);
            loop {
                match r.read_event() {
                    Ok(quick_xml::events::Event::Eof) => break,
                    Ok(_) => {}
                    Err(e) => panic!("{e}: {doc}"),
                }
            }
        }
        assert!(device("Films & <more>", "uuid:1").contains("Films &amp; &lt;more&gt;"));
    }
}
