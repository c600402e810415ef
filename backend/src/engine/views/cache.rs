//! The overview pages as last answered, shared by everyone who opens them: a wall of screens
//! showing the same waterfall costs one page build, not one per screen.
//!
//! A page is kept with the generation it was built in and served only while no event has
//! been published since (the engine bumps the generation on every event of its bus), and at
//! most [`MAX_AGE`] so that what another master did (its events are not on this bus) shows
//! soon. The generation is read before the page is built, so a page built while an event
//! happened is never served after it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use bytes::Bytes;

/// How long a page is served without any event at all.
pub const MAX_AGE: Duration = Duration::from_secs(2);

/// How many bytes of pages are kept (a waterfall page of 200 builds is about 400 kB).
pub const CAPACITY_BYTES: u64 = 4 << 20;

#[derive(Clone)]
struct Page {
    generation: u64,
    built: Instant,
    body: Bytes,
}

#[derive(Clone)]
struct BySize;

impl quick_cache::Weighter<String, Page> for BySize {
    fn weight(&self, key: &String, page: &Page) -> u64 {
        (key.len() + page.body.len()) as u64
    }
}

/// Built pages by their query.
pub struct PageCache {
    generation: AtomicU64,
    pages: quick_cache::sync::Cache<String, Page, BySize>,
    /// One lock per page being built, so that many viewers asking for a page that just
    /// expired wait for one build instead of each building it.
    building: std::sync::Mutex<HashMap<String, Weak<tokio::sync::Mutex<()>>>>,
}

impl std::fmt::Debug for PageCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PageCache").field("generation", &self.generation()).finish_non_exhaustive()
    }
}

impl Default for PageCache {
    fn default() -> Self {
        PageCache::new(CAPACITY_BYTES)
    }
}

impl PageCache {
    /// A cache holding up to `bytes` of pages.
    pub fn new(bytes: u64) -> PageCache {
        PageCache {
            generation: AtomicU64::new(0),
            pages: quick_cache::sync::Cache::with_weighter(64, bytes, BySize),
            building: std::sync::Mutex::default(),
        }
    }

    /// The current generation: read it before building a page.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Something happened: no page built before now is served again.
    pub fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// The page for `key`, if it is still current.
    pub fn get(&self, key: &str) -> Option<Bytes> {
        let page = self.pages.get(key)?;
        (page.generation == self.generation() && page.built.elapsed() < MAX_AGE).then_some(page.body)
    }

    /// The lock to hold while building the page for `key`; whoever waited for it finds the
    /// page built when they get it.
    pub fn build_lock(&self, key: &str) -> Arc<tokio::sync::Mutex<()>> {
        let Ok(mut building) = self.building.lock() else { return Arc::default() };
        if let Some(lock) = building.get(key).and_then(Weak::upgrade) {
            return lock;
        }
        building.retain(|_, lock| lock.strong_count() > 0);
        let lock = Arc::new(tokio::sync::Mutex::new(()));
        building.insert(key.to_owned(), Arc::downgrade(&lock));
        lock
    }

    /// The page for `key`, built by `build` (once, however many ask at the same time) when
    /// the cache has no current one, and kept.
    pub async fn get_or_build<E>(
        &self,
        key: String,
        build: impl std::future::Future<Output = Result<Bytes, E>>,
    ) -> Result<Bytes, E> {
        if let Some(body) = self.get(&key) {
            return Ok(body);
        }
        let lock = self.build_lock(&key);
        let _building = lock.lock().await;
        if let Some(body) = self.get(&key) {
            return Ok(body);
        }
        let generation = self.generation();
        let body = build.await?;
        self.insert(key, generation, body.clone());
        Ok(body)
    }

    /// Keeps a page built from what the database held at `generation`.
    pub fn insert(&self, key: String, generation: u64, body: Bytes) {
        if generation == self.generation() {
            self.pages.insert(key, Page { generation, built: Instant::now(), body });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_is_served_until_something_happens() {
        let cache = PageCache::new(1 << 20);
        let g = cache.generation();
        cache.insert("w".into(), g, Bytes::from_static(b"page"));
        assert_eq!(cache.get("w").as_deref(), Some(&b"page"[..]));
        cache.invalidate();
        assert!(cache.get("w").is_none());
    }

    #[test]
    fn a_page_built_across_an_event_is_not_kept() {
        let cache = PageCache::new(1 << 20);
        let g = cache.generation();
        cache.invalidate();
        cache.insert("w".into(), g, Bytes::from_static(b"old"));
        assert!(cache.get("w").is_none());
    }

    #[tokio::test]
    async fn builders_of_one_page_share_a_lock_and_others_do_not() {
        let cache = PageCache::new(1 << 20);
        let a = cache.build_lock("a");
        let held = a.lock().await;
        assert!(cache.build_lock("a").try_lock().is_err(), "a second builder of `a` waits");
        assert!(cache.build_lock("b").try_lock().is_ok());
        drop(held);
        drop(a);
        assert!(cache.build_lock("a").try_lock().is_ok());
    }

    #[tokio::test]
    async fn get_or_build_builds_once_until_something_happens() {
        let cache = PageCache::new(1 << 20);
        let built = std::sync::atomic::AtomicU32::new(0);
        let build = || async {
            built.fetch_add(1, Ordering::SeqCst);
            Ok::<_, ()>(Bytes::from_static(b"page"))
        };
        assert_eq!(cache.get_or_build("k".into(), build()).await.unwrap(), "page");
        assert_eq!(cache.get_or_build("k".into(), build()).await.unwrap(), "page");
        assert_eq!(built.load(Ordering::SeqCst), 1);
        cache.invalidate();
        cache.get_or_build("k".into(), build()).await.unwrap();
        assert_eq!(built.load(Ordering::SeqCst), 2);
        assert!(cache.get_or_build("e".into(), async { Err::<Bytes, _>("no") }).await.is_err());
        assert!(cache.get("e").is_none(), "a failed build keeps nothing");
    }

    #[test]
    fn the_cache_holds_at_most_its_bytes() {
        let cache = PageCache::new(1000);
        for i in 0..20 {
            cache.insert(format!("p{i}"), 0, Bytes::from(vec![0; 300]));
        }
        let kept = (0..20).filter(|i| cache.get(&format!("p{i}")).is_some()).count();
        assert!(kept <= 3, "{kept} pages of 300 bytes kept in 1000");
    }
}
