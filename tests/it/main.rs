//! Integration tests: the real binary and the library, against the fixtures.

mod common;
mod fixtures;
mod generated;
mod parser_never_panics;
mod size_cli;
mod vllm_logs;
