//! One module per subcommand: each takes its clap args and returns a report for `output.rs`.

pub mod doctor;
pub mod generate;
pub mod promote;
pub mod publish;
pub mod register;
pub mod register_triton;
pub mod size;
