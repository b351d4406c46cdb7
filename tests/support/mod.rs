//! Shared helpers for the integration tests.

#![allow(dead_code)] // each test binary uses a different part

pub mod json_dir;
