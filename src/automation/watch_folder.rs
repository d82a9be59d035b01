//! The watch folder: a `.torrent` file, or a `.magnet` file holding a magnet URI as
//! text, dropped into `watch.dir` is added, then renamed `<name>.added` or
//! `<name>.invalid` (the reason goes to the activity log).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::engine::{AddOptions, Engine, EngineError, Source, parse_torrent, parse_uri};

/// Largest file read from the watch folder.
const MAX_FILE: u64 = 10 << 20;

/// Scans the watch folder every `watch.interval_secs` (a changed folder applies at the
/// next scan).
pub fn spawn(engine: &Arc<Engine>) {
    let weak = Arc::downgrade(engine);
    crate::system::spawn("watch-folder", engine.shutdown_token(), async move {
        loop {
            let Some(engine) = weak.upgrade() else { return Ok(()) };
            let c = engine.live().get();
            if !c.watch.dir.as_os_str().is_empty() {
                scan(&engine, &c.watch.dir).await;
            }
            drop(engine);
            tokio::time::sleep(Duration::from_secs(c.watch.interval_secs.max(1))).await;
        }
    });
}

/// Handles every dropped file in `dir` once.
pub async fn scan(engine: &Arc<Engine>, dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let mut files: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            let ext = p.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
            matches!(ext.as_deref(), Some("torrent" | "magnet")) && p.is_file()
        })
        .collect();
    files.sort();
    for path in files {
        // A file still being written: wait for the next scan.
        let Ok(meta) = path.metadata() else { continue };
        let young = meta.modified().ok().and_then(|m| m.elapsed().ok()).is_some_and(|a| a < Duration::from_millis(500));
        if young {
            continue;
        }
        let file = path.file_name().unwrap_or_default().to_string_lossy().into_owned();
        let outcome = add_file(engine, &path, meta.len()).await;
        let (suffix, detail) = match &outcome {
            Ok(id) => ("added", format!("from the watch folder: {file} → {id}")),
            Err(why) => ("invalid", format!("watch folder file {file} refused: {why}")),
        };
        let mut renamed = path.clone().into_os_string();
        renamed.push(format!(".{suffix}"));
        if let Err(e) = std::fs::rename(&path, &renamed) {
            tracing::warn!("cannot rename {}: {e}", path.display());
        }
        match outcome {
            Ok(_) => tracing::info!("{detail}"),
            Err(_) => {
                tracing::warn!("{detail}");
                if let Err(e) = engine.store().log_activity("watch_invalid", None, Some(&file), Some(&detail)) {
                    tracing::warn!("cannot write activity log: {e:#}");
                }
            }
        }
    }
}

async fn add_file(engine: &Arc<Engine>, path: &Path, len: u64) -> Result<String, String> {
    if len > MAX_FILE {
        return Err(format!("larger than {MAX_FILE} bytes"));
    }
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read it: {e}"))?;
    let is_magnet = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("magnet"));
    let source = if is_magnet {
        let text = String::from_utf8(bytes).map_err(|_| "not UTF-8 text".to_string())?;
        match parse_uri(text.trim()).map_err(|e| e.to_string())? {
            Source::Url(_) => return Err("a .magnet file must hold a magnet URI or an info-hash".into()),
            s => s,
        }
    } else {
        Source::Torrent(parse_torrent(bytes.into()).map_err(|e| e.to_string())?)
    };
    match engine.add(source, AddOptions::default()).await {
        Ok(t) => Ok(t.id),
        Err(EngineError::AlreadyAdded(id)) => Err(format!("torrent {id} was already added")),
        Err(e) => Err(e.to_string()),
    }
}
