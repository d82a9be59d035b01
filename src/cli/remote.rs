//! Command-line clients of a running daemon's API (`swarmcast torrent …`). Output is
//! a table for people, or the API's JSON with `--json`.

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use serde_json::Value;

use crate::system::disk::human;

#[derive(Args)]
pub struct TorrentArgs {
    /// The daemon's URL.
    #[arg(long, global = true, env = "SWARMCAST_URL", default_value = "http://127.0.0.1:6991")]
    url: String,
    /// An API key (see `swarmcast apikey create`).
    #[arg(long, global = true, env = "SWARMCAST_API_KEY", hide_env_values = true)]
    api_key: Option<String>,
    /// Print the API's JSON instead of a table.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: TorrentCommand,
}

#[derive(Subcommand)]
enum TorrentCommand {
    /// Add a magnet, an info-hash, an http(s) URL of a .torrent, or a local .torrent file.
    Add {
        source: String,
        /// Add without starting.
        #[arg(long)]
        paused: bool,
    },
    /// List torrents.
    #[command(alias = "ls")]
    List,
    /// Show one torrent with its files.
    Show {
        id: String,
    },
    /// Remove a torrent.
    #[command(alias = "remove")]
    Rm {
        id: String,
        /// Delete the downloaded data too.
        #[arg(long)]
        delete_files: bool,
    },
    Start {
        id: String,
    },
    Stop {
        id: String,
    },
}

struct Client {
    http: reqwest::Client,
    base: String,
    api_key: Option<String>,
}

impl Client {
    async fn send(&self, req: reqwest::RequestBuilder) -> anyhow::Result<Value> {
        let req = match &self.api_key {
            Some(k) => req.bearer_auth(k),
            None => req,
        };
        let resp = req.send().await.with_context(|| format!("cannot reach the daemon at {}", self.base))?;
        let status = resp.status();
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            let msg = body["error"]["message"].as_str().unwrap_or("no details");
            let code = body["error"]["code"].as_str().unwrap_or("");
            bail!("{status} {code}: {msg}");
        }
        Ok(body)
    }
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base.trim_end_matches('/'))
    }
}

pub async fn torrent(args: TorrentArgs) -> anyhow::Result<()> {
    let c = Client { http: reqwest::Client::new(), base: args.url.clone(), api_key: args.api_key };
    let out = match &args.command {
        TorrentCommand::Add { source, paused } => {
            let path = std::path::Path::new(source);
            if !source.contains(':') && path.is_file() {
                let bytes = std::fs::read(path).with_context(|| format!("reading {source}"))?;
                let form = reqwest::multipart::Form::new()
                    .part("file", reqwest::multipart::Part::bytes(bytes).file_name("upload.torrent"))
                    .text("start", (!paused).to_string());
                c.send(c.http.post(c.url("/api/torrents/upload")).multipart(form)).await?
            } else {
                let body = serde_json::json!({ "uri": source, "start": !paused });
                c.send(c.http.post(c.url("/api/torrents/")).json(&body)).await?
            }
        }
        TorrentCommand::List => c.send(c.http.get(c.url("/api/torrents/?limit=100"))).await?,
        TorrentCommand::Show { id } => c.send(c.http.get(c.url(&format!("/api/torrents/{id}")))).await?,
        TorrentCommand::Rm { id, delete_files } => {
            c.send(c.http.delete(c.url(&format!("/api/torrents/{id}?delete_files={delete_files}")))).await?
        }
        TorrentCommand::Start { id } => c.send(c.http.post(c.url(&format!("/api/torrents/{id}/start")))).await?,
        TorrentCommand::Stop { id } => c.send(c.http.post(c.url(&format!("/api/torrents/{id}/stop")))).await?,
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    match &args.command {
        TorrentCommand::List => print_table(out.as_array().map(Vec::as_slice).unwrap_or(&[])),
        TorrentCommand::Rm { .. } => println!("{}", out["message"].as_str().unwrap_or("removed")),
        TorrentCommand::Show { .. } => print_details(&out),
        _ => print_table(std::slice::from_ref(&out)),
    }
    Ok(())
}

fn print_table(rows: &[Value]) {
    if rows.is_empty() {
        println!("no torrents");
        return;
    }
    println!("{:<40}  {:<11} {:>6}  {:>9}  {:>10}  {:>5}  NAME", "ID", "STATUS", "DONE", "SIZE", "DOWN", "PEERS");
    for t in rows {
        println!(
            "{:<40}  {:<11} {:>5.1}%  {:>9}  {:>8}/s  {:>5}  {}",
            t["id"].as_str().unwrap_or(""),
            t["status"].as_str().unwrap_or(""),
            t["progress"].as_f64().unwrap_or(0.0),
            human(t["size"].as_u64().unwrap_or(0)),
            human(t["download_rate"].as_u64().unwrap_or(0)),
            t["peers"].as_u64().unwrap_or(0),
            t["name"].as_str().unwrap_or(""),
        );
    }
}

fn print_details(t: &Value) {
    print_table(std::slice::from_ref(t));
    if let Some(err) = t["error"].as_str() {
        println!("error: {err}");
    }
    println!("magnet: {}", t["magnet_uri"].as_str().unwrap_or(""));
    let video = t["video_file"].as_u64();
    for f in t["files"].as_array().into_iter().flatten() {
        let mark = if f["index"].as_u64() == video { "▶" } else { " " };
        println!(
            "  {mark} {:>3}  {:>5.1}%  {:>9}  {}",
            f["index"].as_u64().unwrap_or(0),
            f["progress"].as_f64().unwrap_or(0.0),
            human(f["size"].as_u64().unwrap_or(0)),
            f["name"].as_str().unwrap_or("")
        );
    }
}

/// `swarmcast maintenance run`: asks the running daemon to apply the seeding rules
/// once. It goes through the daemon, not the database, because the daemon's engine
/// owns the torrents: pausing or removing one (and its files) must happen in the
/// session that has them open, or the session would undo it.
#[derive(Args)]
pub struct MaintenanceArgs {
    /// The daemon's URL.
    #[arg(long, global = true, env = "SWARMCAST_URL", default_value = "http://127.0.0.1:6991")]
    url: String,
    /// An API key.
    #[arg(long, global = true, env = "SWARMCAST_API_KEY", hide_env_values = true)]
    api_key: Option<String>,
    #[command(subcommand)]
    command: MaintenanceCommand,
}

#[derive(Subcommand)]
enum MaintenanceCommand {
    /// Apply the seeding rules once, now.
    Run,
}

pub async fn maintenance(args: MaintenanceArgs) -> anyhow::Result<()> {
    let c = Client { http: reqwest::Client::new(), base: args.url.clone(), api_key: args.api_key };
    let MaintenanceCommand::Run = args.command;
    let out = c.send(c.http.post(c.url("/api/maintenance/run"))).await?;
    let applied = out["applied"].as_array().cloned().unwrap_or_default();
    if applied.is_empty() {
        println!("no seeding limit reached");
    }
    for a in applied {
        println!(
            "{}  {:<11} {}  ({})",
            a["torrent_id"].as_str().unwrap_or(""),
            a["action"].as_str().unwrap_or(""),
            a["name"].as_str().unwrap_or(""),
            a["reason"].as_str().unwrap_or("")
        );
    }
    Ok(())
}

/// `swarmcast doctor`: probes the encoders the way the daemon does and prints them.
pub fn doctor(config: &crate::config::Config) -> anyhow::Result<()> {
    let reg = crate::media::EncoderRegistry::probe(&config.media.encoder, &config.media.exclude_encoders);
    println!("{:<14} {:<9} {:<6} {:<9} note", "encoder", "kind", "found", "verified");
    for e in &reg.encoders {
        let note = if e.found { e.error.clone().unwrap_or_default() } else { String::new() };
        println!(
            "{:<14} {:<9} {:<6} {:<9} {}",
            e.name,
            e.kind,
            if e.found { "yes" } else { "no" },
            if e.verified { "yes" } else { "no" },
            note
        );
    }
    for x in &config.media.exclude_encoders {
        println!("{x:<14} excluded by media.exclude_encoders");
    }
    match reg.selected() {
        Some(e) => println!("selected: {} ({})", e.name, e.kind),
        None => println!("selected: none (passthrough only: transcoding is unavailable)"),
    }
    Ok(())
}
