//! The dictionaries 0.8.9's status objects gave its JSON tree (`asDict`), made from Cascade's
//! builders, builds, steps, changes and workers: the same keys, results as 0.8.9's integer
//! codes, times as epoch seconds, properties as `[name, value, source]` triples. Fields for
//! what Cascade does not have (step statistics and expectations, worker admin) are present
//! and empty, so scripts that read them keep working. Nothing here reads the database.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::config::Config;
use crate::db::buildrequests::Pending;
use crate::db::buildsets::{NewSourceStamp, Patch};
use crate::engine::links::log_url;
use crate::engine::views::{BuildPage, BuilderOverview, BuilderState, current_step};
use crate::engine::workers::WorkerStatus;
use crate::model::{Build, Change, Results, Step};

/// How many of a builder's newest builds count as "cached" (`cachedBuilds`, the `builds`
/// node): 0.8.9's default build cache size.
pub const CACHED_BUILDS: i64 = 15;

/// 0.8.9's builder states: a builder whose connected workers are all paused is idle, as a
/// 0.8.9 builder with connected slaves was.
pub fn state_name(state: BuilderState) -> &'static str {
    match state {
        BuilderState::Idle | BuilderState::Paused => "idle",
        BuilderState::Building => "building",
        BuilderState::Offline => "offline",
    }
}

/// A builder: its workers, state and request counts, the schedulers that feed it and the
/// numbers of its newest (`cached`, ascending) and running builds.
pub fn builder(o: &BuilderOverview, schedulers: &[String], cached: &[i64], current: &[i64]) -> Value {
    json!({
        // The worker's build directory is named after the builder.
        "basedir": o.name,
        // 0.8.9 had one category per builder; Cascade's tags play that part.
        "category": o.tags.first(),
        "cachedBuilds": cached,
        "currentBuilds": current,
        "pendingBuilds": o.pending,
        "schedulers": schedulers,
        "slaves": o.workers,
        "state": state_name(o.state),
    })
}

/// The names of the schedulers that list `builder`.
pub fn schedulers_of(config: &Config, builder: &str) -> Vec<String> {
    config.schedulers.iter().filter(|s| s.builders.iter().any(|b| b == builder)).map(|s| s.name.clone()).collect()
}

/// A text as 0.8.9's list of words: Cascade keeps one string, so it is one item.
fn text(state_text: &str) -> Vec<&str> {
    if state_text.is_empty() { Vec::new() } else { vec![state_text] }
}

/// `[name, value, source]` for every property, by name.
pub fn properties(values: &BTreeMap<String, Value>, sources: impl Fn(&str) -> String) -> Value {
    Value::Array(values.iter().map(|(k, v)| json!([k, v, sources(k)])).collect())
}

/// A change: `who` is the author, `at` the commit time in 0.8.9's format (UTC here),
/// `rev` a second copy of the revision as 0.8.9 sent.
pub fn change(c: &Change) -> Value {
    let f = &c.fields;
    let when = f.when.unwrap_or(c.created_at);
    let at = chrono::DateTime::from_timestamp(when, 0).map(|t| t.format("%a %d %b %Y %H:%M:%S").to_string());
    let mut files = f.files.clone();
    files.sort();
    json!({
        "number": c.id.0,
        "branch": f.branch,
        "category": f.category,
        "who": f.author,
        "comments": f.comments,
        "revision": f.revision,
        "rev": f.revision,
        "when": when,
        "at": at,
        "files": files.iter().map(|name| json!({ "name": name })).collect::<Vec<_>>(),
        "revlink": f.revlink,
        "properties": properties(&f.properties, |_| "Change".to_owned()),
        "repository": f.repository,
        "codebase": f.codebase,
        "project": f.project,
    })
}

/// Changes keyed by number.
pub fn changes_by_number<'a>(changes: impl IntoIterator<Item = &'a Change>) -> Value {
    Value::Object(changes.into_iter().map(|c| (c.id.0.to_string(), change(c))).collect())
}

/// A source stamp with its changes and, for a try build, its patch.
pub fn source_stamp(s: &NewSourceStamp, changes: &[&Change], patch: Option<&Patch>) -> Value {
    let mut out = json!({
        "branch": s.branch,
        "revision": s.revision,
        "project": s.project,
        "repository": s.repository,
        "codebase": s.codebase,
        "hasPatch": patch.is_some(),
        "changes": changes.iter().map(|c| change(c)).collect::<Vec<_>>(),
    });
    if let (Some(p), Value::Object(map)) = (patch, &mut out) {
        map.insert("patch_level".into(), json!(p.level));
        map.insert("patch_body".into(), json!(String::from_utf8_lossy(&p.body)));
        map.insert("patch_subdir".into(), json!(p.subdir));
    }
    out
}

/// Every source stamp of a build (one per codebase) with the changes of its codebase; a
/// build without stored stamps has the one its own columns describe.
fn source_stamps(page: &BuildPage, patches: &[Patch]) -> Vec<Value> {
    let b = &page.detail.build;
    let changes = page.detail.changes.as_deref().unwrap_or_default();
    let own;
    let sources = if page.sources.is_empty() {
        own = [NewSourceStamp {
            codebase: b.codebase.clone(),
            repository: b.repository.clone(),
            branch: b.branch.clone(),
            revision: b.revision.clone(),
            project: b.project.clone(),
        }];
        &own[..]
    } else {
        &page.sources[..]
    };
    let single = sources.len() == 1;
    sources
        .iter()
        .map(|s| {
            let mine: Vec<&Change> = changes.iter().filter(|c| single || c.fields.codebase == s.codebase).collect();
            source_stamp(s, &mine, patches.iter().find(|p| p.codebase == s.codebase))
        })
        .collect()
}

/// A step, `index` its position in the build from 0 (0.8.9's `step_number`). Its results
/// are `[code, words]`, the words naming the step when it did not succeed, as 0.8.9's
/// steps added their name to a failed build's text; logs are `[name, url]`.
pub fn step(build: &Build, index: usize, s: &Step, base_url: &str) -> Value {
    let words: Vec<&str> = match s.results {
        None | Some(Results::Success | Results::Skipped) => Vec::new(),
        Some(_) => vec![&s.name],
    };
    json!({
        "name": s.name,
        "text": text(&s.state_text),
        "results": [s.results.map(Results::as_i64), words],
        "isStarted": s.started_at.is_some(),
        "isFinished": s.finished_at.is_some(),
        "statistics": {},
        "times": [s.started_at, s.finished_at],
        "expectations": [],
        "eta": null,
        "urls": {},
        "step_number": index,
        "hidden": false,
        "logs": step_logs(build, s, base_url),
    })
}

fn step_logs(build: &Build, s: &Step, base_url: &str) -> Vec<Value> {
    s.logs.iter().map(|l| json!([l.name, log_url(base_url, &build.builder, build.number, s.number, &l.slug)])).collect()
}

/// A build: its steps, source stamps (`sourceStamps` as 0.8.9 sent them, and the first as
/// `sourceStamp` as earlier versions did), blamelist (the authors of its changes),
/// properties with their sources, and while it runs its current step and `eta` (seconds).
pub fn build(page: &BuildPage, patches: &[Patch], eta: Option<i64>, base_url: &str) -> Value {
    let b = &page.detail.build;
    let steps = &page.detail.steps;
    let mut blame: Vec<&str> =
        page.detail.changes.iter().flatten().map(|c| c.fields.author.as_str()).filter(|a| !a.is_empty()).collect();
    blame.sort_unstable();
    blame.dedup();
    let stamps = source_stamps(page, patches);
    let current = current_step(steps)
        .and_then(|cur| steps.iter().position(|s| s.id == cur.id).map(|i| step(b, i, cur, base_url)));
    json!({
        "builderName": b.builder,
        "number": b.number,
        "reason": b.reason,
        "blame": blame,
        "properties": properties(&b.properties, |k| page.property_sources.get(k).cloned().unwrap_or_default()),
        "times": [b.started_at, b.finished_at],
        "text": text(&b.state_text),
        "results": b.results.map(Results::as_i64),
        "slave": b.worker,
        "logs": steps.iter().flat_map(|s| step_logs(b, s, base_url)).collect::<Vec<_>>(),
        "eta": eta.filter(|_| b.finished_at.is_none()),
        "steps": steps.iter().enumerate().map(|(i, s)| step(b, i, s, base_url)).collect::<Vec<_>>(),
        "currentStep": current,
        "sourceStamp": stamps.first(),
        "sourceStamps": stamps,
    })
}

/// A build's steps keyed by position.
pub fn steps_by_index(page: &BuildPage, base_url: &str) -> Value {
    let b = &page.detail.build;
    Value::Object(page.detail.steps.iter().enumerate().map(|(i, s)| (i.to_string(), step(b, i, s, base_url))).collect())
}

/// The step a path element names: a position from 0 (negative from the end, as Python
/// indexes a list), else a name.
pub fn find_step<'a>(steps: &'a [Step], which: &str) -> Option<(usize, &'a Step)> {
    match super::tree::number(which) {
        Some(i) => {
            let i = if i < 0 { i + steps.len() as i64 } else { i };
            let i = usize::try_from(i).ok()?;
            steps.get(i).map(|s| (i, s))
        }
        None => steps.iter().enumerate().find(|(_, s)| s.name == which),
    }
}

/// A worker: `host` is the host name it reported, `builders` the numbers of the recent
/// finished builds it ran for each of its builders, `runningBuilds` whole builds.
pub fn slave(s: &WorkerStatus, running: Vec<Value>, builders: BTreeMap<String, Vec<i64>>) -> Value {
    json!({
        "name": s.name,
        "access_uri": null,
        "host": s.info.get("hostname"),
        "admin": s.info.get("admin"),
        "version": s.version,
        "connected": s.connected,
        "paused": s.paused,
        "runningBuilds": running,
        "builders": builders,
    })
}

/// The master: its title, where the title links and its public URL.
pub fn project(config: &Config) -> Value {
    json!({
        "projectName": config.title,
        "projectURL": config.title_url,
        "buildbotURL": config.base_url,
    })
}

/// A request waiting for a worker: its first source stamp (with changes) and properties;
/// `builds` is empty since none has started.
pub fn pending(p: &Pending, source: Value, properties: Value) -> Value {
    json!({
        "builderName": p.builder,
        "submittedAt": p.submitted_at,
        "source": source,
        "properties": properties,
        "builds": [],
    })
}

/// An empty object, for a node with no children.
pub fn empty() -> Value {
    Value::Object(Map::new())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::views::BuildWithSteps;
    use crate::engine::views::fixtures;
    use crate::model::{BuildId, ChangeId, LogId, LogInfo, NewChange, StepId};

    fn a_step(number: i64, name: &str, results: Option<Results>, times: (Option<i64>, Option<i64>)) -> Step {
        Step {
            id: StepId(number),
            build_id: BuildId(1),
            number,
            name: name.into(),
            state_text: format!("{name} text"),
            results,
            started_at: times.0,
            finished_at: times.1,
            logs: vec![LogInfo {
                id: LogId(number),
                step_id: StepId(number),
                name: "std io".into(),
                slug: "stdio".into(),
                num_lines: 1,
                complete: times.1.is_some(),
            }],
        }
    }

    fn a_change(id: i64, author: &str, codebase: &str) -> Change {
        Change {
            id: ChangeId(id),
            fields: NewChange {
                author: author.into(),
                revision: Some(format!("r{id}")),
                codebase: codebase.into(),
                when: Some(86_400 * 365),
                files: vec!["b.c".into(), "a.c".into()],
                properties: BTreeMap::from([("k".into(), json!(1))]),
                ..Default::default()
            },
            created_at: 0,
        }
    }

    fn page(finished: bool) -> BuildPage {
        let mut build = fixtures::build(1, "app", 7, 100);
        build.worker = Some("w".into());
        build.state_text = "build successful".into();
        if finished {
            build.finished_at = Some(200);
            build.results = Some(Results::Warnings);
        }
        build.properties = BTreeMap::from([("b".into(), json!("x")), ("a".into(), json!(2))]);
        let steps = vec![
            a_step(1, "compile", Some(Results::Success), (Some(100), Some(150))),
            if finished {
                a_step(2, "test", Some(Results::Failure), (Some(150), Some(200)))
            } else {
                a_step(2, "test", None, (Some(150), None))
            },
        ];
        let changes = vec![a_change(4, "bob", "main"), a_change(3, "ann", "main"), a_change(5, "ann", "docs")];
        BuildPage {
            detail: BuildWithSteps { build, steps, changes: Some(changes) },
            owner: None,
            property_sources: BTreeMap::from([("a".into(), "Builder".into())]),
            sources: vec![
                NewSourceStamp { codebase: "main".into(), branch: Some("dev".into()), ..Default::default() },
                NewSourceStamp { codebase: "docs".into(), ..Default::default() },
            ],
        }
    }

    #[test]
    fn a_build_has_089s_keys_codes_and_triples() {
        let patch = Patch { codebase: "docs".into(), body: b"diff".to_vec(), level: Some(1), subdir: None };
        let v = build(&page(true), &[patch], Some(30), "http://ci/");
        assert_eq!(v["builderName"], "app");
        assert_eq!(v["number"], 7);
        assert_eq!(v["results"], 1, "warnings is 1");
        assert_eq!(v["times"], json!([100, 200]));
        assert_eq!(v["text"], json!(["build successful"]));
        assert_eq!(v["slave"], "w");
        assert_eq!(v["blame"], json!(["ann", "bob"]), "sorted, once each");
        assert_eq!(v["properties"], json!([["a", 2, "Builder"], ["b", "x", ""]]));
        assert_eq!(v["eta"], Value::Null, "a finished build has no ETA");
        assert_eq!(v["currentStep"], Value::Null);
        let stamps = v["sourceStamps"].as_array().unwrap();
        assert_eq!(stamps.len(), 2);
        assert_eq!(v["sourceStamp"], stamps[0]);
        assert_eq!(stamps[0]["branch"], "dev");
        assert_eq!(stamps[0]["hasPatch"], false);
        let numbers: Vec<_> = stamps[0]["changes"].as_array().unwrap().iter().map(|c| c["number"].clone()).collect();
        assert_eq!(numbers, [json!(4), json!(3)], "the changes of its codebase");
        assert_eq!((stamps[1]["hasPatch"].clone(), stamps[1]["patch_body"].clone()), (json!(true), json!("diff")));
        assert_eq!(v["logs"][0], json!(["std io", "http://ci/builders/app/builds/7/steps/1/logs/stdio"]));

        let test = &v["steps"][1];
        assert_eq!(test["name"], "test");
        assert_eq!(test["step_number"], 1, "positions count from 0, as 0.8.9's");
        assert_eq!(test["results"], json!([2, ["test"]]));
        assert_eq!(test["times"], json!([150, 200]));
        assert_eq!(v["steps"][0]["results"], json!([0, []]));
        assert_eq!(v["steps"][0]["isFinished"], true);
        let keys: Vec<&String> = test.as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            [
                "eta",
                "expectations",
                "hidden",
                "isFinished",
                "isStarted",
                "logs",
                "name",
                "results",
                "statistics",
                "step_number",
                "text",
                "times",
                "urls"
            ]
        );
    }

    #[test]
    fn a_running_build_has_its_current_step_and_eta() {
        let v = build(&page(false), &[], Some(30), "http://ci/");
        assert_eq!(v["results"], Value::Null);
        assert_eq!(v["times"], json!([100, null]));
        assert_eq!(v["eta"], 30);
        assert_eq!(v["currentStep"]["name"], "test");
        assert_eq!(v["currentStep"]["results"], json!([null, []]));
        assert_eq!(v["currentStep"]["isStarted"], true);
        assert_eq!(v["currentStep"]["isFinished"], false);
    }

    #[test]
    fn a_change_has_089s_keys() {
        let v = change(&a_change(3, "ann", "main"));
        assert_eq!(v["number"], 3);
        assert_eq!(v["who"], "ann");
        assert_eq!((v["revision"].clone(), v["rev"].clone()), (json!("r3"), json!("r3")));
        assert_eq!(v["when"], 86_400 * 365);
        assert_eq!(v["at"], "Fri 01 Jan 1971 00:00:00");
        assert_eq!(v["files"], json!([{ "name": "a.c" }, { "name": "b.c" }]));
        assert_eq!(v["properties"], json!([["k", 1, "Change"]]));
        assert_eq!(v["branch"], Value::Null);
    }

    #[test]
    fn steps_are_found_by_position_from_either_end_or_by_name() {
        let steps = page(true).detail.steps;
        assert_eq!(find_step(&steps, "0").map(|(i, s)| (i, s.name.as_str())), Some((0, "compile")));
        assert_eq!(find_step(&steps, "-1").map(|(i, s)| (i, s.name.as_str())), Some((1, "test")));
        assert_eq!(find_step(&steps, "test").map(|(i, _)| i), Some(1));
        assert!(find_step(&steps, "2").is_none());
        assert!(find_step(&steps, "-3").is_none());
        assert!(find_step(&steps, "upload").is_none());
    }

    #[test]
    fn paused_builders_are_idle_as_in_089() {
        let mut o = fixtures::overview("app");
        o.state = BuilderState::Paused;
        o.tags = vec!["linux".into(), "fast".into()];
        o.workers = vec!["w".into()];
        o.pending = 2;
        let v = builder(&o, &["force".into()], &[1, 2], &[2]);
        assert_eq!(
            v,
            json!({
                "basedir": "app", "category": "linux", "cachedBuilds": [1, 2], "currentBuilds": [2],
                "pendingBuilds": 2, "schedulers": ["force"], "slaves": ["w"], "state": "idle",
            })
        );
    }
}
