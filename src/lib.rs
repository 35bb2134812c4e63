//! Ciel's backend: one binary, several modes (see `ciel --help`).

pub mod app;
pub mod auth;
pub mod cli;
pub mod config;
pub mod error;
pub mod http;
pub mod infra;
pub mod jobs;
pub mod mail;
pub mod media;
pub mod push;
pub mod ratelimit;
pub mod social;
pub mod telemetry;
pub mod trust;
pub mod users;
pub mod worker;

// The commands' paths from before `cli/`.
pub use cli::{advise, healthcheck, trigger_bridge};
