//! What the master serves besides the JSON API and the hooks: the SPA and its assets,
//! `/robots.txt`, the `public_html` folder, the access log, and the pages made for other
//! programs: the RSS and Atom feeds, the status images (README badges and 0.8.9's `/png`)
//! and the builders' plots. Those pages are guarded by `[authz] view` like the API.

pub mod access_log;
mod font;
pub mod images;
mod markup;
pub mod public_html;
pub mod spa;
