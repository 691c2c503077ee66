//! The hidden `generate` command: completion scripts and man pages, rendered from the same clap
//! definition as `--help`, committed under `completions/` and `docs/`, and checked by a test.

use std::path::Path;

use clap::CommandFactory;
use clap_complete::{Generator, Shell};

use crate::cli::{Cli, Generate};

pub const SHELLS: [Shell; 5] = [
    Shell::Bash,
    Shell::Zsh,
    Shell::Fish,
    Shell::PowerShell,
    Shell::Elvish,
];

/// The file name clap_complete gives a shell's script (`llmops.bash`, `_llmops`, …).
pub fn completion_file_name(shell: Shell) -> String {
    shell.file_name("llmops")
}

pub fn completion_script(shell: Shell) -> Vec<u8> {
    let mut command = Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, "llmops", &mut script);
    script
}

/// (file name, roff) for `llmops.1` and one page per visible subcommand.
pub fn man_pages() -> Vec<(String, Vec<u8>)> {
    let command = Cli::command();
    let mut pages = Vec::new();
    let mut render = |name: String, cmd: clap::Command| {
        let mut roff = Vec::new();
        clap_mangen::Man::new(cmd)
            .render(&mut roff)
            .expect("rendering to memory cannot fail");
        pages.push((name, roff));
    };
    render("llmops.1".into(), command.clone());
    for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = format!("llmops-{}", sub.get_name());
        let page = sub
            .clone()
            .name(name.clone())
            .disable_version_flag(true)
            .version(command.get_version().unwrap_or_default().to_string());
        render(format!("{name}.1"), page);
    }
    pages
}

pub fn run(what: &Generate) -> anyhow::Result<Vec<String>> {
    let mut written = Vec::new();
    let mut write = |dir: &Path, name: String, bytes: Vec<u8>| -> anyhow::Result<()> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join(&name);
        std::fs::write(&path, bytes)?;
        written.push(path.display().to_string());
        Ok(())
    };
    match what {
        Generate::Completions { dir } => {
            for shell in SHELLS {
                write(dir, completion_file_name(shell), completion_script(shell))?;
            }
        }
        Generate::Man { dir } => {
            for (name, roff) in man_pages() {
                write(dir, name, roff)?;
            }
        }
    }
    Ok(written)
}
