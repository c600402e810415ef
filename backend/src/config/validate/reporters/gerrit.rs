//! `kind = "gerrit"`: reviews on Gerrit changes.

use std::collections::BTreeMap;

use super::super::super::doc::KeyPath;
use super::super::super::raw::reporters::{RawGerrit, RawStartMessage};
use super::super::super::reporters::GerritConfig;
use super::super::Validator;

/// The message of a build's review, as Buildbot's `gerritReviewCB`.
pub const DEFAULT_REVIEW_MESSAGE: &str = "Cascade finished building your patch set\n\
on configuration: {{ buildername }}\n\
The result is: {{ results | upper }}\n\n\
For more details visit:\n{{ url }}\n";

/// The message when a build starts (`start_message = true`), as Buildbot's `gerritStartCB`.
pub const DEFAULT_START_MESSAGE: &str = "Cascade started building your patch set\n\
on configuration: {{ buildername }}\n\n\
Follow it at:\n{{ url }}\n";

/// The message of a build set's summary, as Buildbot's `gerritSummaryCB`: one paragraph per
/// build.
pub const DEFAULT_SUMMARY_MESSAGE: &str = "{% for b in builds %}Builder {{ b.builder }} {{ b.result_text }} \
({{ b.state_text }}) - {{ b.url }}{% if not loop.last %}\n\n{% endif %}{% endfor %}";

/// The reference's scoring: +1 when the build (or every build of the set) succeeded, else −1.
pub const DEFAULT_VERIFIED: &str = "{% if results == 'success' %}1{% else %}-1{% endif %}";

impl Validator<'_, '_> {
    /// `text`, given for `at`, after checking it is a template with something in it (`ok`
    /// turns false if not).
    fn filled_template(&mut self, ok: &mut bool, at: &KeyPath, text: String) -> String {
        if text.trim().is_empty() {
            self.doc.issue(at, "must not be empty (leave the key out for the default)");
            *ok = false;
        } else if !self.template(&text, at) {
            *ok = false;
        }
        text
    }

    pub(super) fn gerrit(&mut self, raw: RawGerrit, at: &KeyPath) -> Option<GerritConfig> {
        let mut ok = true;
        let server_url = raw.server_url.trim_end_matches('/').to_owned();
        match reqwest::Url::parse(&server_url) {
            Ok(url) if matches!(url.scheme(), "http" | "https") && url.has_host() && url.query().is_none() => {}
            Ok(_) => {
                let message = "must be Gerrit's http:// or https:// address, e.g. https://review.example.org";
                self.doc.issue(&at.key("server_url"), message);
                ok = false;
            }
            Err(e) => {
                self.doc.issue(&at.key("server_url"), format!("not a URL: {e}"));
                ok = false;
            }
        }
        if raw.user.is_empty() || raw.user.contains(':') {
            self.doc.issue(&at.key("user"), "must be Gerrit's HTTP user name, without `:`");
            ok = false;
        }
        let start_message = match raw.start_message {
            None | Some(RawStartMessage::Flag(false)) => None,
            Some(RawStartMessage::Flag(true)) => Some(DEFAULT_START_MESSAGE.to_owned()),
            Some(RawStartMessage::Template(t)) => Some(self.filled_template(&mut ok, &at.key("start_message"), t)),
        };
        let review_message = self.filled_template(
            &mut ok,
            &at.key("review_message"),
            raw.review_message.unwrap_or_else(|| DEFAULT_REVIEW_MESSAGE.to_owned()),
        );
        let summary_message = self.filled_template(
            &mut ok,
            &at.key("summary_message"),
            raw.summary_message.unwrap_or_else(|| DEFAULT_SUMMARY_MESSAGE.to_owned()),
        );
        let change = raw.change.map(|t| self.filled_template(&mut ok, &at.key("change"), t));
        let patchset = raw.patchset.map(|t| self.filled_template(&mut ok, &at.key("patchset"), t));
        let labels =
            raw.labels.unwrap_or_else(|| BTreeMap::from([("Verified".to_owned(), DEFAULT_VERIFIED.to_owned())]));
        let labels: BTreeMap<String, String> = labels
            .into_iter()
            .map(|(label, score)| {
                let key = at.key("labels").key(&label);
                if label.is_empty() || !label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
                    self.doc.issue(&key, format!("`{label}` is not a Gerrit label name (letters, digits, `-`, `_`)"));
                    ok = false;
                }
                let score = self.filled_template(&mut ok, &key, score);
                (label, score)
            })
            .collect();
        if change.is_some() != patchset.is_some() {
            let missing = if change.is_some() { "patchset" } else { "change" };
            self.doc.issue(
                &at.key(missing),
                "give `change` and `patchset` together (or neither, to read them from the build)",
            );
            ok = false;
        }
        if !raw.summary && !raw.per_build && start_message.is_none() {
            let message = "this reporter would send nothing: set `summary`, `per_build` or `start_message`";
            self.doc.issue(&at.key("summary"), message);
            ok = false;
        }
        if matches!(&raw.password, crate::config::secret::Secret::Literal(p) if p.is_empty()) {
            self.doc.issue(&at.key("password"), "must not be empty");
            ok = false;
        }
        let tag = match raw.tag {
            None => Some("autogenerated:cascade".to_owned()),
            Some(t) if t.is_empty() => None,
            Some(t) if t.contains(char::is_whitespace) => {
                self.doc.issue(&at.key("tag"), "must not contain spaces");
                ok = false;
                None
            }
            Some(t) => Some(t),
        };
        let config = GerritConfig {
            server_url,
            user: raw.user,
            password: raw.password.relative_to(&self.dir),
            summary: raw.summary,
            per_build: raw.per_build,
            start_message,
            review_message,
            summary_message,
            labels,
            change,
            patchset,
            tag,
        };
        ok.then_some(config)
    }
}
