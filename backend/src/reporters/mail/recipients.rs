//! Who gets a mail: the interested users (the authors of the builds' changes, the `owners`
//! property and whoever asked for the build) mapped to addresses, plus `extra_recipients`,
//! split between To and Cc as Buildbot's MailNotifier does. Pure functions.

use std::collections::HashMap;

use lettre::message::Mailbox;

use super::facts::People;
use crate::config::MailConfig;

/// The addresses of one mail.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Recipients {
    /// The To header.
    pub to: Vec<Mailbox>,
    /// The Cc header.
    pub cc: Vec<Mailbox>,
}

impl Recipients {
    /// Whether there is no one to send to.
    pub fn is_empty(&self) -> bool {
        self.to.is_empty() && self.cc.is_empty()
    }
}

/// The recipients of a mail about the builds of `people`. Interested users go to To; the
/// extra recipients go to Cc when some interested user was found (so they can tell they
/// are copied), to To otherwise. Names that give no valid address are dropped.
pub fn choose(config: &MailConfig, people: &People) -> Recipients {
    let mut to: Vec<Mailbox> = Vec::new();
    if config.send_to_interested_users {
        let lookup = config.lookup.as_deref();
        let named = people.authors.iter().chain(&people.owners).map(|n| address_of(n, &people.known, lookup));
        // Whoever asked for a build is a login name more often than a VCS name: a domain
        // appended to it would guess an address, so only known or literal ones count.
        let requesters = people.requesters.iter().map(|n| address_of(n, &people.known, None));
        for address in named.chain(requesters).flatten() {
            match mailbox(&address) {
                Some(m) => add(&mut to, m),
                None => tracing::debug!(%address, "not a mail address; left out"),
            }
        }
    }
    let extras = config.extra_recipients.iter().filter_map(|r| mailbox(r));
    let mut cc = Vec::new();
    if config.send_to_interested_users && !to.is_empty() {
        for m in extras {
            if !to.iter().any(|t| same(t, &m)) {
                add(&mut cc, m);
            }
        }
    } else {
        for m in extras {
            add(&mut to, m);
        }
    }
    to.sort_by_key(|m| address(m).to_lowercase());
    cc.sort_by_key(|m| address(m).to_lowercase());
    Recipients { to, cc }
}

/// The address of a person named `name` by a VCS or a build property: a stored user's
/// `email` attribute, else the address inside the name ("Ann <ann@example.org>"), else the
/// name at the `lookup` domain.
pub fn address_of(name: &str, known: &HashMap<String, String>, lookup: Option<&str>) -> Option<String> {
    if let Some(email) = known.get(name) {
        return Some(email.clone());
    }
    let name = name.trim();
    if name.contains('@') {
        return Some(name.to_owned());
    }
    let bare = !name.is_empty() && !name.contains(|c: char| c.is_whitespace() || c == '<' || c == '>');
    lookup.filter(|_| bare).map(|domain| format!("{name}@{domain}"))
}

/// `address` as a mailbox, or `None` when it is not one. An address with two `@`
/// ("'Ann' <ann@example.org>@example.org", a domain appended to an address) loses its last
/// `@` part first.
pub fn mailbox(address: &str) -> Option<Mailbox> {
    let address = address.trim();
    let address = if address.matches('@').count() > 1 {
        address.rfind('@').map_or(address, |at| &address[..at])
    } else {
        address
    };
    address.parse::<Mailbox>().ok()
}

fn address(m: &Mailbox) -> &str {
    AsRef::<str>::as_ref(&m.email)
}

fn same(a: &Mailbox, b: &Mailbox) -> bool {
    address(a).eq_ignore_ascii_case(address(b))
}

fn add(list: &mut Vec<Mailbox>, m: Mailbox) {
    if !list.iter().any(|x| same(x, &m)) {
        list.push(m);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{AddLogs, BodyType, MailMode, SmtpSecurity};

    fn config(interested: bool, extra: &[&str], lookup: Option<&str>) -> MailConfig {
        MailConfig {
            from: "ci@example.org".into(),
            send_to_interested_users: interested,
            extra_recipients: extra.iter().map(|s| s.to_string()).collect(),
            subject: String::new(),
            mode: vec![MailMode::Failing],
            add_logs: AddLogs::None,
            add_patch: true,
            build_set_summary: false,
            relay_host: "localhost".into(),
            smtp_port: 25,
            security: SmtpSecurity::None,
            tls_ca_file: None,
            smtp_user: None,
            smtp_password: None,
            lookup: lookup.map(str::to_owned),
            template: None,
            template_type: BodyType::Plain,
            extra_headers: Default::default(),
        }
    }

    fn people(authors: &[&str], owners: &[&str], requesters: &[&str], known: &[(&str, &str)]) -> People {
        let list = |l: &[&str]| l.iter().map(|s| s.to_string()).collect();
        People {
            authors: list(authors),
            owners: list(owners),
            requesters: list(requesters),
            known: known.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        }
    }

    fn emails(list: &[Mailbox]) -> Vec<String> {
        list.iter().map(|m| m.email.to_string()).collect()
    }

    #[test]
    fn a_stored_email_wins_then_the_address_in_the_name_then_the_lookup_domain() {
        let known = HashMap::from([("Ann <ann@home.example>".to_owned(), "ann@work.example".to_owned())]);
        assert_eq!(address_of("Ann <ann@home.example>", &known, None).as_deref(), Some("ann@work.example"));
        assert_eq!(
            address_of("Bob <bob@example.org>", &known, Some("x.org")).as_deref(),
            Some("Bob <bob@example.org>")
        );
        assert_eq!(address_of("carol", &known, Some("example.net")).as_deref(), Some("carol@example.net"));
        assert_eq!(address_of("carol", &known, None), None);
        assert_eq!(address_of("Carol Smith", &known, Some("example.net")), None);
        assert_eq!(address_of("", &known, Some("example.net")), None);
    }

    #[test]
    fn a_second_at_sign_is_chopped_and_invalid_addresses_are_dropped() {
        assert_eq!(mailbox("a@b@c").map(|m| m.email.to_string()).as_deref(), Some("a@b"));
        let m = mailbox("'Ann' <ann@example.org>@example.org").unwrap();
        assert_eq!(m.email.to_string(), "ann@example.org");
        let named = mailbox("Ann Smith <ann@example.org>").unwrap();
        assert_eq!((named.name.as_deref(), named.email.to_string().as_str()), (Some("Ann Smith"), "ann@example.org"));
        assert!(mailbox("not an address").is_none());
        assert!(mailbox("").is_none());
    }

    #[test]
    fn extra_recipients_are_copied_when_interested_users_are_mailed() {
        let cfg = config(true, &["list@example.org"], Some("example.net"));
        let p = people(&["bob", "Ann <ann@example.org>", "bob"], &["dave@example.org", "junk"], &[], &[]);
        let r = choose(&cfg, &p);
        assert_eq!(emails(&r.to), ["ann@example.org", "bob@example.net", "dave@example.org", "junk@example.net"]);
        assert_eq!(emails(&r.cc), ["list@example.org"]);
    }

    #[test]
    fn extra_recipients_go_to_to_when_no_interested_user_has_an_address() {
        let cfg = config(true, &["list@example.org"], None);
        let r = choose(&cfg, &people(&["bob"], &[], &["admin"], &[]));
        assert_eq!((emails(&r.to), emails(&r.cc)), (vec!["list@example.org".to_owned()], vec![]));
        let cfg = config(false, &["list@example.org", "b@example.org"], Some("example.net"));
        let r = choose(&cfg, &people(&["bob"], &[], &[], &[]));
        assert_eq!((emails(&r.to), emails(&r.cc)), (vec!["b@example.org".into(), "list@example.org".into()], vec![]));
    }

    #[test]
    fn requesters_count_only_with_a_known_or_literal_address() {
        let cfg = config(true, &[], Some("example.net"));
        let known = [("ann", "ann@example.org")];
        let r = choose(&cfg, &people(&[], &[], &["ann", "bob", "carol@example.org"], &known));
        assert_eq!(emails(&r.to), ["ann@example.org", "carol@example.org"]);
    }

    #[test]
    fn nobody_to_mail_is_empty_and_duplicates_collapse_ignoring_case() {
        assert!(choose(&config(true, &[], None), &people(&["bob"], &[], &[], &[])).is_empty());
        let cfg = config(true, &["Ann@Example.org"], None);
        let r = choose(&cfg, &people(&["ann@example.org", "ANN@example.org"], &[], &[], &[]));
        assert_eq!((r.to.len(), r.cc.len()), (1, 0));
    }
}
