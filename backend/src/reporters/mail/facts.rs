//! What a mail is written from: plain data read from the database once (by `load`), then
//! turned into recipients, a subject and bodies by pure functions. Nothing here reads the
//! database or knows about SMTP.

use std::collections::{BTreeMap, HashMap};

use crate::model::Results;

/// Everything one mail says: one build, or the builds of a whole build set.
#[derive(Clone, Debug, PartialEq)]
pub struct MailFacts {
    /// The master's `title`.
    pub title: String,
    /// The master's `title_url`.
    pub title_url: Option<String>,
    /// The master's `base_url`, ending in `/`.
    pub base_url: String,
    /// The build set, when the mail summarises one (`build_set_summary`).
    pub buildset: Option<BuildSetFacts>,
    /// The builds the mail is about: one, or those of the build set worth a mail.
    pub builds: Vec<BuildFacts>,
    /// The logs and patches the mail should attach but leaves out, for their size.
    pub left_out: Vec<LeftOut>,
}

impl MailFacts {
    /// The results the mail reports: the build's, or the build set's.
    pub fn results(&self) -> Results {
        match (&self.buildset, self.builds.first()) {
            (Some(set), _) => set.results,
            (None, Some(build)) => build.results,
            (None, None) => Results::Success,
        }
    }
}

/// A completed build set.
#[derive(Clone, Debug, PartialEq)]
pub struct BuildSetFacts {
    /// Its id.
    pub id: i64,
    /// The worst result of its requests.
    pub results: Results,
    /// Why it was made.
    pub reason: String,
}

/// A finished build.
#[derive(Clone, Debug, PartialEq)]
pub struct BuildFacts {
    /// Its builder.
    pub builder: String,
    /// Its number.
    pub number: i64,
    /// How it ended.
    pub results: Results,
    /// How the previous finished build of its builder and branch ended.
    pub previous: Option<Results>,
    /// Its page.
    pub url: String,
    /// The worker it ran on.
    pub worker: Option<String>,
    /// Why it ran.
    pub reason: String,
    /// Its state text ("failed test").
    pub text: String,
    /// Its branch.
    pub branch: Option<String>,
    /// Its revision.
    pub revision: Option<String>,
    /// The source stamps of its build set.
    pub sources: Vec<SourceFacts>,
    /// The changes it builds.
    pub changes: Vec<ChangeFacts>,
    /// Its steps, in order.
    pub steps: Vec<StepFacts>,
    /// Its properties.
    pub properties: BTreeMap<String, serde_json::Value>,
    /// Who asked for its build set (a force's owner), if anyone.
    pub owner: Option<String>,
}

impl BuildFacts {
    /// The authors of its changes, each once, in change order.
    pub fn blamelist(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for c in &self.changes {
            if !out.contains(&c.author) {
                out.push(c.author.clone());
            }
        }
        out
    }

    /// The `owners` property: a list of names or addresses, or one as a string.
    pub fn owners(&self) -> Vec<String> {
        match self.properties.get("owners") {
            Some(serde_json::Value::String(s)) => vec![s.clone()],
            Some(serde_json::Value::Array(list)) => list.iter().filter_map(|v| v.as_str()).map(str::to_owned).collect(),
            _ => Vec::new(),
        }
    }

    /// The projects of its source stamps, each once, comma-separated ("" when none has one).
    pub fn projects(&self) -> String {
        let mut out: Vec<&str> = Vec::new();
        for s in &self.sources {
            if !s.project.is_empty() && !out.contains(&s.project.as_str()) {
                out.push(&s.project);
            }
        }
        out.join(", ")
    }
}

/// A source stamp.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct SourceFacts {
    /// Its codebase.
    pub codebase: String,
    /// Its repository.
    pub repository: String,
    /// Its branch.
    pub branch: Option<String>,
    /// Its revision (`None`: the branch's head).
    pub revision: Option<String>,
    /// The revision's link (`[web] revlink`).
    pub revision_url: Option<String>,
    /// Its project.
    pub project: String,
    /// Whether a patch is applied on top.
    pub has_patch: bool,
}

/// A change of the build.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChangeFacts {
    /// Its id.
    pub id: i64,
    /// Who wrote it, as the VCS says ("Ann <ann@example.org>", "ann").
    pub author: String,
    /// Its revision.
    pub revision: Option<String>,
    /// The revision's link.
    pub revision_url: Option<String>,
    /// Its branch.
    pub branch: Option<String>,
    /// Its commit message.
    pub comments: String,
    /// Its repository.
    pub repository: String,
    /// Its project.
    pub project: String,
    /// The files it touches.
    pub files: Vec<String>,
    /// Commit time, epoch seconds.
    pub when: i64,
}

/// A step of the build.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StepFacts {
    /// Its number, from 1.
    pub number: i64,
    /// Its name.
    pub name: String,
    /// How it ended (`None`: it never finished).
    pub results: Option<Results>,
    /// Its state text ("test failed (exit 1)").
    pub text: String,
    /// Its page.
    pub url: String,
    /// For a failed step, the end of its first log.
    pub log_tail: Option<LogTail>,
}

/// The last lines of a log.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct LogTail {
    /// The log's name ("stdio").
    pub name: String,
    /// The log's page.
    pub url: String,
    /// Its last lines of output (the master's own header lines left out).
    pub lines: Vec<String>,
}

/// Who may be mailed about the builds, before any address is chosen.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct People {
    /// The authors of the builds' changes.
    pub authors: Vec<String>,
    /// The builds' `owners` properties.
    pub owners: Vec<String>,
    /// Who asked for the build sets (a force's or a rebuild's owner).
    pub requesters: Vec<String>,
    /// The `email` attribute of the stored users that the names above designate.
    pub known: HashMap<String, String>,
}

impl People {
    /// The people behind `builds`, with `known` addresses.
    pub fn of(builds: &[BuildFacts], known: HashMap<String, String>) -> People {
        let mut people = People { known, ..People::default() };
        for b in builds {
            push_new(&mut people.authors, b.blamelist());
            push_new(&mut people.owners, b.owners());
            push_new(&mut people.requesters, b.owner.clone());
        }
        people
    }

    /// Every name worth looking up among the stored users.
    pub fn names(builds: &[BuildFacts]) -> Vec<String> {
        let p = People::of(builds, HashMap::new());
        let mut all = p.authors;
        push_new(&mut all, p.owners);
        push_new(&mut all, p.requesters);
        all
    }
}

fn push_new(to: &mut Vec<String>, items: impl IntoIterator<Item = String>) {
    for item in items {
        if !to.contains(&item) {
            to.push(item);
        }
    }
}

/// A file attached to the mail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attachment {
    /// Its name ("test.stdio", or "builder.test.stdio" in a build set summary).
    pub filename: String,
    /// Its MIME type.
    pub content_type: String,
    /// Its bytes.
    pub body: Vec<u8>,
}

/// A log or patch too large to attach, as the body lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeftOut {
    /// The name it would have had ("test.stdio", "source.patch").
    pub filename: String,
    /// Its size in bytes, when known without reading it.
    pub size: Option<usize>,
    /// Where to read it instead, if anywhere (a log's text).
    pub url: Option<String>,
}
