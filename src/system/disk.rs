//! Disk probes: which mount holds a path (/proc/self/mountinfo), how it changed between
//! two looks, and sizes in words.

use std::path::{Path, PathBuf};

/// One line of /proc/self/mountinfo that matters here.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mount {
    /// The kernel's mount id (changes when a disk is mounted again).
    pub id: u64,
    pub mount_point: PathBuf,
    pub source: String,
}

/// Decodes the octal escapes (`\040` for a space) mountinfo uses in paths.
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 3 < b.len() && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c)) {
            out.push((b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0'));
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parses mountinfo text (proc(5)): `id parent maj:min root mount_point opts … - fstype source …`.
pub fn parse_mountinfo(text: &str) -> Vec<Mount> {
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            let sep = f.iter().position(|x| *x == "-")?;
            Some(Mount {
                id: f.first()?.parse().ok()?,
                mount_point: PathBuf::from(unescape(f.get(4)?)),
                source: unescape(f.get(sep + 2).copied().unwrap_or("")),
            })
        })
        .collect()
}

/// The mount a path lies on: the last-mounted one whose mount point is the longest
/// prefix of the path (mountinfo lists mounts in the order they were made).
pub fn covering_mount<'a>(mounts: &'a [Mount], path: &Path) -> Option<&'a Mount> {
    let mut best: Option<&Mount> = None;
    for m in mounts.iter().filter(|m| path.starts_with(&m.mount_point)) {
        if best.is_none_or(|b| m.mount_point.components().count() >= b.mount_point.components().count()) {
            best = Some(m);
        }
    }
    best
}

/// What happened to the download dir's mount between two looks.
#[derive(Debug, PartialEq, Eq)]
pub enum Change {
    None,
    /// A filesystem was mounted on (or above) the download dir.
    Attached,
    /// The filesystem the download dir was on is gone.
    Removed,
    /// Gone and back (another disk, or the same one re-plugged) between two looks.
    Replaced,
}

pub fn classify(before: &Mount, after: &Mount) -> Change {
    if before.id == after.id {
        return Change::None;
    }
    let depth = |m: &Mount| m.mount_point.components().count();
    match depth(after).cmp(&depth(before)) {
        std::cmp::Ordering::Greater => Change::Attached,
        std::cmp::Ordering::Less => Change::Removed,
        std::cmp::Ordering::Equal => Change::Replaced,
    }
}

/// The mount the download dir lies on now, from /proc/self/mountinfo.
pub fn read_covering(dir: &Path) -> Option<Mount> {
    let text = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    covering_mount(&parse_mountinfo(&text), dir).cloned()
}

/// Bytes in binary units, one decimal.
pub fn human(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = bytes as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 { format!("{bytes} B") } else { format!("{v:.1} {}", UNITS[u]) }
}

#[cfg(test)]
mod tests {
    use super::*;

    const INFO: &str = "\
22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw
30 22 0:25 / /srv/swarm\\040cast rw shared:9 - tmpfs tmpfs rw
41 22 8:1 / /srv/swarmcast/downloads rw,nosuid shared:20 - ext4 /dev/sda1 rw
";

    #[test]
    fn finds_the_mount_under_a_path_and_decodes_escapes() {
        let m = parse_mountinfo(INFO);
        assert_eq!(m.len(), 3);
        assert_eq!(m[1].mount_point, Path::new("/srv/swarm cast"));
        let c = covering_mount(&m, Path::new("/srv/swarmcast/downloads/film")).unwrap();
        assert_eq!((c.id, c.source.as_str()), (41, "/dev/sda1"));
        // /srv/swarmcastle is not under /srv/swarmcast: whole components only.
        assert_eq!(covering_mount(&m, Path::new("/srv/swarmcastle")).unwrap().id, 22);
    }

    #[test]
    fn tells_attached_from_removed() {
        let m = parse_mountinfo(INFO);
        assert_eq!(classify(&m[0], &m[2]), Change::Attached);
        assert_eq!(classify(&m[2], &m[0]), Change::Removed);
        assert_eq!(classify(&m[2], &m[2]), Change::None);
        let again = Mount { id: 57, ..m[2].clone() };
        assert_eq!(classify(&m[2], &again), Change::Replaced);
    }
}
