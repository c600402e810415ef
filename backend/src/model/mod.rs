//! Plain domain types shared by every layer: ids, results, changes, builds, steps, logs.
//! Nothing here knows about SQL or HTTP; the db layer maps rows into these types and the
//! api layer maps these types into its JSON objects.

mod results;

pub use results::Results;

use std::collections::BTreeMap;

macro_rules! id_type {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {$(
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);
    )*};
}

id_type!(
    /// A change's database id.
    ChangeId,
    /// A source stamp's database id.
    SourceStampId,
    /// A buildset's database id.
    BuildSetId,
    /// A build request's database id.
    BuildRequestId,
    /// A builder's database id.
    BuilderId,
    /// A build's database id (global, not the per-builder number).
    BuildId,
    /// A step's database id.
    StepId,
    /// A log's database id.
    LogId,
    /// A worker's database id.
    WorkerId,
    /// A master's database id.
    MasterId,
);

/// A change as submitted by a hook, a poller or `cascade sendchange`, before it is stored.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct NewChange {
    /// Who wrote it.
    pub author: String,
    /// Who committed it, when it differs from the author.
    pub committer: Option<String>,
    /// The commit message.
    pub comments: String,
    /// The VCS revision (commit id).
    pub revision: Option<String>,
    /// The branch; `None` means the default branch.
    pub branch: Option<String>,
    /// The repository URL.
    pub repository: String,
    /// The project name.
    pub project: String,
    /// The codebase, for multi-codebase builds.
    pub codebase: String,
    /// A free-form category (`tag` for tag pushes, for example).
    pub category: Option<String>,
    /// A link to the revision in a web viewer.
    pub revlink: Option<String>,
    /// Commit time in epoch seconds; `None` means "when received".
    pub when: Option<i64>,
    /// The files the change touches.
    pub files: Vec<String>,
    /// Change properties.
    pub properties: BTreeMap<String, serde_json::Value>,
}

/// A stored change.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Change {
    /// Its id.
    pub id: ChangeId,
    /// Everything it was submitted with; `when` is always set once stored.
    pub fields: NewChange,
    /// Epoch seconds at which the master stored it.
    pub created_at: i64,
}

/// A builder as the views see it.
#[derive(Clone, Debug, PartialEq)]
pub struct Builder {
    /// Its id.
    pub id: BuilderId,
    /// Its configured name.
    pub name: String,
    /// Its description.
    pub description: Option<String>,
    /// Its tags (0.8.9's categories).
    pub tags: Vec<String>,
}

/// One run of a builder.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Build {
    /// Global id.
    pub id: BuildId,
    /// The builder's name.
    pub builder: String,
    /// Per-builder number, from 1.
    pub number: i64,
    /// The request this build runs.
    pub buildrequest_id: BuildRequestId,
    /// The worker it runs on.
    pub worker: Option<String>,
    /// Epoch seconds.
    pub started_at: i64,
    /// Epoch seconds; `None` while running.
    pub finished_at: Option<i64>,
    /// Human-readable state ("building", "build successful", ...).
    pub state_text: String,
    /// `None` while running.
    pub results: Option<Results>,
    /// Why it was started.
    pub reason: String,
    /// Build properties.
    pub properties: BTreeMap<String, serde_json::Value>,
    /// The branch of its source stamp.
    pub branch: Option<String>,
    /// The revision of its source stamp.
    pub revision: Option<String>,
    /// The codebase of its source stamp.
    pub codebase: String,
    /// The project of its source stamp.
    pub project: String,
    /// The repository of its source stamp.
    pub repository: String,
}

#[cfg(test)]
impl Build {
    /// A running build `number` of `builder` with nothing else set, for unit tests.
    pub fn sample(builder: &str, number: i64) -> Build {
        Build {
            id: BuildId(number),
            builder: builder.into(),
            number,
            buildrequest_id: BuildRequestId(number),
            worker: None,
            started_at: 0,
            finished_at: None,
            state_text: String::new(),
            results: None,
            reason: String::new(),
            properties: BTreeMap::new(),
            branch: None,
            revision: None,
            codebase: String::new(),
            project: String::new(),
            repository: String::new(),
        }
    }
}

/// One step of a build.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Step {
    /// Global id.
    pub id: StepId,
    /// The build it belongs to.
    pub build_id: BuildId,
    /// Position in the build, from 1.
    pub number: i64,
    /// Its configured name.
    pub name: String,
    /// Human-readable state.
    pub state_text: String,
    /// `None` while running or not started.
    pub results: Option<Results>,
    /// Epoch seconds.
    pub started_at: Option<i64>,
    /// Epoch seconds.
    pub finished_at: Option<i64>,
    /// Its logs.
    pub logs: Vec<LogInfo>,
}

/// A log's metadata.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LogInfo {
    /// Global id.
    pub id: LogId,
    /// The step it belongs to.
    pub step_id: StepId,
    /// Display name ("stdio").
    pub name: String,
    /// URL-safe name.
    pub slug: String,
    /// Lines stored so far.
    pub num_lines: i64,
    /// Whether the step has finished writing it.
    pub complete: bool,
}

/// The channel a log line came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Channel {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
    /// Lines written by the master (the command, its environment, its exit status).
    Header,
}

impl Channel {
    /// The one-byte code stored in log chunks and used in the API.
    pub fn code(self) -> char {
        match self {
            Channel::Stdout => 'o',
            Channel::Stderr => 'e',
            Channel::Header => 'h',
        }
    }

    /// The channel for a stored code; unknown codes read as stdout.
    pub fn from_code(code: u8) -> Channel {
        match code {
            b'e' => Channel::Stderr,
            b'h' => Channel::Header,
            _ => Channel::Stdout,
        }
    }
}

/// One line of a log.
#[derive(Clone, Debug, PartialEq)]
pub struct LogLine {
    /// Line number, from 0.
    pub number: i64,
    /// Where it came from.
    pub channel: Channel,
    /// The text, without its newline.
    pub text: String,
}

/// A request to build, as the force form sends it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ForceRequest {
    /// Why.
    pub reason: String,
    /// Who asked.
    pub owner: Option<String>,
    /// Branch to build; `None` for the default.
    pub branch: Option<String>,
    /// Revision to build; `None` for the branch head.
    pub revision: Option<String>,
    /// Repository to build; `None` for the builder's own.
    pub repository: Option<String>,
    /// Project; `None` for none.
    pub project: Option<String>,
    /// Extra properties.
    pub properties: BTreeMap<String, String>,
}

/// Property values with the source each came from, as Buildbot shows them on a build's
/// page ("Builder", "Scheduler", "Change", "Force Build Form", "Build", "Worker").
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Sourced {
    /// Name to value.
    pub values: BTreeMap<String, serde_json::Value>,
    /// Name to the source of its value.
    pub sources: BTreeMap<String, String>,
}

impl Sourced {
    /// Sets one property, replacing a value from an earlier source.
    pub fn set(&mut self, name: &str, value: serde_json::Value, source: &str) {
        self.values.insert(name.to_owned(), value);
        self.sources.insert(name.to_owned(), source.to_owned());
    }

    /// Sets every property of `props` from one source.
    pub fn extend<'a>(&mut self, props: impl IntoIterator<Item = (&'a String, serde_json::Value)>, source: &str) {
        for (name, value) in props {
            self.set(name, value, source);
        }
    }

    /// Values stored without their sources (older rows) are shown as of unknown source.
    pub fn from_stored(values: BTreeMap<String, serde_json::Value>, mut sources: BTreeMap<String, String>) -> Sourced {
        sources.retain(|k, _| values.contains_key(k));
        Sourced { values, sources }
    }
}
