//! `[[reporters]]`: every kind read with its defaults, and its mistakes reported with their keys.

use super::*;

#[test]
fn mail_and_irc_reporters_are_read_with_their_defaults() {
    let text = format!(
        "{MINIMAL}{}",
        r##"
[[reporters]]
kind = "mail"
from = "ci@example.org"
subject = "%(builder)s: %(result)s"
builders = ["b"]
[[reporters]]
name = "team-mail"
kind = "mail"
max_retry_delay = 60
from = "Cascade <ci@example.org>"
mode = "all"
add_logs = ["compile.stdio"]
use_ssl = true
smtp_user = "ci"
smtp_password = { env = "SMTP_PASSWORD" }
extra_headers = { X-Build = "{{ builder }}" }
[[reporters]]
kind = "irc"
host = "irc.example.org"
nick = "cascade"
channels = ["#ci", { name = "#private", key = "k" }]
notify_events = ["failure", "successToFailure"]
"##
    );
    let c = parse_ok(&text);
    assert_eq!(c.reporters.len(), 3);
    let ReporterKind::Mail(mail) = &c.reporters[0].kind else { panic!("not mail") };
    assert_eq!(c.reporters[0].name, "mail");
    assert_eq!(c.reporters[0].builders, ["b"]);
    assert_eq!(mail.subject, "{{ builder }}: {{ result }}");
    assert_eq!(mail.mode, [MailMode::Failing, MailMode::Passing, MailMode::Warnings]);
    assert_eq!((mail.relay_host.as_str(), mail.smtp_port, mail.security), ("localhost", 25, SmtpSecurity::None));
    assert!(mail.send_to_interested_users && mail.add_patch && !mail.build_set_summary);
    assert_eq!(mail.add_logs, AddLogs::None);
    let ReporterKind::Mail(team) = &c.reporters[1].kind else { panic!("not mail") };
    assert_eq!(team.mode.len(), 5);
    assert_eq!((c.reporters[0].max_retry_delay, c.reporters[1].max_retry_delay), (3600, 60));
    assert_eq!((team.smtp_port, team.security), (465, SmtpSecurity::Implicit));
    assert_eq!(team.add_logs, AddLogs::Names(vec!["compile.stdio".into()]));
    assert_eq!(team.extra_headers["X-Build"], "{{ builder }}");
    let ReporterKind::Irc(irc) = &c.reporters[2].kind else { panic!("not irc") };
    assert_eq!((irc.port, irc.use_colors, irc.allow_force), (6667, true, false));
    assert_eq!(irc.channels[1], IrcChannel { name: "#private".into(), key: Some("k".into()) });
    assert_eq!(irc.notify_events, ["failure", "successToFailure"]);
}

#[test]
fn reporter_mistakes_are_reported_with_their_keys() {
    let text = format!(
        "{MINIMAL}{}",
        r##"
[[reporters]]
kind = "mail"
from = "not an address"
mode = ["failing", "all"]
use_tls = true
use_ssl = true
smtp_user = "ci"
subject = "{{ builder"
builders = ["nope"]
[[reporters]]
kind = "irc"
host = "irc"
nick = "9bot"
max_retry_delay = 0
channels = ["ci"]
notify_events = ["sucessToFailure"]
[[reporters]]
kind = "pager"
[[reporters]]
kind = "mail"
from = "a@b.c"
[[reporters]]
kind = "mail"
from = "a@b.c"
"##
    );
    let found = issues(&text);
    for key in [
        "reporters[0].from",
        "reporters[0].mode",
        "reporters[0].use_ssl",
        "reporters[0].smtp_password",
        "reporters[0].subject",
        "reporters[0].builders",
        "reporters[1].nick",
        "reporters[1].max_retry_delay",
        "reporters[1].channels[0]",
        "reporters[1].notify_events[0]",
        "reporters[2].kind",
        "reporters[4].name",
    ] {
        assert!(found.iter().any(|i| i.contains(&format!(": {key}: "))), "{key} missing in {found:#?}");
    }
}

#[test]
fn http_push_reporters_are_read_with_their_defaults() {
    let text = format!(
        "{MINIMAL}{}",
        r##"
[[reporters]]
kind = "http_push"
server_url = "https://ci.example.org/hook"
[[reporters]]
name = "dashboard"
kind = "http_push"
server_url = "http://127.0.0.1:9000/"
events = ["finished"]
auth = { basic = { user = "ci", password = { env = "PUSH_PASSWORD" } } }
secret = "s3cret"
buffer_delay = 30
retry_delay = 2
max_queue = 100
timeout = 3
[[reporters]]
name = "bearer"
kind = "http_push"
server_url = "http://example.org/"
auth = { bearer = "tok" }
"##
    );
    let c = parse_ok(&text);
    let ReporterKind::HttpPush(one) = &c.reporters[0].kind else { panic!("not http_push") };
    assert_eq!(c.reporters[0].name, "http_push");
    assert_eq!(c.reporters[0].kind_name(), "http_push");
    assert!(one.started && one.finished && one.auth.is_none() && one.secret.is_none());
    assert_eq!((one.buffer_delay, one.retry_delay, one.max_queue, one.timeout), (0, 5, None, 10));
    let ReporterKind::HttpPush(two) = &c.reporters[1].kind else { panic!("not http_push") };
    assert!(!two.started && two.finished);
    assert!(matches!(&two.auth, Some(HttpAuth::Basic { user, .. }) if user == "ci"));
    assert_eq!(two.secret, Some(Secret::Literal("s3cret".into())));
    assert_eq!((two.buffer_delay, two.retry_delay, two.max_queue, two.timeout), (30, 2, Some(100), 3));
    let ReporterKind::HttpPush(three) = &c.reporters[2].kind else { panic!("not http_push") };
    assert!(matches!(&three.auth, Some(HttpAuth::Bearer(Secret::Literal(t))) if t == "tok"));
}

#[test]
fn http_push_mistakes_are_reported_with_their_keys() {
    let text = format!(
        "{MINIMAL}{}",
        r##"
[[reporters]]
kind = "http_push"
server_url = "ftp://example.org/"
events = ["started", "stepFinished"]
retry_delay = 0
max_queue = 0
timeout = 0
buffer_delay = 100000
[[reporters]]
name = "p2"
kind = "http_push"
server_url = "not a url"
events = []
auth = { basic = { user = "a:b", password = "p" } }
[[reporters]]
name = "p3"
kind = "http_push"
server_url = "http://x/"
auth = { token = "t" }
[[reporters]]
name = "p4"
kind = "http_push"
[[reporters]]
name = "p5"
kind = "http_push"
server_url = "http://x/"
retry_delay = -1
colour = 1
"##
    );
    let found = issues(&text);
    for key in [
        "reporters[0].server_url",
        "reporters[0].events[1]",
        "reporters[0].retry_delay",
        "reporters[0].max_queue",
        "reporters[0].timeout",
        "reporters[0].buffer_delay",
        "reporters[1].server_url",
        "reporters[1].events",
        "reporters[1].auth.basic.user",
        "reporters[2]",
        "reporters[3]",
        "reporters[4]",
    ] {
        assert!(found.iter().any(|i| i.contains(&format!(": {key}"))), "{key} missing in {found:#?}");
    }
}

#[test]
fn github_status_reporters_are_read_with_their_defaults() {
    let text = format!(
        "{MINIMAL}{}",
        r#"
[[reporters]]
kind = "github_status"
token = { env = "GITHUB_TOKEN" }
[[reporters]]
kind = "github_status"
name = "ghe"
token = "t"
repo_owner = "{{ prop.owner }}"
repo_name = "widget"
sha = "{{ prop.got_revision }}"
context = "ci/{{ builder }}"
start_description = "Started"
end_description = "Done: {{ results }}"
base_url = "https://ghe.example.org/api/v3/"
"#
    );
    let c = parse_ok(&text);
    let ReporterKind::GithubStatus(g) = &c.reporters[0].kind else { panic!("not github_status") };
    assert_eq!(c.reporters[0].name, "github_status");
    assert_eq!((g.repo_owner.as_deref(), g.repo_name.as_deref()), (None, None));
    assert_eq!((g.sha.as_str(), g.context.as_str()), ("{{ revision }}", "cascade/{{ buildername }}"));
    assert_eq!((g.start_description.as_str(), g.end_description.as_str()), ("Build started.", "Build done."));
    assert_eq!(g.base_url, "https://api.github.com");
    let ReporterKind::GithubStatus(g) = &c.reporters[1].kind else { panic!("not github_status") };
    assert_eq!((g.repo_owner.as_deref(), g.repo_name.as_deref()), (Some("{{ prop.owner }}"), Some("widget")));
    assert_eq!(g.base_url, "https://ghe.example.org/api/v3");
    assert_eq!(c.reporters[1].kind_name(), "github_status");
}

#[test]
fn github_status_mistakes_are_reported_with_their_keys() {
    let text = format!(
        "{MINIMAL}{}",
        r#"
[[reporters]]
kind = "github_status"
token = ""
repo_owner = ""
repo_name = "{{ x"
sha = "{% if %}"
context = "{{"
start_description = "{{ a"
end_description = "{{ b"
base_url = "ftp://example.org"
[[reporters]]
kind = "github_status"
name = "two"
token = "t"
base_url = "api.github.com"
max_retry_delay = 0
[[reporters]]
kind = "github_status"
name = "three"
[[reporters]]
kind = "github_status"
name = "four"
token = "t"
owner = "x"
"#
    );
    let found = issues(&text);
    for key in [
        "reporters[0].token",
        "reporters[0].repo_owner",
        "reporters[0].repo_name",
        "reporters[0].sha",
        "reporters[0].context",
        "reporters[0].start_description",
        "reporters[0].end_description",
        "reporters[0].base_url",
        "reporters[1].base_url",
        "reporters[1].max_retry_delay",
    ] {
        assert!(found.iter().any(|i| i.contains(&format!(": {key}: "))), "{key} missing in {found:#?}");
    }
    assert!(found.iter().any(|i| i.contains("reporters[2]") && i.contains("token")), "{found:#?}");
    assert!(found.iter().any(|i| i.contains("reporters[3]") && i.contains("owner")), "{found:#?}");
}

#[test]
fn gitlab_status_reporters_are_read_and_checked() {
    let text = format!(
        "{MINIMAL}{}",
        r#"
[[reporters]]
kind = "gitlab_status"
token = { file = "gitlab.token" }
[[reporters]]
kind = "gitlab_status"
name = "own"
token = "t"
project = "{{ prop.project_id }}"
base_url = "https://gitlab.example.org/"
"#
    );
    let c = parse_ok(&text);
    let ReporterKind::GitlabStatus(g) = &c.reporters[0].kind else { panic!("not gitlab_status") };
    assert_eq!((c.reporters[0].name.as_str(), c.reporters[0].kind_name()), ("gitlab_status", "gitlab_status"));
    assert_eq!(g.token, Secret::File("/srv/ci/gitlab.token".into()));
    assert_eq!((g.project.as_deref(), g.base_url.as_str()), (None, "https://gitlab.com"));
    assert_eq!((g.sha.as_str(), g.context.as_str()), ("{{ revision }}", "cascade/{{ buildername }}"));
    let ReporterKind::GitlabStatus(g) = &c.reporters[1].kind else { panic!("not gitlab_status") };
    assert_eq!(
        (g.project.as_deref(), g.base_url.as_str()),
        (Some("{{ prop.project_id }}"), "https://gitlab.example.org")
    );

    let text = format!(
        "{MINIMAL}{}",
        r#"
[[reporters]]
kind = "gitlab_status"
token = "t"
repo_owner = "a"
repo_name = "b"
project = "{{"
sha = ""
base_url = "gitlab.com"
[[reporters]]
kind = "github_status"
token = "t"
project = "a/b"
"#
    );
    let found = issues(&text);
    for key in [
        "reporters[0].repo_owner",
        "reporters[0].repo_name",
        "reporters[0].project",
        "reporters[0].sha",
        "reporters[0].base_url",
        "reporters[1].project",
    ] {
        assert!(found.iter().any(|i| i.contains(&format!(": {key}: "))), "{key} missing in {found:#?}");
    }
}

#[test]
fn gerrit_reporters_are_read_and_checked() {
    let text = format!(
        "{MINIMAL}{}",
        r#"
[[reporters]]
kind = "gerrit"
server_url = "https://review.example.org/"
user = "cascade"
password = { file = "gerrit.pw" }
[[reporters]]
kind = "gerrit"
name = "votes"
server_url = "http://gerrit.local:8080/r"
user = "ci"
password = "pw"
summary = false
per_build = true
start_message = true
review_message = "{{ buildername }}: {{ results }}"
labels = { Verified = "1", Code-Review = "{% if results == 'success' %}1{% endif %}" }
change = "{{ prop.change }}"
patchset = "{{ prop.ps }}"
tag = ""
"#
    );
    let c = parse_ok(&text);
    let ReporterKind::Gerrit(g) = &c.reporters[0].kind else { panic!("not gerrit") };
    assert_eq!((c.reporters[0].name.as_str(), c.reporters[0].kind_name()), ("gerrit", "gerrit"));
    assert_eq!((g.server_url.as_str(), g.user.as_str()), ("https://review.example.org", "cascade"));
    assert_eq!(g.password, Secret::File("/srv/ci/gerrit.pw".into()));
    assert_eq!((g.summary, g.per_build, g.start_message.is_none()), (true, false, true));
    assert_eq!(g.labels.keys().collect::<Vec<_>>(), ["Verified"]);
    assert!(g.labels["Verified"].contains("results == 'success'"), "{:?}", g.labels);
    assert_eq!((g.change.as_deref(), g.tag.as_deref()), (None, Some("autogenerated:cascade")));
    assert!(g.summary_message.contains("b.result_text"), "{}", g.summary_message);
    let ReporterKind::Gerrit(g) = &c.reporters[1].kind else { panic!("not gerrit") };
    assert_eq!((g.summary, g.per_build, g.tag.as_deref()), (false, true, None));
    assert!(g.start_message.as_deref().is_some_and(|m| m.contains("started building")));
    assert_eq!(g.labels.keys().collect::<Vec<_>>(), ["Code-Review", "Verified"]);
    assert_eq!((g.change.as_deref(), g.patchset.as_deref()), (Some("{{ prop.change }}"), Some("{{ prop.ps }}")));

    let text = format!(
        "{MINIMAL}{}",
        r#"
[[reporters]]
kind = "gerrit"
server_url = "review.example.org"
user = "a:b"
password = ""
summary = false
labels = { "Bad label" = "1", Verified = "{{" }
change = "{{ prop.change }}"
tag = "two words"
[[reporters]]
kind = "gerrit"
server_url = "https://r"
user = "u"
password = "p"
start_message = ""
ssh_port = 29418
"#
    );
    let found = issues(&text);
    for key in [
        "reporters[0].server_url",
        "reporters[0].user",
        "reporters[0].password",
        "reporters[0].summary",
        "reporters[0].labels.\"Bad label\"",
        "reporters[0].labels.Verified",
        "reporters[0].patchset",
        "reporters[0].tag",
    ] {
        assert!(found.iter().any(|i| i.contains(&format!(": {key}: "))), "{key} missing in {found:#?}");
    }
    assert!(found.iter().any(|i| i.contains("reporters[1]") && i.contains("ssh_port")), "{found:#?}");
}
