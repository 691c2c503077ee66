//! One module per subcommand: each takes its clap args (and the reporter for progress and notes)
//! and returns a report that renders itself (`output::Render`). Commands are leaves: none imports
//! another; what they share lives in `registry`, `layout`, `transfer` and `sizing`.

pub mod adopt;
pub mod config;
pub mod doctor;
pub mod generate;
pub mod lineage;
pub mod promote;
pub mod prune;
pub mod publish;
pub mod register;
pub mod size;
pub mod status;
pub mod verify;
