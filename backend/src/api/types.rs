//! The JSON objects the API returns, mapped from the domain types.

use chrono::{DateTime, TimeZone, Utc};
use poem_openapi::{Enum, Object};

use crate::engine::views::{BuildWithSteps, BuilderOverview, BuilderState};
use crate::model;

/// Epoch seconds as an RFC 3339 UTC time.
pub fn time(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(secs, 0).single().unwrap_or_default()
}

/// A step's or build's outcome.
#[derive(Clone, Copy, Debug, Enum, PartialEq, Eq)]
#[oai(rename_all = "lowercase")]
pub enum Results {
    /// Passed.
    Success,
    /// Passed with warnings.
    Warnings,
    /// Failed.
    Failure,
    /// Not run.
    Skipped,
    /// The master or worker failed.
    Exception,
    /// Interrupted; runs again.
    Retry,
    /// Stopped by a user.
    Cancelled,
}

impl From<model::Results> for Results {
    fn from(r: model::Results) -> Self {
        match r {
            model::Results::Success => Results::Success,
            model::Results::Warnings => Results::Warnings,
            model::Results::Failure => Results::Failure,
            model::Results::Skipped => Results::Skipped,
            model::Results::Exception => Results::Exception,
            model::Results::Retry => Results::Retry,
            model::Results::Cancelled => Results::Cancelled,
        }
    }
}

impl From<Results> for model::Results {
    fn from(r: Results) -> Self {
        match r {
            Results::Success => model::Results::Success,
            Results::Warnings => model::Results::Warnings,
            Results::Failure => model::Results::Failure,
            Results::Skipped => model::Results::Skipped,
            Results::Exception => model::Results::Exception,
            Results::Retry => model::Results::Retry,
            Results::Cancelled => model::Results::Cancelled,
        }
    }
}

/// One run of a builder.
#[derive(Clone, Debug, Object)]
pub struct Build {
    /// Global id.
    pub id: i64,
    /// Builder name.
    pub builder: String,
    /// Number within the builder, from 1.
    pub number: i64,
    /// The build request it runs (a retried request runs again as a new build).
    pub buildrequest_id: i64,
    /// The worker it runs on.
    pub worker: Option<String>,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// When it finished; absent while running.
    pub finished_at: Option<DateTime<Utc>>,
    /// Whether it has finished.
    pub complete: bool,
    /// Absent while running.
    pub results: Option<Results>,
    /// Human-readable state.
    pub state_text: String,
    /// Why it ran.
    pub reason: String,
    /// Branch built.
    pub branch: Option<String>,
    /// Revision built.
    pub revision: Option<String>,
    /// Build properties.
    pub properties: serde_json::Value,
}

impl From<model::Build> for Build {
    fn from(b: model::Build) -> Self {
        Build {
            id: b.id.0,
            builder: b.builder,
            number: b.number,
            buildrequest_id: b.buildrequest_id.0,
            worker: b.worker,
            started_at: time(b.started_at),
            finished_at: b.finished_at.map(time),
            complete: b.finished_at.is_some(),
            results: b.results.map(Results::from),
            state_text: b.state_text,
            reason: b.reason,
            branch: b.branch,
            revision: b.revision,
            properties: serde_json::to_value(&b.properties).unwrap_or_default(),
        }
    }
}

/// A log's metadata.
#[derive(Clone, Debug, Object)]
pub struct LogInfo {
    /// Display name.
    pub name: String,
    /// URL name.
    pub slug: String,
    /// Lines stored so far.
    pub num_lines: i64,
    /// Whether it is finished.
    pub complete: bool,
}

impl From<model::LogInfo> for LogInfo {
    fn from(l: model::LogInfo) -> Self {
        LogInfo { name: l.name, slug: l.slug, num_lines: l.num_lines, complete: l.complete }
    }
}

/// One step of a build.
#[derive(Clone, Debug, Object)]
pub struct Step {
    /// Position, from 1.
    pub number: i64,
    /// Name.
    pub name: String,
    /// Human-readable state.
    pub state_text: String,
    /// Absent while running.
    pub results: Option<Results>,
    /// When it started.
    pub started_at: Option<DateTime<Utc>>,
    /// When it finished.
    pub finished_at: Option<DateTime<Utc>>,
    /// Whether it has finished.
    pub complete: bool,
    /// Its logs.
    pub logs: Vec<LogInfo>,
}

impl From<model::Step> for Step {
    fn from(s: model::Step) -> Self {
        Step {
            number: s.number,
            name: s.name,
            state_text: s.state_text,
            results: s.results.map(Results::from),
            started_at: s.started_at.map(time),
            finished_at: s.finished_at.map(time),
            complete: s.finished_at.is_some(),
            logs: s.logs.into_iter().map(LogInfo::from).collect(),
        }
    }
}

/// A build with its steps.
#[derive(Clone, Debug, Object)]
pub struct BuildDetail {
    /// The build.
    #[oai(flatten)]
    pub build: Build,
    /// Its steps in order.
    pub steps: Vec<Step>,
    /// The changes it builds (its blamelist); present when one build is asked for.
    pub changes: Option<Vec<Change>>,
}

impl From<BuildWithSteps> for BuildDetail {
    fn from(b: BuildWithSteps) -> Self {
        BuildDetail {
            build: b.build.into(),
            steps: b.steps.into_iter().map(Step::from).collect(),
            changes: b.changes.map(|c| c.into_iter().map(Change::from).collect()),
        }
    }
}

/// What a builder is doing.
#[derive(Clone, Copy, Debug, Enum)]
#[oai(rename_all = "lowercase")]
pub enum BuilderStateName {
    /// Waiting for work.
    Idle,
    /// Running builds.
    Building,
    /// No worker connected.
    Offline,
}

/// A builder.
#[derive(Clone, Debug, Object)]
pub struct Builder {
    /// Name.
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// Tags.
    pub tags: Vec<String>,
    /// Workers it may run on.
    pub workers: Vec<String>,
    /// Current state.
    pub state: BuilderStateName,
    /// Requests waiting for a worker.
    pub pending: i64,
    /// Builds running now.
    pub running: i64,
    /// Whether it can be forced.
    pub can_force: bool,
    /// Its last finished build.
    pub last_build: Option<Build>,
}

impl From<BuilderOverview> for Builder {
    fn from(b: BuilderOverview) -> Self {
        Builder {
            name: b.name,
            description: b.description,
            tags: b.tags,
            workers: b.workers,
            state: match b.state {
                BuilderState::Idle => BuilderStateName::Idle,
                BuilderState::Building => BuilderStateName::Building,
                BuilderState::Offline => BuilderStateName::Offline,
            },
            pending: b.pending,
            running: b.running,
            can_force: b.can_force,
            last_build: b.last_build.map(Build::from),
        }
    }
}

/// A change.
#[derive(Clone, Debug, Object)]
pub struct Change {
    /// Id.
    pub id: i64,
    /// Author.
    pub author: String,
    /// Committer.
    pub committer: Option<String>,
    /// Commit message.
    pub comments: String,
    /// Revision.
    pub revision: Option<String>,
    /// Branch.
    pub branch: Option<String>,
    /// Repository.
    pub repository: String,
    /// Project.
    pub project: String,
    /// Codebase.
    pub codebase: String,
    /// Category.
    pub category: Option<String>,
    /// Link to the revision.
    pub revlink: Option<String>,
    /// Commit time.
    pub when: DateTime<Utc>,
    /// Files touched.
    pub files: Vec<String>,
    /// Properties.
    pub properties: serde_json::Value,
}

impl From<model::Change> for Change {
    fn from(c: model::Change) -> Self {
        let f = c.fields;
        Change {
            id: c.id.0,
            author: f.author,
            committer: f.committer,
            comments: f.comments,
            revision: f.revision,
            branch: f.branch,
            repository: f.repository,
            project: f.project,
            codebase: f.codebase,
            category: f.category,
            revlink: f.revlink,
            when: time(f.when.unwrap_or(c.created_at)),
            files: f.files,
            properties: serde_json::to_value(&f.properties).unwrap_or_default(),
        }
    }
}
