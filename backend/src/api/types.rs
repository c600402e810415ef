//! The JSON objects the API returns, mapped from the domain types.

use chrono::{DateTime, TimeZone, Utc};
use poem_openapi::{Enum, Object};

use crate::engine::links::Links;
use crate::engine::views::{BuildPage as BuildPageData, BuildWithSteps, BuilderOverview, BuilderState};
use crate::model;

/// Epoch seconds as an RFC 3339 UTC time.
pub fn time(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(secs, 0).single().unwrap_or_default()
}

/// A step's or build's outcome.
#[derive(Clone, Copy, Debug, Enum, PartialEq, Eq, serde::Serialize)]
#[oai(rename_all = "lowercase")]
#[serde(rename_all = "lowercase")]
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
#[derive(Clone, Debug, Object, serde::Serialize)]
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
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub worker: Option<String>,
    /// When it started.
    #[serde(serialize_with = "crate::api::json::rfc3339")]
    pub started_at: DateTime<Utc>,
    /// When it finished; absent while running.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    #[serde(serialize_with = "crate::api::json::rfc3339_opt")]
    pub finished_at: Option<DateTime<Utc>>,
    /// Whether it has finished.
    pub complete: bool,
    /// Absent while running.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub results: Option<Results>,
    /// Human-readable state.
    pub state_text: String,
    /// Why it ran.
    pub reason: String,
    /// Branch built.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    /// Revision built.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    /// Codebase built.
    pub codebase: String,
    /// Project built.
    pub project: String,
    /// Repository built.
    pub repository: String,
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
            codebase: b.codebase,
            project: b.project,
            repository: b.repository,
            properties: serde_json::to_value(&b.properties).unwrap_or_default(),
        }
    }
}

/// A log's metadata.
#[derive(Clone, Debug, Object, serde::Serialize)]
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
#[derive(Clone, Debug, Object, serde::Serialize)]
pub struct Step {
    /// Position, from 1.
    pub number: i64,
    /// Name.
    pub name: String,
    /// Human-readable state.
    pub state_text: String,
    /// Absent while running.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub results: Option<Results>,
    /// When it started.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    #[serde(serialize_with = "crate::api::json::rfc3339_opt")]
    pub started_at: Option<DateTime<Utc>>,
    /// When it finished.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    #[serde(serialize_with = "crate::api::json::rfc3339_opt")]
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
#[derive(Clone, Debug, Object, serde::Serialize)]
pub struct BuildDetail {
    /// The build.
    #[oai(flatten)]
    #[serde(flatten)]
    pub build: Build,
    /// Its steps in order.
    pub steps: Vec<Step>,
    /// The changes it builds (its blamelist); present when one build is asked for.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub changes: Option<Vec<Change>>,
}

impl BuildDetail {
    /// The API's copy of a build with its steps (and changes, linked by `links`).
    pub fn new(b: BuildWithSteps, links: &Links) -> Self {
        BuildDetail {
            build: b.build.into(),
            steps: b.steps.into_iter().map(Step::from).collect(),
            changes: b.changes.map(|c| c.into_iter().map(|c| Change::new(c, links)).collect()),
        }
    }
}

/// One source stamp of a build: what it checked out.
#[derive(Clone, Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct SourceStamp {
    /// Codebase name (empty for the default).
    pub codebase: String,
    /// Repository URL.
    pub repository: String,
    /// The repository's configured link.
    pub repository_url: Option<String>,
    /// Branch; absent for the default.
    pub branch: Option<String>,
    /// Revision; absent for the branch head.
    pub revision: Option<String>,
    /// Link to the revision, from `[web] revlink`.
    pub revlink: Option<String>,
    /// Project.
    pub project: String,
    /// The project's configured link.
    pub project_url: Option<String>,
}

/// One build as its page shows it.
#[derive(Clone, Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct BuildPage {
    /// The build with its steps and changes.
    #[oai(flatten)]
    pub detail: BuildDetail,
    /// Who asked for it (a force or a rebuild).
    pub owner: Option<String>,
    /// Where each property came from ("Builder", "Scheduler", "Change", "Force Build Form",
    /// "Rebuild", "Build", "Worker"); properties of builds stored before sources were kept
    /// have none.
    pub property_sources: std::collections::BTreeMap<String, String>,
    /// Every source stamp it builds, one per codebase.
    pub sourcestamps: Vec<SourceStamp>,
}

impl BuildPage {
    /// The API's copy of a build's page, linked by `links`.
    pub fn new(p: BuildPageData, links: &Links) -> Self {
        let sourcestamps = p
            .sources
            .into_iter()
            .map(|s| SourceStamp {
                repository_url: links.repository(&s.repository),
                revlink: links.revision(&s.repository, s.revision.as_deref(), None),
                project_url: links.project(&s.project),
                codebase: s.codebase,
                repository: s.repository,
                branch: s.branch,
                revision: s.revision,
                project: s.project,
            })
            .collect();
        BuildPage {
            detail: BuildDetail::new(p.detail, links),
            owner: p.owner,
            property_sources: p.property_sources,
            sourcestamps,
        }
    }
}

/// What a builder is doing.
#[derive(Clone, Copy, Debug, Enum, serde::Serialize)]
#[oai(rename_all = "lowercase")]
#[serde(rename_all = "lowercase")]
pub enum BuilderStateName {
    /// Waiting for work.
    Idle,
    /// Running builds.
    Building,
    /// No worker connected.
    Offline,
    /// Its connected workers are all paused (or shutting down).
    Paused,
}

/// A builder.
#[derive(Clone, Debug, Object, serde::Serialize)]
pub struct Builder {
    /// Name.
    pub name: String,
    /// Description.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
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
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_build: Option<Build>,
    /// While it builds: the mean duration in seconds of its recent successful builds, from
    /// which a running build's ETA follows.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub average_duration: Option<i64>,
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
                BuilderState::Paused => BuilderStateName::Paused,
            },
            pending: b.pending,
            running: b.running,
            can_force: b.can_force,
            last_build: b.last_build.map(Build::from),
            average_duration: b.average_duration,
        }
    }
}

/// A piece of a change's comment: text, linked when `[web] changecommentlink` matched it.
#[derive(Clone, Debug, Object, serde::Serialize)]
pub struct TextPart {
    /// The text (render it as text, never as markup).
    pub text: String,
    /// Where it links to.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The link's title.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
}

/// A change.
#[derive(Clone, Debug, Object, serde::Serialize)]
pub struct Change {
    /// Id.
    pub id: i64,
    /// Author.
    pub author: String,
    /// Committer.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub committer: Option<String>,
    /// Commit message.
    pub comments: String,
    /// The commit message split into text and links, when `[web] changecommentlink`
    /// found something to link in it.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment_parts: Option<Vec<TextPart>>,
    /// Revision.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    /// Branch.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    /// Repository.
    pub repository: String,
    /// The repository's link (`[web] repositories`).
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repository_url: Option<String>,
    /// Project.
    pub project: String,
    /// The project's link (`[web] projects`).
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project_url: Option<String>,
    /// Codebase.
    pub codebase: String,
    /// Category.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// Link to the revision: the change's own, else one made by `[web] revlink`.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revlink: Option<String>,
    /// Commit time.
    #[serde(serialize_with = "crate::api::json::rfc3339")]
    pub when: DateTime<Utc>,
    /// When the master stored it.
    #[serde(serialize_with = "crate::api::json::rfc3339")]
    pub received_at: DateTime<Utc>,
    /// Files touched.
    pub files: Vec<String>,
    /// Properties.
    pub properties: serde_json::Value,
}

impl Change {
    /// The API's copy of a change, its revision, comment, project and repository linked
    /// by `links`.
    pub fn new(c: model::Change, links: &Links) -> Self {
        let f = c.fields;
        Change {
            id: c.id.0,
            comment_parts: links.comment(&f.comments).map(|parts| {
                parts.into_iter().map(|p| TextPart { text: p.text, url: p.url, title: p.title }).collect()
            }),
            revlink: links.revision(&f.repository, f.revision.as_deref(), f.revlink.as_deref()),
            repository_url: links.repository(&f.repository),
            project_url: links.project(&f.project),
            author: f.author,
            committer: f.committer,
            comments: f.comments,
            revision: f.revision,
            branch: f.branch,
            repository: f.repository,
            project: f.project,
            codebase: f.codebase,
            category: f.category,
            when: time(f.when.unwrap_or(c.created_at)),
            received_at: time(c.created_at),
            files: f.files,
            properties: serde_json::to_value(&f.properties).unwrap_or_default(),
        }
    }
}
