//! Lifecycle hooks: each torrent event (`added`, `started`, `stopped`, `completed`,
//! `removed`, `error`, `transfer_started`, `transfer_completed`) runs every executable
//! in `hooks.dir` with the event as JSON on stdin and as `SWARMCAST_*` variables, and
//! is POSTed to every `hooks.webhooks` URL with an HMAC-SHA256 signature. Hooks run in
//! their own tasks and process groups, are killed at `hooks.timeout_secs`, and their
//! output goes to the log (the journal under systemd); nothing here blocks the engine.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use crate::engine::{Engine, Event, EventKind};

/// The events hooks run for.
pub const EVENTS: &[EventKind] = &[
    EventKind::Added,
    EventKind::Started,
    EventKind::Stopped,
    EventKind::Completed,
    EventKind::Removed,
    EventKind::Error,
    EventKind::TransferStarted,
    EventKind::TransferCompleted,
];

/// The signature header of webhook POSTs: `sha256=<hex HMAC-SHA256 of the body>`.
pub const SIGNATURE_HEADER: &str = "X-Swarmcast-Signature";

/// Subscribes to the engine's events and runs the hooks for each.
pub fn spawn(engine: &Arc<Engine>) {
    let mut events = engine.subscribe();
    let weak = Arc::downgrade(engine);
    let shutdown = engine.shutdown_token().clone();
    crate::system::spawn("hooks", &shutdown.clone(), async move {
        loop {
            let ev = match events.recv().await {
                Ok(ev) => ev,
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!("hooks fell behind; {n} events were not run");
                    continue;
                }
                Err(_) => return Ok(()),
            };
            if !EVENTS.contains(&ev.event) {
                continue;
            }
            let Some(engine) = weak.upgrade() else { return Ok(()) };
            let cfg = engine.live().get().hooks.clone();
            let allowed = engine.named_hosts();
            let payload = payload(&engine, &ev);
            drop(engine);
            for hook in executables(&cfg.dir) {
                let (payload, ev) = (payload.clone(), ev.clone());
                let timeout = Duration::from_secs(cfg.timeout_secs);
                crate::system::spawn("hook", &shutdown, async move {
                    run_hook(&hook, &ev, &payload, timeout).await;
                    Ok(())
                });
            }
            for url in &cfg.webhooks {
                let (allowed, url, payload) = (allowed.clone(), url.clone(), payload.clone());
                let (secret, attempts) = (cfg.webhook_secret.clone(), cfg.webhook_attempts);
                crate::system::spawn("webhook", &shutdown, async move {
                    post_webhook(&allowed, &url, &payload, secret.expose(), attempts).await;
                    Ok(())
                });
            }
        }
    });
}

/// The event JSON: the event, its time and error, the torrent's fields (as the API
/// shows them, while it is known), and its recent activity records.
pub fn payload(engine: &Engine, ev: &Event) -> Value {
    let torrent = engine
        .view(&ev.torrent_id)
        .ok()
        .and_then(|v| serde_json::to_value(v).ok())
        .unwrap_or_else(|| json!({ "id": ev.torrent_id, "name": ev.name }));
    let path = engine.handle(&ev.torrent_id).map(|h| h.output_folder().display().to_string());
    let activity = engine.store().activity(20, Some(&ev.torrent_id)).unwrap_or_default();
    json!({
        "event": ev.event,
        "time": ev.time,
        "torrent_id": ev.torrent_id,
        "name": ev.name,
        "detail": ev.detail,
        "error": (ev.event == EventKind::Error).then_some(ev.detail.clone()).flatten()
            .or_else(|| torrent["error"].as_str().map(str::to_string)),
        "path": path,
        "torrent": torrent,
        "activity": activity,
    })
}

/// The executable files of `dir`, by name (hidden and backup files skipped). Like sudo
/// and cron, only files that are, with their folder, owned by root or the service user
/// and not writable by group or others; any other is skipped with a warning.
pub fn executables(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    if let Err(why) = trusted(dir) {
        tracing::warn!("hooks.dir {}: no hooks run: {why}", dir.display());
        return Vec::new();
    }
    let mut out: Vec<PathBuf> = entries
        .flatten()
        .filter(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            !name.starts_with('.') && !name.ends_with('~')
        })
        .filter(|e| std::fs::metadata(e.path()).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0))
        .filter(|e| match trusted(&e.path()) {
            Ok(()) => true,
            Err(why) => {
                tracing::warn!("hook {} skipped: {why}", e.path().display());
                false
            }
        })
        .map(|e| e.path())
        .collect();
    out.sort();
    out
}

/// Ok when `path` (after symlinks) is owned by root or this process's user and is not
/// writable by group or others.
pub fn trusted(path: &Path) -> Result<(), String> {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(path).map_err(|e| format!("cannot read: {e}"))?;
    // `/proc/self` belongs to the process's effective user.
    let me = std::fs::metadata("/proc/self").map(|m| m.uid()).unwrap_or(0);
    if m.uid() != 0 && m.uid() != me {
        return Err(format!("owned by uid {}, not root or the service user (uid {me})", m.uid()));
    }
    if m.mode() & 0o022 != 0 {
        return Err(format!("writable by group or others (mode {:o})", m.mode() & 0o7777));
    }
    Ok(())
}

fn env_vars(ev: &Event, payload: &Value) -> Vec<(String, String)> {
    let s = |v: &Value| match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        v => v.to_string(),
    };
    let t = &payload["torrent"];
    vec![
        ("SWARMCAST_EVENT".into(), ev.event.as_str().to_string()),
        ("SWARMCAST_TIME".into(), ev.time.clone()),
        ("SWARMCAST_TORRENT_ID".into(), ev.torrent_id.clone()),
        ("SWARMCAST_TORRENT_NAME".into(), s(&t["name"])),
        ("SWARMCAST_TORRENT_STATUS".into(), s(&t["status"])),
        ("SWARMCAST_TORRENT_SIZE".into(), s(&t["size"])),
        ("SWARMCAST_TORRENT_PROGRESS".into(), s(&t["progress"])),
        ("SWARMCAST_TORRENT_PATH".into(), s(&payload["path"])),
        ("SWARMCAST_DETAIL".into(), ev.detail.clone().unwrap_or_default()),
        ("SWARMCAST_ERROR".into(), s(&payload["error"])),
    ]
}

/// Runs one hook: JSON on stdin, output to the log, killed (with its whole process
/// group) at `timeout`.
async fn run_hook(hook: &Path, ev: &Event, payload: &Value, timeout: Duration) {
    let name = hook.file_name().unwrap_or_default().to_string_lossy().into_owned();
    let mut cmd = tokio::process::Command::new(hook);
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .envs(env_vars(ev, payload))
        .process_group(0)
        .kill_on_drop(true);
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(hook = name, event = ev.event.as_str(), "cannot run hook: {e}");
            return;
        }
    };
    let pid = child.id();
    let mut body = payload.to_string().into_bytes();
    body.push(b'\n');
    // The stdin writer and the output readers belong to this run: the set aborts them
    // when the run ends.
    let mut io = tokio::task::JoinSet::new();
    if let Some(mut stdin) = child.stdin.take() {
        io.spawn(async move {
            let _ = stdin.write_all(&body).await;
        });
    }
    for (stream, is_err) in [
        (child.stdout.take().map(|s| Box::new(s) as Box<dyn tokio::io::AsyncRead + Send + Unpin>), false),
        (child.stderr.take().map(|s| Box::new(s) as Box<dyn tokio::io::AsyncRead + Send + Unpin>), true),
    ] {
        let Some(stream) = stream else { continue };
        let name = name.clone();
        io.spawn(async move {
            let mut lines = BufReader::new(stream).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                if is_err {
                    tracing::warn!(hook = name, "{line}");
                } else {
                    tracing::info!(hook = name, "{line}");
                }
            }
        });
    }
    match tokio::time::timeout(timeout, child.wait()).await {
        Ok(Ok(status)) if status.success() => tracing::debug!(hook = name, event = ev.event.as_str(), "hook done"),
        Ok(Ok(status)) => tracing::warn!(hook = name, event = ev.event.as_str(), "hook failed: {status}"),
        Ok(Err(e)) => tracing::warn!(hook = name, event = ev.event.as_str(), "hook failed: {e}"),
        Err(_) => {
            if let Some(pid) = pid {
                let _ =
                    nix::sys::signal::killpg(nix::unistd::Pid::from_raw(pid as i32), nix::sys::signal::Signal::SIGKILL);
            }
            let _ = child.kill().await;
            tracing::warn!(hook = name, event = ev.event.as_str(), "hook killed: still running after {timeout:?}");
        }
    }
    // Output of a killed group ends with it; never wait long for a stray holder.
    let _ = tokio::time::timeout(Duration::from_secs(1), async { while io.join_next().await.is_some() {} }).await;
}

/// `sha256=<hex>` of `body` under `secret`.
pub fn signature(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// POSTs the event, retrying a failed delivery with exponential backoff (1 s, 2 s,
/// 4 s … up to a minute) for at most `attempts` tries.
/// Redirects are not followed; the URL's host is checked like a torrent URL's (a host
/// named in `hooks.webhooks` may be on the LAN).
async fn post_webhook(
    allowed: &crate::system::outbound::Allowed,
    url: &str,
    payload: &Value,
    secret: &str,
    attempts: u32,
) {
    let body = payload.to_string();
    let mut delay = Duration::from_secs(1);
    for attempt in 1..=attempts {
        let sent = crate::system::outbound::send(url, allowed, Duration::from_secs(10), false, |http, u| {
            let mut req = http
                .post(u)
                .header("content-type", "application/json")
                .header("X-Swarmcast-Event", payload["event"].as_str().unwrap_or(""))
                .body(body.clone());
            if !secret.is_empty() {
                req = req.header(SIGNATURE_HEADER, signature(secret, body.as_bytes()));
            }
            req
        })
        .await;
        let why = match sent {
            Ok(r) if r.status().is_success() => return,
            Ok(r) => format!("HTTP {}", r.status()),
            Err(e) => e,
        };
        tracing::warn!(url, attempt, attempts, "webhook delivery failed: {why}");
        if attempt < attempts {
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(60));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_is_hmac_sha256() {
        // RFC 4231 test case 2.
        assert_eq!(
            signature("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn only_trusted_executables() {
        let d = tempfile::tempdir().unwrap();
        std::fs::set_permissions(d.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let p = d.path().join("c.sh");
        std::fs::write(&p, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o777)).unwrap();
        assert!(executables(d.path()).is_empty(), "a hook others may write is not run");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(executables(d.path()).len(), 1);
        std::fs::set_permissions(d.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
        assert!(executables(d.path()).is_empty(), "nothing runs from a folder others may write");
        assert!(executables(Path::new("/tmp")).is_empty(), "/tmp is world-writable");
    }

    #[test]
    fn only_executables() {
        let d = tempfile::tempdir().unwrap();
        for (name, mode) in [("b.sh", 0o755), ("a.sh", 0o700), ("notes.txt", 0o644), (".hidden", 0o755)] {
            let p = d.path().join(name);
            std::fs::write(&p, "#!/bin/sh\n").unwrap();
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
        }
        let names: Vec<_> = executables(d.path()).iter().map(|p| p.file_name().unwrap().to_owned()).collect();
        assert_eq!(names, ["a.sh", "b.sh"]);
    }
}
