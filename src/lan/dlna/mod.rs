//! A UPnP AV MediaServer (DLNA DMS) so TVs, Kodi and VLC find and play the box's films.
//!
//! ```text
//! ssdp.rs        NOTIFY alive/byebye, answers M-SEARCH on the chosen interfaces
//! description.rs device description and the two service descriptions (SCPD)
//! soap.rs        parses a control request, renders answers and UPnP faults
//! directory.rs   ContentDirectory: the tree, Browse, DIDL-Lite
//! api/dlna.rs    the HTTP side, on the main port under /dlna/
//! ```
//!
//! Read-only: every action that would change something (CreateObject, DestroyObject,
//! PrepareForConnection, …) is answered with the fault 401 Invalid Action. Resource
//! URLs are the API's raw-file and HLS routes with a stream token, as TVs cannot log in.

pub mod description;
pub mod directory;
pub mod soap;
pub mod ssdp;

use std::path::Path;
use std::sync::Mutex;

use anyhow::Context;

use crate::config::DlnaConfig;

/// `DLNA.ORG_FLAGS`: streaming transfer mode, background transfer mode, connection
/// stalling, DLNA v1.5 (`0x01700000` and 24 reserved zero digits).
pub const DLNA_FLAGS: &str = "01700000000000000000000000000000";

/// The `fourth field` of a protocolInfo and the `contentFeatures.dlna.org` header of
/// the raw file: byte seeking (OP=01), not converted (CI=0).
pub fn content_features() -> String {
    format!("DLNA.ORG_OP=01;DLNA.ORG_CI=0;DLNA.ORG_FLAGS={DLNA_FLAGS}")
}

/// The protocolInfo of a raw file of MIME type `mime`.
pub fn protocol_info(mime: &str) -> String {
    format!("http-get:*:{mime}:{}", content_features())
}

/// The protocolInfo of the HLS stream of a file (a playlist; no DLNA flags apply).
pub const HLS_PROTOCOL_INFO: &str = "http-get:*:application/vnd.apple.mpegurl:*";

/// The media server's identity and the counter control points poll for changes.
pub struct Dlna {
    pub config: DlnaConfig,
    /// `uuid:…`, kept in the state dir so a TV knows the box after a restart.
    pub udn: String,
    /// The last tree fingerprint and the `SystemUpdateID` it was given.
    update: Mutex<(u64, u32)>,
}

impl Dlna {
    /// Loads (or makes, on first start) the device's UUID in `state_dir`.
    pub fn open(config: DlnaConfig, state_dir: &Path) -> anyhow::Result<Self> {
        let path = state_dir.join("dlna-udn");
        let udn = match std::fs::read_to_string(&path) {
            Ok(s) if s.trim().starts_with("uuid:") => s.trim().to_string(),
            _ => {
                let mut b = [0u8; 16];
                rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut b);
                b[6] = (b[6] & 0x0f) | 0x40;
                b[8] = (b[8] & 0x3f) | 0x80;
                let h = hex::encode(b);
                let udn = format!("uuid:{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..]);
                std::fs::write(&path, &udn).with_context(|| format!("writing {}", path.display()))?;
                udn
            }
        };
        Ok(Self { config, udn, update: Mutex::new((0, 1)) })
    }

    /// The `SystemUpdateID` for a tree whose content hashes to `fingerprint`: it goes
    /// up by one each time the tree changes, so control points refresh their view.
    pub fn system_update_id(&self, fingerprint: u64) -> u32 {
        let mut u = self.update.lock().unwrap();
        if u.0 != fingerprint {
            if u.0 != 0 {
                u.1 = u.1.wrapping_add(1).max(1);
            }
            u.0 = fingerprint;
        }
        u.1
    }
}

/// The `Server` header of SSDP and HTTP answers.
pub fn server_string() -> String {
    let os = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let os = os.trim().split('-').next().unwrap_or("").to_string();
    format!("Linux/{} UPnP/1.0 swarmcast/{}", if os.is_empty() { "1" } else { &os }, env!("CARGO_PKG_VERSION"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_survives_restart_and_update_id_moves_on_change() {
        let dir = tempfile::tempdir().unwrap();
        let a = Dlna::open(DlnaConfig::default(), dir.path()).unwrap();
        let b = Dlna::open(DlnaConfig::default(), dir.path()).unwrap();
        assert_eq!(a.udn, b.udn);
        assert_eq!(a.udn.len(), "uuid:".len() + 36);
        let first = a.system_update_id(7);
        assert_eq!(a.system_update_id(7), first);
        assert_eq!(a.system_update_id(8), first + 1);
        assert!(protocol_info("video/mp4").starts_with("http-get:*:video/mp4:DLNA.ORG_OP=01;DLNA.ORG_CI=0;"));
    }
}
