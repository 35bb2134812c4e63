//! The integration tests, as one binary: one link instead of one per file,
//! which is most of a cold build on two cores. Each module is one area;
//! `cargo test --test api <module>::` runs one of them.

mod common;

mod abuse_limits;
mod account_recovery;
mod accounts;
mod advise;
mod appeals;
mod auth;
mod cdn;
mod console;
mod crafted_jobs;
mod deploy;
mod discovery;
mod exports;
mod faults;
mod feed;
mod hash_matching;
mod invites;
mod k8s;
mod layering;
mod limits;
mod lint;
mod media;
mod media_cold;
mod media_heif;
mod metrics_labels;
mod notices;
mod ops;
mod privacy;
mod push;
mod rate_limits;
mod reconcile;
mod redis_keys;
mod restarts;
mod roll;
mod signals;
mod social;
mod stories;
mod takedowns;
mod text;
mod trigger_bridge;
mod trust;
mod upload_sweep;
