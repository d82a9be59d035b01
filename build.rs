//! Builds the web UI (`web/`, with esbuild through `web/build.mjs`) into
//! `$OUT_DIR/web-dist` and writes the table of embedded assets that `src/web/mod.rs`
//! includes.
//!
//! `SWARMCAST_WEB_DIST=<dir>` embeds an already built UI instead (for cross builds on a
//! machine without Node.js). Otherwise Node.js 18+ and npm are required: `npm ci`
//! runs when `web/node_modules` is missing or older than `web/package-lock.json`.

use std::fmt::Write as _;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap());
    let web = root.join("web");
    for input in ["src", "index.html", "package.json", "package-lock.json", "build.mjs", "check-imports.mjs", "public"]
    {
        println!("cargo:rerun-if-changed=web/{input}");
    }
    println!("cargo:rerun-if-env-changed=SWARMCAST_WEB_DIST");

    let dist = match std::env::var_os("SWARMCAST_WEB_DIST") {
        Some(dir) => PathBuf::from(dir),
        None => {
            let dist = out.join("web-dist");
            build_ui(&web, &dist);
            dist
        }
    };
    if !dist.join("index.html").is_file() {
        fail(&format!("{} has no index.html: the web UI was not built", dist.display()));
    }

    let mut files = Vec::new();
    walk(&dist, &dist, &mut files);
    files.sort();
    let mut code = String::from("/// Every file of the built UI: (URL path, bytes, ETag).\n");
    code.push_str("pub static ASSETS: &[(&str, &[u8], &str)] = &[\n");
    for (url, path) in &files {
        let bytes = std::fs::read(path).unwrap();
        let mut h = DefaultHasher::new();
        bytes.hash(&mut h);
        let etag = format!("\"{:016x}\"", h.finish());
        writeln!(code, "    ({url:?}, include_bytes!({:?}), {etag:?}),", path.display().to_string()).unwrap();
    }
    code.push_str("];\n");
    std::fs::write(out.join("web_assets.rs"), code).unwrap();
}

/// Runs `npm ci` when needed, then the esbuild build into `dist`.
fn build_ui(web: &Path, dist: &Path) {
    let lock = web.join("package-lock.json");
    let installed = web.join("node_modules/.package-lock.json");
    let stale = match (mtime(&installed), mtime(&lock)) {
        (Some(i), Some(l)) => i < l,
        _ => true,
    };
    if stale {
        run(web, &["ci", "--no-audit", "--no-fund"]);
    }
    let dist_s = dist.to_str().expect("OUT_DIR is UTF-8");
    run(web, &["run", "--silent", "build", "--", "--outDir", dist_s]);
}

fn run(dir: &Path, args: &[&str]) {
    let status = Command::new("npm").args(args).current_dir(dir).status();
    match status {
        Ok(s) if s.success() => {}
        Ok(s) => fail(&format!("`npm {}` in web/ failed ({s})", args.join(" "))),
        Err(e) => fail(&format!(
            "cannot run npm ({e}). The web UI is built with Node.js 18+ and npm: \
             run `scripts/setup.sh build`, or set SWARMCAST_WEB_DIST to a built UI"
        )),
    }
}

fn mtime(p: &Path) -> Option<std::time::SystemTime> {
    std::fs::metadata(p).and_then(|m| m.modified()).ok()
}

fn walk(base: &Path, dir: &Path, files: &mut Vec<(String, PathBuf)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            walk(base, &path, files);
        } else {
            let rel = path.strip_prefix(base).unwrap().to_str().expect("asset names are UTF-8");
            files.push((format!("/{}", rel.replace('\\', "/")), path));
        }
    }
}

fn fail(msg: &str) -> ! {
    eprintln!("error: {msg}");
    panic!("web UI build failed: {msg}");
}
