//! `swarmcast user …` and `swarmcast apikey …`: account tools for a headless box.
//! They work on the database directly, so they run with the daemon stopped or
//! running (SQLite in WAL mode lets both write). Run them as the daemon's user
//! (`sudo -u swarmcast swarmcast user add …`) so the files keep their owner.

use std::io::BufRead;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};

use crate::auth::{AccountError, Auth, clock::rfc3339};
use crate::config::Config;
use crate::store::Store;
use crate::system::clock::SystemClock;

#[derive(Args)]
pub struct UserArgs {
    #[command(subcommand)]
    command: UserCommand,
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a user.
    Add {
        name: String,
        /// Make the user an administrator.
        #[arg(long)]
        admin: bool,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
        #[arg(long)]
        email: Option<String>,
    },
    /// Set a user's password (ends all of their sessions).
    Passwd {
        name: String,
        #[arg(long)]
        password_stdin: bool,
    },
    /// Delete a user with their sessions and API keys.
    #[command(alias = "del")]
    Rm { name: String },
    /// List users.
    #[command(alias = "ls")]
    List,
}

#[derive(Args)]
pub struct ApiKeyArgs {
    #[command(subcommand)]
    command: ApiKeyCommand,
}

#[derive(Subcommand)]
enum ApiKeyCommand {
    /// Create an API key; it is printed once.
    Create {
        #[arg(long)]
        user: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        expires_days: Option<u32>,
    },
    /// List API keys (never the keys themselves).
    #[command(alias = "ls")]
    List {
        #[arg(long)]
        user: Option<String>,
    },
    /// Revoke a key by its prefix.
    #[command(alias = "rm")]
    Revoke { prefix: String },
}

fn open(config: &Config) -> anyhow::Result<Auth> {
    let store = Store::open(&config.storage.state_dir)?;
    Auth::for_tools(config, store, Arc::new(SystemClock))
}

fn read_password(from_stdin: bool) -> anyhow::Result<String> {
    if !from_stdin {
        eprint!("password (the line is echoed; use --password-stdin to pipe it): ");
    }
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).context("reading the password")?;
    let pw = line.trim_end_matches(['\n', '\r']).to_string();
    if pw.is_empty() {
        bail!("no password given on standard input");
    }
    Ok(pw)
}

fn account(e: AccountError) -> anyhow::Error {
    anyhow::anyhow!("{e:#}")
}

pub fn user(config: &Config, args: UserArgs) -> anyhow::Result<()> {
    let auth = open(config)?;
    let store = auth.store().clone();
    match args.command {
        UserCommand::Add { name, admin, password_stdin, email } => {
            let pw = read_password(password_stdin)?;
            let u = auth.create_user(&name, &pw, email.as_deref(), admin).map_err(account)?;
            println!("created user {} (id {}{})", u.username, u.id, if u.is_admin { ", admin" } else { "" });
        }
        UserCommand::Passwd { name, password_stdin } => {
            let u = store.user_by_name(&name)?.with_context(|| format!("no user {name:?}"))?;
            let pw = read_password(password_stdin)?;
            auth.reset_password(u.id, &pw).map_err(account)?;
            println!("password of {} changed; their sessions were ended and their API keys revoked", u.username);
        }
        UserCommand::Rm { name } => {
            let u = store.user_by_name(&name)?.with_context(|| format!("no user {name:?}"))?;
            if u.is_admin && store.admin_count()? <= 1 {
                bail!("{} is the last administrator; make another one first", u.username);
            }
            store.delete_user(u.id)?;
            println!("deleted user {}", u.username);
        }
        UserCommand::List => {
            println!("{:>4}  {:<24} {:<6} CREATED", "ID", "USERNAME", "ADMIN");
            for u in store.users()? {
                println!(
                    "{:>4}  {:<24} {:<6} {}",
                    u.id,
                    u.username,
                    if u.is_admin { "yes" } else { "no" },
                    rfc3339(u.created_at)
                );
            }
        }
    }
    Ok(())
}

pub fn apikey(config: &Config, args: ApiKeyArgs) -> anyhow::Result<()> {
    let auth = open(config)?;
    let store = auth.store().clone();
    match args.command {
        ApiKeyCommand::Create { user, name, expires_days } => {
            let u = store.user_by_name(&user)?.with_context(|| format!("no user {user:?}"))?;
            let k = auth.create_api_key(u.id, &name, expires_days).map_err(account)?;
            eprintln!("API key {} for {} (shown once; keep it):", k.record.prefix, u.username);
            println!("{}", k.key);
        }
        ApiKeyCommand::List { user } => {
            let uid = match user {
                Some(n) => Some(store.user_by_name(&n)?.with_context(|| format!("no user {n:?}"))?.id),
                None => None,
            };
            let names: std::collections::HashMap<i64, String> =
                store.users()?.into_iter().map(|u| (u.id, u.username)).collect();
            println!("{:<12} {:<16} {:<20} {:<24} {:<24} LAST USED", "PREFIX", "USER", "NAME", "CREATED", "EXPIRES");
            for k in store.api_keys(uid)? {
                println!(
                    "{:<12} {:<16} {:<20} {:<24} {:<24} {}",
                    k.prefix,
                    names.get(&k.user_id).map(String::as_str).unwrap_or("?"),
                    k.name,
                    rfc3339(k.created_at),
                    k.expires_at.map(rfc3339).unwrap_or_else(|| "never".into()),
                    k.last_used_at.map(rfc3339).unwrap_or_else(|| "never".into()),
                );
            }
        }
        ApiKeyCommand::Revoke { prefix } => {
            if !store.delete_api_key(prefix.trim(), None)? {
                bail!("no API key with prefix {prefix:?}");
            }
            println!("revoked {prefix}");
        }
    }
    Ok(())
}
