//! The requests the master sends rather than answers, published as the document's webhooks:
//! what an `http_push` reporter POSTs to its `server_url`. Nothing here is served; the traits
//! only describe, and the bodies are the reporter's own types
//! ([`crate::reporters::http_push::body`]).

use poem::http::StatusCode;
use poem_openapi::param::Header;
use poem_openapi::payload::Json;
use poem_openapi::registry::{MetaWebhook, Registry};
use poem_openapi::{ApiRequest, ApiResponse, Webhook};

use crate::reporters::http_push::body::{PushBatch, PushEvent};

/// What a receiver answers, and what the master does then.
#[derive(ApiResponse)]
pub enum PushAnswer {
    /// Delivered: the events are marked sent. The answer's body is ignored.
    #[oai(status_range = "2XX")]
    Delivered(StatusCode),
    /// Not delivered, tried again later: after `retry_delay` seconds, then twice as long each
    /// time up to `max_retry_delay`; the events behind it wait for it. So are a request that
    /// times out and a server that cannot be reached.
    #[oai(status_range = "5XX")]
    Retried(StatusCode),
    /// Request Timeout: tried again later, as a 5xx is.
    #[oai(status = 408)]
    RequestTimeout,
    /// Too Many Requests: tried again later, as a 5xx is.
    #[oai(status = 429)]
    TooManyRequests,
    /// Any other 4xx: failed for good. The outbox keeps the status as the last error, and
    /// Retry there sends the events again.
    #[oai(status_range = "4XX")]
    Refused(StatusCode),
    /// A redirect is not followed: failed for good, as a 4xx is.
    #[oai(status_range = "3XX")]
    Redirected(StatusCode),
}

/// The body of a POST with one event.
#[derive(ApiRequest)]
pub enum PushEventBody {
    /// JSON, sent as `application/json` (which is UTF-8).
    #[oai(content_type = "application/json")]
    Json(Json<PushEvent>),
}

/// The body of a POST with several events.
#[derive(ApiRequest)]
pub enum PushBatchBody {
    /// JSON, sent as `application/json` (which is UTF-8).
    #[oai(content_type = "application/json")]
    Json(Json<PushBatch>),
}

/// One event per POST.
#[poem_openapi::Webhook(tag = "super::Tag::Push")]
pub trait PushEventHook {
    /// One build event, POSTed to an `http_push` reporter's `server_url`.
    ///
    /// Sent when a build starts (`build.started`) and when it ends (`build.finished`), as the
    /// reporter's `events` choose, by a reporter with `buffer_delay = 0` (the default). Events
    /// leave in the order they happened, one at a time: an event that is retried holds back the
    /// ones behind it. Delivery is at least once: an event can arrive again, after a retry or
    /// after the master restarts, with the same `id`.
    #[oai(name = "http_push_event", method = "post", operation_id = "http_push_event")]
    fn http_push_event(
        &self,
        /// `sha256=<hex>`: the HMAC-SHA256 of the body's bytes under the reporter's `secret`.
        /// Sent only when a `secret` is set.
        #[oai(name = "X-Cascade-Signature")]
        signature: Header<Option<String>>,
        body: PushEventBody,
    ) -> PushAnswer;
}

/// Several events per POST.
#[poem_openapi::Webhook(tag = "super::Tag::Push")]
pub trait PushBatchHook {
    /// Several build events in one POST, to an `http_push` reporter's `server_url`.
    ///
    /// Sent by a reporter with `buffer_delay` > 0 instead of one POST per event: the events
    /// wait until the oldest is `buffer_delay` seconds old, then leave together, at most 500,
    /// oldest first. A batch is delivered or not as a whole. Delivery is at least once: an
    /// event can arrive again, after a retry or after the master restarts, with the same `id`.
    #[oai(name = "http_push_batch", method = "post", operation_id = "http_push_batch")]
    fn http_push_batch(
        &self,
        /// `sha256=<hex>`: the HMAC-SHA256 of the body's bytes under the reporter's `secret`.
        /// Sent only when a `secret` is set.
        #[oai(name = "X-Cascade-Signature")]
        signature: Header<Option<String>>,
        body: PushBatchBody,
    ) -> PushAnswer;
}

/// Every webhook of the document. A `#[Webhook]` trait holds one operation per HTTP method,
/// and both pushes are POSTs, so each has its trait and this joins them.
pub struct Webhooks;

impl Webhook for Webhooks {
    fn meta() -> Vec<MetaWebhook> {
        let mut meta = <&dyn PushEventHook as Webhook>::meta();
        meta.extend(<&dyn PushBatchHook as Webhook>::meta());
        meta
    }

    fn register(registry: &mut Registry) {
        <&dyn PushEventHook as Webhook>::register(registry);
        <&dyn PushBatchHook as Webhook>::register(registry);
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use crate::reporters::http_push::body::{CONTENT_TYPE, SIGNATURE_HEADER};

    #[test]
    fn the_webhooks_describe_the_requests_the_reporter_sends() {
        let spec: Value = serde_json::from_str(&crate::api::spec_json()).unwrap();
        for (hook, schema) in [("http_push_event", "PushEvent"), ("http_push_batch", "PushBatch")] {
            let post = &spec["webhooks"][hook]["post"];
            assert_eq!(post["operationId"], hook);
            let content = post["requestBody"]["content"].as_object().unwrap();
            assert_eq!(content.keys().collect::<Vec<_>>(), [CONTENT_TYPE], "{hook}");
            assert_eq!(content[CONTENT_TYPE]["schema"]["$ref"], format!("#/components/schemas/{schema}"));
            assert_eq!(post["parameters"][0]["name"], SIGNATURE_HEADER);
            assert_eq!(post["parameters"][0]["in"], "header");
            assert!(post["description"].as_str().unwrap().contains("at least once"), "{hook}");
            for status in ["2XX", "408", "429", "5XX", "4XX", "3XX"] {
                assert!(post["responses"][status].is_object(), "{hook} {status}");
            }
        }
    }
}
