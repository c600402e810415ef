//! `cascade db backup FILE`: a consistent copy of a SQLite database, taken while a master
//! may be running. A PostgreSQL installation is pointed to pg_dump instead.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Instant;

use anyhow::{Context, Result, bail};

use crate::config;
use crate::db::{Db, redact_url};

/// What `cascade db backup` was asked.
#[derive(Debug, clap::Args)]
pub struct BackupArgs {
    /// The file to write (it must not exist, unless --force).
    pub file: PathBuf,
    /// The configuration file naming the database.
    #[arg(long, short, default_value = "cascade.toml", env = "CASCADE_CONFIG")]
    pub config: PathBuf,
    /// Replace FILE if it exists.
    #[arg(long)]
    pub force: bool,
}

/// Writes the backup and says how big it is and how long it took.
pub async fn run(args: BackupArgs) -> Result<()> {
    let cfg = config::load(&args.config).map_err(|e| anyhow::anyhow!("{e}"))?;
    let url = &cfg.db.url;
    if !url.starts_with("sqlite:") {
        bail!(
            "{} is a PostgreSQL database: back it up with pg_dump, e.g.\n  {}",
            redact_url(url),
            pg_dump_command(url, &args.file)
        );
    }
    let file = &args.file;
    if file.exists() {
        if !args.force {
            bail!("{} already exists (use --force to replace it)", file.display());
        }
        if same_file(file, &sqlite_file(url)?) {
            bail!("{} is the database itself", file.display());
        }
    }
    // The copy is written beside its destination and renamed into place once complete, so a
    // failed backup never leaves a half-written FILE or destroys the one it would replace.
    let partial = partial_path(file)?;
    if partial.exists() {
        std::fs::remove_file(&partial).with_context(|| format!("cannot remove {}", partial.display()))?;
    }
    let db = Db::connect_existing(url)
        .await
        .map_err(|e| anyhow::anyhow!("cannot open the database {}: {e}", redact_url(url)))?;
    let started = Instant::now();
    let copied = crate::db::backup::vacuum_into(&db, &partial).await;
    db.close().await;
    if let Err(e) = copied {
        let _ = std::fs::remove_file(&partial);
        return Err(anyhow::anyhow!("cannot write the backup to {}: {e}", file.display()));
    }
    std::fs::rename(&partial, file)
        .with_context(|| format!("cannot rename {} to {}", partial.display(), file.display()))?;
    let took = started.elapsed();
    let size = std::fs::metadata(file).with_context(|| format!("cannot read {}", file.display()))?.len();
    println!(
        "backed up {} to {}: {} in {:.2} s",
        redact_url(url),
        file.display(),
        indicatif::HumanBytes(size),
        took.as_secs_f64()
    );
    Ok(())
}

/// The pg_dump command line that backs up the database at `url` (its password left out:
/// pg_dump reads it from PGPASSWORD or ~/.pgpass) into `file`.
fn pg_dump_command(url: &str, file: &Path) -> String {
    format!(
        "pg_dump --format=custom --file={} {}",
        shell_quote(&file.display().to_string()),
        shell_quote(&redact_url(url))
    )
}

/// `text` quoted for a POSIX shell when it needs to be.
fn shell_quote(text: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "@%+=:,./-_".contains(c);
    if !text.is_empty() && text.chars().all(plain) {
        text.to_owned()
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    }
}

/// The database file a `sqlite:` URL names.
fn sqlite_file(url: &str) -> Result<PathBuf> {
    let options = sqlx::sqlite::SqliteConnectOptions::from_str(url)
        .with_context(|| format!("not a SQLite URL: {}", redact_url(url)))?;
    Ok(options.get_filename().to_path_buf())
}

fn same_file(a: &Path, b: &Path) -> bool {
    matches!((a.canonicalize(), b.canonicalize()), (Ok(a), Ok(b)) if a == b)
}

fn partial_path(file: &Path) -> Result<PathBuf> {
    let Some(name) = file.file_name() else { bail!("{} is not a file name", file.display()) };
    let mut partial = name.to_os_string();
    partial.push(".partial");
    Ok(file.with_file_name(partial))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pg_dump_command_leaves_the_password_out() {
        assert_eq!(
            pg_dump_command("postgres://ci:s3cret@db.example.org:5432/cascade", Path::new("ci.dump")),
            "pg_dump --format=custom --file=ci.dump postgres://ci@db.example.org:5432/cascade"
        );
    }

    #[test]
    fn shell_quoting_covers_spaces_and_quotes() {
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
        assert_eq!(shell_quote("postgres://h/db?sslmode=require"), "'postgres://h/db?sslmode=require'");
    }
}
