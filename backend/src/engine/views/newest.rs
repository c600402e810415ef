//! The newest N items across several newest-first streams (one per builder), read a page at
//! a time: each stream is read only as deep as the global top N reaches into it, so a page
//! costs about N rows plus a few per stream, whatever the history behind it.
//!
//! The merge is a plain state machine so the caller runs the queries on its own connection:
//! ask [`Newest::wanted`] which pages to read, [`Newest::feed`] each back, until it wants
//! none, then take [`Newest::into_items`].

/// A position on the time axis, `(time, id)`: greater is newer, and no two items share one.
pub(crate) type Key = (i64, i64);

/// A page to read: up to `limit` items of stream `stream` older than `before` (any if `None`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Read {
    pub stream: usize,
    pub before: Option<Key>,
    pub limit: usize,
}

/// The merge in progress.
pub(crate) struct Newest<T> {
    want: usize,
    pool: Vec<(Key, T)>,
    cursor: Vec<Option<Key>>,
    page: Vec<usize>,
    done: Vec<bool>,
}

impl<T> Newest<T> {
    /// The `want` newest items of `streams` streams.
    pub(crate) fn new(streams: usize, want: usize) -> Newest<T> {
        // A first page deep enough for an even share of `want`, with room for unevenness.
        let first = (want.div_ceil(streams.max(1)) * 2).clamp(4, want.max(4));
        Newest {
            want,
            pool: Vec::new(),
            cursor: vec![None; streams],
            page: vec![first; streams],
            done: vec![want == 0; streams],
        }
    }

    /// The pages to read next; none once the result is known.
    pub(crate) fn wanted(&self) -> Vec<Read> {
        let threshold = (self.want > 0 && self.pool.len() == self.want).then(|| self.pool[self.want - 1].0);
        (0..self.cursor.len())
            .filter(|&i| !self.done[i])
            // A stream's next items are older than its cursor: worth reading only while the
            // cursor is above the oldest item kept.
            .filter(|&i| match (threshold, self.cursor[i]) {
                (Some(t), Some(c)) => c > t,
                _ => true,
            })
            .map(|i| Read { stream: i, before: self.cursor[i], limit: self.page[i] })
            .collect()
    }

    /// The answer to `read`, newest first.
    pub(crate) fn feed(&mut self, read: Read, items: Vec<T>, key: impl Fn(&T) -> Key) {
        let i = read.stream;
        if items.len() < read.limit {
            self.done[i] = true;
        }
        if let Some(last) = items.last() {
            self.cursor[i] = Some(key(last));
        }
        self.page[i] = (read.limit * 2).min(self.want.max(4));
        self.pool.extend(items.into_iter().map(|item| (key(&item), item)));
        self.pool.sort_by_key(|(k, _)| std::cmp::Reverse(*k));
        self.pool.truncate(self.want);
    }

    /// The result, newest first.
    pub(crate) fn into_items(self) -> Vec<T> {
        self.pool.into_iter().map(|(_, item)| item).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs the merge over in-memory streams; returns the result and the rows read.
    fn run(streams: &[Vec<Key>], want: usize) -> (Vec<Key>, usize) {
        let mut merge = Newest::new(streams.len(), want);
        let mut read = 0;
        loop {
            let pages = merge.wanted();
            if pages.is_empty() {
                break;
            }
            for page in pages {
                let items: Vec<Key> = streams[page.stream]
                    .iter()
                    .copied()
                    .filter(|k| page.before.is_none_or(|b| *k < b))
                    .take(page.limit)
                    .collect();
                read += items.len();
                merge.feed(page, items, |k| *k);
            }
        }
        (merge.into_items(), read)
    }

    fn expected(streams: &[Vec<Key>], want: usize) -> Vec<Key> {
        let mut all: Vec<Key> = streams.concat();
        all.sort_by(|a, b| b.cmp(a));
        all.truncate(want);
        all
    }

    #[test]
    fn the_result_is_the_global_top_n_newest_first() {
        let streams = vec![
            (1..=50).rev().map(|t| (t * 3, t)).collect::<Vec<_>>(),
            (1..=5).rev().map(|t| (t * 100, 1000 + t)).collect(),
            vec![],
            (1..=200).rev().map(|t| (t, 2000 + t)).collect(),
        ];
        for want in [0, 1, 7, 20, 60, 400] {
            assert_eq!(run(&streams, want).0, expected(&streams, want), "want {want}");
        }
    }

    #[test]
    fn a_busy_stream_is_read_deeper_and_idle_ones_barely() {
        // One builder has 10,000 recent builds, 49 others one old build each.
        let mut streams = vec![(1..=10_000).rev().map(|t| (1_000_000 + t, t)).collect::<Vec<_>>()];
        streams.extend((0..49).map(|i| vec![(i, 100_000 + i)]));
        let (got, read) = run(&streams, 201);
        assert_eq!(got, expected(&streams, 201));
        assert!(read < 201 * 2 + 49 * 2, "read {read} rows for 201");
    }

    #[test]
    fn equal_times_are_ordered_by_id() {
        let streams = vec![vec![(5, 9), (5, 3)], vec![(5, 8), (5, 1)]];
        assert_eq!(run(&streams, 3).0, vec![(5, 9), (5, 8), (5, 3)]);
    }
}
