//! Failed-login rate limiting, per user name and per client address: after `MAX_FAILURES`
//! failures within `WINDOW`, further attempts are refused until the oldest failure ages out.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failures allowed within the window.
pub const MAX_FAILURES: usize = 5;
/// The window.
pub const WINDOW: Duration = Duration::from_secs(300);

/// Recent failures per key ("user:NAME", "addr:IP").
#[derive(Debug, Default)]
pub struct Limiter {
    failures: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl Limiter {
    /// `Err(seconds to wait)` when any of `keys` has failed too often lately.
    pub fn check(&self, keys: &[String], now: Instant) -> Result<(), u64> {
        let Ok(mut map) = self.failures.lock() else { return Ok(()) };
        let mut wait = 0;
        for key in keys {
            if let Some(times) = map.get_mut(key) {
                while times.front().is_some_and(|t| now.duration_since(*t) >= WINDOW) {
                    times.pop_front();
                }
                if times.len() >= MAX_FAILURES
                    && let Some(oldest) = times.front()
                {
                    wait = wait.max((WINDOW - now.duration_since(*oldest)).as_secs().max(1));
                }
            }
        }
        if wait > 0 { Err(wait) } else { Ok(()) }
    }

    /// Records a failure for every key.
    pub fn fail(&self, keys: &[String], now: Instant) {
        if let Ok(mut map) = self.failures.lock() {
            for key in keys {
                let times = map.entry(key.clone()).or_default();
                times.push_back(now);
                while times.len() > MAX_FAILURES {
                    times.pop_front();
                }
            }
            // Keep memory bounded under a flood of distinct names.
            if map.len() > 100_000 {
                map.retain(|_, t| t.back().is_some_and(|last| now.duration_since(*last) < WINDOW));
            }
        }
    }

    /// Forgets a key's failures (a successful login).
    pub fn clear(&self, key: &str) {
        if let Ok(mut map) = self.failures.lock() {
            map.remove(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_failures_lock_the_key_for_the_window() {
        let l = Limiter::default();
        let t0 = Instant::now();
        let keys = vec!["user:ann".to_string(), "addr:1.2.3.4".to_string()];
        for i in 0..MAX_FAILURES {
            assert!(l.check(&keys, t0).is_ok(), "attempt {i}");
            l.fail(&keys, t0);
        }
        let wait = l.check(&keys, t0 + Duration::from_secs(10)).unwrap_err();
        assert!(wait > 280 && wait <= 290, "{wait}");
        // Another user from the same address is refused too; another address for another user is not.
        assert!(l.check(&["user:bob".into(), "addr:1.2.3.4".into()], t0).is_err());
        assert!(l.check(&["user:bob".into(), "addr:5.6.7.8".into()], t0).is_ok());
        assert!(l.check(&keys, t0 + WINDOW).is_ok(), "failures age out");
        l.clear("user:ann");
        assert!(l.check(&["user:ann".into()], t0).is_ok());
    }
}
