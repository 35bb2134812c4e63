//! Offline Terraform checks.
