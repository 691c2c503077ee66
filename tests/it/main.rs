//! Integration tests: the real binary and the library, against the fixtures.

mod adapters;
mod adversarial;
mod common;
mod config;
mod doctor;
mod fault_proxy;
mod fixtures;
mod fuzz;
mod generated;
mod governance;
mod isolation;
mod multipart;
mod parser_never_panics;
mod promote;
mod register;
mod size_accuracy;
mod size_cli;
mod snapshots;
mod stack;
mod tls_front;
mod triton;
mod vllm_logs;
