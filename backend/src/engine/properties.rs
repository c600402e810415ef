//! Build properties: where they come from (builder < scheduler < change < force form <
//! the build itself, later sources winning, as in Buildbot) and how `{{ prop.NAME }}`
//! templates in commands, environments and working directories are rendered.

use std::collections::BTreeMap;

use serde_json::Value;

pub use crate::model::Sourced;

/// Properties of a set of builds, from its scheduler, its change and the force form.
pub fn for_buildset(
    scheduler: &BTreeMap<String, String>,
    change: Option<&BTreeMap<String, Value>>,
    forced: &BTreeMap<String, String>,
) -> Sourced {
    let mut props = Sourced::default();
    props.extend(scheduler.iter().map(|(k, v)| (k, Value::from(v.clone()))), "Scheduler");
    if let Some(change) = change {
        props.extend(change.iter().map(|(k, v)| (k, v.clone())), "Change");
    }
    props.extend(forced.iter().map(|(k, v)| (k, Value::from(v.clone()))), "Force Build Form");
    props
}

/// A build's properties: the builder's, overridden by the buildset's, overridden by what
/// the build itself knows (builder name, number, worker, branch, revision).
pub fn for_build(
    builder: &BTreeMap<String, String>,
    buildset: Sourced,
    intrinsic: impl IntoIterator<Item = (&'static str, Option<Value>)>,
) -> Sourced {
    let mut props = Sourced::default();
    props.extend(builder.iter().map(|(k, v)| (k, Value::from(v.clone()))), "Builder");
    props.values.extend(buildset.values);
    props.sources.extend(buildset.sources);
    for (k, v) in intrinsic {
        if let Some(v) = v {
            props.set(k, v, if k == "workername" { "Worker" } else { "Build" });
        }
    }
    props
}

/// Renders a `{{ prop.NAME }}` template; text without template syntax is returned as is.
/// A property that does not exist renders empty, as Buildbot's Interpolate does.
pub fn render(template: &str, props: &BTreeMap<String, Value>) -> Result<String, String> {
    if !template.contains("{{") && !template.contains("{%") {
        return Ok(template.to_owned());
    }
    let env = minijinja::Environment::new();
    env.render_str(template, minijinja::context! { prop => props })
        .map_err(|e| format!("cannot render `{template}`: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn later_sources_win() {
        let change: BTreeMap<String, Value> =
            [("a".to_string(), Value::from("change")), ("c".to_string(), Value::from(3))].into();
        let set = for_buildset(&map(&[("a", "sched"), ("b", "sched")]), Some(&change), &map(&[("b", "force")]));
        assert_eq!(set.values["a"], Value::from("change"));
        assert_eq!(set.values["b"], Value::from("force"));
        assert_eq!((set.sources["a"].as_str(), set.sources["b"].as_str()), ("Change", "Force Build Form"));
        let build = for_build(
            &map(&[("a", "builder"), ("d", "builder")]),
            set,
            [("buildername", Some(Value::from("app"))), ("workername", Some(Value::from("w1"))), ("branch", None)],
        );
        assert_eq!(build.values["a"], Value::from("change"));
        assert_eq!(build.values["d"], Value::from("builder"));
        assert_eq!(build.values["buildername"], Value::from("app"));
        assert!(!build.values.contains_key("branch"));
        let source = |k: &str| build.sources[k].clone();
        assert_eq!(
            [source("a"), source("b"), source("d"), source("buildername"), source("workername")],
            ["Change", "Force Build Form", "Builder", "Build", "Worker"]
        );
    }

    #[test]
    fn templates_render_properties() {
        let props: BTreeMap<String, Value> =
            [("branch".to_string(), Value::from("main")), ("n".to_string(), Value::from(7))].into();
        assert_eq!(render("make BRANCH={{ prop.branch }} N={{ prop.n }}", &props).unwrap(), "make BRANCH=main N=7");
        assert_eq!(render("x{{ prop.missing }}y", &props).unwrap(), "xy");
        assert_eq!(render("plain $HOME {not a template}", &props).unwrap(), "plain $HOME {not a template}");
        assert!(render("{{ prop.branch ", &props).is_err());
    }
}
