//! Facts about the machine for `/api/system/status` and `/metrics`: CPU use, load,
//! memory and temperature, read from /proc and /sys. Disk space is `quota`'s.

use std::sync::Mutex;
use std::time::Instant;

/// Memory from /proc/meminfo: (total, used) in bytes, used = total − available.
pub fn memory() -> (u64, u64) {
    let text = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let field = |name: &str| {
        text.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
            * 1024
    };
    let total = field("MemTotal:");
    (total, total.saturating_sub(field("MemAvailable:")))
}

/// The 1, 5 and 15 minute load averages.
pub fn load() -> [f64; 3] {
    let text = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let mut it = text.split_whitespace().map(|v| v.parse().unwrap_or(0.0));
    [it.next().unwrap_or(0.0), it.next().unwrap_or(0.0), it.next().unwrap_or(0.0)]
}

/// The hottest thermal zone in °C, where the kernel exposes one.
pub fn temperature_c() -> Option<f64> {
    let zones = std::fs::read_dir("/sys/class/thermal").ok()?;
    zones
        .flatten()
        .filter(|z| z.file_name().to_string_lossy().starts_with("thermal_zone"))
        .filter_map(|z| std::fs::read_to_string(z.path().join("temp")).ok())
        .filter_map(|t| t.trim().parse::<f64>().ok())
        .map(|milli| milli / 1000.0)
        .fold(None, |max: Option<f64>, t| Some(max.map_or(t, |m| m.max(t))))
}

/// Whole-machine CPU use between two calls, from /proc/stat.
pub struct CpuMeter {
    last: Mutex<Option<(Instant, u64, u64)>>,
}

impl Default for CpuMeter {
    fn default() -> Self {
        let m = Self { last: Mutex::new(None) };
        m.percent();
        m
    }
}

impl CpuMeter {
    /// Percent of all cores busy since the previous call (0–100).
    pub fn percent(&self) -> f64 {
        let Some((busy, total)) = cpu_times() else { return 0.0 };
        let mut last = self.last.lock().unwrap();
        let pct = match *last {
            Some((_, b, t)) if total > t => (busy - b.min(busy)) as f64 * 100.0 / (total - t) as f64,
            _ => 0.0,
        };
        *last = Some((Instant::now(), busy, total));
        (pct * 10.0).round() / 10.0
    }
}

fn cpu_times() -> Option<(u64, u64)> {
    let text = std::fs::read_to_string("/proc/stat").ok()?;
    let line = text.lines().next()?.strip_prefix("cpu ")?;
    let v: Vec<u64> = line.split_whitespace().filter_map(|x| x.parse().ok()).collect();
    let total: u64 = v.iter().take(8).sum();
    let idle = v.get(3).copied().unwrap_or(0) + v.get(4).copied().unwrap_or(0);
    Some((total - idle, total))
}

/// This process's resident memory in bytes.
pub fn process_rss() -> u64 {
    let text = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    text.split_whitespace().nth(1).and_then(|p| p.parse::<u64>().ok()).unwrap_or(0)
        * nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE).ok().flatten().unwrap_or(4096) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_machine() {
        let (total, used) = memory();
        assert!(total > 0 && used <= total);
        assert!(process_rss() > 0);
        let m = CpuMeter::default();
        let p = m.percent();
        assert!((0.0..=100.0).contains(&p));
    }
}
