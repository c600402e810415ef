//! The MIME message: headers, the body (plain and HTML alternatives, or a custom
//! template's single part) and the attachments. No I/O.

use lettre::Message;
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Attachment as Part, Mailbox, MultiPart, SinglePart};

use super::facts::Attachment;
use super::recipients::Recipients;
use super::render::{Body, Rendered};

/// The message from `from` to `recipients`; an error is a header or a type lettre refuses.
pub fn build(
    from: &str,
    recipients: &Recipients,
    rendered: Rendered,
    attachments: Vec<Attachment>,
) -> Result<Message, String> {
    let from: Mailbox = from.parse().map_err(|e| format!("`from` is not an address: {e}"))?;
    let mut builder = Message::builder().from(from).subject(rendered.subject).message_id(None);
    for m in &recipients.to {
        builder = builder.to(m.clone());
    }
    for m in &recipients.cc {
        builder = builder.cc(m.clone());
    }
    for (name, value) in rendered.headers {
        let header = HeaderName::new_from_ascii(name.clone()).map_err(|e| format!("header `{name}`: {e}"))?;
        builder = builder.raw_header(HeaderValue::new(header, value));
    }
    let body = match rendered.body {
        Body::Alternative { plain, html } => Content::Multi(MultiPart::alternative_plain_html(plain, html)),
        Body::Plain(text) => Content::Single(SinglePart::plain(text)),
        Body::Html(html) => Content::Single(SinglePart::html(html)),
    };
    let message = if attachments.is_empty() {
        match body {
            Content::Multi(m) => builder.multipart(m),
            Content::Single(s) => builder.singlepart(s),
        }
    } else {
        let mut mixed = match body {
            Content::Multi(m) => MultiPart::mixed().multipart(m),
            Content::Single(s) => MultiPart::mixed().singlepart(s),
        };
        for a in attachments {
            let content_type =
                ContentType::parse(&a.content_type).map_err(|e| format!("type `{}`: {e}", a.content_type))?;
            // Text goes as a string, which lettre sends with CRLF line ends (SMTP's); other
            // bytes as they are, encoded.
            let part = match String::from_utf8(a.body) {
                Ok(text) => Part::new(a.filename).body(text, content_type),
                Err(bytes) => Part::new(a.filename).body(bytes.into_bytes(), content_type),
            };
            mixed = mixed.singlepart(part);
        }
        builder.multipart(mixed)
    };
    message.map_err(|e| format!("the message cannot be built: {e}"))
}

enum Content {
    Multi(MultiPart),
    Single(SinglePart),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rendered(body: Body) -> Rendered {
        Rendered {
            subject: "Cascade failure in test on app".into(),
            body,
            headers: vec![("X-Build".into(), "app 3".into())],
        }
    }

    fn to(list: &[&str]) -> Recipients {
        Recipients {
            to: list.iter().map(|a| a.parse().unwrap()).collect(),
            cc: vec!["list@example.org".parse().unwrap()],
        }
    }

    #[test]
    fn the_default_body_is_plain_and_html_alternatives() {
        let body = Body::Alternative { plain: "plain text".into(), html: "<p>html</p>".into() };
        let m = build("CI <ci@example.org>", &to(&["ann@example.org"]), rendered(body), vec![]).unwrap();
        let text = String::from_utf8(m.formatted()).unwrap();
        assert!(text.contains("From: CI <ci@example.org>"), "{text}");
        assert!(text.contains("To: ann@example.org") && text.contains("Cc: list@example.org"), "{text}");
        assert!(text.contains("Subject: Cascade failure in test on app") && text.contains("X-Build: app 3"), "{text}");
        assert!(text.contains("multipart/alternative") && !text.contains("multipart/mixed"), "{text}");
        assert!(text.contains("Message-ID: <"), "{text}");
        let rcpt: Vec<String> = m.envelope().to().iter().map(ToString::to_string).collect();
        assert_eq!(rcpt, ["ann@example.org", "list@example.org"]);
    }

    #[test]
    fn attachments_make_a_mixed_message() {
        let logs = vec![Attachment {
            filename: "test.stdio".into(),
            content_type: "text/plain; charset=utf-8".into(),
            body: b"line\n".to_vec(),
        }];
        let m = build("ci@example.org", &to(&["ann@example.org"]), rendered(Body::Html("<p>x</p>".into())), logs);
        let text = String::from_utf8(m.unwrap().formatted()).unwrap();
        assert!(text.contains("multipart/mixed") && text.contains("text/html"), "{text}");
        assert!(text.contains("filename=\"test.stdio\""), "{text}");
    }
}
