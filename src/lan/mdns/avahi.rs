//! Registering the mDNS services with a running Avahi, over its D-Bus API
//! (`org.freedesktop.Avahi`), so that only one responder answers on port 5353.
//!
//! Two entry groups: the services (on the host's own name, which Avahi owns), and
//! `swarmcast.local` as an alias of the LAN addresses when the host has another name.
//! A name collision then costs only the alias. Avahi withdraws both groups when the
//! D-Bus connection closes, so dropping the `Registration` is the goodbye.

use anyhow::Context;
use zbus::zvariant::OwnedObjectPath;

use super::names::{INSTANCE, txt};

const AVAHI: &str = "org.freedesktop.Avahi";
/// `AVAHI_PUBLISH_NO_REVERSE`: the alias must not claim the address's reverse name.
const PUBLISH_NO_REVERSE: u32 = 16;
const IF_UNSPEC: i32 = -1;
const PROTO_UNSPEC: i32 = -1;
const PROTO_INET: i32 = 0;

/// A live registration; dropping it withdraws the services.
pub struct Registration {
    _conn: zbus::Connection,
    /// The host name the services point at (`box.local`).
    pub host: String,
}

async fn new_group(conn: &zbus::Connection) -> anyhow::Result<zbus::Proxy<'static>> {
    let server = zbus::Proxy::new(conn, AVAHI, "/", "org.freedesktop.Avahi.Server").await?;
    let path: OwnedObjectPath = server.call("EntryGroupNew", &()).await.context("EntryGroupNew")?;
    Ok(zbus::Proxy::new_owned(conn.clone(), AVAHI, path, "org.freedesktop.Avahi.EntryGroup").await?)
}

fn txt_bytes(pairs: &[(&str, String)]) -> Vec<Vec<u8>> {
    pairs.iter().map(|(k, v)| format!("{k}={v}").into_bytes()).collect()
}

/// Registers `_http._tcp` and `_swarmcast._tcp` for `port` with Avahi.
pub async fn register(port: u16) -> anyhow::Result<Registration> {
    let conn = zbus::Connection::system().await.context("connecting to the system D-Bus")?;
    let server = zbus::Proxy::new(&conn, AVAHI, "/", "org.freedesktop.Avahi.Server").await?;
    let host: String = server.call("GetHostNameFqdn", &()).await.context("asking Avahi its host name")?;

    let services = new_group(&conn).await?;
    let http_txt = vec![("path", "/".to_string())];
    for (ty, props) in [("_http._tcp", http_txt), ("_swarmcast._tcp", txt())] {
        // AddService(iface, protocol, flags, name, type, domain, host, port, txt)
        let args = (IF_UNSPEC, PROTO_UNSPEC, 0u32, INSTANCE, ty, "", "", port, txt_bytes(&props));
        let () = services.call("AddService", &args).await.with_context(|| format!("AddService {ty}"))?;
    }
    let () = services.call("Commit", &()).await.context("Commit")?;

    let alias = format!("{INSTANCE}.local");
    if !host.eq_ignore_ascii_case(&alias) {
        let addrs = crate::lan::interfaces::addresses(&[]);
        if !addrs.is_empty() {
            let group = new_group(&conn).await?;
            let mut added = 0;
            for a in &addrs {
                let args = (IF_UNSPEC, PROTO_INET, PUBLISH_NO_REVERSE, alias.as_str(), a.ip.to_string());
                match group.call::<_, _, ()>("AddAddress", &args).await {
                    Ok(()) => added += 1,
                    Err(e) => tracing::debug!("mDNS: alias {alias} → {} not added: {e}", a.ip),
                }
            }
            if added > 0
                && let Err(e) = group.call::<_, _, ()>("Commit", &()).await
            {
                tracing::warn!("mDNS: the alias {alias} was refused by Avahi: {e}");
            }
        }
    }
    Ok(Registration { _conn: conn, host })
}
