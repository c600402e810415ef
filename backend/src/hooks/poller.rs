//! The `poller` dialect: a GET or POST makes the named change sources (`?poller=NAME`,
//! repeatable) or all of them poll now, within the dialect's `allowed` list.

use poem::http::StatusCode;
use serde_json::json;

use super::{HookError, HookRequest, Outcome};
use crate::api::ApiError;
use crate::engine::Engine;

/// Starts the polls asked for; answers at once, the polls run in the background.
pub async fn handle(engine: &std::sync::Arc<Engine>, req: &HookRequest) -> Outcome {
    let Some(cfg) = &engine.config().change_hook.dialects.poller else {
        return Outcome::refused(ApiError::not_found("change hook dialect `poller` is not enabled"));
    };
    let allowed = |name: &str, url: &str| cfg.allowed.is_empty() || cfg.allowed.iter().any(|a| a == name || a == url);
    let sources = &engine.config().change_sources;
    let url_of = |s: &crate::config::ChangeSourceConfig| match &s.kind {
        crate::config::ChangeSourceKind::GitPoller(g) => g.repo_url.clone(),
    };
    let wanted: Vec<&str> = req.query.get("poller").map(|p| p.split('\n').collect()).unwrap_or_default();
    let mut chosen = Vec::new();
    if wanted.is_empty() {
        chosen.extend(sources.iter().filter(|s| allowed(&s.name, &url_of(s))));
    } else {
        for name in wanted {
            let Some(source) = sources.iter().find(|s| s.name == name || url_of(s) == name) else {
                return Outcome::refused(HookError::BadRequest(format!("no change source named `{name}`")));
            };
            if !allowed(&source.name, &url_of(source)) {
                return Outcome::refused(HookError::BadRequest(format!("polling `{name}` is not allowed here")));
            }
            chosen.push(source);
        }
    }
    let names: Vec<String> = chosen.iter().map(|s| s.name.clone()).collect();
    for source in chosen {
        engine.poll_in_background(source.clone());
    }
    Outcome {
        status: StatusCode::OK,
        body: json!({ "message": format!("polling {}", names.join(", ")), "pollers": names }),
        change_ids: Vec::new(),
    }
}
