//! The `swarmcast` command: the daemon (`serve`) and the tools around it.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use swarmcast::cli;
use swarmcast::config::Config;

#[derive(Parser)]
#[command(name = "swarmcast", version, about = "Stream torrents to any TV, player or browser")]
struct Args {
    /// Config file (default: /etc/swarmcast/config.toml when it exists).
    #[arg(long, global = true, env = "SWARMCAST_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the daemon (the default).
    Serve,
    /// Print the effective configuration and exit.
    Config,
    /// Manage torrents on a running daemon.
    Torrent(cli::TorrentArgs),
    /// Apply the seeding rules now, on the running daemon.
    Maintenance(cli::MaintenanceArgs),
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let result = match args.command.unwrap_or(Command::Serve) {
        Command::Serve => load(args.config).and_then(|config| {
            swarmcast::system::init_logging(&config.log.level);
            runtime()?.block_on(swarmcast::serve::run(config))
        }),
        Command::Config => load(args.config).map(|c| {
            print!("{}", toml::to_string_pretty(&c).expect("serialisable"));
        }),
        Command::Torrent(t) => runtime().and_then(|rt| rt.block_on(cli::torrent(t))),
        Command::Maintenance(m) => runtime().and_then(|rt| rt.block_on(cli::maintenance(m))),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("swarmcast: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn load(path: Option<PathBuf>) -> anyhow::Result<Config> {
    Config::load(path.as_deref())
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread().enable_all().build()?)
}
