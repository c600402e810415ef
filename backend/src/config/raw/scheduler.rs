//! The tables of each scheduler kind. `kind` is read first to pick the type, and each type
//! lists only the keys its kind accepts, so a key of another kind is reported as unknown.

use serde::Deserialize;
use serde::de::IgnoredAny;

use super::{CronField, OneOrMany};

/// The accepted values of `kind`.
pub(crate) const KINDS: &[&str] = &["single_branch", "any_branch", "force", "periodic", "nightly"];

/// `kind = "single_branch"`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub(crate) struct SingleBranch {
    pub name: String,
    #[serde(default)]
    pub builders: Vec<String>,
    kind: IgnoredAny,
    #[serde(default)]
    pub properties: std::collections::BTreeMap<String, String>,
    pub branch: String,
    #[serde(default)]
    pub tree_stable_timer: u64,
    #[serde(default)]
    pub branches: OneOrMany,
    #[serde(default)]
    pub project: OneOrMany,
    #[serde(default)]
    pub repository: OneOrMany,
    #[serde(default)]
    pub category: OneOrMany,
    #[serde(default)]
    pub codebase: OneOrMany,
}

/// `kind = "any_branch"`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub(crate) struct AnyBranch {
    pub name: String,
    #[serde(default)]
    pub builders: Vec<String>,
    kind: IgnoredAny,
    #[serde(default)]
    pub properties: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    pub tree_stable_timer: u64,
    #[serde(default)]
    pub branches: OneOrMany,
    #[serde(default)]
    pub project: OneOrMany,
    #[serde(default)]
    pub repository: OneOrMany,
    #[serde(default)]
    pub category: OneOrMany,
    #[serde(default)]
    pub codebase: OneOrMany,
}

/// `kind = "force"`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub(crate) struct Force {
    pub name: String,
    #[serde(default)]
    pub builders: Vec<String>,
    kind: IgnoredAny,
    #[serde(default)]
    pub properties: std::collections::BTreeMap<String, String>,
}

/// `kind = "periodic"`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub(crate) struct Periodic {
    pub name: String,
    #[serde(default)]
    pub builders: Vec<String>,
    kind: IgnoredAny,
    #[serde(default)]
    pub properties: std::collections::BTreeMap<String, String>,
    pub interval: u64,
    pub branch: Option<String>,
}

/// `kind = "nightly"`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub(crate) struct Nightly {
    pub name: String,
    #[serde(default)]
    pub builders: Vec<String>,
    kind: IgnoredAny,
    #[serde(default)]
    pub properties: std::collections::BTreeMap<String, String>,
    #[serde(default = "zero")]
    pub minute: CronField,
    #[serde(default = "any")]
    pub hour: CronField,
    #[serde(default = "any")]
    pub day_of_month: CronField,
    #[serde(default = "any")]
    pub month: CronField,
    #[serde(default = "any")]
    pub day_of_week: CronField,
    pub branch: Option<String>,
}

fn zero() -> CronField {
    CronField("0".into())
}
fn any() -> CronField {
    CronField("*".into())
}
