//! `[auth]`: the trusted proxies behind `trusted_header` and the session limits.

use super::{MINIMAL, has, issues, parse_ok};

#[test]
fn sessions_last_a_day_idle_and_two_weeks_at_most_by_default() {
    let c = parse_ok(MINIMAL);
    assert_eq!((c.auth.session_idle_timeout, c.auth.session_lifetime), (86_400, 14 * 86_400));
    assert!(c.auth.trusted_header.is_none() && c.auth.trusted_proxies.is_empty());
    let c = parse_ok(&format!("[auth]\nsession_idle_timeout = 600\nsession_lifetime = 3600\n{MINIMAL}"));
    assert_eq!((c.auth.session_idle_timeout, c.auth.session_lifetime), (600, 3600));
}

#[test]
fn session_limits_must_be_positive_and_the_idle_one_shorter() {
    let found = issues(&format!("[auth]\nsession_idle_timeout = 0\nsession_lifetime = 0\n{MINIMAL}"));
    assert!(has(&found, "2: auth.session_idle_timeout: must be between 1 and"), "{found:#?}");
    assert!(has(&found, "3: auth.session_lifetime: must be between 1 and"), "{found:#?}");
    let found = issues(&format!("[auth]\nsession_idle_timeout = 7200\nsession_lifetime = 3600\n{MINIMAL}"));
    assert!(has(&found, "2: auth.session_idle_timeout: 7200 s is longer than `session_lifetime`"), "{found:#?}");
    let found = issues(&format!("[auth]\nsession_lifetime = -5\n{MINIMAL}"));
    assert!(has(&found, "2: auth.session_lifetime:"), "{found:#?}");
}

#[test]
fn trusted_proxies_take_addresses_and_cidr_blocks() {
    let c = parse_ok(&format!(
        "[auth]\ntrusted_header = \"X-Remote-User\"\ntrusted_proxies = [\"127.0.0.1\", \"10.1.2.3/8\", \"::1\", \"fd00::/8\"]\n{MINIMAL}"
    ));
    let nets: Vec<String> = c.auth.trusted_proxies.iter().map(ToString::to_string).collect();
    assert_eq!(nets, ["127.0.0.1/32", "10.0.0.0/8", "::1/128", "fd00::/8"]);
}

#[test]
fn a_trusted_header_needs_trusted_proxies_and_they_need_it() {
    let found = issues(&format!("[auth]\ntrusted_header = \"X-Remote-User\"\n{MINIMAL}"));
    assert!(
        has(&found, "2: auth.trusted_header: needs `trusted_proxies`: the header is believed only from"),
        "{found:#?}"
    );
    let found = issues(&format!("[auth]\ntrusted_proxies = [\"127.0.0.1\"]\n{MINIMAL}"));
    assert!(has(&found, "2: auth.trusted_proxies: has no effect without `trusted_header`"), "{found:#?}");
}

#[test]
fn bad_proxy_addresses_are_named() {
    let found = issues(&format!(
        "[auth]\ntrusted_header = \"X-Remote-User\"\ntrusted_proxies = [\"10.0.0.1\", \"proxy.example.org\", \"10.0.0.0/33\"]\n{MINIMAL}"
    ));
    assert!(
        has(&found, "3: auth.trusted_proxies[1]: `proxy.example.org` is not an IP address or a CIDR block"),
        "{found:#?}"
    );
    assert!(has(&found, "3: auth.trusted_proxies[2]: `10.0.0.0/33` is not"), "{found:#?}");
    assert_eq!(found.len(), 2, "{found:#?}");
}
