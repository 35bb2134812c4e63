//! The commands beside the modes: `ciel advise`, `ciel healthcheck` and
//! `ciel trigger-bridge`.

pub mod advise;
pub mod healthcheck;
pub mod trigger_bridge;
