//! What the master serves besides the JSON API and the hooks: the SPA and its assets,
//! `/robots.txt`, `/healthz`. Feeds, badges and plots will live here too.

pub mod spa;
