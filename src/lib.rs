//! Ciel's backend: one binary, several modes (see `ciel --help`).

pub mod advise;
pub mod app;
pub mod auth;
pub mod config;
pub mod error;
pub mod healthcheck;
pub mod http;
pub mod infra;
pub mod mail;
pub mod media;
pub mod ratelimit;
pub mod social;
pub mod telemetry;
pub mod trigger_bridge;
pub mod users;
pub mod worker;
