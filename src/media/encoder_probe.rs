//! The daemon's encoder probe, run in a child process (`swarmcast probe-encoders`):
//! the test encodes load every candidate's libraries and GStreamer's whole registry,
//! which would stay resident in the daemon for good (about 8 MB of an idle daemon)
//! though most boxes never use the fallbacks; a wedged hardware driver also takes
//! down the child, not the daemon. GStreamer starts in the daemon at its first stream.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::Deserialize;

use super::encoder::{Candidate, EncoderInfo, EncoderRegistry};

/// The longest the child may take (it tests each candidate for a few seconds at most).
const CHILD_TIMEOUT: Duration = Duration::from_secs(120);

/// One line of the child's answer, as `EncoderInfo` serialises.
#[derive(Deserialize)]
struct Probed {
    name: String,
    found: bool,
    verified: bool,
    error: Option<String>,
}

/// The child's side: probes as `EncoderRegistry::probe` does and prints the result as
/// JSON on stdout.
pub fn print_probe(pin: &str, exclude: &[String]) -> anyhow::Result<()> {
    let registry = EncoderRegistry::probe(pin, exclude);
    println!("{}", serde_json::to_string(&registry)?);
    Ok(())
}

/// Probes the encoders in a child process running `exe probe-encoders`; when the child
/// cannot run or answer within `CHILD_TIMEOUT`, probes in this process instead.
pub fn probe_in_child(exe: &Path, pin: &str, exclude: &[String]) -> EncoderRegistry {
    match run_child(exe, pin, exclude) {
        Ok(registry) => {
            for e in &registry.encoders {
                match (e.found, e.verified, &e.error) {
                    (true, true, _) => tracing::info!("encoder {} verified", e.name),
                    (true, false, Some(err)) => tracing::info!("encoder {} found but failed its test: {err}", e.name),
                    _ => {}
                }
            }
            registry
        }
        Err(e) => {
            tracing::warn!("the encoder probe's child process failed ({e:#}); probing in the daemon");
            EncoderRegistry::probe(pin, exclude)
        }
    }
}

fn run_child(exe: &Path, pin: &str, exclude: &[String]) -> anyhow::Result<EncoderRegistry> {
    let mut child = Command::new(exe)
        .arg("probe-encoders")
        .arg("--pin")
        .arg(pin)
        .arg("--exclude")
        .arg(exclude.join(","))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        // The encoders' libraries print to stderr as they are tried (OpenH264 says
        // "Error: … cmInitParaError" for the test frame it then encodes): kept for the
        // debug log and for a failure's message, not shown to whoever started the daemon.
        .stderr(Stdio::piped())
        .spawn()?;
    let read_all = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut out = String::new();
            pipe.read_to_string(&mut out).map(|_| out)
        })
    };
    let reader = read_all(Box::new(child.stdout.take().expect("piped")));
    let errors = read_all(Box::new(child.stderr.take().expect("piped")));
    let began = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if began.elapsed() > CHILD_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            anyhow::bail!("no answer within {} s", CHILD_TIMEOUT.as_secs());
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let out = reader.join().map_err(|_| anyhow::anyhow!("reader panicked"))??;
    let errors = errors.join().map_err(|_| anyhow::anyhow!("reader panicked"))??;
    for line in errors.lines().filter(|l| !l.trim().is_empty()) {
        tracing::debug!("encoder probe: {line}");
    }
    let last = errors.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or_default();
    anyhow::ensure!(status.success(), "it exited with {status}: {last}");
    let line = out.lines().rfind(|l| l.starts_with('{')).unwrap_or_default();
    #[derive(Deserialize)]
    struct Answer {
        encoders: Vec<Probed>,
    }
    let answer: Answer = serde_json::from_str(line).map_err(|e| anyhow::anyhow!("unreadable answer ({e}): {out}"))?;
    let encoders = answer
        .encoders
        .into_iter()
        .map(|p| EncoderInfo {
            kind: if matches!(p.name.as_str(), "x264enc" | "openh264enc") { "software" } else { "hardware" },
            candidate: Candidate::named(&p.name),
            name: p.name,
            found: p.found,
            verified: p.verified,
            error: p.error,
        })
        .collect();
    Ok(EncoderRegistry { encoders })
}
