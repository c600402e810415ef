//! `cascade migrate-from-sqlite`: moves an embedded installation's database into an empty
//! PostgreSQL database. This file decides whether it is safe to start (schemas current, no
//! master alive, an empty target), shows the progress and tells what to change afterwards;
//! the copy itself is `db::transfer`.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use indicatif::{ProgressBar, ProgressStyle};

use crate::config;
use crate::db::transfer::{self, Count, Progress};
use crate::db::{self, Db, redact_url};

/// What `cascade migrate-from-sqlite` was asked.
#[derive(Debug, clap::Args)]
pub struct MigrateArgs {
    /// The configuration file naming the SQLite database.
    #[arg(long, short, default_value = "cascade.toml", env = "CASCADE_CONFIG")]
    pub config: PathBuf,
    /// The empty PostgreSQL database to fill, e.g. postgres://cascade@db.example.org/cascade
    /// (a password is better given in PGPASSWORD or ~/.pgpass).
    #[arg(long, value_name = "URL")]
    pub to: String,
    /// Copy even though a master seems to be running on the SQLite database.
    #[arg(long)]
    pub force: bool,
}

/// Checks, copies, verifies and prints the counts and the configuration to use.
pub async fn run(args: MigrateArgs) -> Result<()> {
    let cfg = config::load(&args.config).map_err(|e| anyhow::anyhow!("{e}"))?;
    let from = cfg.db.url.clone();
    if !from.starts_with("sqlite:") {
        bail!("{} names {}, which is not a SQLite database", args.config.display(), redact_url(&from));
    }
    if !(args.to.starts_with("postgres:") || args.to.starts_with("postgresql:")) {
        bail!("--to must be a postgres:// URL, not {}", redact_url(&args.to));
    }
    let source = Db::connect_existing(&from)
        .await
        .map_err(|e| anyhow::anyhow!("cannot open the database {}: {e}", redact_url(&from)))?;
    let checked = check_source(&source, &args, cfg.db.lost_after).await;
    if let Err(e) = checked {
        source.close().await;
        return Err(e);
    }

    let target = match Db::connect(&args.to).await {
        Ok(target) => target,
        Err(e) => {
            source.close().await;
            bail!("{e}\nIs the server running, and does the database exist? (Create an empty one with `createdb`.)");
        }
    };
    let mut result = fill(&source, &target, &args.to).await;
    if result.is_ok()
        && let Err(e) = target.analyze().await
    {
        result = Err(anyhow::anyhow!("the rows are copied, but refreshing the database's statistics failed: {e}"));
    }
    source.close().await;
    target.close().await;
    let (counts, took) = result?;

    print_counts(&counts, took);
    println!(
        "\nThe master can now run on PostgreSQL. Stop it if it runs, then set in {}:\n\n[db]\nurl = \"{}\"\n",
        args.config.display(),
        redact_url(&args.to)
    );
    if redact_url(&args.to) != args.to {
        println!("(with the password put back, or given to the master in PGPASSWORD or ~/.pgpass)");
    }
    println!("The SQLite file is left as it was: keep it as a backup until the master runs well on PostgreSQL.");
    Ok(())
}

/// Refuses a SQLite database behind (or ahead of) this binary's schema, or one a master
/// still uses (marked running, its last heartbeat more recent than `lost_after` seconds,
/// after which other masters too would take it for dead), unless `--force`.
async fn check_source(source: &Db, args: &MigrateArgs, lost_after: u64) -> Result<()> {
    let alive_within = i64::try_from(lost_after).unwrap_or(i64::MAX);
    let state = source.schema_state().await?;
    if !state.pending.is_empty() {
        bail!(
            "the SQLite database is not at the current schema ({} pending): run `cascade db upgrade --config {}` first",
            state.pending.join(", "),
            args.config.display()
        );
    }
    if !state.is_current() {
        bail!(
            "the SQLite database was migrated by another version of Cascade (migrations {:?} differ, {:?} unknown): \
             migrate it with the Cascade that wrote it",
            state.changed,
            state.unknown
        );
    }
    let now = chrono::Utc::now().timestamp();
    let masters = {
        let mut conn = source.acquire().await?;
        db::masters::list(conn.conn()).await?
    };
    let alive: Vec<String> = masters
        .iter()
        .filter(|m| m.active != 0 && now - m.last_active <= alive_within)
        .map(|m| format!("{} (last seen {} s ago)", m.name, (now - m.last_active).max(0)))
        .collect();
    if !alive.is_empty() {
        let list = alive.join(", ");
        if !args.force {
            bail!(
                "a master seems to be running on this database: {list}.\nStop it first: what it writes during or \
                 after the copy would not reach PostgreSQL. (If it died without saying so, wait {alive_within} seconds ([db] lost_after) or pass --force.)"
            );
        }
        eprintln!("warning: copying although a master seems to be running: {list}");
    }
    Ok(())
}

/// Refuses a target that holds anything, migrates it to the current schema and copies.
async fn fill(source: &Db, target: &Db, to: &str) -> Result<(Vec<Count>, Duration)> {
    let found = transfer::occupied(target).await?;
    if !found.is_empty() {
        let list: Vec<String> = found
            .iter()
            .map(|(t, n)| match n {
                1 => format!("{t} (1 row)"),
                n if *n >= transfer::COUNT_CAP => format!("{t} ({n}+ rows)"),
                n => format!("{t} ({n} rows)"),
            })
            .collect();
        bail!(
            "{} is not empty: {}.\nCopy into a new, empty database (e.g. `createdb`), or drop what is there first.",
            redact_url(to),
            list.join(", ")
        );
    }
    target.migrate().await.map_err(|e| anyhow::anyhow!("cannot create the schema in {}: {e}", redact_url(to)))?;
    let started = Instant::now();
    let mut bar: Option<ProgressBar> = None;
    let style = ProgressStyle::with_template("{prefix:<22} [{bar:30}] {pos:>9}/{len:<9} rows {per_sec:>12}")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
    let mut show = |step: Progress<'_>| match step {
        Progress::Table { name, rows } => {
            let b = ProgressBar::new(rows).with_style(style.clone()).with_prefix(name.to_owned());
            b.tick();
            bar = Some(b);
        }
        Progress::Rows(n) => {
            if let Some(b) = &bar {
                b.inc(n);
            }
        }
        Progress::TableDone => {
            if let Some(b) = bar.take() {
                b.finish();
            }
        }
        Progress::Finishing => eprintln!("checking the row counts, setting the sequences and committing…"),
    };
    let counts = transfer::copy(source, target, &mut show)
        .await
        .map_err(|e| anyhow::anyhow!("the copy failed and was rolled back; PostgreSQL holds no rows: {e}"))?;
    Ok((counts, started.elapsed()))
}

fn print_counts(counts: &[Count], took: Duration) {
    let width = counts.iter().map(|c| c.table.len()).max().unwrap_or(5).max(5);
    println!("{:<width$}  {:>10}  {:>10}", "table", "sqlite", "postgres");
    for c in counts {
        println!("{:<width$}  {:>10}  {:>10}", c.table, c.source, c.target);
    }
    let rows: i64 = counts.iter().map(|c| c.target).sum();
    let builds = counts.iter().find(|c| c.table == "builds").map_or(0, |c| c.target);
    println!("{:<width$}  {:>10}  {:>10}", "total", counts.iter().map(|c| c.source).sum::<i64>(), rows);
    let secs = took.as_secs_f64().max(0.001);
    println!(
        "\ncopied {rows} rows ({builds} builds) in {secs:.1} s: {:.0} rows/s, {:.0} builds/s; every table's count matches",
        rows as f64 / secs,
        builds as f64 / secs
    );
}
