//! `[[reporters]]`: status targets, picked by their `kind`.

use std::collections::BTreeMap;

mod gerrit;

use super::super::doc::KeyPath;
use super::super::raw::OneOrMany;
use super::super::raw::reporters::{
    RawAddLogs, RawChannel, RawForgeStatus, RawGerrit, RawHttpAuth, RawHttpPush, RawIrc, RawMail, RawMode,
};
use super::super::reporters::{
    AddLogs, BodyType, ForgeStatusConfig, HttpAuth, HttpPushConfig, IrcChannel, IrcConfig, MailConfig, MailMode,
    ReporterConfig, ReporterKind, SmtpSecurity, is_irc_channel, is_irc_event,
};
use super::{Validator, push_or_fail};

/// The longest wait between two delivery attempts unless `max_retry_delay` says otherwise.
const DEFAULT_MAX_RETRY_DELAY: u64 = 3600;

/// The reporter kinds this build knows about.
const KINDS: &[&str] = &["mail", "irc", "http_push", "github_status", "gitlab_status", "gerrit"];

/// The default subject, as Buildbot's `"buildbot %(result)s in %(title)s on %(builder)s"`.
pub const DEFAULT_SUBJECT: &str = "Cascade {{ result }} in {{ title }} on {{ builder }}";

impl Validator<'_, '_> {
    pub(super) fn reporters(&mut self) -> Option<Vec<ReporterConfig>> {
        let list = KeyPath::default().key("reporters");
        let builders = self.names(&KeyPath::default().key("builders"));
        let mut reporters = Some(Vec::new());
        let mut names: Vec<String> = Vec::new();
        for i in 0..self.doc.array_len(&list) {
            let at = list.index(i);
            let reporter = self.reporter(&at, &builders);
            if let Some(r) = &reporter {
                if names.contains(&r.name) {
                    let message = format!("duplicate reporter name `{}` (give each reporter its own `name`)", r.name);
                    self.doc.issue(&at.key("name"), message);
                    push_or_fail(&mut reporters, None::<ReporterConfig>);
                    continue;
                }
                names.push(r.name.clone());
            }
            push_or_fail(&mut reporters, reporter);
        }
        reporters
    }

    fn reporter(&mut self, at: &KeyPath, builders: &[String]) -> Option<ReporterConfig> {
        let kind_at = at.key("kind");
        let kind = self.doc.get(&kind_at).map(|k| k.get_ref().as_str().map(str::to_owned));
        let kinds = KINDS.join(", ");
        let (name, filter, kind) = match kind.as_ref().map(|k| k.as_deref()) {
            None => {
                self.doc.issue(&kind_at, format!("missing required key `kind` (one of: {kinds})"));
                return None;
            }
            Some(Some("mail")) => {
                let raw = self.doc.unit::<RawMail>(at)?;
                let name = raw.name.clone().unwrap_or_else(|| "mail".into());
                let filter = (raw.builders.take_list(), raw.tags.take_list(), raw.max_retry_delay);
                (name, filter, self.mail(raw, at).map(|m| ReporterKind::Mail(Box::new(m))))
            }
            Some(Some("irc")) => {
                let raw = self.doc.unit::<RawIrc>(at)?;
                let name = raw.name.clone().unwrap_or_else(|| "irc".into());
                let filter = (raw.builders.take_list(), raw.tags.take_list(), raw.max_retry_delay);
                (name, filter, self.irc(raw, at).map(|i| ReporterKind::Irc(Box::new(i))))
            }
            Some(Some("http_push")) => {
                let raw = self.doc.unit::<RawHttpPush>(at)?;
                let name = raw.name.clone().unwrap_or_else(|| "http_push".into());
                let filter = (raw.builders.take_list(), raw.tags.take_list(), raw.max_retry_delay);
                (name, filter, self.http_push(raw, at).map(|h| ReporterKind::HttpPush(Box::new(h))))
            }
            Some(Some(forge @ ("github_status" | "gitlab_status"))) => {
                let gitlab = forge == "gitlab_status";
                let raw = self.doc.unit::<RawForgeStatus>(at)?;
                let name = raw.name.clone().unwrap_or_else(|| forge.into());
                let filter = (raw.builders.take_list(), raw.tags.take_list(), raw.max_retry_delay);
                let config = self.forge_status(raw, at, gitlab).map(Box::new);
                (name, filter, config.map(if gitlab { ReporterKind::GitlabStatus } else { ReporterKind::GithubStatus }))
            }
            Some(Some("gerrit")) => {
                let raw = self.doc.unit::<RawGerrit>(at)?;
                let name = raw.name.clone().unwrap_or_else(|| "gerrit".into());
                let filter = (raw.builders.take_list(), raw.tags.take_list(), raw.max_retry_delay);
                (name, filter, self.gerrit(raw, at).map(|g| ReporterKind::Gerrit(Box::new(g))))
            }
            Some(Some(other)) => {
                self.doc.issue(&kind_at, format!("unknown reporter kind `{other}` (one of: {kinds})"));
                return None;
            }
            Some(None) => {
                self.doc.issue(&kind_at, format!("expected a string, one of: {kinds}"));
                return None;
            }
        };
        let mut ok = self.check_name(&name, &at.key("name"));
        let (filter_builders, tags, max_retry_delay) = filter;
        let max_retry_delay = max_retry_delay.unwrap_or(DEFAULT_MAX_RETRY_DELAY);
        if max_retry_delay == 0 {
            self.doc.issue(&at.key("max_retry_delay"), "must be a positive number of seconds");
            ok = false;
        }
        for b in &filter_builders {
            if !builders.contains(b) {
                self.doc.issue(&at.key("builders"), format!("unknown builder `{b}`"));
                ok = false;
            }
        }
        if !filter_builders.is_empty() && !tags.is_empty() {
            self.doc.issue(&at.key("tags"), "give `builders` or `tags`, not both");
            ok = false;
        }
        let kind = kind?;
        ok.then_some(ReporterConfig { name, builders: filter_builders, tags, max_retry_delay, kind })
    }

    fn mail(&mut self, raw: RawMail, at: &KeyPath) -> Option<MailConfig> {
        let mut ok = true;
        if let Err(e) = raw.from.parse::<lettre::message::Mailbox>() {
            self.doc.issue(&at.key("from"), format!("not a mail address: {e}"));
            ok = false;
        }
        for (i, r) in raw.extra_recipients.iter().enumerate() {
            if let Err(e) = r.parse::<lettre::message::Mailbox>() {
                self.doc.issue(&at.key("extra_recipients").index(i), format!("not a mail address: {e}"));
                ok = false;
            }
        }
        let subject = raw.subject.as_deref().map_or_else(|| DEFAULT_SUBJECT.to_owned(), percent_to_jinja);
        ok &= self.template(&subject, &at.key("subject"));
        let mode = self.mail_mode(raw.mode, &at.key("mode"));
        let add_logs = match raw.add_logs {
            None | Some(RawAddLogs::Flag(false)) => AddLogs::None,
            Some(RawAddLogs::Flag(true)) => AddLogs::All,
            Some(RawAddLogs::Names(names)) => AddLogs::Names(names),
        };
        let security = match (raw.use_tls, raw.use_ssl) {
            (false, false) => SmtpSecurity::None,
            (true, false) => SmtpSecurity::StartTls,
            (false, true) => SmtpSecurity::Implicit,
            (true, true) => {
                let message = "`use_tls` (STARTTLS) and `use_ssl` (TLS from the start) exclude each other";
                self.doc.issue(&at.key("use_ssl"), message);
                ok = false;
                SmtpSecurity::None
            }
        };
        let smtp_port = raw.smtp_port.unwrap_or(if security == SmtpSecurity::Implicit { 465 } else { 25 });
        if smtp_port == 0 {
            self.doc.issue(&at.key("smtp_port"), "must be a port number (1-65535)");
            ok = false;
        }
        if raw.relay_host.trim().is_empty() {
            self.doc.issue(&at.key("relay_host"), "must name a mail server");
            ok = false;
        }
        match (&raw.smtp_user, &raw.smtp_password) {
            (Some(_), None) => {
                self.doc.issue(&at.key("smtp_password"), "`smtp_user` needs `smtp_password`");
                ok = false;
            }
            (None, Some(_)) => {
                self.doc.issue(&at.key("smtp_user"), "`smtp_password` needs `smtp_user`");
                ok = false;
            }
            _ => {}
        }
        if let Some(domain) = &raw.lookup
            && (domain.is_empty() || domain.contains('@') || domain.contains(char::is_whitespace))
        {
            self.doc.issue(&at.key("lookup"), "must be a domain, as in `example.org`");
            ok = false;
        }
        let template = match (raw.template, raw.template_file) {
            (Some(_), Some(_)) => {
                self.doc.issue(&at.key("template_file"), "give `template` or `template_file`, not both");
                ok = false;
                None
            }
            (Some(text), None) => Some(text),
            (None, Some(path)) => {
                let path = self.absolute(path);
                match std::fs::read_to_string(&path) {
                    Ok(text) => Some(text),
                    Err(e) => {
                        self.doc.issue(&at.key("template_file"), format!("cannot read {}: {e}", path.display()));
                        ok = false;
                        None
                    }
                }
            }
            (None, None) => None,
        };
        if let Some(t) = &template {
            ok &= self.template(t, &at.key("template"));
        }
        let template_type = match raw.template_type.as_deref() {
            None | Some("plain") => BodyType::Plain,
            Some("html") => BodyType::Html,
            Some(other) => {
                self.doc.issue(&at.key("template_type"), format!("unknown template type `{other}` (plain or html)"));
                ok = false;
                BodyType::Plain
            }
        };
        let mut extra_headers = BTreeMap::new();
        for (name, value) in raw.extra_headers {
            let at = at.key("extra_headers").key(&name);
            let valid = !name.is_empty() && name.bytes().all(|b| b.is_ascii_graphic() && b != b':');
            if !valid {
                self.doc.issue(&at, "not a header name");
                ok = false;
            }
            ok &= self.template(&value, &at);
            extra_headers.insert(name, value);
        }
        let mail = MailConfig {
            from: raw.from,
            send_to_interested_users: raw.send_to_interested_users,
            extra_recipients: raw.extra_recipients,
            subject,
            mode: mode?,
            add_logs,
            add_patch: raw.add_patch,
            build_set_summary: raw.build_set_summary,
            relay_host: raw.relay_host,
            smtp_port,
            security,
            tls_ca_file: raw.tls_ca_file.map(|p| self.absolute(p)),
            smtp_user: raw.smtp_user,
            smtp_password: raw.smtp_password.map(|s| s.relative_to(&self.dir)),
            lookup: raw.lookup,
            template,
            template_type,
            extra_headers,
        };
        ok.then_some(mail)
    }

    /// `mode`: `"all"`, `"warnings"`, one mode, or a list of modes.
    fn mail_mode(&mut self, raw: Option<RawMode>, at: &KeyPath) -> Option<Vec<MailMode>> {
        let names = match raw {
            None => return Some(vec![MailMode::Failing, MailMode::Passing, MailMode::Warnings]),
            Some(RawMode::One(s)) if s == "all" => {
                return Some(vec![
                    MailMode::Failing,
                    MailMode::Passing,
                    MailMode::Warnings,
                    MailMode::Exception,
                    MailMode::Cancelled,
                ]);
            }
            Some(RawMode::One(s)) if s == "warnings" => return Some(vec![MailMode::Failing, MailMode::Warnings]),
            Some(RawMode::One(s)) => vec![s],
            Some(RawMode::Many(list)) => list,
        };
        let known = MailMode::ALL.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ");
        let mut modes = Vec::new();
        let mut ok = true;
        for name in names {
            match MailMode::ALL.iter().find(|(n, _)| *n == name) {
                Some((_, m)) if !modes.contains(m) => modes.push(*m),
                Some(_) => {}
                None if name == "all" => {
                    self.doc.issue(at, "`all` is a shortcut: write `mode = \"all\"`, not inside a list");
                    ok = false;
                }
                None => {
                    self.doc.issue(at, format!("unknown mode `{name}` (one of: {known}; or \"all\")"));
                    ok = false;
                }
            }
        }
        if ok && modes.is_empty() {
            self.doc.issue(at, "needs at least one mode");
            ok = false;
        }
        modes.sort();
        ok.then_some(modes)
    }

    /// Checks a minijinja template's syntax.
    fn template(&mut self, text: &str, at: &KeyPath) -> bool {
        let mut env = minijinja::Environment::new();
        match env.add_template("t", text) {
            Ok(()) => true,
            Err(e) => {
                self.doc.issue(at, format!("invalid template: {e}"));
                false
            }
        }
    }

    fn http_push(&mut self, raw: RawHttpPush, at: &KeyPath) -> Option<HttpPushConfig> {
        let mut ok = true;
        match reqwest::Url::parse(&raw.server_url) {
            Ok(url) if matches!(url.scheme(), "http" | "https") && url.has_host() => {}
            Ok(_) => {
                self.doc.issue(&at.key("server_url"), "must be an http:// or https:// URL");
                ok = false;
            }
            Err(e) => {
                self.doc.issue(&at.key("server_url"), format!("not a URL: {e}"));
                ok = false;
            }
        }
        let events = raw.events.unwrap_or_else(|| vec!["started".into(), "finished".into()]);
        for (i, event) in events.iter().enumerate() {
            if !matches!(event.as_str(), "started" | "finished") {
                self.doc.issue(&at.key("events").index(i), format!("unknown event `{event}` (started or finished)"));
                ok = false;
            }
        }
        if events.is_empty() {
            self.doc.issue(&at.key("events"), "name at least one event (started, finished)");
            ok = false;
        }
        let auth = match raw.auth {
            None => None,
            Some(RawHttpAuth::Basic(basic)) => {
                if basic.user.is_empty() || basic.user.contains(':') {
                    self.doc.issue(&at.key("auth").key("basic").key("user"), "must be a user name without `:`");
                    ok = false;
                }
                Some(HttpAuth::Basic { user: basic.user, password: basic.password })
            }
            Some(RawHttpAuth::Bearer(token)) => Some(HttpAuth::Bearer(token)),
        };
        if raw.retry_delay == 0 {
            self.doc.issue(&at.key("retry_delay"), "must be a positive number of seconds");
            ok = false;
        }
        if raw.max_queue == Some(0) {
            self.doc.issue(&at.key("max_queue"), "must be a positive number of events");
            ok = false;
        }
        if raw.timeout == 0 {
            self.doc.issue(&at.key("timeout"), "must be a positive number of seconds");
            ok = false;
        }
        if raw.buffer_delay > 3600 {
            self.doc.issue(&at.key("buffer_delay"), "must be at most 3600 seconds");
            ok = false;
        }
        let config = HttpPushConfig {
            server_url: raw.server_url,
            started: events.iter().any(|e| e == "started"),
            finished: events.iter().any(|e| e == "finished"),
            auth,
            secret: raw.secret,
            buffer_delay: raw.buffer_delay,
            retry_delay: raw.retry_delay,
            max_queue: raw.max_queue,
            timeout: raw.timeout,
        };
        ok.then_some(config)
    }

    fn forge_status(&mut self, raw: RawForgeStatus, at: &KeyPath, gitlab: bool) -> Option<ForgeStatusConfig> {
        let mut ok = true;
        let misplaced = if gitlab {
            vec![("repo_owner", raw.repo_owner.is_some()), ("repo_name", raw.repo_name.is_some())]
        } else {
            vec![("project", raw.project.is_some())]
        };
        for (key, given) in misplaced {
            if given {
                let instead = if gitlab {
                    "gitlab_status names the project with `project`"
                } else {
                    "github_status names the repository with `repo_owner` and `repo_name`"
                };
                self.doc.issue(&at.key(key), format!("unknown key `{key}` ({instead})"));
                ok = false;
            }
        }
        let mut template = |key: &str, value: Option<String>, default: &str| {
            if value.as_deref().is_some_and(|v| v.trim().is_empty()) {
                self.doc.issue(&at.key(key), "must not be empty (leave the key out for the default)");
                ok = false;
            }
            let value = value.unwrap_or_else(|| default.to_owned());
            ok &= self.template(&value, &at.key(key));
            value
        };
        let repo_owner = raw.repo_owner.map(|v| template("repo_owner", Some(v), ""));
        let repo_name = raw.repo_name.map(|v| template("repo_name", Some(v), ""));
        let project = raw.project.map(|v| template("project", Some(v), ""));
        let sha = template("sha", raw.sha, "{{ revision }}");
        let context = template("context", raw.context, "cascade/{{ buildername }}");
        let start_description = template("start_description", raw.start_description, "Build started.");
        let end_description = template("end_description", raw.end_description, "Build done.");
        let default_base = if gitlab { "https://gitlab.com" } else { "https://api.github.com" };
        let base_url = raw.base_url.unwrap_or_else(|| default_base.into());
        let base_url = base_url.trim_end_matches('/').to_owned();
        let rest = base_url.strip_prefix("https://").or_else(|| base_url.strip_prefix("http://"));
        if rest.is_none_or(|r| {
            r.is_empty() || r.starts_with('/') || r.contains(|c: char| c.is_whitespace() || c == '?' || c == '#')
        }) {
            let example = if gitlab { "https://gitlab.example.org" } else { "https://ghe.example.org/api/v3" };
            self.doc.issue(&at.key("base_url"), format!("must be an http:// or https:// address, e.g. {example}"));
            ok = false;
        }
        if matches!(&raw.token, crate::config::secret::Secret::Literal(t) if t.trim().is_empty()) {
            self.doc.issue(&at.key("token"), "must not be empty");
            ok = false;
        }
        let config = ForgeStatusConfig {
            token: raw.token.relative_to(&self.dir),
            repo_owner,
            repo_name,
            project,
            sha,
            context,
            start_description,
            end_description,
            base_url,
        };
        ok.then_some(config)
    }

    fn irc(&mut self, raw: RawIrc, at: &KeyPath) -> Option<IrcConfig> {
        let mut ok = true;
        if raw.host.trim().is_empty() {
            self.doc.issue(&at.key("host"), "must name an IRC server");
            ok = false;
        }
        if raw.port == 0 {
            self.doc.issue(&at.key("port"), "must be a port number (1-65535)");
            ok = false;
        }
        if !is_nick(&raw.nick) {
            self.doc.issue(&at.key("nick"), format!("`{}` is not an IRC nick", raw.nick));
            ok = false;
        }
        let mut channels = Vec::new();
        for (i, c) in raw.channels.into_iter().enumerate() {
            let channel = match c {
                RawChannel::Name(name) => IrcChannel { name, key: None },
                RawChannel::Keyed(k) => IrcChannel { name: k.name, key: k.key },
            };
            if !is_irc_channel(&channel.name) {
                let message = format!("`{}` is not a channel name (they start with `#` or `&`)", channel.name);
                self.doc.issue(&at.key("channels").index(i), message);
                ok = false;
            }
            channels.push(channel);
        }
        for (i, nick) in raw.pm_to_nicks.iter().enumerate() {
            if !is_nick(nick) {
                self.doc.issue(&at.key("pm_to_nicks").index(i), format!("`{nick}` is not an IRC nick"));
                ok = false;
            }
        }
        for (key, delay) in [("lost_delay", raw.lost_delay), ("failed_delay", raw.failed_delay)] {
            if let Some(d) = delay
                && !(d.is_finite() && (0.0..=86_400.0).contains(&d))
            {
                self.doc.issue(&at.key(key), "must be a number of seconds between 0 and 86400");
                ok = false;
            }
        }
        for (i, event) in raw.notify_events.iter().enumerate() {
            if !is_irc_event(event) {
                let message = format!(
                    "unknown event `{event}` (started, finished, success, warnings, failure, exception, cancelled, \
                     or a transition such as successToFailure)"
                );
                self.doc.issue(&at.key("notify_events").index(i), message);
                ok = false;
            }
        }
        let irc = IrcConfig {
            host: raw.host,
            port: raw.port,
            nick: raw.nick,
            password: raw.password.map(|s| s.relative_to(&self.dir)),
            channels,
            pm_to_nicks: raw.pm_to_nicks,
            use_ssl: raw.use_ssl,
            tls_ca_file: raw.tls_ca_file.map(|p| self.absolute(p)),
            use_colors: raw.use_colors,
            notice_on_channel: raw.notice_on_channel,
            allow_force: raw.allow_force,
            allow_shutdown: raw.allow_shutdown,
            use_revisions: raw.use_revisions,
            show_blame_list: raw.show_blame_list,
            lost_delay: raw.lost_delay,
            failed_delay: raw.failed_delay,
            notify_events: raw.notify_events,
        };
        ok.then_some(irc)
    }
}

trait TakeList {
    fn take_list(&self) -> Vec<String>;
}

impl TakeList for Option<OneOrMany> {
    fn take_list(&self) -> Vec<String> {
        self.as_ref().map(|l| l.0.clone()).unwrap_or_default()
    }
}

/// Turns Buildbot's `%(name)s` placeholders into `{{ name }}`; other text is kept.
pub fn percent_to_jinja(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("%(") {
        let after = &rest[start + 2..];
        match after.find(")s") {
            Some(end) if after[..end].chars().all(|c| c.is_ascii_alphanumeric() || c == '_') => {
                out.push_str(&rest[..start]);
                out.push_str("{{ ");
                out.push_str(&after[..end]);
                out.push_str(" }}");
                rest = &after[end + 2..];
            }
            _ => {
                out.push_str(&rest[..start + 2]);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

fn is_nick(nick: &str) -> bool {
    let mut chars = nick.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || "[]\\`_^{|}".contains(c))
        && chars.all(|c| c.is_ascii_alphanumeric() || "[]\\`_^{|}-".contains(c))
        && nick.len() <= 30
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buildbot_placeholders_become_template_variables() {
        assert_eq!(
            percent_to_jinja("buildbot %(result)s in %(title)s on %(builder)s"),
            "buildbot {{ result }} in {{ title }} on {{ builder }}"
        );
        assert_eq!(percent_to_jinja("100%(x) %(a b)s done"), "100%(x) %(a b)s done");
        assert_eq!(percent_to_jinja("{{ builder }}"), "{{ builder }}");
    }
}
