//! Clients of the outside services, built from configuration.

pub mod db;
pub mod queue;
pub mod redis;
pub mod s3;
