//! Headless setup of a box with the real binary: `swarmcast user …` and
//! `swarmcast apikey …` on the database, with the daemon stopped and running, and
//! `swarmcast torrent …` sending the API key.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::fixture::free_port;

const BIN: &str = env!("CARGO_BIN_EXE_swarmcast");

fn run(config: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(BIN)
        .arg("--config")
        .arg(config)
        .args(args)
        .env_remove("SWARMCAST_API_KEY")
        .env_remove("SWARMCAST_URL")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(s) = stdin {
        input.write_all(s.as_bytes()).unwrap();
    }
    drop(input);
    child.wait_with_output().unwrap()
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn err(out: &Output) -> String {
    assert!(!out.status.success(), "unexpected success: {}", String::from_utf8_lossy(&out.stdout));
    String::from_utf8_lossy(&out.stderr).into_owned()
}

struct Daemon(std::process::Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let pid = nix::unistd::Pid::from_raw(self.0.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headless_setup_with_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\nlisten = \"127.0.0.1\"\nport = {port}\n\
             [storage]\nstate_dir = \"{0}/state\"\ndownload_dir = \"{0}/dl\"\ncache_dir = \"{0}/cache\"\n\
             [engine]\ndht = false\nlsd = false\nlisten_port = 0\n[dlna]\nenabled = false\n[mdns]\nenabled = false\n",
            dir.path().display()
        ),
    )
    .unwrap();

    // With the daemon stopped.
    let out = ok(&run(&config, &["user", "add", "admin", "--admin", "--password-stdin"], Some("admin-password\n")));
    assert!(out.contains("created user admin") && out.contains("admin)"), "{out}");
    let e = err(&run(&config, &["user", "add", "bob", "--password-stdin"], Some("short\n")));
    assert!(e.contains("at least 8"), "{e}");
    let e = err(&run(&config, &["user", "add", "admin", "--password-stdin"], Some("another-password\n")));
    assert!(e.contains("already exists"), "{e}");
    let key =
        ok(&run(&config, &["apikey", "create", "--user", "admin", "--name", "cli", "--expires-days", "30"], None));
    let key = key.trim().to_string();
    assert!(key.starts_with("sc_"), "{key}");
    let e = err(&run(&config, &["apikey", "create", "--user", "nobody", "--name", "x"], None));
    assert!(e.contains("no user"), "{e}");
    let list = ok(&run(&config, &["user", "list"], None));
    assert!(list.contains("admin") && list.contains("yes"), "{list}");

    // Start the daemon.
    let child = Command::new(BIN)
        .arg("--config")
        .arg(&config)
        .arg("serve")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _daemon = Daemon(child);
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(r) = http.get(format!("{base}/api/health")).send().await
            && r.status() == 200
        {
            break;
        }
        assert!(Instant::now() < deadline, "the daemon did not come up");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // The torrent client sends its --api-key; without one it is refused.
    let out = ok(&run(&config, &["torrent", "list", "--url", &base, "--api-key", &key], None));
    assert!(out.contains("no torrents"), "{out}");
    let e = err(&run(&config, &["torrent", "list", "--url", &base], None));
    assert!(e.contains("401"), "{e}");

    // With the daemon running: a new user can log in at once.
    ok(&run(&config, &["user", "add", "carol", "--password-stdin"], Some("carol-password\n")));
    let login = http
        .post(format!("{base}/auth/login"))
        .json(&serde_json::json!({"username": "carol", "password": "carol-password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200);
    let cookie = login.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_string();
    let me = || http.get(format!("{base}/auth/me")).header("cookie", &cookie).send();
    assert_eq!(me().await.unwrap().status(), 200);
    // A new password from the CLI ends her sessions.
    ok(&run(&config, &["user", "passwd", "carol", "--password-stdin"], Some("carol-new-password\n")));
    assert_eq!(me().await.unwrap().status(), 401);

    // Keys: listed with their prefix and last use, never the key; revoked at once.
    let keys = ok(&run(&config, &["apikey", "list"], None));
    let prefix = &key[..11];
    assert!(keys.contains(prefix) && !keys.contains(&key), "{keys}");
    assert!(!keys.lines().nth(1).unwrap().trim_end().ends_with("never"), "last use is recorded: {keys}");
    ok(&run(&config, &["apikey", "revoke", prefix], None));
    let e = err(&run(&config, &["torrent", "list", "--url", &base, "--api-key", &key], None));
    assert!(e.contains("401"), "{e}");
    let e = err(&run(&config, &["apikey", "revoke", prefix], None));
    assert!(e.contains("no API key"), "{e}");

    // The last administrator stays.
    let e = err(&run(&config, &["user", "rm", "admin"], None));
    assert!(e.contains("last administrator"), "{e}");
    ok(&run(&config, &["user", "rm", "carol"], None));
    let list = ok(&run(&config, &["user", "list"], None));
    assert!(!list.contains("carol"), "{list}");
}
