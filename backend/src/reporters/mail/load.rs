//! The one place where a mail's facts are read: the builds, their steps, changes and
//! source stamps, the users who may be mailed, the end of each failed step's log, and the
//! logs and patches to attach. Everything else about a mail is computed from what this
//! returns.

use std::collections::VecDeque;

use bytes::Bytes;
use futures::StreamExt;

use super::facts::{
    Attachment, BuildFacts, BuildSetFacts, ChangeFacts, LeftOut, LogTail, MailFacts, People, SourceFacts, StepFacts,
};
use crate::config::{AddLogs, MailConfig};
use crate::db::{self, Conn, DbResult};
use crate::engine::Engine;
use crate::model::{BuildId, BuildSetId, Channel, LogInfo, Results};

/// Lines of a failed step's log shown in the body.
pub const TAIL_LINES: usize = 40;
/// Bytes of one attachment at most: a longer log is cut to its end, a longer patch left out.
pub const MAX_ATTACHED_LOG: usize = 1024 * 1024;
/// Bytes of all the attachments of one mail at most (besides the notes of cut logs): once
/// they are spent, further logs are cut shorter, then left out.
pub const MAX_ATTACHED_TOTAL: usize = 10 * 1024 * 1024;
/// The shortest end of a log worth attaching when the rest of the budget cannot hold the
/// whole log: with less room left, the log is left out.
pub const MIN_ATTACHED_TAIL: usize = 64 * 1024;

/// What the outbox row asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Job {
    /// A mail about one build.
    Build {
        /// The build.
        id: BuildId,
        /// The previous build's results when the decision was taken.
        previous: Option<Results>,
    },
    /// A mail about a whole build set.
    BuildSet {
        /// The build set.
        id: BuildSetId,
        /// Its results.
        results: Results,
        /// Its builds worth a mail, each with its previous build's results.
        builds: Vec<(BuildId, Option<Results>)>,
    },
}

impl Job {
    /// Reads a payload stored by [`super::Mail`].
    pub fn parse(payload: &serde_json::Value) -> Result<Job, String> {
        let result = |v: &serde_json::Value| v.as_str().and_then(|s| s.parse::<Results>().ok());
        if let Some(id) = payload["build"].as_i64() {
            return Ok(Job::Build { id: BuildId(id), previous: result(&payload["previous"]) });
        }
        let (Some(id), Some(builds)) = (payload["buildset"].as_i64(), payload["builds"].as_array()) else {
            return Err(format!("not a mail: {payload}"));
        };
        let previous = payload["previous"].as_array();
        let builds = builds
            .iter()
            .enumerate()
            .filter_map(|(i, b)| b.as_i64().map(|b| (BuildId(b), previous.and_then(|p| p.get(i)).and_then(result))))
            .collect();
        let results = result(&payload["results"]).unwrap_or(Results::Success);
        Ok(Job::BuildSet { id: BuildSetId(id), results, builds })
    }
}

impl std::fmt::Display for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Job::Build { id, .. } => write!(f, "build {}", id.0),
            Job::BuildSet { id, .. } => write!(f, "build set {}", id.0),
        }
    }
}

/// A mail's facts, with what is needed to attach its logs and patches.
pub struct Loaded {
    /// What the mail says.
    pub facts: MailFacts,
    /// Who may be mailed.
    pub people: People,
    /// Every log of the builds: (builder, step number, step name, log).
    logs: Vec<(String, i64, String, LogInfo)>,
    /// The builds' patches, as (codebase, body).
    patches: Vec<(String, Vec<u8>)>,
}

/// Reads the facts of `job`.
pub async fn facts(engine: &Engine, job: &Job) -> DbResult<Loaded> {
    let (wanted, buildset) = match job {
        Job::Build { id, previous } => (vec![(*id, *previous)], None),
        Job::BuildSet { id, results, builds } => (builds.clone(), Some((*id, *results))),
    };
    let mut loaded = Loaded {
        facts: MailFacts {
            title: engine.config().title.clone(),
            title_url: engine.config().title_url.clone(),
            base_url: engine.config().base_url.clone(),
            buildset: None,
            builds: Vec::new(),
            left_out: Vec::new(),
        },
        people: People::default(),
        logs: Vec::new(),
        patches: Vec::new(),
    };
    let mut conn = engine.db.acquire().await?;
    if let Some((id, results)) = buildset {
        let reason = db::buildsets::details(conn.conn(), id).await?.reason;
        loaded.facts.buildset = Some(BuildSetFacts { id: id.0, results, reason });
    }
    for (id, previous) in wanted {
        read_build(engine, conn.conn(), id, previous, &mut loaded).await?;
    }
    let names = People::names(&loaded.facts.builds);
    let known = db::users::emails_of(conn.conn(), &names).await?;
    drop(conn);
    loaded.people = People::of(&loaded.facts.builds, known);
    add_log_tails(engine, &mut loaded).await?;
    Ok(loaded)
}

/// Reads one build of the mail into `loaded`.
async fn read_build(
    engine: &Engine,
    mut conn: Conn<'_>,
    id: BuildId,
    previous: Option<Results>,
    loaded: &mut Loaded,
) -> DbResult<()> {
    let build = db::builds::get(conn.reborrow(), id).await?;
    let set = db::buildrequests::buildset_of(conn.reborrow(), build.buildrequest_id).await?;
    let owner = db::buildsets::details(conn.reborrow(), set).await?.owner;
    let patches = db::buildsets::patches(conn.reborrow(), set).await?;
    let sources = db::buildsets::sources(conn.reborrow(), set)
        .await?
        .into_iter()
        .map(|s| SourceFacts {
            revision_url: engine.links().revision(&s.repository, s.revision.as_deref(), None),
            has_patch: patches.iter().any(|p| p.codebase == s.codebase),
            codebase: s.codebase,
            repository: s.repository,
            branch: s.branch,
            revision: s.revision,
            project: s.project,
        })
        .collect();
    let changes = db::changes::list_for_buildset(conn.reborrow(), set.0)
        .await?
        .into_iter()
        .map(|c| ChangeFacts {
            id: c.id.0,
            revision_url: engine.links().revision(
                &c.fields.repository,
                c.fields.revision.as_deref(),
                c.fields.revlink.as_deref(),
            ),
            author: c.fields.author,
            revision: c.fields.revision,
            branch: c.fields.branch,
            comments: c.fields.comments,
            repository: c.fields.repository,
            project: c.fields.project,
            files: c.fields.files,
            when: c.fields.when.unwrap_or(c.created_at),
        })
        .collect();
    let steps = db::steps::list_for_builds(conn.reborrow(), &[id]).await?.remove(&id).unwrap_or_default();
    let url = crate::engine::links::build_url(&engine.config().base_url, &build.builder, build.number);
    let mut step_facts = Vec::with_capacity(steps.len());
    for s in steps {
        let step_url = format!("{url}/steps/{}", s.number);
        for log in &s.logs {
            loaded.logs.push((build.builder.clone(), s.number, s.name.clone(), log.clone()));
        }
        step_facts.push(StepFacts {
            number: s.number,
            url: step_url,
            results: s.results,
            text: s.state_text,
            log_tail: None,
            name: s.name,
        });
    }
    for p in patches {
        // The builds of a build set share its patches.
        if !loaded.patches.iter().any(|(c, b)| *c == p.codebase && *b == p.body) {
            loaded.patches.push((p.codebase, p.body));
        }
    }
    loaded.facts.builds.push(BuildFacts {
        builder: build.builder,
        number: build.number,
        results: build.results.unwrap_or(Results::Exception),
        previous,
        url,
        worker: build.worker,
        reason: build.reason,
        text: build.state_text,
        branch: build.branch,
        revision: build.revision,
        sources,
        changes,
        steps: step_facts,
        properties: build.properties,
        owner,
    });
    Ok(())
}

/// The end of the first log of each failed step, for the body.
async fn add_log_tails(engine: &Engine, loaded: &mut Loaded) -> DbResult<()> {
    for b in &mut loaded.facts.builds {
        for step in &mut b.steps {
            if !matches!(step.results, Some(Results::Failure | Results::Exception)) {
                continue;
            }
            let logs = loaded.logs.iter().filter(|(builder, n, _, _)| *builder == b.builder && *n == step.number);
            let Some((_, _, _, log)) =
                logs.clone().find(|(_, _, _, l)| l.name == "stdio").or_else(|| logs.clone().next())
            else {
                continue;
            };
            // Header lines (the command, its exit status) are left out, so read a few more.
            let want = TAIL_LINES as i64 + 20;
            let from = (log.num_lines - want).max(0);
            let lines = crate::engine::logs::read_lines(&engine.db, log.id, from, want).await?;
            let mut lines: Vec<String> =
                lines.into_iter().filter(|l| l.channel != Channel::Header).map(|l| l.text).collect();
            let skip = lines.len().saturating_sub(TAIL_LINES);
            lines.drain(..skip);
            step.log_tail =
                Some(LogTail { name: log.name.clone(), url: format!("{}/logs/{}", step.url, log.slug), lines });
        }
    }
    Ok(())
}

/// What a mail attaches, and what it would but leaves out for its size.
pub struct Attached {
    /// The files, logs first (in step order) then patches.
    pub files: Vec<Attachment>,
    /// What is left out.
    pub left_out: Vec<LeftOut>,
}

/// The logs (`add_logs`) and patches (`add_patch`) to attach, within [`MAX_ATTACHED_LOG`]
/// each and [`MAX_ATTACHED_TOTAL`] in all (see [`Budget`]). Log attachments are named
/// `step.log`, or `builder.step.log` in a build set summary. Patches are counted first:
/// their size is known, and a patch is what a try build is about.
pub async fn attachments(engine: &Engine, config: &MailConfig, loaded: &Loaded) -> DbResult<Attached> {
    let mut budget = Budget::new(MAX_ATTACHED_TOTAL, MAX_ATTACHED_LOG, MIN_ATTACHED_TAIL);
    let mut left_out = Vec::new();
    let mut patches = Vec::new();
    if config.add_patch {
        for (codebase, body) in &loaded.patches {
            let filename = if codebase.is_empty() { "source.patch".to_owned() } else { format!("{codebase}.patch") };
            // A patch cut short would not apply: it goes whole or not at all.
            if !budget.take_whole(body.len()) {
                left_out.push(LeftOut { filename, size: Some(body.len()), url: None });
                continue;
            }
            let text = std::str::from_utf8(body).is_ok();
            let content_type = if text { "text/x-diff; charset=utf-8" } else { "application/octet-stream" };
            patches.push(Attachment { filename, content_type: content_type.into(), body: body.clone() });
        }
    }
    let mut files = Vec::new();
    let summary = loaded.facts.buildset.is_some();
    for (builder, number, step, log) in &loaded.logs {
        let qualified = format!("{step}.{}", log.name);
        let wanted = match &config.add_logs {
            AddLogs::None => false,
            AddLogs::All => true,
            AddLogs::Names(names) => names.iter().any(|n| *n == log.name || *n == qualified),
        };
        if !wanted {
            continue;
        }
        let url = loaded
            .facts
            .builds
            .iter()
            .find(|b| b.builder == *builder)
            .map(|b| format!("{}/steps/{number}/logs/{}/text", b.url, log.slug))
            .unwrap_or_default();
        let filename = if summary { format!("{builder}.{qualified}") } else { qualified };
        let room = budget.room();
        if room == 0 {
            left_out.push(LeftOut { filename, size: None, url: Some(url) });
            continue;
        }
        let mut tail = TailBuffer::new(room);
        let mut stream = Box::pin(crate::engine::logs::stream_text(engine.db.clone(), log.id));
        while let Some(chunk) = stream.next().await {
            tail.push(chunk.map_err(|e| db::DbError::Unavailable(format!("log {}: {e}", log.id.0)))?);
        }
        if !budget.fits(tail.total) {
            left_out.push(LeftOut { filename, size: Some(tail.total), url: Some(url) });
            continue;
        }
        let body = tail.finish(&url);
        budget.spend(body.len());
        files.push(Attachment { filename, content_type: "text/plain; charset=utf-8".into(), body });
    }
    files.append(&mut patches);
    Ok(Attached { files, left_out })
}

/// The bytes a mail may still attach: at most `per_file` for one file, `total` for all of
/// them. A log longer than the room left is attached cut to its end, unless less than
/// `min_tail` is left; a patch only whole.
#[derive(Clone, Debug)]
pub struct Budget {
    left: usize,
    per_file: usize,
    min_tail: usize,
}

impl Budget {
    /// A mail's budget.
    pub fn new(total: usize, per_file: usize, min_tail: usize) -> Budget {
        Budget { left: total, per_file, min_tail }
    }

    /// The most the next file may take: the bytes of a log worth reading.
    pub fn room(&self) -> usize {
        self.left.min(self.per_file)
    }

    /// Whether a log of `size` bytes is attached, whole or (read within [`Budget::room`])
    /// cut to its end.
    pub fn fits(&self, size: usize) -> bool {
        let room = self.room();
        size <= room || room >= self.min_tail.min(self.per_file)
    }

    /// Takes `size` bytes for a file that goes whole or not at all; false when they are
    /// not there.
    pub fn take_whole(&mut self, size: usize) -> bool {
        let ok = size <= self.room();
        if ok {
            self.spend(size);
        }
        ok
    }

    /// Counts `size` bytes attached (a cut log's note may take it a little past the total).
    pub fn spend(&mut self, size: usize) {
        self.left = self.left.saturating_sub(size);
    }
}

/// Keeps the last `limit` bytes of a stream of whole lines, holding little more than that.
pub struct TailBuffer {
    limit: usize,
    kept: VecDeque<Bytes>,
    kept_len: usize,
    total: usize,
}

impl TailBuffer {
    /// An empty buffer keeping at most `limit` bytes.
    pub fn new(limit: usize) -> TailBuffer {
        TailBuffer { limit, kept: VecDeque::new(), kept_len: 0, total: 0 }
    }

    /// Adds the next piece.
    pub fn push(&mut self, piece: Bytes) {
        self.total += piece.len();
        self.kept_len += piece.len();
        self.kept.push_back(piece);
        while let Some(front) = self.kept.front() {
            if self.kept_len - front.len() < self.limit {
                break;
            }
            self.kept_len -= front.len();
            self.kept.pop_front();
        }
    }

    /// The text: all of it, or its last whole lines within the limit after a note saying
    /// so and where the whole log is.
    pub fn finish(self, url: &str) -> Vec<u8> {
        let mut all: Vec<u8> = Vec::with_capacity(self.kept_len);
        for piece in &self.kept {
            all.extend_from_slice(piece);
        }
        if self.total <= self.limit {
            return all;
        }
        let mut start = all.len().saturating_sub(self.limit);
        if start > 0 && all[start - 1] != b'\n' {
            start = all[start..].iter().position(|b| *b == b'\n').map_or(all.len(), |i| start + i + 1);
        }
        let kept = &all[start..];
        let note = format!(
            "[This log is {} bytes long; only its last {} bytes are attached. The whole log: {url}]\n\n",
            self.total,
            kept.len()
        );
        let mut out = note.into_bytes();
        out.extend_from_slice(kept);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn payloads_of_both_shapes_parse() {
        let build = json!({ "build": 7, "builder": "app", "number": 3, "results": "failure", "previous": "success" });
        assert_eq!(Job::parse(&build), Ok(Job::Build { id: BuildId(7), previous: Some(Results::Success) }));
        let first = json!({ "build": 7, "previous": null });
        assert_eq!(Job::parse(&first), Ok(Job::Build { id: BuildId(7), previous: None }));
        let set = json!({ "buildset": 2, "builds": [4, 5], "results": "failure", "previous": ["success", null] });
        assert_eq!(
            Job::parse(&set),
            Ok(Job::BuildSet {
                id: BuildSetId(2),
                results: Results::Failure,
                builds: vec![(BuildId(4), Some(Results::Success)), (BuildId(5), None)],
            })
        );
        let old = json!({ "buildset": 2, "builds": [4], "results": "success" });
        assert!(matches!(Job::parse(&old), Ok(Job::BuildSet { builds, .. }) if builds == [(BuildId(4), None)]));
        assert!(Job::parse(&json!({ "n": 1 })).is_err());
    }

    #[test]
    fn the_budget_takes_whole_files_then_ends_of_logs_then_nothing() {
        let mut b = Budget::new(100, 40, 10);
        assert_eq!(b.room(), 40, "one file is held to its own limit");
        assert!(!b.take_whole(41), "a patch over the limit is left out");
        assert_eq!(b.room(), 40, "and takes nothing");
        assert!(b.take_whole(30));
        assert_eq!(b.room(), 40);
        assert!(b.fits(1000), "a long log fits cut to the room left");
        b.spend(40);
        assert_eq!(b.room(), 30);
        b.spend(18);
        assert_eq!(b.room(), 12);
        assert!(b.fits(12) && b.fits(500), "12 bytes left: a log fits whole, or cut to 12 bytes");
        assert!(!b.take_whole(13));
        b.spend(3);
        assert_eq!(b.room(), 9);
        assert!(b.fits(9), "a short log still fits whole");
        assert!(!b.fits(10), "too little room for the end of a longer one");
        b.spend(20);
        assert_eq!(b.room(), 0, "a note taking it past the total leaves nothing");
        assert!(b.fits(0) && !b.fits(1) && !b.take_whole(1));
    }

    #[test]
    fn the_mail_budget_holds_ten_logs_of_a_mebibyte() {
        let mut b = Budget::new(MAX_ATTACHED_TOTAL, MAX_ATTACHED_LOG, MIN_ATTACHED_TAIL);
        let mut attached = 0;
        // Logs of 5 MiB, each cut to the room left, plus its note.
        while b.room() > 0 && b.fits(5 * MAX_ATTACHED_LOG) {
            b.spend(b.room() + 150);
            attached += 1;
        }
        assert_eq!(attached, 10);
        assert!(!b.fits(1), "the eleventh is left out");
    }

    #[test]
    fn a_short_log_is_attached_whole() {
        let mut t = TailBuffer::new(100);
        t.push(Bytes::from_static(b"a\nb\n"));
        t.push(Bytes::from_static(b"c\n"));
        assert_eq!(t.finish("u"), b"a\nb\nc\n");
    }

    #[test]
    fn a_long_log_keeps_its_last_whole_lines_after_a_note() {
        let mut t = TailBuffer::new(10);
        for piece in ["line1\nline2\n", "line3\n", "line4\nline5\n"] {
            t.push(Bytes::from(piece));
        }
        // Only what the last 10 bytes need stays in memory.
        assert!(t.kept_len < 10 + "line4\nline5\n".len());
        let text = String::from_utf8(t.finish("http://ci/log/text")).unwrap();
        let (note, rest) = text.split_once("\n\n").unwrap();
        assert_eq!(rest, "line5\n", "`ine4\\n` is not a whole line");
        assert!(note.contains("30 bytes long") && note.contains("last 6 bytes") && note.contains("http://ci/log/text"));
    }
}
