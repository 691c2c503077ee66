//! Completions and man pages are generated from the clap definition and committed; regenerate them
//! with `cargo run -- generate completions completions && cargo run -- generate man docs`.

use std::path::Path;

use llmops::commands::generate::{SHELLS, completion_file_name, completion_script, man_pages};

fn committed(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| {
        panic!(
            "{} is not committed ({e}); run `cargo run -- generate …`",
            path.display()
        )
    })
}

#[test]
fn completions_match_the_cli() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("completions");
    for shell in SHELLS {
        let path = dir.join(completion_file_name(shell));
        assert!(
            committed(&path) == completion_script(shell),
            "{} drifted: run `cargo run -- generate completions completions`",
            path.display()
        );
    }
}

#[test]
fn man_pages_match_the_cli() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs");
    let pages = man_pages();
    assert!(pages.iter().any(|(name, _)| name == "llmops.1"));
    assert!(pages.iter().any(|(name, _)| name == "llmops-size.1"));
    for (name, roff) in pages {
        assert!(
            committed(&dir.join(&name)) == roff,
            "docs/{name} drifted: run `cargo run -- generate man docs`"
        );
    }
}

#[test]
fn every_environment_variable_is_documented() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let help = crate::common::llmops().arg("--help").output().unwrap();
    let help = String::from_utf8(help.stdout).unwrap();
    for (name, _) in llmops::env::ALL {
        assert!(
            readme.contains(&format!("`{name}`")),
            "README.md does not list {name}"
        );
        assert!(help.contains(name), "llmops --help does not list {name}");
    }
}
