//! Reconfiguring a running master: `SIGHUP` makes it re-read its configuration file, and
//! `cascade reconfig` checks the file first and then signals the master through the pid
//! file it writes beside its configuration (or asks its API, from another host).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, bail};

use crate::config::{self, Config};
use crate::engine::Engine;

/// The pid file's name, in the configuration's directory.
const PID_FILE: &str = "cascade.pid";

/// `cascade reconfig`'s arguments.
#[derive(Debug, clap::Args)]
pub struct ReconfigArgs {
    /// The running master's configuration file (its pid file is beside it).
    #[arg(long, short, default_value = "cascade.toml", env = "CASCADE_CONFIG")]
    config: PathBuf,
    /// Ask the master at this address through its API instead of signalling it (for a
    /// master on another host); needs the `reconfig` permission of `[authz]`.
    #[arg(long)]
    url: Option<String>,
    /// The user to log in as with --url (HTTP Basic).
    #[arg(long, requires = "url")]
    user: Option<String>,
    /// A file holding that user's password.
    #[arg(long, requires = "user")]
    password_file: Option<PathBuf>,
}

/// The running master's pid, in `cascade.pid` beside its configuration until it stops.
pub struct PidFile {
    path: PathBuf,
}

impl PidFile {
    /// Writes this process's pid, unless another master that still runs wrote its own.
    pub fn write(config: &Config) -> Result<PidFile> {
        let path = config.dir.join(PID_FILE);
        if let Some(pid) = read_pid(&path)
            && pid != std::process::id()
            && alive(pid)
        {
            bail!(
                "a master already runs from {} (pid {pid}, per {}); stop it first, or delete the file if that \
                 process is not a master",
                config.dir.display(),
                path.display()
            );
        }
        std::fs::write(&path, format!("{}\n", std::process::id()))
            .with_context(|| format!("cannot write the pid file {}", path.display()))?;
        Ok(PidFile { path })
    }
}

impl Drop for PidFile {
    fn drop(&mut self) {
        if read_pid(&self.path) == Some(std::process::id()) {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

fn read_pid(path: &Path) -> Option<u32> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

fn alive(pid: u32) -> bool {
    let Ok(pid) = i32::try_from(pid) else { return false };
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None).is_ok()
}

/// Re-reads the configuration at each `SIGHUP` (installed now, so a signal sent as soon as
/// the master prints its address is not lost); the task ends when aborted.
pub fn on_hangup(engine: Arc<Engine>) -> Result<tokio::task::JoinHandle<()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut hangups = signal(SignalKind::hangup()).context("cannot install the SIGHUP handler")?;
    Ok(tokio::spawn(async move {
        while hangups.recv().await.is_some() {
            tracing::info!("SIGHUP: reading the configuration again");
            // The outcome, and every error with its file and line, is logged by the engine.
            let _ = engine.reconfigure_from_file("SIGHUP", crate::web::check_files).await;
        }
    }))
}

/// `cascade reconfig`: checks the file, then signals the master or asks its API.
pub async fn run(args: ReconfigArgs) -> Result<()> {
    let config =
        config::load(&args.config).map_err(|e| anyhow::anyhow!("{e}\nthe running master was left as it is"))?;
    match &args.url {
        Some(url) => ask_api(url, &args).await,
        None => signal(&config),
    }
}

fn signal(config: &Config) -> Result<()> {
    let path = config.dir.join(PID_FILE);
    let pid = read_pid(&path).with_context(|| {
        format!(
            "no master runs from {} ({} is missing); start one with `cascade start`",
            config.dir.display(),
            path.display()
        )
    })?;
    let target = nix::unistd::Pid::from_raw(i32::try_from(pid).context("a pid out of range")?);
    nix::sys::signal::kill(target, nix::sys::signal::Signal::SIGHUP)
        .with_context(|| format!("cannot signal the master (pid {pid}, per {})", path.display()))?;
    println!(
        "{}: OK; asked the master (pid {pid}) to re-read it. Its log and the waterfall's events say what changed.",
        config.path.display()
    );
    Ok(())
}

async fn ask_api(url: &str, args: &ReconfigArgs) -> Result<()> {
    let endpoint = format!("{}/api/v1/master/reconfig", url.trim_end_matches('/'));
    let mut request = reqwest::Client::new().post(&endpoint);
    if let Some(user) = &args.user {
        let password = match &args.password_file {
            Some(file) => super::read_password_file(file)?,
            None => String::new(),
        };
        request = request.basic_auth(user, Some(password));
    }
    let response = request.send().await.with_context(|| format!("cannot reach the master at {endpoint}"))?;
    let status = response.status();
    let body: serde_json::Value = response.json().await.unwrap_or_default();
    let message = body.get("message").and_then(|m| m.as_str()).unwrap_or("(no message)");
    if !status.is_success() {
        bail!("the master refused ({status}): {message}");
    }
    println!("{message}");
    Ok(())
}
