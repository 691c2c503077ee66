//! A full disk: the prod root, or the dev root, is a 1 MiB tmpfs and the model has a 2 MiB shard.
//! The command fails cleanly, naming the full disk; nothing is published or registered, and no
//! partial copy is left where production or MLflow's loader would look.

use std::path::Path;
use std::process::Command;

use super::{
    model_folder, partial_downloads, promote, published_copies, register_published, stack,
    test_model_code, walk,
};
use crate::common::unique;

/// A tmpfs of the test's own, unmounted when dropped.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    /// Mounts a tmpfs of `size` (e.g. `1m`); `None`, said loudly, where mounting is not allowed.
    fn mount(size: &str) -> Option<Tmpfs> {
        let dir = tempfile::tempdir().unwrap();
        let output = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .output();
        match output {
            Ok(output) if output.status.success() => Some(Tmpfs { dir }),
            other => {
                eprintln!("SKIPPED: mounting a tmpfs needs CAP_SYS_ADMIN ({other:?})");
                None
            }
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let unmounted = Command::new("umount")
            .arg(self.dir.path())
            .status()
            .is_ok_and(|s| s.success());
        if !unmounted {
            // Busy (a child still holds a file): detach it now, it goes when released.
            let _ = Command::new("umount")
                .arg("-l")
                .arg(self.dir.path())
                .status();
        }
    }
}

/// What the error says about the disk.
fn names_the_full_disk(stderr: &str, root: &Path) -> bool {
    let lower = stderr.to_lowercase();
    (lower.contains("no space left on device") || lower.contains("disk is full"))
        && stderr.contains(root.to_str().unwrap())
}

#[test]
fn a_full_prod_root_fails_cleanly_and_publishes_nothing() {
    let published = register_published("full-prod");
    let Some(disk) = Tmpfs::mount("1m") else {
        return;
    };
    let output = promote(&published.uri(), disk.path())
        .args(["--part-size", "512KiB"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    eprintln!("a full prod root:\n{stderr}");
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(names_the_full_disk(&stderr, disk.path()), "{stderr}");
    assert!(published_copies(disk.path()).is_empty());
    assert!(!published.promoted_copy(disk.path()).exists());
    // Also asserts `llm-models/` holds no work folder.
    partial_downloads(disk.path());
    let outside: Vec<_> = walk(disk.path())
        .into_iter()
        .filter(|p| !p.starts_with(disk.path().join(".llmops")))
        .collect();
    assert!(outside.is_empty(), "left outside .llmops/: {outside:?}");
}

#[test]
fn a_full_dev_root_fails_registration_cleanly() {
    let stack = stack();
    let model = model_folder();
    let name = unique("full-dev");
    let Some(disk) = Tmpfs::mount("1m") else {
        return;
    };
    let output = stack
        .llmops()
        .args(["register", model.path().to_str().unwrap(), "--name", &name])
        .args(["--dev-root", disk.path().to_str().unwrap()])
        .args(["--python-model", test_model_code().to_str().unwrap()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    eprintln!("a full dev root:\n{stderr}");
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(names_the_full_disk(&stderr, disk.path()), "{stderr}");
    let left = walk(disk.path());
    assert!(left.is_empty(), "a partial copy is left: {left:?}");
    let versions = stack.rest_get(&format!(
        "/api/2.0/mlflow/model-versions/search?filter=name%3D%27{name}%27"
    ));
    assert!(
        versions
            .get("model_versions")
            .is_none_or(|v| v.as_array().unwrap().is_empty()),
        "a version was registered: {versions}"
    );
}
