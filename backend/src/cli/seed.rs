//! `cascade bench seed`: fills a configuration's database with a realistic history, through
//! the repositories, for benchmarks and for trying the pages on a big installation.
//!
//! The history runs forward in time. Changes arrive on several branches from a pool of
//! authors; each is built by a few builders of its project (the builders' first tag), and
//! forced builds without changes are mixed in. Every builder runs one build at a time,
//! numbered in time order, with six steps (fewer when one fails) and one small log; a
//! builder that broke tends to stay red for a few builds. Rows are written in batches, one
//! transaction per batch, so a million builds take minutes.

use std::collections::BTreeMap;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::db::buildrequests::PastRequest;
use crate::db::builds::{NewBuild, PastBuild};
use crate::db::buildsets::{NewBuildSet, NewSourceStamp, PastBuildSet};
use crate::db::logs::PastLog;
use crate::db::steps::PastStep;
use crate::db::{self, Db};
use crate::engine::logs::LogBuffer;
use crate::model::{BuildSetId, BuilderId, ChangeId, Channel, MasterId, NewChange, Results, WorkerId};

/// What to seed.
#[derive(Debug, clap::Args)]
pub struct SeedArgs {
    /// The configuration whose database is filled; its first `--builders` builders are used.
    #[arg(long, short, default_value = "cascade.toml", env = "CASCADE_CONFIG")]
    pub config: std::path::PathBuf,
    /// How many of the configuration's builders get builds (default: all of them).
    #[arg(long)]
    pub builders: Option<usize>,
    /// How many builds.
    #[arg(long, default_value_t = 100_000)]
    pub builds: u64,
    /// How many changes (builds of changes share them; the rest are forced builds).
    #[arg(long, default_value_t = 50_000)]
    pub changes: u64,
    /// The random seed, for a repeatable history.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

const STEPS: [&str; 6] = ["checkout", "configure", "compile", "test", "package", "upload"];
const AUTHORS: [&str; 12] = [
    "Ann Lee <ann@example.org>",
    "Bob Martin <bob@example.org>",
    "Chidi Okafor <chidi@example.org>",
    "Dana Kim <dana@example.org>",
    "Émile Durand <emile@example.org>",
    "Farah Haddad <farah@example.org>",
    "Gao Wei <gao@example.org>",
    "Hana Sato <hana@example.org>",
    "Ivan Petrov <ivan@example.org>",
    "Jo Rivera <jo@example.org>",
    "Kai Müller <kai@example.org>",
    "Lena Berg <lena@example.org>",
];
const SUBJECTS: [&str; 8] = [
    "Fix the flaky network test",
    "Speed up the parser",
    "Update the dependencies",
    "Handle empty input",
    "Refactor the scheduler",
    "Add a retry to uploads",
    "Document the build options",
    "Remove dead code",
];
/// Changes per transaction (each with its builds).
const BATCH: usize = 100;

/// One builder as the seeder runs it.
struct Lane {
    id: BuilderId,
    name: String,
    project: String,
    worker: WorkerId,
    worker_name: String,
    number: i64,
    free_at: i64,
    failing: bool,
    mean_duration: i64,
}

/// A build planned in memory, written with its batch.
struct Planned {
    lane: usize,
    set: usize,
    number: i64,
    started_at: i64,
    finished_at: i64,
    results: Results,
}

/// A buildset planned in memory.
struct PlannedSet {
    set: NewBuildSet,
    stamp: NewSourceStamp,
    change: Option<usize>,
    submitted_at: i64,
}

/// Fills the configuration's database; prints what it did.
pub async fn run(args: SeedArgs) -> Result<()> {
    let (cfg, db) = super::open(&args.config).await?;
    let wanted = args.builders.unwrap_or(cfg.builders.len());
    if wanted == 0 || wanted > cfg.builders.len() {
        bail!(
            "{} has {} builder(s); --builders {wanted} needs that many [[builders]] (or ask for fewer)",
            args.config.display(),
            cfg.builders.len()
        );
    }
    if args.builds == 0 {
        bail!("--builds must be at least 1");
    }
    let started = Instant::now();
    let mut rng = StdRng::seed_from_u64(args.seed);
    let (mut lanes, master) = register(&db, &cfg, wanted, &mut rng).await?;
    let projects: Vec<String> = {
        let mut p: Vec<String> = lanes.iter().map(|l| l.project.clone()).collect();
        p.sort();
        p.dedup();
        p
    };

    // The history's span: a build every half hour per builder on average, ending an hour ago.
    let now = chrono::Utc::now().timestamp();
    let per_lane = (args.builds / wanted as u64).max(1) as i64;
    let span = per_lane * 1800;
    let start = now - 3600 - span;
    for lane in &mut lanes {
        lane.free_at = lane.free_at.max(start);
    }
    let per_change =
        if args.changes == 0 { 0.0 } else { (args.builds as f64 / args.changes as f64).min(wanted as f64) };
    // A change goes to one project's builders: a small project builds it fewer times.
    let builds_per_change = projects
        .iter()
        .map(|p| per_change.min(lanes.iter().filter(|l| &l.project == p).count() as f64).max(1.0))
        .sum::<f64>()
        / projects.len() as f64;

    let bar = indicatif::ProgressBar::new(args.builds);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{elapsed_precise} [{bar:40}] {pos}/{len} builds ({per_sec}, {eta} left)",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let (mut built, mut changes_made) = (0_u64, 0_u64);
    while built < args.builds {
        let mut changes: Vec<(NewChange, i64)> = Vec::new();
        let mut sets: Vec<PlannedSet> = Vec::new();
        let mut builds: Vec<Planned> = Vec::new();
        while changes.len() < BATCH && built + (builds.len() as u64) < args.builds {
            let planned = built + builds.len() as u64;
            // Time advances with the builds, so the history spans `span` whatever the mix.
            let t = start + (span as f64 * planned as f64 / args.builds as f64) as i64;
            // Changes and forced builds are interleaved in proportion to what is left of each.
            let changes_left = args.changes - changes_made;
            let forced_left =
                (args.builds - planned).saturating_sub((changes_left as f64 * builds_per_change).round() as u64);
            let is_change = changes_left > 0 && rng.random_range(0..changes_left + forced_left) < changes_left;
            if is_change {
                changes_made += 1;
                let project = projects[rng.random_range(0..projects.len())].clone();
                let change = make_change(&mut rng, changes_made, &project, t);
                let candidates: Vec<usize> = (0..lanes.len()).filter(|&i| lanes[i].project == project).collect();
                let k = (per_change.floor() as usize + usize::from(rng.random_bool(per_change.fract())))
                    .clamp(1, candidates.len().max(1))
                    .min((args.builds - planned) as usize);
                let stamp = stamp_of(&change);
                changes.push((change, t));
                sets.push(PlannedSet {
                    set: NewBuildSet {
                        reason: "The SingleBranchScheduler named 'main' triggered this build".into(),
                        scheduler: "main".into(),
                        owner: None,
                        properties: Default::default(),
                    },
                    stamp,
                    change: Some(changes.len() - 1),
                    submitted_at: t,
                });
                for lane in pick(&mut rng, &candidates, k) {
                    builds.push(plan(&mut lanes[lane], lane, sets.len() - 1, t, &mut rng));
                }
            } else {
                let lane = rng.random_range(0..lanes.len());
                sets.push(PlannedSet {
                    set: NewBuildSet {
                        reason: "The web-page 'force build' button was pressed by 'bench': nightly check".into(),
                        scheduler: "force".into(),
                        owner: Some("bench".into()),
                        properties: Default::default(),
                    },
                    stamp: NewSourceStamp { branch: Some("main".into()), ..Default::default() },
                    change: None,
                    submitted_at: t,
                });
                builds.push(plan(&mut lanes[lane], lane, sets.len() - 1, t, &mut rng));
            }
        }
        write_batch(&db, &lanes, master, &changes, &sets, &builds).await?;
        built += builds.len() as u64;
        bar.set_position(built);
    }
    bar.finish_and_clear();
    db.analyze().await.context("cannot refresh the database's statistics")?;
    // The seeder is not a running master: left active, it would look alive to the tools
    // that refuse to work under a running master.
    let mut conn = db.acquire().await?;
    db::masters::set_inactive(conn.conn(), master, chrono::Utc::now().timestamp()).await?;
    drop(conn);
    db.close().await;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "seeded {built} builds of {wanted} builders and {changes_made} changes in {secs:.0} s ({:.0} builds/s)",
        built as f64 / secs.max(0.001)
    );
    Ok(())
}

/// Registers the builders, their workers and a master for the history; each builder
/// continues after the builds it already has.
async fn register(
    db: &Db,
    cfg: &crate::config::Config,
    wanted: usize,
    rng: &mut StdRng,
) -> Result<(Vec<Lane>, MasterId)> {
    let mut tx = db.begin().await?;
    let master = db::masters::upsert(tx.conn(), "bench-seed", chrono::Utc::now().timestamp()).await?;
    let mut lanes = Vec::with_capacity(wanted);
    for b in cfg.builders.iter().take(wanted) {
        let id = db::builders::upsert(tx.conn(), &b.name, b.description.as_deref(), &b.tags).await?;
        let worker_name = b.workers.first().cloned().unwrap_or_else(|| "local".into());
        let worker = db::workers::upsert(tx.conn(), &worker_name).await?;
        let last = db::builds::list_by_time(tx.conn(), &[id], &Default::default(), 1).await?;
        lanes.push(Lane {
            id,
            name: b.name.clone(),
            project: b
                .tags
                .first()
                .map(|t| t.split('|').next().unwrap_or(t).to_owned())
                .unwrap_or_else(|| "app".into()),
            worker,
            worker_name,
            number: last.first().map_or(0, |b| b.number),
            free_at: last.first().map_or(0, |b| b.finished_at.unwrap_or(b.started_at)),
            failing: false,
            mean_duration: rng.random_range(60..900),
        });
    }
    tx.commit().await.context("cannot register the builders")?;
    Ok((lanes, master))
}

fn make_change(rng: &mut StdRng, n: u64, project: &str, t: i64) -> NewChange {
    let branch = match rng.random_range(0..100) {
        0..70 => "main".to_owned(),
        70..85 => "release/1.x".to_owned(),
        _ => format!("feature/{}", rng.random_range(1..200)),
    };
    let revision = format!("{:016x}{:016x}{:08x}", rng.random::<u64>(), rng.random::<u64>(), n as u32);
    let author = AUTHORS[rng.random_range(0..AUTHORS.len())].to_owned();
    let subject = SUBJECTS[rng.random_range(0..SUBJECTS.len())];
    NewChange {
        author,
        committer: None,
        comments: format!("{subject} (#{})\n\nChange {n} of the seeded history.", rng.random_range(100..9999)),
        revision: Some(revision),
        branch: Some(branch),
        repository: format!("https://git.example.org/{project}.git"),
        project: project.to_owned(),
        codebase: String::new(),
        category: None,
        revlink: None,
        when: Some(t - rng.random_range(0..600)),
        files: (0..rng.random_range(1..4)).map(|i| format!("src/{project}/module_{i}.rs")).collect(),
        properties: BTreeMap::new(),
    }
}

fn stamp_of(c: &NewChange) -> NewSourceStamp {
    NewSourceStamp {
        codebase: c.codebase.clone(),
        repository: c.repository.clone(),
        branch: c.branch.clone(),
        revision: c.revision.clone(),
        project: c.project.clone(),
    }
}

/// `k` distinct items of `from`.
fn pick(rng: &mut StdRng, from: &[usize], k: usize) -> Vec<usize> {
    let mut pool = from.to_vec();
    let mut out = Vec::with_capacity(k);
    while out.len() < k && !pool.is_empty() {
        out.push(pool.swap_remove(rng.random_range(0..pool.len())));
    }
    out
}

/// Schedules a build on a builder at or after `t` (when the builder is free) and decides
/// how it ends: a red builder tends to stay red.
fn plan(lane: &mut Lane, index: usize, set: usize, t: i64, rng: &mut StdRng) -> Planned {
    let started_at = (t + rng.random_range(5..60)).max(lane.free_at);
    let duration = lane.mean_duration * rng.random_range(80..120) / 100;
    let finished_at = started_at + duration;
    lane.free_at = finished_at + rng.random_range(1..30);
    lane.number += 1;
    let results = if lane.failing && rng.random_bool(0.6) {
        Results::Failure
    } else {
        match rng.random_range(0..1000) {
            0..80 => Results::Failure,
            80..140 => Results::Warnings,
            140..155 => Results::Exception,
            155..165 => Results::Cancelled,
            _ => Results::Success,
        }
    };
    lane.failing = results == Results::Failure;
    Planned { lane: index, set, number: lane.number, started_at, finished_at, results }
}

/// The steps a build ran and how each ended: all six, or up to the one that stopped it.
fn steps_of(results: Results, build_number: i64) -> Vec<(&'static str, Results)> {
    let stop = match results {
        Results::Failure if build_number % 10 < 3 => Some((2, Results::Failure)),
        Results::Failure => Some((3, Results::Failure)),
        Results::Exception => Some((3, Results::Exception)),
        Results::Cancelled => Some((3, Results::Cancelled)),
        Results::Warnings => Some((3, Results::Warnings)),
        _ => None,
    };
    STEPS
        .iter()
        .enumerate()
        .take_while(|(i, _)| !matches!(stop, Some((at, r)) if *i > at && r != Results::Warnings))
        .map(|(i, name)| match stop {
            Some((at, r)) if i == at => (*name, r),
            _ => (*name, Results::Success),
        })
        .collect()
}

fn step_text(name: &str, results: Results) -> String {
    match results {
        Results::Success => name.to_owned(),
        Results::Warnings => format!("{name} (warnings)"),
        Results::Failure => format!("{name} failed (exit 1)"),
        r => format!("{name} {}", r.name()),
    }
}

fn build_text(results: Results, last: &str) -> String {
    match results {
        Results::Success => "build successful".into(),
        Results::Warnings => "warnings".into(),
        Results::Failure => format!("failed {last}"),
        Results::Exception => format!("exception {last}"),
        Results::Cancelled => "cancelled".into(),
        r => r.name().into(),
    }
}

/// A small compiler-and-test-like log, compressed as one chunk.
fn log_of(step: &str, results: Results, number: i64) -> Result<(i64, i64, Vec<u8>)> {
    let mut buf = LogBuffer::new();
    buf.push(Channel::Header, &format!("make {step}\n"));
    for i in 0..16 {
        buf.push(Channel::Stdout, &format!("test_module_{i} ... ok ({} ms)\n", (number * 7 + i) % 97));
    }
    match results {
        Results::Failure => buf.push(Channel::Stderr, "FAILED test_network: connection refused\n"),
        Results::Warnings => buf.push(Channel::Stdout, "warning: test_slow took 12 s\n"),
        _ => buf.push(Channel::Stdout, "all tests passed\n"),
    }
    buf.push(Channel::Header, "program finished with exit code 0\n");
    let chunk = buf.take_chunk().context("an empty log")?;
    let lines = chunk.last - chunk.first + 1;
    let raw = chunk.raw.len() as i64;
    Ok((lines, raw, zstd::bulk::compress(&chunk.raw, 3)?))
}

/// Writes one batch (its changes, buildsets, requests, builds, steps and logs) in one
/// transaction.
async fn write_batch(
    db: &Db,
    lanes: &[Lane],
    master: MasterId,
    changes: &[(NewChange, i64)],
    sets: &[PlannedSet],
    builds: &[Planned],
) -> Result<()> {
    let mut tx = db.begin().await?;
    let change_ids = db::changes::insert_many(tx.conn(), changes).await?;
    let links: Vec<Vec<ChangeId>> =
        sets.iter().map(|s| s.change.map(|i| vec![change_ids[i]]).unwrap_or_default()).collect();
    let ends: Vec<(i64, Results)> = sets
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let mine = builds.iter().filter(|b| b.set == i);
            let end = mine.clone().map(|b| b.finished_at).max().unwrap_or(s.submitted_at);
            (end, mine.map(|b| b.results).fold(Results::Success, Results::worst))
        })
        .collect();
    let past_sets: Vec<PastBuildSet<'_>> = sets
        .iter()
        .zip(&links)
        .zip(&ends)
        .map(|((s, changes), (end, results))| PastBuildSet {
            set: &s.set,
            stamp: &s.stamp,
            changes,
            submitted_at: s.submitted_at,
            complete_at: *end,
            results: *results,
        })
        .collect();
    let set_ids: Vec<BuildSetId> = db::buildsets::insert_many(tx.conn(), &past_sets).await?;
    let requests: Vec<PastRequest> = builds
        .iter()
        .map(|b| PastRequest {
            buildset: set_ids[b.set],
            builder: lanes[b.lane].id,
            master,
            submitted_at: sets[b.set].submitted_at,
            complete_at: b.finished_at,
            results: b.results,
        })
        .collect();
    let request_ids = db::buildrequests::insert_many(tx.conn(), &requests).await?;

    let properties: Vec<BTreeMap<String, serde_json::Value>> = builds
        .iter()
        .map(|b| {
            let lane = &lanes[b.lane];
            let stamp = &sets[b.set].stamp;
            BTreeMap::from([
                ("buildername".to_owned(), lane.name.clone().into()),
                ("buildnumber".to_owned(), b.number.into()),
                ("workername".to_owned(), lane.worker_name.clone().into()),
                ("branch".to_owned(), stamp.branch.clone().into()),
                ("revision".to_owned(), stamp.revision.clone().into()),
                ("scheduler".to_owned(), sets[b.set].set.scheduler.clone().into()),
            ])
        })
        .collect();
    let steps: Vec<Vec<(&str, Results)>> = builds.iter().map(|b| steps_of(b.results, b.number)).collect();
    let texts: Vec<String> =
        builds.iter().zip(&steps).map(|(b, s)| build_text(b.results, s.last().map_or("", |x| x.0))).collect();
    let past: Vec<PastBuild<'_>> = builds
        .iter()
        .enumerate()
        .map(|(i, b)| PastBuild {
            new: NewBuild {
                builder_id: lanes[b.lane].id,
                buildrequest_id: request_ids[i],
                worker_id: lanes[b.lane].worker,
                master_id: master,
                reason: &sets[b.set].set.reason,
                properties: &properties[i],
                source: &sets[b.set].stamp,
            },
            number: b.number,
            started_at: b.started_at,
            finished_at: b.finished_at,
            results: b.results,
            state_text: &texts[i],
        })
        .collect();
    let build_ids = db::builds::insert_many(tx.conn(), &past).await?;

    let mut past_steps = Vec::new();
    for ((b, id), steps) in builds.iter().zip(&build_ids).zip(&steps) {
        let slice = (b.finished_at - b.started_at) / steps.len().max(1) as i64;
        for (i, (name, results)) in steps.iter().enumerate() {
            let begin = b.started_at + slice * i as i64;
            past_steps.push(PastStep {
                build: *id,
                number: i as i64 + 1,
                name,
                state_text: step_text(name, *results),
                results: *results,
                started_at: begin,
                finished_at: begin + slice,
            });
        }
    }
    let step_ids = db::steps::insert_many(tx.conn(), &past_steps).await?;
    // One log per build, on its last step.
    let mut logs = Vec::with_capacity(builds.len());
    let mut first = 0;
    for (b, steps) in builds.iter().zip(&steps) {
        let last = steps.len() - 1;
        let (lines, raw, chunk) = log_of(steps[last].0, steps[last].1, b.number)?;
        logs.push(PastLog {
            step: step_ids[first + last],
            name: "stdio",
            slug: "stdio",
            num_lines: lines,
            raw_bytes: raw,
            chunk,
        });
        first += steps.len();
    }
    db::logs::insert_many(tx.conn(), &logs).await?;
    tx.commit().await.context("cannot store a batch")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_builds_stop_at_the_failing_step_and_warnings_run_on() {
        let names = steps_of;
        assert_eq!(names(Results::Success, 1).len(), 6);
        let failed = names(Results::Failure, 5);
        assert_eq!(failed.last(), Some(&("test", Results::Failure)));
        assert_eq!(failed.len(), 4);
        assert_eq!(names(Results::Failure, 1).last(), Some(&("compile", Results::Failure)));
        let warned = names(Results::Warnings, 1);
        assert_eq!(warned.len(), 6);
        assert_eq!(warned[3], ("test", Results::Warnings));
    }

    #[test]
    fn a_builder_runs_one_build_at_a_time_in_number_order() {
        let mut rng = StdRng::seed_from_u64(3);
        let mut lane = Lane {
            id: BuilderId(1),
            name: "b".into(),
            project: "app".into(),
            worker: WorkerId(1),
            worker_name: "w".into(),
            number: 0,
            free_at: 0,
            failing: false,
            mean_duration: 600,
        };
        let mut last_end = 0;
        for i in 0..200 {
            let b = plan(&mut lane, 0, 0, i * 10, &mut rng);
            assert!(b.started_at >= last_end, "overlapping builds");
            assert_eq!(b.number, i + 1);
            last_end = b.finished_at;
        }
    }
}
