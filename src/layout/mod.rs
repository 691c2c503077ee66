//! Where models live on disk: the dev and prod dataset roots, the LLM layout
//! (`<root>/llm-models/<parent-run-id>/`), the Triton repository rules, staging a folder into a
//! dataset, the prod destination with its lock and state, and swapping a tree in atomically.

pub mod audit;
pub mod destination;
pub mod roots;
pub mod staging;
pub mod swap;
pub mod triton;

/// The LLM layout's folder under a dataset root.
pub const LLM_MODELS_DIR: &str = "llm-models";
