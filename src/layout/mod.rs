//! Where models live on disk: the dev and prod dataset roots, the LLM layout
//! (`<root>/llm-models/<parent-run-id>/`), and putting a tree there atomically.

pub mod publish;
pub mod roots;
pub mod staging;
pub mod triton;

/// The LLM layout's folder under a dataset root.
pub const LLM_MODELS_DIR: &str = "llm-models";
