//! Which messages are commands for the bot, and whose: any private message, and channel
//! messages that start with the bot's nick and a colon or a comma. Pure.

use crate::config::is_irc_channel;

/// A command someone sent the bot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Incoming {
    /// The channel it was said in; `None` for a private message.
    pub channel: Option<String>,
    /// Who said it.
    pub nick: String,
    /// The command, without the bot's name.
    pub text: String,
}

impl Incoming {
    /// Where the answer goes, and whose settings the command changes: the channel, or
    /// the sender of a private message.
    pub fn contact(&self) -> &str {
        self.channel.as_deref().unwrap_or(&self.nick)
    }

    /// Who asked, for build reasons (0.8.9's `describeUser`).
    pub fn describe_user(&self) -> String {
        match &self.channel {
            Some(channel) => format!("IRC user <{}> on channel {channel}", self.nick),
            None => format!("IRC user <{}> (privmsg)", self.nick),
        }
    }
}

/// The command in a PRIVMSG from `from` to `target`, if it is addressed to the bot `me`:
/// any private message (an optional `me:` in front is dropped), or a channel message
/// starting with `me:` or `me,`. CTCP requests are not commands.
pub fn addressed(me: &str, from: &str, target: &str, body: &str) -> Option<Incoming> {
    if body.starts_with('\u{1}') {
        return None;
    }
    let without_name = |text: &str| -> Option<String> {
        let text = text.trim_start();
        let head = text.get(..me.len()).filter(|h| h.eq_ignore_ascii_case(me))?;
        let rest = text[head.len()..].strip_prefix([':', ','])?;
        Some(rest.trim().to_owned())
    };
    let (channel, text) = if target.eq_ignore_ascii_case(me) {
        (None, without_name(body).unwrap_or_else(|| body.trim().to_owned()))
    } else if is_irc_channel(target) {
        (Some(target.to_owned()), without_name(body)?)
    } else {
        return None;
    };
    (!text.is_empty()).then(|| Incoming { channel, nick: from.to_owned(), text })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_addressed_by_name_in_channels_and_always_in_private() {
        let said = |target: &str, body: &str| addressed("Cascade", "ann", target, body);
        let channel = |text: &str| Incoming { channel: Some("#ci".into()), nick: "ann".into(), text: text.into() };
        let private = |text: &str| Incoming { channel: None, nick: "ann".into(), text: text.into() };
        assert_eq!(said("#ci", "cascade: status all"), Some(channel("status all")));
        assert_eq!(said("#ci", "  CASCADE,hello "), Some(channel("hello")));
        assert_eq!(said("#ci", "hello"), None);
        assert_eq!(said("#ci", "cascadebot: hello"), None);
        assert_eq!(said("#ci", "cascade hello"), None);
        assert_eq!(said("#ci", "cascade:"), None);
        assert_eq!(said("cascade", "status"), Some(private("status")));
        assert_eq!(said("CASCADE", "cascade: status"), Some(private("status")));
        assert_eq!(said("cascade", "\u{1}VERSION\u{1}"), None);
        assert_eq!(said("someone", "cascade: hello"), None);
        assert_eq!(channel("x").contact(), "#ci");
        assert_eq!(private("x").contact(), "ann");
        assert_eq!(channel("x").describe_user(), "IRC user <ann> on channel #ci");
        assert_eq!(private("x").describe_user(), "IRC user <ann> (privmsg)");
    }
}
