//! Runs one build: its steps in order on the chosen worker, their output into logs, their
//! results into the build's, and every transition onto the bus.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use regex::Regex;
use tokio_util::sync::CancellationToken;

use super::actions::RunningBuild;
use super::build_end::BuildEnd;
use super::bus::Event;
use super::logs::{self, LogBuffer};
use super::properties;
use super::workers::StepEvent;
use super::{Engine, EngineError};
use crate::config::{BuilderConfig, Command, GitMode, StepConfig, StepKind};
use crate::db;
use crate::model::{Build, Channel, LogInfo, Results, Step};
use crate::worker::protocol::{RunStep, StepError, Stream};

/// How often buffered output is stored while a step runs.
const FLUSH_EVERY: Duration = Duration::from_millis(200);

/// A step's end, recorded with what the build records next (the next step's start, or the
/// build's end) so that each step costs one transaction, not two.
pub(super) struct StepEnd {
    step: Step,
    log: LogInfo,
    results: Results,
    text: String,
    /// The log's last lines, not yet stored.
    last: Option<logs::CompressedChunk>,
    finished_at: i64,
}

impl StepEnd {
    /// Stores the step's end, unless it is stored already: a transaction that carried it
    /// may have been committed by a server that went away before answering.
    pub(super) async fn record(&self, mut conn: db::Conn<'_>) -> Result<(), EngineError> {
        if !db::steps::finish(conn.reborrow(), self.step.id, self.results, &self.text, self.finished_at).await? {
            return Ok(());
        }
        if let Some(chunk) = &self.last {
            logs::append(conn.reborrow(), self.log.id, chunk).await?;
        }
        db::logs::finish(conn, self.log.id).await?;
        Ok(())
    }
}

/// What `buffer` still holds, compressed, to be stored with the step's end.
async fn last_lines(buffer: &mut LogBuffer) -> Result<Option<logs::CompressedChunk>, EngineError> {
    Ok(match buffer.take_chunk() {
        Some(chunk) => Some(logs::compress(chunk).await?),
        None => None,
    })
}

/// The step's results from how its command ended and whether warning lines were seen.
pub fn step_results(exit_code: Option<i32>, error: Option<&StepError>, warnings: usize) -> Results {
    match (error, exit_code) {
        (Some(StepError::Interrupted(_)), _) => Results::Cancelled,
        (Some(_), _) => Results::Failure,
        (None, Some(0)) if warnings > 0 => Results::Warnings,
        (None, Some(0)) => Results::Success,
        (None, _) => Results::Failure,
    }
}

/// What a step's results do to the build's results, following the step's
/// `flunk_on_failure`, `warn_on_failure` and `halt_on_failure` flags.
pub fn apply_step(build: Results, step: Results, cfg: &StepConfig) -> (Results, bool) {
    match step {
        Results::Failure => {
            let effect = if cfg.flunk_on_failure {
                Results::Failure
            } else if cfg.warn_on_failure {
                Results::Warnings
            } else {
                Results::Success
            };
            (build.worst(effect), cfg.halt_on_failure)
        }
        Results::Exception | Results::Retry | Results::Cancelled => (build.worst(step), true),
        other => (build.worst(other), false),
    }
}

/// The build's state text once finished.
pub fn build_state_text(results: Results, last_step: Option<&str>) -> String {
    match (results, last_step) {
        (Results::Success, _) => "build successful".into(),
        (Results::Warnings, _) => "warnings".into(),
        (Results::Failure, Some(step)) => format!("failed {step}"),
        (Results::Exception, Some(step)) => format!("exception {step}"),
        (Results::Retry, _) => "retry: worker lost".into(),
        (Results::Cancelled, _) => "cancelled".into(),
        (r, _) => r.name().into(),
    }
}

fn step_state_text(name: &str, results: Results, exit_code: Option<i32>, error: Option<&StepError>) -> String {
    match (results, error) {
        (Results::Success, _) => name.to_owned(),
        (Results::Warnings, _) => format!("{name} (warnings)"),
        (_, Some(StepError::Timeout(_))) => format!("{name} timed out"),
        (_, Some(StepError::Spawn(_))) => format!("{name} could not start"),
        (Results::Failure, None) => match exit_code {
            Some(code) => format!("{name} failed (exit {code})"),
            None => format!("{name} failed (killed)"),
        },
        (r, _) => format!("{name} {}", r.name()),
    }
}

/// The command line a step runs.
fn argv(step: &StepConfig, build: &Build) -> Vec<String> {
    match &step.kind {
        StepKind::Shell(Command::Argv(argv)) => argv.clone(),
        StepKind::Shell(Command::Shell(script)) => vec!["/bin/sh".into(), "-c".into(), script.clone()],
        StepKind::Git(git) => {
            let mode = match git.mode {
                GitMode::Full => "full",
                GitMode::Incremental => "incremental",
            };
            let branch = build.branch.clone().or_else(|| git.branch.clone()).unwrap_or_default();
            vec![
                "/bin/sh".into(),
                "-c".into(),
                GIT_SCRIPT.into(),
                "cascade-git".into(),
                git.repo_url.clone(),
                branch,
                build.revision.clone().unwrap_or_default(),
                mode.into(),
            ]
        }
    }
}

/// A step's command line, environment and working directory, ready to send.
type Prepared = (Vec<String>, BTreeMap<String, String>, String);

/// The command, environment and working directory of a step, with `{{ prop.NAME }}`
/// templates rendered from the build's properties.
fn prepare(cfg: &StepConfig, build: &Build) -> Result<Prepared, String> {
    let props = &build.properties;
    let argv = argv(cfg, build).iter().map(|a| properties::render(a, props)).collect::<Result<Vec<_>, _>>()?;
    let mut env = BTreeMap::new();
    for (k, v) in &cfg.env {
        env.insert(k.clone(), properties::render(v, props)?);
    }
    env.insert("CASCADE_BUILDER".into(), build.builder.clone());
    env.insert("CASCADE_BUILD_NUMBER".into(), build.number.to_string());
    if let Some(branch) = &build.branch {
        env.insert("CASCADE_BRANCH".into(), branch.clone());
    }
    if let Some(revision) = &build.revision {
        env.insert("CASCADE_REVISION".into(), revision.clone());
    }
    let workdir = properties::render(cfg.workdir.as_deref().unwrap_or("build"), props)?;
    let path = std::path::Path::new(&workdir);
    if path.is_absolute() || path.components().any(|c| matches!(c, std::path::Component::ParentDir)) {
        return Err(format!("workdir `{workdir}` must stay inside the build directory"));
    }
    Ok((argv, env, format!("{}/{workdir}", build.builder)))
}

/// Clone or fetch, then check out the revision, the branch head or the default head.
const GIT_SCRIPT: &str = r#"set -e
repo="$1"; branch="$2"; rev="$3"; mode="$4"
if [ "$mode" = full ]; then find . -mindepth 1 -maxdepth 1 -exec rm -rf {} +; fi
if [ -d .git ]; then git fetch --tags origin; else git clone "$repo" .; fi
if [ -n "$rev" ]; then git checkout -f "$rev"
elif [ -n "$branch" ]; then git checkout -f -B "$branch" "origin/$branch"
else git checkout -f "$(git rev-parse origin/HEAD)"; fi
git log -1 --format='checked out %H %s'"#;

impl Engine {
    /// Registers a build that has just started as running here. Done before its task is
    /// spawned, so that [`Engine::release_orphans`] never takes it for one nobody runs.
    pub(super) fn register_running(&self, build: &Build) -> Arc<RunningBuild> {
        let running = Arc::new(RunningBuild {
            builder: build.builder.clone(),
            number: build.number,
            request: build.buildrequest_id,
            stop: CancellationToken::new(),
            stopped_by: Mutex::new(None),
            step_token: AtomicU64::new(0),
        });
        self.running.insert(build.id, running.clone());
        running
    }

    /// Drives a started build, registered by [`Engine::register_running`], to its end and
    /// releases its worker slot.
    pub(super) async fn run_build(self: Arc<Self>, build: Build, worker: String, running: Arc<RunningBuild>) {
        // The end of the last step that ran, until it is recorded; whatever stops the build,
        // it is recorded with the build's end.
        let mut step_end = None;
        let steps = match self.config().builder(&build.builder).cloned() {
            Some(builder) => self.run_steps(&build, &builder, &worker, &running, &mut step_end).await,
            // A reconfiguration removed the builder between the claim and now.
            None => Err(EngineError::NotFound(format!("builder {} is no longer configured", build.builder))),
        };
        let (results, last_step, why) = match steps {
            Ok((results, last_step)) => (results, last_step, None),
            // The build could not be recorded, through no fault of its own: it runs again.
            Err(e) if e.is_transient() => {
                tracing::error!(error = ?e, build = build.id.0, "the database failed during a build; it will run again");
                (Results::Retry, None, Some("retry: the database failed"))
            }
            Err(e) => {
                tracing::error!(error = ?e, build = build.id.0, "build failed inside the master");
                (Results::Exception, None, Some("exception inside the master"))
            }
        };
        let stopped_by = running.stopped_by.lock().ok().and_then(|s| s.clone());
        let end = BuildEnd { results, last_step, why, stopped_by, step_end };
        let recorded = self.record_end(&build, end).await;
        self.running.remove(build.id);
        if !recorded {
            // Still running in the database, and nowhere else: the dispatcher ends it.
            self.orphaned.store(true, Ordering::SeqCst);
        }
        if let Some(goodbye) = self.workers.release(&worker) {
            tracing::info!(worker, "worker finished its last build before shutting down");
            let _ = goodbye.send(crate::worker::protocol::MasterMsg::Shutdown).await;
        }
        self.wake();
    }

    /// Runs the steps; the last one's end is left in `step_end`, to be recorded with the
    /// build's.
    async fn run_steps(
        &self,
        build: &Build,
        builder: &BuilderConfig,
        worker: &str,
        running: &RunningBuild,
        step_end: &mut Option<StepEnd>,
    ) -> Result<(Results, Option<String>), EngineError> {
        let mut results = Results::Success;
        let mut last = None;
        for (i, cfg) in builder.steps.iter().enumerate() {
            if running.stop.is_cancelled() {
                results = results.worst(Results::Cancelled);
                break;
            }
            let step_results = self.run_step(build, i as i64 + 1, cfg, worker, running, step_end).await?;
            let (combined, halt) = apply_step(results, step_results, cfg);
            if combined != results || step_results != Results::Success {
                last = Some(cfg.name.clone());
            }
            results = combined;
            if halt {
                break;
            }
        }
        Ok((results, last))
    }

    /// Runs one step and leaves its end, still to be recorded, in `step_end`. Its start is
    /// recorded with the end of the step before it, found there: one transaction between two
    /// steps.
    async fn run_step(
        &self,
        build: &Build,
        number: i64,
        cfg: &StepConfig,
        worker: &str,
        running: &RunningBuild,
        step_end: &mut Option<StepEnd>,
    ) -> Result<Results, EngineError> {
        let now = self.clock.now();
        let (step_id, log_id) = {
            let mut tx = self.db.begin().await?;
            if let Some(previous) = step_end {
                previous.record(tx.conn()).await?;
            }
            let step_id = db::steps::insert(tx.conn(), build.id, number, &cfg.name, now).await?;
            let log_id = db::logs::insert(tx.conn(), step_id, "stdio", "stdio").await?;
            tx.commit().await?;
            (step_id, log_id)
        };
        if let Some(previous) = step_end.take() {
            self.publish_step_end(build, previous);
        }
        // The step and its log as stored, kept up to date here so that neither is read back.
        let mut log =
            LogInfo { id: log_id, step_id, name: "stdio".into(), slug: "stdio".into(), num_lines: 0, complete: false };
        let step = Step {
            id: step_id,
            build_id: build.id,
            number,
            name: cfg.name.clone(),
            state_text: "running".into(),
            results: None,
            started_at: Some(now),
            finished_at: None,
            logs: Vec::new(),
        };
        self.publish_step(build, &step, &log);

        let (argv, env, workdir) = match prepare(cfg, build) {
            Ok(prepared) => prepared,
            Err(message) => {
                // The message is the log's only lines, stored with the step's end.
                let mut buffer = LogBuffer::new();
                buffer.push(Channel::Header, &format!("{message}\n"));
                let last = last_lines(&mut buffer).await?;
                let text = format!("{} could not start", step.name);
                let finished_at = self.clock.now();
                *step_end = Some(StepEnd { step, log, results: Results::Exception, text, last, finished_at });
                return Ok(Results::Exception);
            }
        };
        let mut buffer = LogBuffer::new();
        buffer.push(Channel::Header, &format!("argv: {argv:?}\nworkdir: {workdir}\n"));
        for (k, v) in cfg.env.keys().filter_map(|k| env.get(k).map(|v| (k, v))) {
            buffer.push(Channel::Header, &format!(" {k}={v}\n"));
        }
        let warn_on = cfg.warn_on.as_deref().and_then(|p| Regex::new(p).ok());
        let started = Instant::now();
        let run = RunStep { step: 0, argv, env, workdir, timeout: cfg.timeout };
        let (token, mut rx) = self.workers.start_step(worker, run).await;
        running.step_token.store(token, Ordering::SeqCst);
        let mut interrupted = false;
        let mut warnings = 0usize;
        let mut partial = String::new();
        let mut flush = tokio::time::interval(FLUSH_EVERY);
        let (exit_code, error, lost) = loop {
            tokio::select! {
                event = rx.recv() => match Some(event) {
                    Some(StepEvent::Output(stream, data)) => {
                        let channel = match stream {
                            Stream::Stdout => Channel::Stdout,
                            Stream::Stderr => Channel::Stderr,
                            Stream::Header => Channel::Header,
                        };
                        if let Some(re) = &warn_on {
                            warnings += count_matches(re, &mut partial, &data);
                        }
                        buffer.push(channel, &data);
                        if buffer.is_full() {
                            self.flush_log(build, number, &mut log, &mut buffer).await?;
                        }
                    }
                    Some(StepEvent::Finished { exit_code, error }) => break (exit_code, error, false),
                    Some(StepEvent::Lost) | None => break (None, None, true),
                },
                _ = flush.tick() => self.flush_log(build, number, &mut log, &mut buffer).await?,
                _ = running.stop.cancelled(), if !interrupted => {
                    interrupted = true;
                    self.workers.interrupt(token).await;
                }
            }
        };
        if let Some(re) = &warn_on
            && re.is_match(&partial)
        {
            warnings += 1;
        }
        let results = if lost { Results::Retry } else { step_results(exit_code, error.as_ref(), warnings) };
        let mut tail = String::new();
        match (&error, exit_code, lost) {
            (_, _, true) => tail.push_str("\nworker lost while the step ran\n"),
            (Some(StepError::Timeout(m) | StepError::Interrupted(m) | StepError::Spawn(m)), _, _) => {
                tail = format!("\n{m}\n")
            }
            (None, Some(code), _) => tail = format!("\nprogram finished with exit code {code}\n"),
            (None, None, _) => tail.push_str("\nprogram was killed by a signal\n"),
        }
        buffer.close();
        buffer.push(Channel::Header, &format!("{tail}elapsedTime={:.6}\n", started.elapsed().as_secs_f64()));
        buffer.close();
        // The log's last lines are stored with the step's end.
        let last = last_lines(&mut buffer).await?;
        let text = step_state_text(&cfg.name, results, exit_code, error.as_ref());
        *step_end = Some(StepEnd { step, log, results, text, last, finished_at: self.clock.now() });
        Ok(results)
    }

    /// Publishes a step's end once it is recorded: its log's last lines, then the step.
    pub(super) fn publish_step_end(&self, build: &Build, end: StepEnd) {
        let StepEnd { mut step, mut log, results, text, last, finished_at } = end;
        if let Some(chunk) = last {
            log.num_lines = chunk.last() + 1;
            self.publish_log(build, step.number, &log);
        }
        log.complete = true;
        step.state_text = text;
        step.results = Some(results);
        step.finished_at = Some(finished_at);
        self.publish_step(build, &step, &log);
    }

    async fn flush_log(
        &self,
        build: &Build,
        step_number: i64,
        log: &mut LogInfo,
        buffer: &mut LogBuffer,
    ) -> Result<(), EngineError> {
        let Some(chunk) = buffer.take_chunk() else { return Ok(()) };
        let lines = chunk.last + 1;
        logs::store_chunk(&self.db, log.id, chunk).await?;
        log.num_lines = lines;
        self.publish_log(build, step_number, log);
        Ok(())
    }

    fn publish_log(&self, build: &Build, step_number: i64, log: &LogInfo) {
        self.bus.publish(Event::LogAppended {
            builder: build.builder.clone(),
            build_number: build.number,
            step_number,
            log: log.clone(),
        });
    }

    /// Publishes a step's start, or its end once it has results, with its log as stored.
    fn publish_step(&self, build: &Build, step: &Step, log: &LogInfo) {
        let (build, step) = (build.clone(), Step { logs: vec![log.clone()], ..step.clone() });
        self.bus.publish(if step.results.is_none() {
            Event::StepStarted { build, step }
        } else {
            Event::StepFinished { build, step }
        });
    }
}

/// Counts complete lines of `data` (continuing `partial`) that match `re`.
fn count_matches(re: &Regex, partial: &mut String, data: &str) -> usize {
    partial.push_str(data);
    let Some(end) = partial.rfind('\n') else { return 0 };
    let n = partial[..end].lines().filter(|l| re.is_match(l)).count();
    partial.drain(..=end);
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(halt: bool, flunk: bool, warn: bool) -> StepConfig {
        StepConfig {
            name: "s".into(),
            kind: StepKind::Shell(Command::Shell("true".into())),
            env: BTreeMap::new(),
            workdir: None,
            timeout: None,
            halt_on_failure: halt,
            flunk_on_failure: flunk,
            warn_on_failure: warn,
            warn_on: None,
        }
    }

    #[test]
    fn exit_codes_map_to_results() {
        assert_eq!(step_results(Some(0), None, 0), Results::Success);
        assert_eq!(step_results(Some(0), None, 2), Results::Warnings);
        assert_eq!(step_results(Some(1), None, 0), Results::Failure);
        assert_eq!(step_results(None, None, 0), Results::Failure);
        assert_eq!(step_results(None, Some(&StepError::Timeout("t".into())), 0), Results::Failure);
        assert_eq!(step_results(None, Some(&StepError::Interrupted("i".into())), 0), Results::Cancelled);
    }

    #[test]
    fn a_failing_step_halts_and_fails_by_default() {
        assert_eq!(apply_step(Results::Success, Results::Failure, &cfg(true, true, false)), (Results::Failure, true));
    }

    #[test]
    fn flags_soften_a_failure() {
        assert_eq!(
            apply_step(Results::Success, Results::Failure, &cfg(false, false, true)),
            (Results::Warnings, false)
        );
        assert_eq!(
            apply_step(Results::Success, Results::Failure, &cfg(false, false, false)),
            (Results::Success, false)
        );
        assert_eq!(
            apply_step(Results::Warnings, Results::Success, &cfg(true, true, false)),
            (Results::Warnings, false)
        );
    }

    #[test]
    fn a_lost_worker_makes_the_build_retry() {
        assert_eq!(apply_step(Results::Success, Results::Retry, &cfg(true, true, false)), (Results::Retry, true));
        assert_eq!(build_state_text(Results::Retry, None), "retry: worker lost");
        assert_eq!(build_state_text(Results::Failure, Some("test")), "failed test");
    }

    #[test]
    fn warn_on_counts_whole_lines_across_pieces() {
        let re = Regex::new("^warning:").unwrap();
        let mut partial = String::new();
        assert_eq!(count_matches(&re, &mut partial, "ok\nwarn"), 0);
        assert_eq!(count_matches(&re, &mut partial, "ing: x\nwarning: y\n"), 2);
        assert!(partial.is_empty());
    }
}
