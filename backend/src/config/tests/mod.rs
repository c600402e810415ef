//! Tests of the whole pipeline, from TOML text to `Config` or to the list of issues.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use super::*;

const QUICKSTART: &str = include_str!("../../../../examples/quickstart/cascade.toml");

fn parse_ok(text: &str) -> Config {
    match parse(text, Path::new("/srv/ci/cascade.toml")) {
        Ok(config) => config,
        Err(e) => panic!("unexpected errors:\n{e}"),
    }
}

/// The issues as `LINE: KEY: MESSAGE` strings, for compact assertions.
fn issues(text: &str) -> Vec<String> {
    match parse(text, Path::new("cascade.toml")) {
        Ok(_) => panic!("expected errors"),
        Err(e) => e.issues().iter().map(|i| format!("{}: {}: {}", i.line.unwrap_or(0), i.key, i.message)).collect(),
    }
}

fn has(issues: &[String], prefix: &str) -> bool {
    issues.iter().any(|i| i.starts_with(prefix))
}

const MINIMAL: &str = r#"
[[workers]]
name = "w"
embedded = true
[[builders]]
name = "b"
workers = ["w"]
steps = [{ name = "s", command = "true" }]
"#;

#[test]
fn quickstart_parses_without_issues() {
    let c = parse_ok(QUICKSTART);
    assert_eq!(c.title, "Cascade quickstart");
    assert_eq!(c.db.url, "sqlite:///srv/ci/cascade.sqlite");
    assert_eq!(c.dir, Path::new("/srv/ci"));
    assert_eq!(c.authz.force_build, AuthzRule::Allow);
    assert_eq!(c.builders.len(), 2);
    assert_eq!(c.schedulers.len(), 3);
    assert!(c.worker("local").is_some_and(|w| w.embedded && w.max_builds == 2));
    let compile = c.builder("compile").unwrap();
    assert_eq!(compile.steps[1].timeout, Some(120));
    assert!(matches!(&compile.steps[0].kind, StepKind::Shell(Command::Argv(a)) if a[0] == "sh"));
    assert!(matches!(&compile.steps[1].kind, StepKind::Shell(Command::Shell(_))));
    assert_eq!(c.builder("flaky-tests").unwrap().steps[1].warn_on.as_deref(), Some("^warning:"));
    assert!(matches!(c.schedulers[1].kind, SchedulerKind::Periodic { interval: 30, branch: None }));
    assert!(c.change_hook.dialects.base.is_some());
}

#[test]
fn defaults_fill_everything_left_out() {
    let c = parse_ok(MINIMAL);
    assert_eq!(c.title, "Cascade");
    assert_eq!(c.title_url, None);
    assert_eq!(c.base_url, "http://localhost:8010/");
    assert_eq!(c.db.url, "sqlite:///srv/ci/cascade.sqlite");
    assert_eq!(c.web.listen, [Listen::plain("127.0.0.1:8010")]);
    assert_eq!((c.web.num_builds, c.web.num_events, c.web.num_events_max), (20, 200, 1000));
    assert!(!c.web.order_console_by_time && c.web.revlink.is_none() && c.web.access_log.is_none());
    assert!(c.auth.users.is_empty() && !c.auth.db_users);
    assert_eq!(c.authz.view, AuthzRule::Allow);
    assert_eq!(c.authz.force_build, AuthzRule::Deny);
    assert_eq!(c.authz.show_users_page, AuthzRule::Deny);
    let w = c.worker("w").unwrap();
    assert_eq!((w.max_builds, w.password.is_none()), (1, true));
    let s = &c.builders[0].steps[0];
    assert!(s.halt_on_failure && s.flunk_on_failure && !s.warn_on_failure);
    assert_eq!((s.timeout, s.workdir.as_deref()), (None, None));
    assert!(c.schedulers.is_empty());
    assert!(c.change_hook.dialects.base.is_none() && c.change_hook.auth.is_none());
}

#[test]
fn base_url_gets_a_trailing_slash_and_paths_become_absolute() {
    let text = format!(
        "base_url = \"https://ci.example.org\"\n[web]\npublic_html = \"html\"\naccess_log = {{ path = \"/var/log/http.log\" }}\n[auth]\nhtpasswd = \"users.htpasswd\"\n{MINIMAL}"
    );
    let c = parse_ok(&text);
    assert_eq!(c.base_url, "https://ci.example.org/");
    assert_eq!(c.web.public_html.as_deref(), Some(Path::new("/srv/ci/html")));
    let log = c.web.access_log.unwrap();
    assert_eq!(
        (log.path.as_path(), log.rotate_length, log.max_rotated_files),
        (Path::new("/var/log/http.log"), 10_000_000, 10)
    );
    assert_eq!(c.auth.htpasswd.as_deref(), Some(Path::new("/srv/ci/users.htpasswd")));
}

#[test]
fn client_timeouts_of_zero_are_refused() {
    let text = format!("[web]\nwrite_timeout = 0\n{MINIMAL}");
    let found = issues(&text);
    assert!(has(&found, "2: web.write_timeout: must be at least 1 (seconds)"), "{found:?}");
    assert_eq!(parse_ok(MINIMAL).web.write_timeout, 30);
    let found = issues(&format!("[web]\nrequest_timeout = 0\n{MINIMAL}"));
    assert!(has(&found, "2: web.request_timeout: must be at least 1 (seconds)"), "{found:?}");
    assert_eq!(parse_ok(MINIMAL).web.request_timeout, 30);
}

#[test]
fn an_access_log_that_never_rotates_is_refused() {
    let text = format!("[web]\naccess_log = {{ path = \"http.log\", rotate_length = 0 }}\n{MINIMAL}");
    let found = issues(&text);
    assert!(has(&found, "2: web.access_log.rotate_length: must be at least 1"), "{found:?}");
}

#[test]
fn authz_accepts_bool_auth_and_roles_and_rejects_other_strings() {
    let text = format!(
        "[authz]\nview = false\nforce_build = \"auth\"\nstop_build = {{ roles = [\"admins\"] }}\nroles = {{ admins = [\"alice\"] }}\n{MINIMAL}"
    );
    let c = parse_ok(&text);
    assert_eq!(c.authz.view, AuthzRule::Deny);
    assert_eq!(c.authz.force_build, AuthzRule::Auth);
    assert_eq!(c.authz.stop_build, AuthzRule::Roles(vec!["admins".into()]));
    assert_eq!(c.authz.roles["admins"], ["alice"]);

    let found = issues(&format!("[authz]\nforce_build = \"admins\"\nstop_build = {{ role = [] }}\n{MINIMAL}"));
    assert!(has(&found, "2: authz.force_build: invalid rule \"admins\""), "{found:#?}");
    assert!(has(&found, "3: authz.stop_build.role: unknown key `role` (allowed: roles)"), "{found:#?}");
}

#[test]
fn independent_mistakes_are_all_reported_with_line_and_key() {
    let text = r#"title = "demo"
[web]
listen = ["127.0.0.1:8010"]
colour = "blue"
[[workers]]
name = "w1"
embedded = true
[[workers]]
name = "w1"
embedded = true
[[builders]]
name = "a"
workers = ["w1"]
steps = [{ name = "s", command = "true" }]
[[builders]]
name = "b"
workers = ["w1"]
[[builders.steps]]
name = "s"
command = ["make"]
timout = 5
[[builders.steps]]
name = "t"
command = "make test"
timeout = "soon"
[[schedulers]]
name = "force"
kind = "force"
builders = ["a", "nope"]
"#;
    let found = issues(text);
    let expected = [
        "4: web.colour: unknown key `colour` (allowed: listen,",
        "9: workers[1].name: duplicate worker name `w1` (first used by workers[0])",
        "21: builders[1].steps[0].timout: unknown key `timout`",
        "25: builders[1].steps[1].timeout: invalid type: string \"soon\", expected a non-negative integer",
        "29: schedulers[0].builders[1]: unknown builder `nope`",
    ];
    for e in expected {
        assert!(has(&found, e), "missing {e:?} in {found:#?}");
    }
    assert_eq!(found.len(), expected.len(), "{found:#?}");
}

#[test]
fn several_mistakes_in_one_table_are_all_reported() {
    let found = issues(&format!("[web]\ncolour = 1\nshape = 2\nnum_builds = \"x\"\n{MINIMAL}"));
    assert!(has(&found, "2: web.colour: unknown key"), "{found:#?}");
    assert!(has(&found, "3: web.shape: unknown key"), "{found:#?}");
    assert!(has(&found, "4: web.num_builds: invalid type"), "{found:#?}");
}

#[test]
fn a_step_needs_exactly_one_of_command_and_git() {
    let text = r#"
[[workers]]
name = "w"
embedded = true
[[builders]]
name = "b"
workers = ["w"]
steps = [
  { name = "both", command = "make", git = { repo_url = "https://x/y" } },
  { name = "neither" },
  { name = "git", git = { repo_url = "https://x/y", mode = "full" } },
]
"#;
    let found = issues(text);
    assert!(has(&found, "9: builders[0].steps[0]: a step takes either `command` or `git`, not both"), "{found:#?}");
    assert!(has(&found, "10: builders[0].steps[1]: a step needs `command"), "{found:#?}");
    assert_eq!(found.len(), 2, "{found:#?}");
}

#[test]
fn bad_db_scheme_is_reported_at_db_url() {
    let found = issues(&format!("[db]\nurl = \"mysql://root@localhost/ci\"\n{MINIMAL}"));
    assert_eq!(found, ["2: db.url: unsupported database URL scheme `mysql:` (expected sqlite: or postgres:)"]);
}

#[test]
fn toml_syntax_error_gives_its_line() {
    let found = issues("title = \"x\"\n[web]\nlisten = [\"a\",\nnum_builds = 3\n");
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(found[0].contains("TOML syntax error"), "{found:#?}");
    assert!(found[0].starts_with("3: ") || found[0].starts_with("4: "), "{found:#?}");
}

#[test]
fn semantic_checks_cover_names_references_and_ranges() {
    let text = r#"
[web]
listen = ["localhost:80x"]
[[workers]]
name = "bad name"
password = "pw"
[[workers]]
name = "remote"
max_builds = 0
[[workers]]
name = "inside"
embedded = true
password = "pw"
[[builders]]
name = "b"
workers = ["ghost"]
steps = [{ name = "s", command = [], timeout = 0 }]
[[schedulers]]
name = "n"
kind = "nightly"
hour = "25"
builders = ["b"]
[[schedulers]]
name = "p"
kind = "periodic"
builders = ["b"]
[[schedulers]]
name = "x"
kind = "hourly"
builders = ["b"]
[change_hook]
dialects = { base = {}, gitea = {} }
auth = { htpasswd = "a", users = [] }
"#;
    let found = issues(text);
    for e in [
        "3: web.listen[0]: `localhost:80x` is not a socket address",
        "5: workers[0].name: invalid name `bad name`",
        "9: workers[1].max_builds: must be at least 1",
        "7: workers[1].password: missing required key `password`",
        "13: workers[2].password: an embedded worker takes no password",
        "16: builders[0].workers[0]: unknown worker `ghost`",
        "17: builders[0].steps[0].timeout: must be a positive number of seconds",
        "17: builders[0].steps[0].command: must not be empty",
        "21: schedulers[0].hour: invalid cron field `25`",
        "23: schedulers[1].interval: missing required key `interval`",
        "29: schedulers[2].kind: unknown scheduler kind `hourly`",
        "32: change_hook.dialects.gitea: unknown change hook dialect `gitea` (supported: base, github, gitlab,",
        "33: change_hook.auth: takes exactly one of",
    ] {
        assert!(has(&found, e), "missing {e:?} in {found:#?}");
    }
}

#[test]
fn wrong_shapes_never_panic() {
    for text in [
        "",
        "workers = 3",
        "builders = [1, \"x\"]",
        "[[builders]]\nsteps = 5",
        "schedulers = [{ kind = 3 }]",
        "web = \"x\"",
        "[change_hook]\ndialects = 1",
        "[change_hook]\ndialects = { base = 1 }",
        "[db]\nurl = \"\"",
        "title = 1\nfoo = 2\nbar = 3",
    ] {
        let result = parse(text, Path::new("c.toml"));
        assert!(matches!(result, Err(ConfigError::Invalid(ref i)) if !i.is_empty()), "{text:?}: {result:?}");
    }
}

#[test]
fn scheduler_kinds_and_change_filters_parse() {
    let text = format!(
        r#"{MINIMAL}
[[schedulers]]
name = "any"
kind = "any_branch"
branches = ["main", "dev"]
project = "app"
tree_stable_timer = 60
builders = ["b"]
[[schedulers]]
name = "nightly"
kind = "nightly"
hour = 3
day_of_week = "1-5"
builders = ["b"]
[change_hook]
auth = {{ users = [{{ username = "hook", password = {{ env = "HOOK_PW" }} }}] }}
"#
    );
    let c = parse_ok(&text);
    let SchedulerKind::AnyBranch { tree_stable_timer, filter } = &c.schedulers[0].kind else { panic!() };
    assert_eq!(*tree_stable_timer, 60);
    assert_eq!(filter.branches, ["main", "dev"]);
    assert_eq!(filter.projects, ["app"]);
    assert!(filter.repositories.is_empty());
    let SchedulerKind::Nightly { minute, hour, day_of_week, month, .. } = &c.schedulers[1].kind else { panic!() };
    assert_eq!((minute.as_str(), hour.as_str(), day_of_week.as_str(), month.as_str()), ("0", "3", "1-5", "*"));
    assert!(matches!(&c.change_hook.auth, Some(HookAuth::Users(u)) if u[0].password == Secret::Env("HOOK_PW".into())));
}

#[test]
fn load_reads_the_file_and_reports_a_missing_one() {
    let missing = load(Path::new("/nonexistent/cascade.toml"));
    assert!(matches!(missing, Err(ConfigError::Io { .. })));
    let path = std::env::temp_dir().join(format!("cascade-load-test-{}.toml", std::process::id()));
    std::fs::write(&path, QUICKSTART).unwrap();
    let c = load(&path).unwrap();
    assert_eq!(c.path, path);
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn every_truncation_of_the_quickstart_is_handled_without_panicking() {
    for (end, _) in QUICKSTART.char_indices() {
        let _ = parse(&QUICKSTART[..end], Path::new("c.toml"));
    }
    for skip in 0..QUICKSTART.lines().count() {
        let text: Vec<&str> = QUICKSTART.lines().enumerate().filter(|(i, _)| *i != skip).map(|(_, l)| l).collect();
        let _ = parse(&text.join("\n"), Path::new("c.toml"));
    }
}

#[test]
fn git_pollers_are_read_with_defaults_and_checked() {
    let text = r#"
[[workers]]
name = "w"
embedded = true
[[builders]]
name = "b"
workers = ["w"]
steps = [{ name = "s", command = "true" }]
[[change_sources]]
kind = "git_poller"
repo_url = "https://example.org/app.git"
[[change_sources]]
name = "lib"
kind = "git_poller"
repo_url = "https://example.org/lib.git"
branches = "all"
poll_interval = 30
poll_at_launch = true
"#;
    let cfg = parse(text, Path::new("/srv/cascade.toml")).unwrap();
    let [app, lib] = &cfg.change_sources[..] else { panic!("two sources") };
    assert_eq!(app.name, "https://example.org/app.git");
    let ChangeSourceKind::GitPoller(app) = &app.kind;
    assert_eq!(
        (app.poll_interval, app.poll_at_launch, &app.branches),
        (600, false, &PollBranches::List(vec!["main".into()]))
    );
    let ChangeSourceKind::GitPoller(lib) = &lib.kind;
    assert_eq!((lib.poll_interval, &lib.branches), (30, &PollBranches::All));

    let bad = "[[change_sources]]\nkind = \"svn_poller\"\n[[change_sources]]\nkind = \"git_poller\"\nrepo_url = \"x\"\npoll_interval = 0\ncolour = 1\n";
    let err = parse(bad, Path::new("/srv/cascade.toml")).unwrap_err().to_string();
    assert!(err.contains("unknown change source kind `svn_poller`"), "{err}");
    assert!(err.contains("change_sources[1].colour"), "{err}");
}

mod auth;
mod listen;
mod reporters;
