//! Cascade: a continuous-integration master with Buildbot's status targets.
//! One module per concern; see DESIGN.md §1 for the map.

pub mod api;
pub mod auth;
pub mod build_info;
pub mod cli;
pub mod config;
pub mod db;
pub mod engine;
pub mod hooks;
pub mod memory;
pub mod metrics;
pub mod model;
pub mod reporters;
pub mod server;
pub mod web;
pub mod worker;
