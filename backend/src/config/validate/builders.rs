//! Builders and their steps: each builder table and each step is read on its own, then
//! worker references, `command`/`git` exclusivity, and timeouts are checked.

use super::super::doc::KeyPath;
use super::super::raw::{RawBuilder, RawStep};
use super::super::types::{BuilderConfig, Command, StepConfig, StepKind};
use super::{Validator, push_or_fail};

impl Validator<'_, '_> {
    pub(super) fn builders(&mut self) -> Option<Vec<BuilderConfig>> {
        let list = KeyPath::default().key("builders");
        let len = self.doc.array_len(&list);
        if len == 0 {
            self.doc.issue(&list, "at least one [[builders]] entry is required");
        }
        let workers = self.names(&KeyPath::default().key("workers"));
        let mut builders = Some(Vec::new());
        for i in 0..len {
            let at = list.index(i);
            let raw = self.doc.unit::<RawBuilder>(&at);
            let steps = self.steps(&at.key("steps"));
            let builder = raw.and_then(|raw| self.builder(raw, steps, &workers, &at));
            push_or_fail(&mut builders, builder);
        }
        self.check_unique("builder", &list);
        builders
    }

    fn builder(
        &mut self,
        raw: RawBuilder,
        steps: Option<Vec<StepConfig>>,
        workers: &[String],
        at: &KeyPath,
    ) -> Option<BuilderConfig> {
        let mut ok = self.check_name(&raw.name, &at.key("name"));
        if raw.workers.is_empty() {
            self.doc.issue(&at.key("workers"), "needs at least one worker name");
            ok = false;
        }
        for (i, name) in raw.workers.iter().enumerate() {
            if !workers.contains(name) {
                self.doc.issue(&at.key("workers").index(i), format!("unknown worker `{name}`"));
                ok = false;
            }
        }
        if !ok {
            return None;
        }
        Some(BuilderConfig {
            name: raw.name,
            description: raw.description,
            tags: raw.tags,
            workers: raw.workers,
            properties: raw.properties,
            steps: steps?,
        })
    }

    fn steps(&mut self, list: &KeyPath) -> Option<Vec<StepConfig>> {
        let len = self.doc.array_len(list);
        if len == 0 && self.doc.get(list).is_some() {
            self.doc.issue(list, "needs at least one step");
            return None;
        } else if len == 0 {
            self.doc.issue(list, "missing required key `steps` (at least one step)");
            return None;
        }
        let mut steps = Some(Vec::new());
        for i in 0..len {
            let at = list.index(i);
            let step = self.doc.unit::<RawStep>(&at).and_then(|raw| self.step(raw, &at));
            push_or_fail(&mut steps, step);
        }
        steps
    }

    fn step(&mut self, raw: RawStep, at: &KeyPath) -> Option<StepConfig> {
        let mut ok = true;
        if raw.name.is_empty() {
            self.doc.issue(&at.key("name"), "must not be empty");
            ok = false;
        }
        if raw.timeout == Some(0) {
            self.doc.issue(&at.key("timeout"), "must be a positive number of seconds");
            ok = false;
        }
        let kind = match (raw.command, raw.git) {
            (Some(command), None) => {
                let empty = match &command {
                    Command::Argv(argv) => argv.first().is_none_or(|a| a.is_empty()),
                    Command::Shell(line) => line.trim().is_empty(),
                };
                if empty {
                    self.doc.issue(&at.key("command"), "must not be empty");
                }
                (!empty).then_some(StepKind::Shell(command))
            }
            (None, Some(git)) => Some(StepKind::Git(git)),
            (Some(_), Some(_)) => {
                self.doc.issue(at, "a step takes either `command` or `git`, not both");
                None
            }
            (None, None) => {
                self.doc.issue(at, "a step needs `command = [...]` (or a string) or `git = { repo_url = ... }`");
                None
            }
        };
        let kind = kind.filter(|_| ok)?;
        Some(StepConfig {
            name: raw.name,
            kind,
            env: raw.env,
            workdir: raw.workdir,
            timeout: raw.timeout,
            halt_on_failure: raw.halt_on_failure,
            flunk_on_failure: raw.flunk_on_failure,
            warn_on_failure: raw.warn_on_failure,
            warn_on: raw.warn_on,
        })
    }
}
