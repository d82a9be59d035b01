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
    /// Show which H.264 encoders exist, which pass a test encode, and which is used.
    Doctor,
    /// Manage torrents on a running daemon.
    Torrent(cli::TorrentArgs),
    /// Apply the seeding rules now, on the running daemon.
    Maintenance(cli::MaintenanceArgs),
    /// Manage user accounts (works on the database; the daemon may be running).
    User(swarmcast::cli::accounts::UserArgs),
    /// Manage API keys (works on the database; the daemon may be running).
    Apikey(swarmcast::cli::accounts::ApiKeyArgs),
    /// The daemon's encoder probe, run as its child: prints the registry as JSON.
    #[command(hide = true)]
    ProbeEncoders {
        #[arg(long, default_value = "")]
        pin: String,
        /// Comma-separated element names.
        #[arg(long, default_value = "")]
        exclude: String,
    },
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let result = match args.command.unwrap_or(Command::Serve) {
        Command::Serve => load(args.config).and_then(|config| {
            swarmcast::system::memory::configure();
            swarmcast::system::init_logging(&config.log.level);
            runtime()?.block_on(swarmcast::daemon::run(config))
        }),
        Command::Config => load(args.config).map(|c| {
            print!("{}", swarmcast::config::shown(|| toml::to_string_pretty(&c)).expect("serialisable"));
        }),
        Command::Doctor => load(args.config).and_then(|c| swarmcast::cli::doctor(&c)),
        Command::Torrent(t) => runtime().and_then(|rt| rt.block_on(cli::torrent(t))),
        Command::Maintenance(m) => runtime().and_then(|rt| rt.block_on(cli::maintenance(m))),
        Command::User(u) => load(args.config).and_then(|c| swarmcast::cli::accounts::user(&c, u)),
        Command::ProbeEncoders { pin, exclude } => {
            let exclude: Vec<String> = exclude.split(',').filter(|s| !s.is_empty()).map(String::from).collect();
            swarmcast::media::encoder_probe::print_probe(&pin, &exclude)
        }
        Command::Apikey(k) => load(args.config).and_then(|c| swarmcast::cli::accounts::apikey(&c, k)),
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
