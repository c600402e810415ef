//! Build and step results, with Buildbot's numbering and precedence.

use std::fmt;
use std::str::FromStr;

/// The outcome of a step or build. The numbers are stored in the database; the lowercase
/// names are what the API and the UI use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Results {
    /// Everything passed.
    Success = 0,
    /// Passed with warnings.
    Warnings = 1,
    /// Something failed.
    Failure = 2,
    /// Not run.
    Skipped = 3,
    /// The master or worker failed, not the code under test.
    Exception = 4,
    /// Interrupted by a lost worker or a master restart; run again.
    Retry = 5,
    /// Stopped by a user.
    Cancelled = 6,
}

impl Results {
    /// Every result, in numeric order.
    pub const ALL: [Results; 7] = [
        Results::Success,
        Results::Warnings,
        Results::Failure,
        Results::Skipped,
        Results::Exception,
        Results::Retry,
        Results::Cancelled,
    ];

    /// The number stored in the database.
    pub fn as_i64(self) -> i64 {
        self as i64
    }

    /// The result for a stored number.
    pub fn from_i64(n: i64) -> Option<Results> {
        Results::ALL.get(usize::try_from(n).ok()?).copied()
    }

    /// The lowercase name used by the API.
    pub fn name(self) -> &'static str {
        match self {
            Results::Success => "success",
            Results::Warnings => "warnings",
            Results::Failure => "failure",
            Results::Skipped => "skipped",
            Results::Exception => "exception",
            Results::Retry => "retry",
            Results::Cancelled => "cancelled",
        }
    }

    /// How bad a result is when several are combined (Buildbot 4's `worst_status` order:
    /// cancelled > retry > exception > failure > warnings > success > skipped).
    fn severity(self) -> u8 {
        match self {
            Results::Skipped => 0,
            Results::Success => 1,
            Results::Warnings => 2,
            Results::Failure => 3,
            Results::Exception => 4,
            Results::Retry => 5,
            Results::Cancelled => 6,
        }
    }

    /// The worse of two results.
    pub fn worst(self, other: Results) -> Results {
        if other.severity() > self.severity() { other } else { self }
    }
}

impl fmt::Display for Results {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Results {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Results::ALL.into_iter().find(|r| r.name() == s).ok_or_else(|| format!("unknown result `{s}`"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_names_round_trip() {
        for r in Results::ALL {
            assert_eq!(Results::from_i64(r.as_i64()), Some(r));
            assert_eq!(r.name().parse::<Results>(), Ok(r));
        }
        assert_eq!(Results::from_i64(7), None);
        assert_eq!(Results::from_i64(-1), None);
        assert!("green".parse::<Results>().is_err());
    }

    #[test]
    fn worst_follows_buildbot_precedence() {
        assert_eq!(Results::Success.worst(Results::Warnings), Results::Warnings);
        assert_eq!(Results::Failure.worst(Results::Warnings), Results::Failure);
        assert_eq!(Results::Skipped.worst(Results::Success), Results::Success);
        assert_eq!(Results::Exception.worst(Results::Failure), Results::Exception);
        assert_eq!(Results::Retry.worst(Results::Exception), Results::Retry);
        assert_eq!(Results::Cancelled.worst(Results::Retry), Results::Cancelled);
    }
}
