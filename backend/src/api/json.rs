//! JSON answers written straight from `serde::Serialize`, for the view endpoints' big pages:
//! poem-openapi's `Json` first builds a `serde_json::Value` tree of the whole answer, which
//! for a waterfall of two hundred builds costs more than reading them, and a written page can
//! be kept and served again as it is. `RawJson` documents the schema of the type's
//! poem-openapi derive and carries the same JSON: the type has serde attributes mirroring its
//! `oai` ones, and a test holds the two outputs equal.

use std::marker::PhantomData;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use poem::http::header;
use poem::{IntoResponse, Response};
use poem_openapi::ApiResponse;
use poem_openapi::payload::Payload;
use poem_openapi::registry::{MetaMediaType, MetaResponse, MetaResponses, MetaSchemaRef, Registry};
use poem_openapi::types::Type;
use serde::Serialize;

/// A JSON answer already written (a page from the cache), documented as `T`.
#[derive(Debug)]
pub struct RawJson<T>(pub Bytes, PhantomData<fn() -> T>);

impl<T: Serialize> RawJson<T> {
    /// Writes `value`.
    pub fn of(value: &T) -> Result<RawJson<T>, serde_json::Error> {
        Ok(RawJson(Bytes::from(serde_json::to_vec(value)?), PhantomData))
    }
}

impl<T> RawJson<T> {
    /// An answer written before.
    pub fn from_bytes(body: Bytes) -> RawJson<T> {
        RawJson(body, PhantomData)
    }
}

const CONTENT_TYPE: &str = "application/json; charset=utf-8";

impl<T: Type> Payload for RawJson<T> {
    const CONTENT_TYPE: &'static str = CONTENT_TYPE;

    fn schema_ref() -> MetaSchemaRef {
        T::schema_ref()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

impl<T> IntoResponse for RawJson<T> {
    fn into_response(self) -> Response {
        Response::builder().header(header::CONTENT_TYPE, CONTENT_TYPE).body(self.0)
    }
}

/// The document's answer of an operation that answers 200 with payload `P`.
pub fn ok_with<P: Payload>() -> MetaResponses {
    MetaResponses {
        responses: vec![MetaResponse {
            description: "",
            status: Some(200),
            status_range: None,
            content: vec![MetaMediaType { content_type: P::CONTENT_TYPE, schema: P::schema_ref() }],
            headers: vec![],
        }],
    }
}

impl<T: Type> ApiResponse for RawJson<T> {
    fn meta() -> MetaResponses {
        ok_with::<Self>()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

/// The key a list is kept under in the page cache: its path and query as asked.
pub fn page_key(request: &poem::Request) -> String {
    format!("{}?{}", request.uri().path(), request.uri().query().unwrap_or(""))
}

/// The answer for `key` from the engine's page cache, or `build`'s written and kept there:
/// served again until the next event (or for at most two seconds), to everybody asking
/// the same.
pub async fn cached<T: Serialize>(
    engine: &crate::engine::Engine,
    key: String,
    build: impl std::future::Future<Output = Result<T, super::ApiError>>,
) -> Result<RawJson<T>, super::ApiError> {
    let body = engine
        .pages
        .get_or_build(key, async {
            let page = RawJson::of(&build.await?).map_err(|e| {
                tracing::error!(error = ?e, "cannot write a page");
                super::ApiError::internal()
            })?;
            Ok::<_, super::ApiError>(page.0)
        })
        .await?;
    Ok(RawJson::from_bytes(body))
}

/// A time as poem-openapi writes it (RFC 3339, `+00:00`).
pub fn rfc3339<S: serde::Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&t.to_rfc3339())
}

/// An optional time as poem-openapi writes it (fields that are `None` are skipped).
pub fn rfc3339_opt<S: serde::Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.serialize_str(&t.to_rfc3339()),
        None => s.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use poem_openapi::types::ToJSON;

    use crate::api::events::EventKind;
    use crate::api::types::time;
    use crate::api::types::{Build, BuildDetail, Builder, BuilderStateName, Change, LogInfo, Results, Step, TextPart};
    use crate::api::views::{
        BuildSummary, Console, ConsoleBox, ConsoleClass, ConsoleRow, Grid, GridCell, GridRow, GridStamp, Waterfall,
        WaterfallEvent,
    };

    fn build(full: bool) -> Build {
        Build {
            id: 7,
            builder: "b \"quoted\" <x>".into(),
            number: 3,
            buildrequest_id: 9,
            worker: full.then(|| "w".into()),
            started_at: time(1_700_000_000),
            finished_at: full.then(|| time(1_700_000_100)),
            complete: full,
            results: full.then_some(Results::Cancelled),
            state_text: "é\n".into(),
            reason: "r".into(),
            branch: full.then(|| "main".into()),
            revision: None,
            codebase: String::new(),
            project: "p".into(),
            repository: "https://r".into(),
            properties: serde_json::json!({"a": [1, null, {"b": true}]}),
        }
    }

    fn step(full: bool) -> Step {
        Step {
            number: 1,
            name: "s".into(),
            state_text: "t".into(),
            results: full.then_some(Results::Failure),
            started_at: full.then(|| time(5)),
            finished_at: None,
            complete: full,
            logs: vec![LogInfo { name: "stdio".into(), slug: "stdio".into(), num_lines: 4, complete: true }],
        }
    }

    fn change(full: bool) -> Change {
        Change {
            id: 1,
            author: "a".into(),
            committer: full.then(|| "c".into()),
            comments: "x #1".into(),
            comment_parts: full.then(|| {
                vec![
                    TextPart { text: "x ".into(), url: None, title: None },
                    TextPart { text: "#1".into(), url: Some("https://b/1".into()), title: Some("T".into()) },
                ]
            }),
            revision: full.then(|| "r".into()),
            branch: None,
            repository: "https://r".into(),
            repository_url: None,
            project: "p".into(),
            project_url: full.then(|| "https://p".into()),
            codebase: String::new(),
            category: None,
            revlink: full.then(|| "https://r/c".into()),
            when: time(1),
            received_at: time(2),
            files: vec!["f".into()],
            properties: serde_json::json!({}),
        }
    }

    fn builder(full: bool) -> Builder {
        Builder {
            name: "b".into(),
            description: full.then(|| "d".into()),
            tags: vec!["t|x".into()],
            workers: vec!["w".into()],
            state: if full { BuilderStateName::Paused } else { BuilderStateName::Idle },
            pending: 2,
            running: 0,
            can_force: true,
            last_build: full.then(|| build(true)),
            average_duration: full.then_some(30),
        }
    }

    fn summary(full: bool) -> BuildSummary {
        BuildSummary {
            number: 2,
            results: full.then_some(Results::Warnings),
            complete: full,
            state_text: "s".into(),
            started_at: time(3),
            finished_at: full.then(|| time(4)),
        }
    }

    fn same<T: ToJSON + serde::Serialize>(value: &T) {
        let fast = serde_json::to_value(value).unwrap();
        assert_eq!(fast, value.to_json().unwrap(), "serde and poem-openapi disagree");
    }

    #[test]
    fn the_fast_json_of_every_view_and_list_is_poem_openapi_s_json() {
        for full in [true, false] {
            same(&Waterfall {
                builders: vec![builder(full)],
                builds: vec![BuildDetail {
                    build: build(full),
                    steps: vec![step(full)],
                    changes: full.then(|| vec![change(full)]),
                }],
                changes: vec![change(full)],
                events: vec![WaterfallEvent {
                    id: 1,
                    kind: EventKind::WorkerConnected,
                    at: time(9),
                    name: "w".into(),
                    actor: None,
                    summary: None,
                }],
                since: full.then(|| time(1)),
                next_last_time: full.then_some(5),
                num_events: 200,
            });
            same(&crate::api::builds::BuildList {
                builds: vec![build(full), build(!full)],
                next_offset: full.then_some(50),
            });
            same(&crate::api::builders::BuilderList { builders: vec![builder(full), builder(!full)] });
            same(&crate::api::changes::ChangeList {
                changes: vec![change(full), change(!full)],
                next_before: full.then_some(3),
            });
            same(&Grid {
                stamps: vec![GridStamp {
                    project: "p".into(),
                    codebase: String::new(),
                    branch: full.then(|| "main".into()),
                    revision: None,
                    repository: "r".into(),
                    project_url: full.then(|| "https://p".into()),
                    revlink: None,
                    time: time(7),
                }],
                rows: vec![GridRow {
                    builder: builder(full),
                    cells: vec![GridCell { build: full.then(|| summary(full)) }, GridCell { build: None }],
                }],
            });
            same(&Console {
                builders: vec![builder(full)],
                rows: vec![ConsoleRow {
                    change: change(full),
                    change_ids: vec![1, 2],
                    boxes: vec![ConsoleBox {
                        class: if full { ConsoleClass::FailureAgain } else { ConsoleClass::NotInBuilder },
                        build: full.then(|| summary(full)),
                        failed_steps: vec![step(full)],
                    }],
                }],
            });
        }
    }
}
