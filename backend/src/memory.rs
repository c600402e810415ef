//! Gives back to the system the memory a burst left free. glibc's allocator keeps what is freed
//! inside its arenas for reuse: after a thousand event streams closed, the master held their
//! 35 MB for good although nothing used them. A look every few seconds at how much more the
//! arenas hold free than after the last trim, and a trim when that is more than a few
//! megabytes, brings the master back to its idle size once a burst is over; the look costs
//! microseconds.
//!
//! And it keeps the number of arenas to the number of cores: glibc gives each thread that
//! meets a busy arena one of its own, up to eight per core, and each holds its free blocks
//! apart from the others'.

use std::time::Duration;

/// How often the arenas are looked at.
const EVERY: Duration = Duration::from_secs(10);

/// Memory freed since the last trim above which the arenas are trimmed again.
const KEEP_BYTES: usize = 4 << 20;

/// Looks at the allocator every [`EVERY`] and trims it when it holds [`KEEP_BYTES`] more free
/// than after the last trim; runs until dropped. (A trim gives the pages of free blocks back
/// but the blocks stay counted as free, so the count after a trim is the new baseline.)
pub async fn run() {
    let mut every = tokio::time::interval(EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut baseline = free_bytes();
    loop {
        every.tick().await;
        let free = free_bytes();
        if free > baseline + KEEP_BYTES {
            // A trim walks every arena: off the runtime's threads.
            let _ = tokio::task::spawn_blocking(trim).await;
            baseline = free_bytes();
        } else {
            // Free memory reused since: a later burst is measured from the lower count.
            baseline = baseline.min(free);
        }
    }
}

/// Lets the allocator keep one arena per core (glibc's default is up to eight per core), unless
/// the environment sets the number (`MALLOC_ARENA_MAX`, or `arena_max` in `GLIBC_TUNABLES`).
/// To be called before the process starts threads.
pub fn limit_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let tunables = std::env::var("GLIBC_TUNABLES").unwrap_or_default();
        if std::env::var_os("MALLOC_ARENA_MAX").is_some() || tunables.contains("arena_max") {
            return;
        }
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let cores = libc::c_int::try_from(cores).unwrap_or(libc::c_int::MAX);
        // SAFETY: mallopt only sets one of the allocator's parameters.
        unsafe { libc::mallopt(libc::M_ARENA_MAX, cores) };
    }
}

/// Bytes the allocator holds in free blocks (0 where it cannot tell).
pub fn free_bytes() -> usize {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: mallinfo2 only reads the allocator's own statistics.
        unsafe { libc::mallinfo2() }.fordblks
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        0
    }
}

/// Returns the pages of the allocator's free blocks to the system.
pub fn trim() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: malloc_trim only releases pages the allocator holds free.
        unsafe { libc::malloc_trim(0) };
    }
}

#[cfg(test)]
#[cfg(all(target_os = "linux", target_env = "gnu"))]
mod tests {
    use super::*;

    fn anon_kb() -> u64 {
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let line = status.lines().find(|l| l.starts_with("RssAnon:")).unwrap();
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    }

    #[test]
    fn a_trim_gives_the_memory_of_a_burst_back() {
        // Many small blocks, most freed while a few stay, as closed connections leave them:
        // the arena cannot shrink from its top, so the pages stay with the process.
        let blocks: Vec<Vec<u8>> = (0..40_000).map(|i| vec![(i % 251) as u8 | 1; 1000]).collect();
        let free_before = free_bytes();
        let kept: Vec<Vec<u8>> = blocks.into_iter().step_by(100).collect();
        assert!(free_bytes() > free_before + KEEP_BYTES, "the freed blocks are held free");
        let held = anon_kb();
        trim();
        let after = anon_kb();
        assert!(after + 20_000 < held, "a trim gives back the freed 40 MB: {held} kB -> {after} kB");
        assert_eq!(kept.len(), 400);
    }
}
