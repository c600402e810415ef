//! The command line: `cascade init`, `checkconfig`, `start`, `openapi`. Each subcommand
//! is a small function; errors reach the user as one clear message and a non-zero exit.

mod backup;
mod migrate_from_sqlite;
mod reconfig;
mod seed;
mod sendchange;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};

use crate::config;
use crate::db::{Db, redact_url};
use crate::engine::Engine;
use crate::engine::clock::SystemClock;

/// The example configuration `cascade init` writes (the quickstart's own).
pub const EXAMPLE_CONFIG: &str = include_str!("../../../examples/quickstart/cascade.toml");

/// Cascade: a continuous-integration master with Buildbot's status targets.
#[derive(Debug, Parser)]
#[command(name = "cascade", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write a commented cascade.toml that runs as is into DIR.
    Init {
        /// The directory (created if missing).
        dir: PathBuf,
        /// Replace an existing cascade.toml.
        #[arg(long)]
        force: bool,
    },
    /// Check a configuration file and report every error with its file, line and key.
    Checkconfig {
        /// The configuration file.
        #[arg(default_value = "cascade.toml")]
        file: PathBuf,
    },
    /// Run a master in the foreground until SIGINT or SIGTERM (SIGHUP re-reads the configuration).
    Start {
        /// The configuration file.
        #[arg(long, short, default_value = "cascade.toml", env = "CASCADE_CONFIG")]
        config: PathBuf,
    },
    /// Make a running master re-read its configuration file, after checking it (as SIGHUP).
    Reconfig(reconfig::ReconfigArgs),
    /// Run a remote worker that connects to a master and runs its builds.
    Worker {
        /// The master's address, e.g. http://ci.example.org:8010/
        #[arg(long, env = "CASCADE_MASTER")]
        master: String,
        /// This worker's name, as configured in the master's [[workers]].
        #[arg(long, env = "CASCADE_WORKER_NAME")]
        name: String,
        /// A file holding this worker's password.
        #[arg(long)]
        password_file: PathBuf,
        /// Where builds run (created if missing).
        #[arg(long, default_value = ".")]
        basedir: PathBuf,
        /// Run at most this many builds at once (the master's max_builds still applies).
        #[arg(long)]
        max_builds: Option<u32>,
    },
    /// Database maintenance.
    Db {
        /// What to do.
        #[command(subcommand)]
        command: DbCommand,
    },
    /// Manage the users kept in the database (as `buildbot user`).
    User {
        /// The configuration file naming the database.
        #[arg(long, short, default_value = "cascade.toml", env = "CASCADE_CONFIG", global = true)]
        config: PathBuf,
        /// What to do.
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Print an argon2id hash of a password read from standard input, for `[auth] users`.
    HashPassword,
    /// Send a change to a master's base change hook.
    Sendchange(sendchange::SendChange),
    /// Print the OpenAPI document of the JSON API.
    Openapi,
    /// Copy an embedded installation's SQLite database into an empty PostgreSQL database.
    MigrateFromSqlite(migrate_from_sqlite::MigrateArgs),
    /// Benchmark helpers.
    Bench {
        /// What to do.
        #[command(subcommand)]
        command: BenchCommand,
    },
}

/// `cascade bench ...`
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Fill a configuration's database with a realistic history of builds and changes.
    Seed(seed::SeedArgs),
}

/// What `cascade user add|update` sets.
#[derive(Debug, clap::Args)]
pub struct UserFields {
    /// A unique identifier (default: the username).
    #[arg(long)]
    identifier: Option<String>,
    /// The login name.
    #[arg(long)]
    username: Option<String>,
    /// The password (prefer --password-file: command lines are visible to other users).
    #[arg(long, conflicts_with = "password_file")]
    password: Option<String>,
    /// A file holding the password.
    #[arg(long)]
    password_file: Option<PathBuf>,
    /// An attribute as TYPE=VALUE (email=..., git=..., irc=..., role=...); repeatable.
    #[arg(long = "info", value_name = "TYPE=VALUE")]
    info: Vec<String>,
}

/// `cascade user ...`
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user.
    Add(UserFields),
    /// Change a user (given by uid, identifier or username).
    Update {
        /// The user.
        user: String,
        /// What to change.
        #[command(flatten)]
        fields: UserFields,
    },
    /// Delete a user.
    Remove {
        /// The user (uid, identifier or username).
        user: String,
    },
    /// List the users.
    List,
    /// Show one user.
    Show {
        /// The user (uid, identifier or username).
        user: String,
    },
}

/// `cascade db ...`
#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Apply pending migrations (the master also does this at start).
    Upgrade {
        /// The configuration file naming the database.
        #[arg(long, short, default_value = "cascade.toml", env = "CASCADE_CONFIG")]
        config: PathBuf,
    },
    /// Delete builds (or only their logs) that finished longer ago than a duration.
    Prune {
        /// The configuration file naming the database.
        #[arg(long, short, default_value = "cascade.toml", env = "CASCADE_CONFIG")]
        config: PathBuf,
        /// Age such as 90d, 12h, 2w.
        #[arg(long)]
        older_than: String,
        /// Keep the builds and steps; delete only their logs.
        #[arg(long)]
        logs_only: bool,
    },
    /// Copy a SQLite database to FILE while masters keep running (PostgreSQL: use pg_dump).
    Backup(backup::BackupArgs),
}

/// Runs the parsed command line.
pub async fn run(cli: Cli) -> ExitCode {
    let result = match cli.command {
        Command::Init { dir, force } => init(&dir, force),
        Command::Checkconfig { file } => return checkconfig(&file),
        Command::Start { config } => start(&config).await,
        Command::Reconfig(args) => reconfig::run(args).await,
        Command::Worker { master, name, password_file, basedir, max_builds } => {
            worker(master, name, &password_file, basedir, max_builds).await
        }
        Command::Db { command } => db_command(command).await,
        Command::User { config, command } => user_command(&config, command).await,
        Command::HashPassword => hash_password(),
        Command::Sendchange(change) => tokio::task::spawn_blocking(move || sendchange::run(change))
            .await
            .unwrap_or_else(|e| Err(anyhow::anyhow!("{e}"))),
        Command::Openapi => {
            println!("{}", crate::api::spec_json());
            Ok(())
        }
        Command::MigrateFromSqlite(args) => migrate_from_sqlite::run(args).await,
        Command::Bench { command: BenchCommand::Seed(args) } => seed::run(args).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init(dir: &Path, force: bool) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let path = dir.join("cascade.toml");
    if path.exists() && !force {
        bail!("{} already exists (use --force to replace it)", path.display());
    }
    std::fs::write(&path, EXAMPLE_CONFIG).with_context(|| format!("cannot write {}", path.display()))?;
    println!("Wrote {}.\nStart the master with:\n  cascade start --config {}", path.display(), path.display());
    Ok(())
}

fn checkconfig(file: &Path) -> ExitCode {
    match config::load(file) {
        Ok(cfg) => {
            let reporters = match cfg.reporters.len() {
                0 => String::new(),
                n => format!(
                    ", {n} reporters: {}",
                    cfg.reporters
                        .iter()
                        .map(|r| format!("{} ({})", r.name, r.kind_name()))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            };
            println!(
                "{}: OK ({} builders, {} workers, {} schedulers{reporters})",
                file.display(),
                cfg.builders.len(),
                cfg.workers.len(),
                cfg.schedulers.len()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}

/// Loads the configuration and opens its database, migrated.
async fn open(path: &Path) -> Result<(Arc<config::Config>, Db)> {
    let cfg = Arc::new(config::load(path).map_err(|e| anyhow::anyhow!("{e}"))?);
    let url = &cfg.db.url;
    let db = Db::connect(url).await.map_err(|e| {
        let hint = if url.starts_with("postgres") {
            "\nIs the PostgreSQL server running and does the database exist? (e.g. `createdb` it, or use sqlite://cascade.sqlite)"
        } else {
            ""
        };
        anyhow::anyhow!("cannot open the database {}: {e}{hint}", redact_url(url))
    })?;
    db.migrate().await.context("cannot apply the database migrations")?;
    Ok((cfg, db))
}

async fn db_command(command: DbCommand) -> Result<()> {
    match command {
        DbCommand::Upgrade { config } => {
            let (cfg, db) = open(&config).await?;
            println!("{}: migrations applied", redact_url(&cfg.db.url));
            db.close().await;
        }
        DbCommand::Prune { config, older_than, logs_only } => {
            let age = crate::db::prune::parse_duration(&older_than).map_err(anyhow::Error::msg)?;
            let (_, db) = open(&config).await?;
            let cutoff = chrono::Utc::now().timestamp() - age;
            let pruned = crate::db::prune::prune(&db, cutoff, logs_only).await.context("prune failed")?;
            println!(
                "pruned the logs of {} step(s) and {} build(s) finished before {older_than} ago",
                pruned.logs, pruned.builds
            );
            db.close().await;
        }
        DbCommand::Backup(args) => backup::run(args).await?,
    }
    Ok(())
}

fn hash_password() -> Result<()> {
    let mut password = String::new();
    std::io::stdin().read_line(&mut password).context("cannot read the password from standard input")?;
    let password = password.trim_end_matches(['\n', '\r']);
    if password.is_empty() {
        bail!("no password given on standard input");
    }
    println!("{}", crate::auth::password::hash(password)?);
    Ok(())
}

/// A password kept in a file, without the line end an editor leaves after it.
fn read_password_file(file: &Path) -> Result<String> {
    Ok(std::fs::read_to_string(file)
        .with_context(|| format!("cannot read the password file {}", file.display()))?
        .trim_end_matches(['\n', '\r'])
        .to_owned())
}

fn user_change(fields: UserFields) -> Result<crate::auth::users::UserChange> {
    let password = match (fields.password, fields.password_file) {
        (Some(p), _) => Some(p),
        (None, Some(file)) => Some(read_password_file(&file)?),
        (None, None) => None,
    };
    let attributes =
        fields.info.iter().map(|i| crate::auth::users::parse_attribute(i)).collect::<Result<Vec<_>, _>>()?;
    Ok(crate::auth::users::UserChange {
        identifier: fields.identifier,
        username: fields.username,
        password,
        attributes,
    })
}

fn print_user(r: &crate::auth::users::UserRecord) {
    let name = r.user.username.as_deref().unwrap_or("-");
    let login = if r.user.password_hash.is_some() { "password" } else { "no password" };
    println!("{}\t{}\t{}\t({login})", r.user.uid, r.user.identifier, name);
    for a in &r.attributes {
        println!("\t{}={}", a.attr_type, a.attr_data);
    }
}

async fn user_command(config: &Path, command: UserCommand) -> Result<()> {
    use crate::auth::users as manage;
    let (_, db) = open(config).await?;
    let result = match command {
        UserCommand::Add(fields) => manage::add(&db, &user_change(fields)?).await.map(|r| {
            println!("added user {}", r.user.uid);
            print_user(&r);
        }),
        UserCommand::Update { user, fields } => {
            let change = user_change(fields)?;
            match manage::find(&db, &user).await {
                Ok(found) => manage::update(&db, found.user.uid, &change).await.map(|r| {
                    println!("updated user {}", r.user.uid);
                    print_user(&r);
                }),
                Err(e) => Err(e),
            }
        }
        UserCommand::Remove { user } => match manage::find(&db, &user).await {
            Ok(found) => {
                manage::remove(&db, found.user.uid).await.map(|()| println!("removed user {}", found.user.uid))
            }
            Err(e) => Err(e),
        },
        UserCommand::List => manage::list(&db).await.map(|users| users.iter().for_each(print_user)),
        UserCommand::Show { user } => manage::find(&db, &user).await.map(|r| print_user(&r)),
    };
    db.close().await;
    result.map_err(|e| anyhow::anyhow!("{e}"))
}

async fn start(path: &Path) -> Result<()> {
    let (cfg, db) = open(path).await?;
    crate::web::check_files(&cfg).map_err(anyhow::Error::msg)?;
    // Before the engine starts: a second master of the same directory would take the running
    // one's builds for its own interrupted ones.
    let pid_file = reconfig::PidFile::write(&cfg)?;
    let engine =
        Engine::start(cfg.clone(), db.clone(), Arc::new(SystemClock)).await.context("cannot start the engine")?;
    // The allocator is the process's: one look at it, whatever runs in the process.
    tokio::spawn(crate::memory::run());
    // Signal handlers go in before the address is printed: whoever reads it may signal at once.
    let signals = shutdown_signal()?;
    let hangups = reconfig::on_hangup(engine.clone())?;
    let (acceptor, bound) =
        crate::server::bind(&cfg.web.listen, engine.watch_configuration()).await.with_context(|| {
            let addrs: Vec<&str> = cfg.web.listen.iter().map(|l| l.addr.as_str()).collect();
            format!("cannot listen on {}", addrs.join(", "))
        })?;
    // `bound` follows the order of `listen`, so each address finds its scheme.
    let urls: Vec<String> =
        bound.iter().zip(&cfg.web.listen).map(|(addr, l)| format!("{}://{addr}/", l.scheme())).collect();
    for url in &urls {
        println!("Cascade master \"{}\" listening on {url}", cfg.title);
    }
    if let Some(url) = urls.first()
        && let Err(e) = engine.set_address(url).await
    {
        tracing::warn!(error = %e, "could not record this master's address for the other masters");
    }
    println!(
        "Open {}waterfall to watch the builds; stop with Ctrl-C.",
        urls.first().map(String::as_str).unwrap_or("?/")
    );
    let exit = engine.clone();
    let stop = async move {
        tokio::select! {
            _ = signals => {}
            _ = exit.exit_requested() => {}
        }
        // Tell live clients first and end their event streams, so the server stops at once.
        exit.begin_stop();
    };
    let server = crate::server::serve(acceptor, engine.clone(), stop);
    server.await.context("the web server failed")?;
    tracing::info!("shutting down");
    hangups.abort();
    engine.stop().await;
    drop(pid_file);
    db.close().await;
    println!("Cascade master stopped.");
    Ok(())
}

async fn worker(
    master: String,
    name: String,
    password_file: &Path,
    basedir: PathBuf,
    max_builds: Option<u32>,
) -> Result<()> {
    let password = read_password_file(password_file)?;
    std::fs::create_dir_all(&basedir).with_context(|| format!("cannot create {}", basedir.display()))?;
    let basedir = basedir.canonicalize().with_context(|| format!("cannot resolve {}", basedir.display()))?;
    println!("Cascade worker \"{name}\" running builds in {}; connecting to {master}", basedir.display());
    let options = crate::worker::client::Options { master, name, password, basedir, max_builds };
    let signals = shutdown_signal()?;
    tokio::select! {
        result = crate::worker::client::run(options) => result.map_err(anyhow::Error::from),
        _ = signals => {
            println!("Cascade worker stopped.");
            Ok(())
        }
    }
}

/// Installs the SIGINT and SIGTERM handlers now; the future resolves on either signal.
fn shutdown_signal() -> Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).context("cannot install the SIGTERM handler")?;
    let mut int = signal(SignalKind::interrupt()).context("cannot install the SIGINT handler")?;
    Ok(async move {
        tokio::select! {
            _ = int.recv() => {}
            _ = term.recv() => {}
        }
    })
}
