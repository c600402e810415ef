//! What the master serves besides the JSON API and the hooks: the SPA and its assets,
//! `/robots.txt`, the `public_html` folder and the access log. Feeds, badges and plots will
//! live here too.

pub mod access_log;
pub mod public_html;
pub mod spa;
