//! `cascade sendchange`: submits one change to a master's `base` change hook, as
//! `buildbot sendchange` and 0.8.9's post_build_request.py did.

use anyhow::{Context, Result, bail};

/// The change's fields, as given on the command line.
#[derive(Debug, clap::Args)]
pub struct SendChange {
    /// The master's address, e.g. http://ci.example.org:8010/
    #[arg(long, env = "CASCADE_MASTER")]
    master: String,
    /// HTTP Basic credentials for the hook, USER:PASSWORD ([change_hook] auth).
    #[arg(long)]
    auth: Option<String>,
    /// Who wrote the change.
    #[arg(long, alias = "who")]
    author: String,
    /// Who committed it, if someone else.
    #[arg(long)]
    committer: Option<String>,
    /// The commit message.
    #[arg(long, short = 'm', default_value = "")]
    comments: String,
    /// The revision.
    #[arg(long)]
    revision: Option<String>,
    /// The branch.
    #[arg(long)]
    branch: Option<String>,
    /// A file the change touches (repeatable).
    #[arg(long = "file", value_name = "PATH")]
    files: Vec<String>,
    /// A change property as NAME=VALUE (repeatable).
    #[arg(long = "property", value_name = "NAME=VALUE")]
    properties: Vec<String>,
    /// The repository URL.
    #[arg(long)]
    repository: Option<String>,
    /// The project.
    #[arg(long)]
    project: Option<String>,
    /// The codebase.
    #[arg(long)]
    codebase: Option<String>,
    /// The category.
    #[arg(long)]
    category: Option<String>,
    /// A link to the revision.
    #[arg(long)]
    revlink: Option<String>,
    /// The commit time, epoch seconds.
    #[arg(long)]
    when: Option<i64>,
}

impl SendChange {
    /// The form fields of the base hook.
    fn form(&self) -> Result<Vec<(&'static str, String)>> {
        let mut props = serde_json::Map::new();
        for p in &self.properties {
            let (k, v) = p.split_once('=').with_context(|| format!("`{p}` is not NAME=VALUE"))?;
            props.insert(k.to_owned(), serde_json::Value::String(v.to_owned()));
        }
        let mut form = vec![("author", self.author.clone()), ("comments", self.comments.clone())];
        let optional = [
            ("committer", &self.committer),
            ("revision", &self.revision),
            ("branch", &self.branch),
            ("repository", &self.repository),
            ("project", &self.project),
            ("codebase", &self.codebase),
            ("category", &self.category),
            ("revlink", &self.revlink),
        ];
        form.extend(optional.into_iter().filter_map(|(k, v)| v.clone().map(|v| (k, v))));
        if !self.files.is_empty() {
            form.push(("files", serde_json::to_string(&self.files)?));
        }
        if !props.is_empty() {
            form.push(("properties", serde_json::Value::Object(props).to_string()));
        }
        if let Some(when) = self.when {
            form.push(("when", when.to_string()));
        }
        Ok(form)
    }
}

/// Sends the change; prints the ids the master created.
pub fn run(change: SendChange) -> Result<()> {
    use base64::Engine as _;
    let url = format!("{}/change_hook/base", change.master.trim_end_matches('/'));
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        bail!("--master must be an http:// or https:// address, e.g. http://localhost:8010/");
    }
    let form = change.form()?;
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let mut request = agent.post(&url).header("User-Agent", concat!("cascade-sendchange/", env!("CARGO_PKG_VERSION")));
    if let Some(auth) = &change.auth {
        let encoded = base64::engine::general_purpose::STANDARD.encode(auth);
        request = request.header("Authorization", &format!("Basic {encoded}"));
    }
    let mut response = request.send_form(form.iter().map(|(k, v)| (*k, v.as_str()))).map_err(|e| {
        anyhow::anyhow!("cannot reach the master at {url}: {e}\nIs a master running there (`cascade start`) with `[change_hook] dialects = {{ base = {{}} }}`?")
    })?;
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string().unwrap_or_default();
    let body: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    let message = body.get("message").and_then(|m| m.as_str()).unwrap_or("").to_owned();
    match status {
        200..=299 => {
            let ids = body.get("change_ids").cloned().unwrap_or_default();
            println!("change sent: {message} {ids}");
            Ok(())
        }
        401 => bail!("the master wants credentials for its change hook: pass --auth USER:PASSWORD ({message})"),
        404 => bail!(
            "the master does not accept base changes: enable `[change_hook] dialects = {{ base = {{}} }}` ({message})"
        ),
        _ => bail!("the master refused the change ({status}): {message}"),
    }
}
