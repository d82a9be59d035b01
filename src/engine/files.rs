//! The download dir as a file tree that nothing can leave: one function, `confine`,
//! turns a client's path into a real path inside the download dir or refuses it, and
//! the listing built on it never shows what lies outside.

use std::path::{Path, PathBuf};

use serde::Serialize;

/// Why a path was refused.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum Denied {
    /// An attempt to reach outside the download dir (answered 403, and logged).
    #[error("path {path:?} is not allowed: {why}")]
    Forbidden { path: String, why: &'static str },
    /// Nothing there (answered 404).
    #[error("{0:?} does not exist in the download dir")]
    NotFound(String),
}

fn forbidden(path: &str, why: &'static str) -> Denied {
    let shown: String = path.chars().take(200).map(|c| if c == '\0' { '␀' } else { c }).collect();
    Denied::Forbidden { path: shown, why }
}

/// Resolves `requested` (relative to `root`, with `/` separators, already
/// percent-decoded once by the query parser) to a canonical path inside `root`.
///
/// Refused: NUL bytes, absolute paths, `..` components, components that decode
/// further into any of those (double percent-encoding), and anything whose real path
/// (after following symlinks) is outside `root`. An empty path or `.` is `root`.
pub fn confine(root: &Path, requested: &str) -> Result<PathBuf, Denied> {
    if requested.contains('\0') {
        return Err(forbidden(requested, "contains a NUL byte"));
    }
    if requested.starts_with(['/', '\\']) || requested.as_bytes().get(1) == Some(&b':') {
        return Err(forbidden(requested, "absolute paths are not allowed"));
    }
    let mut rel = PathBuf::new();
    for comp in requested.split(['/', '\\']) {
        match comp {
            "" | "." => continue,
            ".." => return Err(forbidden(requested, "`..` is not allowed")),
            c => {
                if c.contains('%') {
                    let decoded = percent_encoding::percent_decode_str(c).decode_utf8_lossy();
                    if decoded.contains(['/', '\\', '\0'])
                        || decoded.split(['/', '\\']).any(|p| p == "..")
                        || decoded == ".."
                    {
                        return Err(forbidden(requested, "encoded path separators or `..`"));
                    }
                }
                rel.push(c);
            }
        }
    }
    let root = root.canonicalize().map_err(|_| Denied::NotFound(requested.to_string()))?;
    let real = root.join(&rel).canonicalize().map_err(|_| Denied::NotFound(requested.to_string()))?;
    if !real.starts_with(&root) {
        return Err(forbidden(requested, "it leads outside the download dir"));
    }
    Ok(real)
}

/// A folder a client asks torrents to be saved in: relative to `root`, or absolute
/// and inside `root`. Created if missing (never outside `root`); the real path.
pub fn save_dir(root: &Path, requested: &str) -> Result<PathBuf, Denied> {
    let requested = requested.trim();
    let rel = if requested.starts_with('/') {
        let canon = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
        let p = Path::new(requested);
        match p.strip_prefix(root).or_else(|_| p.strip_prefix(&canon)) {
            Ok(rel) => rel.to_string_lossy().into_owned(),
            Err(_) => return Err(forbidden(requested, "it is outside the download dir")),
        }
    } else {
        requested.to_string()
    };
    if rel.split(['/', '\\']).any(|c| c == "..") || rel.contains('\0') {
        return Err(forbidden(requested, "`..` is not allowed"));
    }
    // One level at a time, each checked before the next is made: a symlink inside
    // the download dir must not let a folder be made outside it.
    let mut at = String::new();
    for comp in rel.split('/').filter(|c| !c.is_empty() && *c != ".") {
        at = if at.is_empty() { comp.to_string() } else { format!("{at}/{comp}") };
        let real = match confine(root, &at) {
            Ok(p) => p,
            Err(Denied::NotFound(_)) => {
                let _ = std::fs::create_dir(root.join(&at));
                confine(root, &at)?
            }
            Err(e) => return Err(e),
        };
        if !real.is_dir() {
            return Err(forbidden(requested, "it is not a folder"));
        }
    }
    confine(root, &at)
}

/// One entry of a folder listing.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Entry {
    pub name: String,
    /// `dir` or `file`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub size: u64,
    /// RFC 3339 UTC.
    pub modified: Option<String>,
}

/// Lists a folder (already confined) inside `root`: folders first, then by name.
/// Symlinks are shown as what they point to, and left out when that is outside `root`
/// or missing.
pub fn list(root: &Path, dir: &Path) -> std::io::Result<Vec<Entry>> {
    let root = root.canonicalize()?;
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let mut meta = entry.metadata()?;
        if meta.file_type().is_symlink() {
            match entry.path().canonicalize() {
                Ok(target) if target.starts_with(&root) => meta = std::fs::metadata(&target)?,
                _ => continue,
            }
        }
        let kind = if meta.is_dir() {
            "dir"
        } else if meta.is_file() {
            "file"
        } else {
            continue;
        };
        out.push(Entry {
            name: entry.file_name().to_string_lossy().into_owned(),
            kind,
            size: if meta.is_file() { meta.len() } else { 0 },
            modified: meta.modified().ok().map(|t| crate::store::format_time(t.into())),
        });
    }
    out.sort_by(|a, b| (a.kind != "dir").cmp(&(b.kind != "dir")).then_with(|| a.name.cmp(&b.name)));
    Ok(out)
}

/// The folder `requested` inside `root`, made if missing: the existing part is
/// confined like any path, the rest is created one component at a time. Refused:
/// whatever `confine` refuses, and any component (existing or not) that is a
/// symlink, so an upload never lands behind one.
pub fn make_folder(root: &Path, requested: &str) -> Result<PathBuf, Denied> {
    match confine(root, requested) {
        Err(Denied::NotFound(_)) | Ok(_) => {}
        Err(e) => return Err(e),
    }
    let mut cur = root.canonicalize().map_err(|_| Denied::NotFound(requested.to_string()))?;
    for comp in requested.split(['/', '\\']) {
        if comp.is_empty() || comp == "." {
            continue;
        }
        check_name(comp).map_err(|why| forbidden(requested, why))?;
        let next = cur.join(comp);
        match next.symlink_metadata() {
            Ok(m) if m.file_type().is_symlink() => {
                return Err(forbidden(requested, "a folder on the way is a symlink"));
            }
            Ok(m) if m.is_dir() => {}
            Ok(_) => return Err(forbidden(requested, "a file is in the way of that folder")),
            Err(_) => match std::fs::create_dir(&next) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let m = next.symlink_metadata().map_err(|_| Denied::NotFound(requested.to_string()))?;
                    if !m.is_dir() || m.file_type().is_symlink() {
                        return Err(forbidden(requested, "a folder on the way is not a plain folder"));
                    }
                }
                Err(_) => return Err(Denied::NotFound(requested.to_string())),
            },
        }
        cur = next;
    }
    Ok(cur)
}

/// Why `name` cannot be one file or folder name: empty, `.`/`..`, separators, NUL or
/// other control characters, or over 255 bytes.
pub fn check_name(name: &str) -> Result<(), &'static str> {
    if name.is_empty() || name == "." || name == ".." {
        return Err("`.`, `..` and empty names are not allowed");
    }
    if name.contains(['/', '\\']) {
        return Err("a name cannot contain `/` or `\\`");
    }
    if name.chars().any(|c| c.is_control()) {
        return Err("a name cannot contain NUL or control characters");
    }
    if name.len() > 255 {
        return Err("a name is at most 255 bytes");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A download dir with a file, a folder, symlinks in and out, beside a secret.
    fn fixture() -> (tempfile::TempDir, PathBuf) {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("downloads");
        std::fs::create_dir_all(root.join("films/a")).unwrap();
        std::fs::write(root.join("films/a/movie.mkv"), b"x").unwrap();
        std::fs::write(tmp.path().join("secret.txt"), b"s").unwrap();
        std::os::unix::fs::symlink(tmp.path().join("secret.txt"), root.join("escape")).unwrap();
        std::os::unix::fs::symlink(tmp.path(), root.join("films/up")).unwrap();
        std::os::unix::fs::symlink("/etc", root.join("etc")).unwrap();
        std::os::unix::fs::symlink(root.join("films/a/movie.mkv"), root.join("inside")).unwrap();
        (tmp, root)
    }

    #[test]
    fn traversal_attempts_are_refused() {
        let (_tmp, root) = fixture();
        let forbidden = [
            "../secret.txt",
            "films/../../secret.txt",
            "films/a/../../../secret.txt",
            "..",
            "./..",
            "films\\..\\..\\secret.txt",
            "/etc/passwd",
            "\\etc\\passwd",
            "C:\\Windows",
            "films/a/movie.mkv\0.txt",
            "\0",
            "%2e%2e/secret.txt",
            "%2E%2E",
            "films%2f..%2f..%2fsecret.txt",
            "..%2fsecret.txt",
            "%252e%252e/secret.txt",
            "escape",
            "films/up/secret.txt",
            "films/up",
            "etc/passwd",
            "etc",
        ];
        for p in forbidden {
            match confine(&root, p) {
                Err(Denied::Forbidden { .. }) => {}
                // Double encoding decodes once to a harmless literal name that is absent.
                Err(Denied::NotFound(_)) if p.contains("%25") => {}
                other => panic!("{p:?} was not refused: {other:?}"),
            }
        }
        assert!(matches!(confine(&root, "nope/missing"), Err(Denied::NotFound(_))));
    }

    #[test]
    fn inside_paths_resolve() {
        let (_tmp, root) = fixture();
        let canon = root.canonicalize().unwrap();
        assert_eq!(confine(&root, "").unwrap(), canon);
        assert_eq!(confine(&root, ".").unwrap(), canon);
        assert_eq!(confine(&root, "films/a/movie.mkv").unwrap(), canon.join("films/a/movie.mkv"));
        assert_eq!(confine(&root, "films//a/./movie.mkv").unwrap(), canon.join("films/a/movie.mkv"));
        assert_eq!(confine(&root, "inside").unwrap(), canon.join("films/a/movie.mkv"));
        assert_eq!(confine(&root, "films/a%20b").unwrap_err(), Denied::NotFound("films/a%20b".into()));
    }

    #[test]
    fn listing_hides_what_is_outside() {
        let (_tmp, root) = fixture();
        let names: Vec<_> = list(&root, &root).unwrap().into_iter().map(|e| (e.name, e.kind)).collect();
        assert_eq!(names, vec![("films".into(), "dir"), ("inside".into(), "file")]);
        let films = list(&root, &root.join("films")).unwrap();
        assert_eq!(films.len(), 1, "{films:?}");
        assert_eq!(films[0].kind, "dir");
    }
}
