//! What a status image shows: a builder's state for its README badge, or one build's result
//! for 0.8.9's `/png`. Badges are fetched by every page that shows them, so the state is
//! read through the page cache: one indexed query per builder and branch until the next
//! event.

use bytes::Bytes;

use crate::db::{self, builds::TimeFilter};
use crate::engine::{Engine, EngineError};
use crate::model::{Build, Results};

/// What a status image says.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BadgeState {
    /// A finished build's result.
    Done(Results),
    /// The builder's newest build is still running.
    Running,
    /// No such build (none yet, or not finished where only finished builds count).
    Unknown,
}

impl BadgeState {
    /// Every state, for rendering them all.
    pub const ALL: [BadgeState; 9] = [
        BadgeState::Done(Results::Success),
        BadgeState::Done(Results::Warnings),
        BadgeState::Done(Results::Failure),
        BadgeState::Done(Results::Skipped),
        BadgeState::Done(Results::Exception),
        BadgeState::Done(Results::Retry),
        BadgeState::Done(Results::Cancelled),
        BadgeState::Running,
        BadgeState::Unknown,
    ];

    /// The word the image shows, which is also 0.8.9's CSS class: a result's name,
    /// `running` or `unknown`.
    pub fn name(self) -> &'static str {
        match self {
            BadgeState::Done(r) => r.name(),
            BadgeState::Running => "running",
            BadgeState::Unknown => "unknown",
        }
    }

    fn parse(name: &[u8]) -> BadgeState {
        BadgeState::ALL.into_iter().find(|s| s.name().as_bytes() == name).unwrap_or(BadgeState::Unknown)
    }

    /// The state of the newest build of a builder: running until it finishes.
    pub fn of_newest(build: Option<&Build>) -> BadgeState {
        match build {
            None => BadgeState::Unknown,
            Some(b) => b.results.filter(|_| b.finished_at.is_some()).map_or(BadgeState::Running, BadgeState::Done),
        }
    }

    /// The state of one chosen build for `/png`: its result once finished, else unknown.
    pub fn of_finished(build: Option<&Build>) -> BadgeState {
        build.filter(|b| b.finished_at.is_some()).and_then(|b| b.results).map_or(BadgeState::Unknown, BadgeState::Done)
    }
}

/// Which build `/png` shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WhichBuild {
    /// The last finished build (0.8.9's default `number=-1`).
    Last,
    /// The build with this number.
    Number(i64),
    /// The newest build of this revision.
    Revision(String),
}

impl Engine {
    /// The state of builder `builder`'s newest build (of `branch` when given; `trunk` also
    /// matches the default branch); NotFound for a builder that is not configured.
    pub async fn builder_badge(&self, builder: &str, branch: Option<&str>) -> Result<BadgeState, EngineError> {
        let id =
            self.builder_id(builder).ok_or_else(|| EngineError::NotFound(format!("no builder named `{builder}`")))?;
        let key = format!("badge\n{builder}\n{}", branch.unwrap_or("\n"));
        let name = self
            .pages
            .get_or_build(key, async {
                let filter =
                    TimeFilter { branches: branch.map(str::to_owned).into_iter().collect(), ..Default::default() };
                let mut conn = self.db.acquire().await?;
                let newest = db::builds::list_by_time(conn.conn(), &[id], &filter, 1).await?;
                Ok::<_, EngineError>(Bytes::from_static(BadgeState::of_newest(newest.first()).name().as_bytes()))
            })
            .await?;
        Ok(BadgeState::parse(&name))
    }

    /// The state of one build of `builder` for `/png`: unknown when the builder or the build
    /// does not exist or has not finished.
    pub async fn build_badge(&self, builder: &str, which: &WhichBuild) -> Result<BadgeState, EngineError> {
        let Some(id) = self.builder_id(builder) else { return Ok(BadgeState::Unknown) };
        let key = format!("png\n{builder}\n{which:?}");
        let name = self
            .pages
            .get_or_build(key, async {
                let mut conn = self.db.acquire().await?;
                let build = match which {
                    WhichBuild::Last => db::builds::last_finished(conn.conn(), id).await?,
                    WhichBuild::Number(n) => match db::builds::get_by_number(conn.conn(), builder, *n).await {
                        Err(db::DbError::NotFound) => None,
                        other => Some(other?),
                    },
                    WhichBuild::Revision(r) => db::builds::last_of_revision(conn.conn(), id, r).await?,
                };
                Ok::<_, EngineError>(Bytes::from_static(BadgeState::of_finished(build.as_ref()).name().as_bytes()))
            })
            .await?;
        Ok(BadgeState::parse(&name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::views::fixtures;

    #[test]
    fn a_builder_is_running_while_its_newest_build_runs() {
        let mut b = fixtures::build(1, "app", 3, 10);
        assert_eq!(BadgeState::of_newest(None), BadgeState::Unknown);
        assert_eq!(BadgeState::of_newest(Some(&b)), BadgeState::Running);
        assert_eq!(BadgeState::of_finished(Some(&b)), BadgeState::Unknown, "/png shows unfinished builds as unknown");
        b.finished_at = Some(20);
        b.results = Some(Results::Failure);
        assert_eq!(BadgeState::of_newest(Some(&b)), BadgeState::Done(Results::Failure));
        assert_eq!(BadgeState::of_finished(Some(&b)), BadgeState::Done(Results::Failure));
    }

    #[test]
    fn every_state_reads_back_from_its_name() {
        for s in BadgeState::ALL {
            assert_eq!(BadgeState::parse(s.name().as_bytes()), s);
        }
        assert_eq!(BadgeState::parse(b"nonsense"), BadgeState::Unknown);
    }
}
