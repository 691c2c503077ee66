//! `llmops`: moves large language models from a data scientist's experiment to a production inference
//! server, and tells CI before an endpoint exists whether a model will fit on the GPU.
//!
//! The binary is a thin shell over this library (`main.rs`); integration tests and benches call it too.

pub mod cli;
pub mod commands;
pub mod config;
pub mod env;
pub mod exit;
pub mod layout;
pub mod lora;
pub mod manifest;
pub mod mlflow;
pub mod output;
pub mod progress;
pub mod registry;
pub mod s3;
pub mod safe_fs;
pub mod safe_path;
pub mod signals;
pub mod sizing;
pub mod text;
pub mod transfer;
pub mod triton;
pub mod units;
