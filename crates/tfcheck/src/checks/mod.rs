//! One module per check; each returns the problems it found (empty: passed).

pub mod boot;
pub mod deploy;
pub mod env_values;
pub mod env_wiring;
pub mod mail;
pub mod modules;
pub mod pitfalls;
pub mod queue;
pub mod schema;
pub mod tfvars;
