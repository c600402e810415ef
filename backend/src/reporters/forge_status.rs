//! `kind = "github_status"` and `"gitlab_status"`: Buildbot's GitHubStatusPush and
//! GitLabStatusPush. A build's start and its end each store one commit status (GitHub:
//! `pending`, then `success`, `failure` or `error`; GitLab: `running`, then `success`,
//! `failed` or `canceled`), rendered when the build starts or ends; the sender POSTs it to
//! the forge's commit status API. A build whose repository or commit renders empty (no
//! revision, a repository URL without a path) posts nothing.

use std::time::Duration;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::{Value, json};

use super::BuildEvent;
use super::outbox::{Deliver, DeliverError};
use super::reach::HttpPeer;
use crate::config::ForgeStatusConfig;
use crate::config::Secret;
use crate::model::{Build, Results};

/// What stays as is in a path segment.
pub(crate) const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// How long one request may take.
const TIMEOUT: Duration = Duration::from_secs(30);

/// Which forge's API.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Forge {
    /// GitHub or GitHub Enterprise.
    Github,
    /// GitLab.
    Gitlab,
}

/// A commit status reporter.
pub struct ForgeStatus {
    forge: Forge,
    name: String,
    config: ForgeStatusConfig,
    /// Cascade's own address, for the statuses' links.
    site: String,
}

impl ForgeStatus {
    /// The reporter `name` of `forge` with options `config`, linking to builds under `site`.
    pub fn new(forge: Forge, name: &str, config: &ForgeStatusConfig, site: &str) -> Self {
        ForgeStatus { forge, name: name.to_owned(), config: config.clone(), site: site.to_owned() }
    }

    /// The status to store for a build that started (no results yet) or finished.
    pub fn on_build(&self, event: &BuildEvent<'_>) -> Option<(String, Value)> {
        let build = event.build;
        let vars = variables(build);
        let render = |template: &str| render_or_warn(&self.name, template, &vars, "no commit status");
        let parsed = repository_path(&build.repository);
        let target_url = crate::engine::links::build_url(&self.site, &build.builder, build.number);
        if self.forge == Forge::Gitlab {
            let project = match &self.config.project {
                Some(t) => render(t)?,
                None => parsed.unwrap_or_default(),
            };
            let sha = render(&self.config.sha)?;
            if project.is_empty() || sha.is_empty() {
                return None;
            }
            let (event_name, state, description) = match build.results {
                None => ("started", "running", render(&self.config.start_description)?),
                Some(results) => ("finished", gitlab_state(results), render(&self.config.end_description)?),
            };
            let payload = json!({
                "project": project,
                "sha": sha,
                "state": state,
                "target_url": target_url,
                "description": description,
                "name": render(&self.config.context)?,
            });
            return Some((format!("build:{}:{event_name}", build.id.0), payload));
        }
        let (parsed_owner, parsed_name) = match parsed.as_deref().and_then(|p| p.split_once('/')) {
            Some((owner, name)) if !name.contains('/') => (owner.to_owned(), name.to_owned()),
            _ => (String::new(), String::new()),
        };
        let owner = match &self.config.repo_owner {
            Some(t) => render(t)?,
            None => parsed_owner,
        };
        let repo = match &self.config.repo_name {
            Some(t) => render(t)?,
            None => parsed_name,
        };
        let sha = render(&self.config.sha)?;
        if owner.is_empty() || repo.is_empty() || sha.is_empty() {
            return None;
        }
        let (event_name, state, description) = match build.results {
            None => ("started", "pending", render(&self.config.start_description)?),
            Some(results) => ("finished", github_state(results), render(&self.config.end_description)?),
        };
        let payload = json!({
            "owner": owner,
            "repo": repo,
            "sha": sha,
            "state": state,
            "target_url": target_url,
            "description": description,
            "context": render(&self.config.context)?,
        });
        Some((format!("build:{}:{event_name}", build.id.0), payload))
    }

    /// The delivery of this reporter's statuses.
    pub fn delivery(&self) -> Result<Delivery, String> {
        let client = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("cannot make an HTTP client: {e}"))?;
        Ok(Delivery {
            forge: self.forge,
            token: self.config.token.clone(),
            peer: HttpPeer::new(&self.config.base_url),
            base_url: self.config.base_url.clone(),
            client,
        })
    }
}

/// GitHub's state for a finished build. Unlike Buildbot, a retried build posts `error`
/// rather than `pending`: its request may never run again (cancelled), and a status is
/// never left pending; a new build of the request posts `pending` again itself.
pub fn github_state(results: Results) -> &'static str {
    match results {
        Results::Success | Results::Warnings | Results::Skipped => "success",
        Results::Failure => "failure",
        Results::Exception | Results::Retry | Results::Cancelled => "error",
    }
}

/// GitLab's state for a finished build: as GitHub's, with `failed` for failures and
/// exceptions and `canceled` for stopped and retried builds.
pub fn gitlab_state(results: Results) -> &'static str {
    match results {
        Results::Success | Results::Warnings | Results::Skipped => "success",
        Results::Failure | Results::Exception => "failed",
        Results::Retry | Results::Cancelled => "canceled",
    }
}

/// What the templates see.
pub(crate) fn variables(b: &Build) -> Value {
    json!({
        "prop": b.properties,
        "revision": b.revision.clone().unwrap_or_default(),
        "repository": b.repository,
        "branch": b.branch.clone().unwrap_or_default(),
        "project": b.project,
        "codebase": b.codebase,
        "builder": b.builder,
        "buildername": b.builder,
        "number": b.number,
        "results": b.results.map_or("", Results::name),
    })
}

pub(crate) fn render(template: &str, vars: &Value) -> Result<String, String> {
    let env = minijinja::Environment::new();
    env.render_str(template, vars).map_err(|e| format!("cannot render `{template}`: {e}"))
}

/// `template` rendered with `vars` and trimmed; `None`, with a warning that reporter
/// `reporter` sends `nothing` for this event, if it fails to render.
pub(crate) fn render_or_warn(reporter: &str, template: &str, vars: &Value, nothing: &str) -> Option<String> {
    match render(template, vars) {
        Ok(text) => Some(text.trim().to_owned()),
        Err(error) => {
            tracing::warn!(reporter, %error, "{nothing}");
            None
        }
    }
}

/// The path of a repository URL, without `.git` and surrounding slashes:
/// `https://github.com/OWNER/NAME(.git)`, `ssh://git@host/OWNER/NAME`, `git@host:OWNER/NAME.git`.
pub fn repository_path(url: &str) -> Option<String> {
    let url = url.trim();
    let path = if let Some((_, rest)) = url.split_once("://") {
        rest.split_once('/')?.1
    } else {
        // scp-like: [user@]host:path
        let (host, path) = url.split_once(':')?;
        if host.is_empty() || host.contains('/') {
            return None;
        }
        path
    };
    let path = path.split(['?', '#']).next().unwrap_or_default().trim_matches('/');
    let path = path.strip_suffix(".git").unwrap_or(path).trim_end_matches('/');
    (!path.is_empty() && !path.split('/').any(str::is_empty)).then(|| path.to_owned())
}

/// Posts the stored statuses.
pub struct Delivery {
    forge: Forge,
    token: Secret,
    base_url: String,
    client: reqwest::Client,
    /// Whether the forge could be reached.
    peer: HttpPeer,
}

impl Deliver for Delivery {
    /// After a POST that could not connect: whether the forge takes a connection now.
    async fn peer_back(&self) -> bool {
        self.peer.back().await
    }

    async fn deliver(&self, payload: &Value) -> Result<(), DeliverError> {
        if self.forge == Forge::Gitlab {
            return self.deliver_gitlab(payload).await;
        }
        let field = |k: &str| payload.get(k).and_then(Value::as_str).unwrap_or_default().to_owned();
        let (owner, repo, sha) = (field("owner"), field("repo"), field("sha"));
        if owner.is_empty() || repo.is_empty() || sha.is_empty() {
            return Err(DeliverError::Permanent(format!("not a commit status: {payload}")));
        }
        let url = format!(
            "{}/repos/{}/{}/statuses/{}",
            self.base_url,
            utf8_percent_encode(&owner, SEGMENT),
            utf8_percent_encode(&repo, SEGMENT),
            utf8_percent_encode(&sha, SEGMENT)
        );
        let body = json!({
            "state": field("state"),
            "target_url": field("target_url"),
            "description": field("description"),
            "context": field("context"),
        });
        let token = self.token.resolve().map_err(|e| DeliverError::Transient(format!("token: {e}")))?;
        let request = self
            .client
            .post(&url)
            .bearer_auth(token)
            .header("Accept", "application/vnd.github+json")
            .header("X-GitHub-Api-Version", "2022-11-28");
        post(&self.peer, request, &url, &body).await
    }
}

impl Delivery {
    async fn deliver_gitlab(&self, payload: &Value) -> Result<(), DeliverError> {
        let field = |k: &str| payload.get(k).and_then(Value::as_str).unwrap_or_default().to_owned();
        let (project, sha) = (field("project"), field("sha"));
        if project.is_empty() || sha.is_empty() {
            return Err(DeliverError::Permanent(format!("not a commit status: {payload}")));
        }
        let url = format!(
            "{}/api/v4/projects/{}/statuses/{}",
            self.base_url,
            utf8_percent_encode(&project, SEGMENT),
            utf8_percent_encode(&sha, SEGMENT)
        );
        let body = json!({
            "state": field("state"),
            "target_url": field("target_url"),
            "description": field("description"),
            "name": field("name"),
        });
        let token = self.token.resolve().map_err(|e| DeliverError::Transient(format!("token: {e}")))?;
        post(&self.peer, self.client.post(&url).header("PRIVATE-TOKEN", token), &url, &body).await
    }
}

/// Sends `request` (a POST to `url` on `peer`, with its credentials) with `body` as JSON; 2xx
/// is done, 408, 429, 5xx and unreachable peers are worth another try, any other answer is
/// final.
pub async fn post(
    peer: &HttpPeer,
    request: reqwest::RequestBuilder,
    url: &str,
    body: &Value,
) -> Result<(), DeliverError> {
    let request = request.header("User-Agent", "Cascade").header("Content-Type", "application/json");
    let sent = request.body(body.to_string()).send().await;
    peer.saw(&sent);
    let response = match sent {
        Ok(r) => r,
        Err(e) => return Err(DeliverError::Transient(format!("POST {url}: {e}"))),
    };
    let status = response.status().as_u16();
    if (200..300).contains(&status) {
        return Ok(());
    }
    let text = response.text().await.unwrap_or_default();
    let text: String = text.trim().chars().take(4096).collect();
    let message = format!("POST {url}: {status} {text}");
    if status == 408 || status == 429 || status >= 500 {
        Err(DeliverError::Transient(message))
    } else {
        Err(DeliverError::Permanent(message))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repository_urls_give_their_path() {
        for (url, path) in [
            ("https://github.com/acme/widget", Some("acme/widget")),
            ("https://github.com/acme/widget.git", Some("acme/widget")),
            ("https://github.com/acme/widget/", Some("acme/widget")),
            ("git@github.com:acme/widget.git", Some("acme/widget")),
            ("ssh://git@github.com/acme/widget.git", Some("acme/widget")),
            ("https://gitlab.com/group/sub/widget.git", Some("group/sub/widget")),
            ("https://github.com/", None),
            ("", None),
            ("/srv/git/widget", None),
        ] {
            assert_eq!(repository_path(url).as_deref(), path, "{url}");
        }
    }

    #[test]
    fn results_map_to_forge_states() {
        let states: Vec<&str> = Results::ALL.iter().map(|r| github_state(*r)).collect();
        assert_eq!(states, ["success", "success", "failure", "success", "error", "error", "error"]);
        let states: Vec<&str> = Results::ALL.iter().map(|r| gitlab_state(*r)).collect();
        assert_eq!(states, ["success", "success", "failed", "success", "failed", "canceled", "canceled"]);
    }

    #[test]
    fn templates_see_the_build() {
        let vars = json!({"prop": {"sha": "abc"}, "buildername": "app"});
        assert_eq!(render("{{ prop.sha }}/{{ buildername }}{{ prop.none }}", &vars).unwrap(), "abc/app");
        let build = crate::model::Build {
            properties: [("owner".to_string(), json!("acme"))].into(),
            project: "p".into(),
            repository: "r".into(),
            ..crate::model::Build::sample("app", 3)
        };
        let text =
            "{{ prop.owner }}|{{ revision }}|{{ branch }}|{{ results }}|{{ builder }}#{{ number }}|{{ project }}";
        assert_eq!(render(text, &variables(&build)).unwrap(), "acme||||app#3|p");
    }
}
