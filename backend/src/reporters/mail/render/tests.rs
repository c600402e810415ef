use super::*;
use crate::config::{AddLogs, SmtpSecurity};
use crate::reporters::mail::body::default_plain;
use crate::reporters::mail::facts::{BuildSetFacts, ChangeFacts, LeftOut, StepFacts};
use MailMode as M;
use Results::*;

fn config(mode: &[MailMode]) -> MailConfig {
    MailConfig {
        from: "ci@example.org".into(),
        send_to_interested_users: true,
        extra_recipients: vec![],
        subject: "Cascade {{ result }} in {{ title }} on {{ builder }}".into(),
        mode: mode.to_vec(),
        add_logs: AddLogs::None,
        add_patch: true,
        build_set_summary: false,
        relay_host: "localhost".into(),
        smtp_port: 25,
        security: SmtpSecurity::None,
        tls_ca_file: None,
        smtp_user: None,
        smtp_password: None,
        lookup: None,
        template: None,
        template_type: BodyType::Plain,
        extra_headers: Default::default(),
    }
}

fn build(builder: &str, number: i64, results: Results, previous: Option<Results>) -> BuildFacts {
    let url = format!("http://ci.example.org/builders/{builder}/builds/{number}");
    BuildFacts {
        builder: builder.into(),
        number,
        results,
        previous,
        worker: Some("linux-1".into()),
        reason: "The SingleBranchScheduler named 'main' triggered this build".into(),
        text: "failed test".into(),
        branch: Some("main".into()),
        revision: Some("abc123".into()),
        sources: vec![SourceFacts {
            branch: Some("main".into()),
            revision: Some("abc123".into()),
            revision_url: Some("https://git.example.org/commit/abc123".into()),
            project: "widgets".into(),
            ..Default::default()
        }],
        changes: vec![
            ChangeFacts {
                id: 1,
                author: "Ann <ann@example.org>".into(),
                comments: "fix <b>".into(),
                ..Default::default()
            },
            ChangeFacts { id: 2, author: "bob".into(), ..Default::default() },
            ChangeFacts { id: 3, author: "Ann <ann@example.org>".into(), ..Default::default() },
        ],
        steps: vec![
            StepFacts {
                number: 1,
                name: "compile".into(),
                results: Some(Success),
                text: "compile".into(),
                url: format!("{url}/steps/1"),
                log_tail: None,
            },
            StepFacts {
                number: 2,
                name: "test".into(),
                results: Some(Failure),
                text: "test failed (exit 1)".into(),
                url: format!("{url}/steps/2"),
                log_tail: Some(LogTail {
                    name: "stdio".into(),
                    url: format!("{url}/steps/2/logs/stdio"),
                    lines: vec!["ok 1".into(), "error: <oops> & more".into()],
                }),
            },
        ],
        url,
        properties: [("owners".to_string(), serde_json::json!(["dave@example.org"]))].into(),
        owner: None,
    }
}

fn facts(builds: Vec<BuildFacts>, buildset: Option<BuildSetFacts>) -> MailFacts {
    MailFacts {
        title: "Widgets CI".into(),
        title_url: Some("https://widgets.example.org/".into()),
        base_url: "http://ci.example.org/".into(),
        buildset,
        builds,
        left_out: Vec::new(),
    }
}

#[test]
fn the_intro_follows_buildbot_s_rules() {
    assert_eq!(status_detected(&[M::Change], Failure, Some(Success)), "new failure");
    assert_eq!(status_detected(&[M::Problem], Failure, Some(Warnings)), "new failure");
    assert_eq!(status_detected(&[M::Failing], Failure, Some(Success)), "failed build");
    assert_eq!(status_detected(&[M::Change, M::Problem], Failure, Some(Failure)), "failed build");
    assert_eq!(status_detected(&[M::Change], Failure, None), "failed build");
    assert_eq!(
        status_detected(&[M::Failing, M::Passing, M::Warnings], Warnings, Some(Success)),
        "problem in the build"
    );
    assert_eq!(status_detected(&[M::Change], Success, Some(Failure)), "restored build");
    assert_eq!(status_detected(&[M::Passing, M::Problem], Success, Some(Failure)), "passing build");
    assert_eq!(status_detected(&[M::Change], Success, Some(Success)), "passing build");
    assert_eq!(status_detected(&[M::Exception], Exception, None), "build exception");
    assert_eq!(status_detected(&[M::Cancelled], Cancelled, Some(Success)), "cancelled build");
}

#[test]
fn the_default_message_says_what_happened_where_and_who_is_to_blame() {
    let f = facts(vec![build("app", 7, Failure, Some(Success))], None);
    let r = render(&config(&[M::Failing, M::Change]), &f).unwrap();
    assert_eq!(r.subject, "Cascade failure in Widgets CI on app");
    let Body::Alternative { plain, html } = r.body else { panic!("not the default body") };
    for expected in [
        "The Cascade has detected a new failure on builder app while building widgets.\n",
        "Full details are available at:\n    http://ci.example.org/builders/app/builds/7\n",
        "Cascade URL: http://ci.example.org/\n",
        "Worker for this Build: linux-1\n",
        "Build Reason: The SingleBranchScheduler named 'main' triggered this build\n",
        "Build Source Stamp: [branch main] abc123\n    https://git.example.org/commit/abc123\n",
        "Blamelist: Ann <ann@example.org>, bob\n",
        "BUILD FAILED: failed test\n",
        "    1. compile: success\n    2. test: failure - test failed (exit 1)\n",
        "Last 2 lines of test.stdio (http://ci.example.org/builders/app/builds/7/steps/2/logs/stdio):\n    ok 1\n    error: <oops> & more\n",
        "Sincerely,\n -The Cascade\n",
    ] {
        assert!(plain.contains(expected), "missing {expected:?} in:\n{plain}");
    }
    for expected in [
        "detected a <b>new failure</b> on builder <b>app</b>",
        "<a href=\"http://ci.example.org/builders/app/builds/7\" style=\"color:#1a5fb4\">app #7</a>",
        "background:#e88;color:#000",
        "<a href=\"https://git.example.org/commit/abc123\" style=\"color:#1a5fb4\">[branch main] abc123</a>",
        "Ann &lt;ann@example.org&gt;, bob",
        "error: &lt;oops&gt; &amp; more</pre>",
        "background:#8d4;color:#000\">success</td>",
    ] {
        assert!(html.contains(expected), "missing {expected:?} in:\n{html}");
    }
    assert!(!html.contains("<oops>"), "log lines are escaped");
}

#[test]
fn a_build_without_projects_is_about_the_master_and_a_head_build_says_head() {
    let mut b = build("app", 1, Success, None);
    b.sources =
        vec![SourceFacts { codebase: "lib".into(), has_patch: true, ..Default::default() }, SourceFacts::default()];
    b.changes.clear();
    let plain = default_plain(&config(&[M::Passing]), &facts(vec![b], None));
    assert!(plain.contains("passing build on builder app while building Widgets CI."), "{plain}");
    assert!(plain.contains("Build Source Stamp: lib: HEAD (plus patch)\nBuild Source Stamp: HEAD\n"), "{plain}");
    assert!(plain.contains("Blamelist: \n") && plain.contains("Build succeeded!"), "{plain}");
}

#[test]
fn templates_see_the_build_and_html_templates_escape_it() {
    let mut cfg = config(&[M::Failing]);
    cfg.subject = "[{{ projectName }}] {{ builder }} #{{ number }} {{ result }} (was {{ previous_result }})".into();
    cfg.template = Some(
        "{{ status_detected }}: {{ blamelist|join(',') }} {{ changes[0].comments }} \
         {% for s in steps %}{{ s.name }}={{ s.result }} {% endfor %}{{ steps[1].log_tail.lines[1] }} {{ mode|join('+') }}"
            .into(),
    );
    cfg.extra_headers = [("X-Result".to_string(), "{{ result }}\nInjected: yes".to_string())].into();
    let f = facts(vec![build("app", 7, Failure, Some(Success))], None);
    let r = render(&cfg, &f).unwrap();
    assert_eq!(r.subject, "[Widgets CI] app #7 failure (was success)");
    assert_eq!(r.headers, vec![("X-Result".to_string(), "failure Injected: yes".to_string())]);
    assert_eq!(
        r.body,
        Body::Plain(
            "failed build: Ann <ann@example.org>,bob fix <b> compile=success test=failure error: <oops> & more failing"
                .into()
        )
    );
    cfg.template_type = BodyType::Html;
    let Body::Html(html) = render(&cfg, &f).unwrap().body else { panic!("not html") };
    assert!(html.starts_with("failed build: Ann &lt;ann@example.org&gt;,bob fix &lt;b&gt;"), "{html}");
}

#[test]
fn every_body_lists_the_attachments_left_out_for_their_size() {
    let mut f = facts(vec![build("app", 7, Failure, None)], None);
    let plain_without = default_plain(&config(&[M::Failing]), &f);
    assert!(!plain_without.contains("Not attached"), "{plain_without}");
    f.left_out = vec![
        LeftOut {
            filename: "big.stdio".into(),
            size: Some(5_000_000),
            url: Some("http://ci.example.org/builders/app/builds/7/steps/1/logs/stdio/text".into()),
        },
        LeftOut { filename: "late.stdio".into(), size: None, url: Some("http://ci/late?a=1&b=2".into()) },
        LeftOut { filename: "source.patch".into(), size: Some(2_000_000), url: None },
    ];
    let note = "Not attached, for their size (a mail attaches at most 1 MiB per file and 10 MiB in all):\n\
        \x20   big.stdio (5000000 bytes): http://ci.example.org/builders/app/builds/7/steps/1/logs/stdio/text\n\
        \x20   late.stdio: http://ci/late?a=1&b=2\n\
        \x20   source.patch (2000000 bytes)\n";
    let Body::Alternative { plain, html } = render(&config(&[M::Failing]), &f).unwrap().body else {
        panic!("not the default body")
    };
    assert!(plain.contains(&format!("\n\n{note}\nSincerely,")), "{plain}");
    assert!(
        html.contains("<li><a href=\"http://ci/late?a=1&amp;b=2\" style=\"color:#1a5fb4\">late.stdio</a></li>"),
        "{html}"
    );
    assert!(html.contains("<li>source.patch (2000000 bytes)</li>"), "{html}");

    let mut cfg = config(&[M::Failing]);
    cfg.template = Some("{{ builder }} broke".into());
    assert_eq!(render(&cfg, &f).unwrap().body, Body::Plain(format!("app broke\n\n{note}")));
    cfg.template_type = BodyType::Html;
    let Body::Html(html) = render(&cfg, &f).unwrap().body else { panic!("not html") };
    assert!(html.starts_with("app broke<p>Not attached, for their size"), "{html}");
    assert!(html.ends_with("<li>source.patch (2000000 bytes)</li>\n</ul>\n"), "{html}");
}

#[test]
fn a_template_failing_at_run_time_is_an_error() {
    let mut cfg = config(&[M::Failing]);
    cfg.template = Some("{{ nosuch() }}".into());
    let err = render(&cfg, &facts(vec![build("app", 7, Failure, None)], None)).unwrap_err();
    assert!(err.contains("template failed"), "{err}");
}

#[test]
fn a_build_set_summary_is_about_the_whole_set_with_each_build_s_message() {
    let set = BuildSetFacts { id: 4, results: Failure, reason: "forced".into() };
    let mut ok = build("docs", 2, Success, Some(Success));
    ok.text = "build successful".into();
    let f = facts(vec![build("app", 7, Failure, Some(Success)), ok], Some(set));
    let mut cfg = config(&[M::Failing, M::Passing]);
    cfg.extra_headers =
        [("X-Set".to_string(), "{{ buildset.id }} {{ builds|length }} {{ summary }}".to_string())].into();
    let r = render(&cfg, &f).unwrap();
    assert_eq!(r.subject, "Cascade failure in Widgets CI on (whole buildset)");
    assert_eq!(r.headers[0].1, "4 2 True");
    let Body::Alternative { plain, html } = r.body else { panic!("not the default body") };
    let app = plain.find("failed build on builder app").unwrap();
    let docs = plain.find("passing build on builder docs").unwrap();
    assert!(app < docs, "{plain}");
    assert_eq!(plain.matches("Sincerely").count(), 1, "{plain}");
    assert_eq!(html.matches("<hr").count(), 1, "{html}");

    cfg.template = Some("{{ builder }}#{{ number }} of set {{ buildset.id }}".into());
    let r = render(&cfg, &f).unwrap();
    assert_eq!(r.body, Body::Plain("app#7 of set 4\n\ndocs#2 of set 4".into()));
}
