//! Where `promote` writes a version in production, and what it keeps beside it.
//!
//! - LLM layout: the model at `<prod-root>/llm-models/<parent-run-id>/` (the folder endpoints mount as
//!   `/llm-models`, so it holds model folders only); llmops' own files beside it in
//!   `<prod-root>/.llmops/`: `partial/<run>/` (the download in progress, same filesystem as the
//!   target so the swap is one rename), `locks/<run>.lock` and `state/<run>.json` (what was
//!   promoted, verified how and when). Files an older llmops kept inside `llm-models/` are moved
//!   here on the next promote.
//! - Triton: the version at `<repo>/<model>/<N>/` and `<repo>/<model>/config.pbtxt`; llmops' files in
//!   the staging area beside the repository (never inside it: every folder there is a model).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::LLM_MODELS_DIR;
use super::roots::{self, DatasetRoot, RootKind};
use super::swap::{self, Lock, Swap};
use super::triton;
use crate::exit::UserError;
use crate::registry::Served;

/// llmops' own folder in a prod dataset root, beside `llm-models/`.
const STATE_DIR: &str = ".llmops";

/// What `promote` remembers about a promoted copy.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PromotedState {
    pub name: String,
    pub version: String,
    pub manifest_digest: Option<String>,
    pub promoted_at: String,
    pub verification: Verification,
    pub verified_at: String,
    /// For a version registered without a manifest (by another tool): the manifest of the bytes
    /// promoted, computed from them after they were checked, so `verify` has a yardstick. It says
    /// what was promoted, not what was registered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub computed_manifest: Option<crate::manifest::Manifest>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verification {
    /// Every file's BLAKE3 against the manifest `register` recorded.
    Blake3,
    /// Every file's sha256 against the manifest (manifests written before BLAKE3 was recorded).
    Sha256,
    /// No manifest: sizes, and MD5 against single-part ETags (multipart ETags cannot be checked).
    SizeAndEtag,
}

impl Verification {
    pub fn label(self) -> &'static str {
        match self {
            Verification::Blake3 => "blake3",
            Verification::Sha256 => "sha256",
            Verification::SizeAndEtag => "size+etag",
        }
    }
}

/// The paths of one version's promotion.
#[derive(Debug, Clone)]
pub struct Destination {
    root: PathBuf,
    served: Served,
    /// The folder production reads for this version.
    pub target: PathBuf,
    /// The folder the manifest's paths are relative to (the run folder, or Triton's model folder).
    pub manifest_root: PathBuf,
    /// Where the download is built before the swap.
    pub work: PathBuf,
    pub lock: PathBuf,
    pub state: PathBuf,
    /// Where an older llmops kept (work, lock, state) for this version: moved on the next promote.
    legacy: Option<(PathBuf, PathBuf, PathBuf)>,
}

impl Destination {
    /// The paths for `served` under the prod `root`; nothing is created or checked.
    pub fn plan(root: &Path, served: &Served, parent_id: &str) -> Result<Destination, UserError> {
        match served {
            Served::Llm => {
                let models = root.join(LLM_MODELS_DIR);
                let own = root.join(STATE_DIR);
                Ok(Destination {
                    root: root.to_path_buf(),
                    served: served.clone(),
                    target: models.join(parent_id),
                    manifest_root: models.join(parent_id),
                    work: own.join("partial").join(parent_id),
                    lock: own.join("locks").join(format!("{parent_id}.lock")),
                    state: own.join("state").join(format!("{parent_id}.json")),
                    legacy: Some((
                        models.join(format!(".{parent_id}.llmops-partial")),
                        models.join(format!(".{parent_id}.llmops-lock")),
                        models.join(STATE_DIR).join(format!("{parent_id}.json")),
                    )),
                })
            }
            Served::Triton { model, number } => {
                let area = triton::staging_area_path(root)?;
                Ok(Destination {
                    root: root.to_path_buf(),
                    served: served.clone(),
                    target: root.join(model).join(number),
                    manifest_root: root.join(model),
                    work: area.join(format!("{model}-{number}.llmops-partial")),
                    lock: area.join(format!("{model}-{number}.llmops-lock")),
                    state: area.join("promoted").join(format!("{model}-{number}.json")),
                    legacy: None,
                })
            }
        }
    }

    /// The target must be a folder or absent: a file or a symlink there is refused before any byte
    /// is fetched, never swapped in or followed.
    pub fn check_target(&self) -> Result<(), UserError> {
        match std::fs::symlink_metadata(&self.target) {
            Ok(meta) if !meta.is_dir() => Err(UserError::failed(format!(
                "`{}` exists and is not a folder (a file or a symlink); llmops will not replace it",
                self.target.display()
            ))
            .with_hint("remove it, then promote again")),
            _ => Ok(()),
        }
    }

    /// Checks the root can be written, before any byte is fetched.
    pub fn check_writable(&self, root: &DatasetRoot) -> Result<(), UserError> {
        match &self.served {
            Served::Llm => roots::check_writable(RootKind::Prod, root).map_err(|e| {
                UserError::usage(e.to_string()).with_hint("pass a writable `--prod-root`")
            }),
            Served::Triton { .. } => {
                triton::check_repository(&self.root, RootKind::Prod)?;
                triton::staging_area(&self.root).map(drop)
            }
        }
    }

    /// Takes the version's lock (naming `holder` to anyone who waits), after moving what an older
    /// llmops left inside the served folder.
    /// Then makes its own folders, refusing any symlink below the root (see `safe_fs`).
    pub fn lock(&self, holder: &str) -> anyhow::Result<Lock> {
        let base = self.own_base();
        let in_own_folder = |path: &Path| {
            crate::safe_fs::create_dirs(&base, path.parent().expect("inside the root"))
        };
        in_own_folder(&self.lock)?;
        let lock = Lock::acquire(&self.lock, holder)?;
        self.move_legacy_files(holder)?;
        for dir in [self.work.join("files"), self.work.join("state")] {
            crate::safe_fs::create_dirs(&base, &dir)?;
        }
        in_own_folder(&self.state)?;
        if self.served == Served::Llm {
            crate::safe_fs::create_dirs(&self.root, &self.root.join(LLM_MODELS_DIR))?;
        }
        Ok(lock)
    }

    /// The folder below which llmops makes its own folders: the prod root, or for Triton the
    /// folder that holds the repository and its staging area.
    pub fn own_base(&self) -> PathBuf {
        match self.served {
            Served::Llm => self.root.clone(),
            Served::Triton { .. } => self
                .lock
                .parent()
                .and_then(Path::parent)
                .expect("the staging area is beside the repository")
                .to_path_buf(),
        }
    }

    /// An older llmops kept its partial download, lock and state inside `llm-models/`. Its lock is
    /// taken too (an older process may still be running), then each file moves beside the folder.
    fn move_legacy_files(&self, holder: &str) -> anyhow::Result<()> {
        let Some((work, lock, state)) = &self.legacy else {
            return Ok(());
        };
        if lock.exists() {
            let old = Lock::acquire(lock, holder)?;
            std::fs::remove_file(old.path())?;
        }
        for (old, new) in [(work, &self.work), (state, &self.state)] {
            if std::fs::symlink_metadata(old).is_ok() && std::fs::symlink_metadata(new).is_err() {
                std::fs::create_dir_all(new.parent().expect("inside the root"))?;
                std::fs::rename(old, new)?;
            }
        }
        if let Some(folder) = state.parent() {
            // Only when empty: `remove_dir` refuses anything else.
            let _ = std::fs::remove_dir(folder);
        }
        Ok(())
    }

    /// Moves the verified tree `files` in. LLM: one rename (an exchange when a copy is live).
    /// Triton: the version folder by rename (exchanged if it exists), then `config.pbtxt`; a new
    /// model folder moves in whole.
    pub fn publish(&self, files: &Path) -> anyhow::Result<Swap> {
        let Served::Triton { number, .. } = &self.served else {
            return Ok(swap::swap_into_place(files, &self.target)?);
        };
        swap::sync_tree(files)?;
        let model_dir = &self.manifest_root;
        if !model_dir.exists() {
            std::fs::rename(files, model_dir)?;
            return Ok(Swap::Created);
        }
        let swapped = swap::swap_into_place(&files.join(number), &self.target)?;
        let config = files.join(triton::CONFIG_FILE);
        if config.exists() {
            std::fs::rename(config, model_dir.join(triton::CONFIG_FILE))?;
        }
        std::fs::File::open(model_dir).and_then(|d| d.sync_all())?;
        Ok(swapped)
    }

    /// What the last promote or verify recorded, if anything readable.
    pub fn read_state(&self) -> Option<PromotedState> {
        let candidates = [Some(&self.state), self.legacy.as_ref().map(|(_, _, s)| s)];
        candidates
            .into_iter()
            .flatten()
            .find_map(|path| serde_json::from_slice(&std::fs::read(path).ok()?).ok())
    }

    /// Records `state`, written whole to a temporary file and renamed over the old record.
    pub fn write_state(&self, state: &PromotedState) -> anyhow::Result<()> {
        let dir = self.state.parent().expect("the state file has a folder");
        crate::safe_fs::create_dirs(&self.own_base(), dir)?;
        let temp = self.state.with_extension("json.tmp");
        crate::safe_fs::write_new(&temp, &serde_json::to_vec_pretty(state)?)?;
        std::fs::rename(&temp, &self.state)?;
        Ok(())
    }
}

/// Removes from the work tree `root` everything that is not one of the `planned` files (relative,
/// `/`-separated): files left by an earlier run for objects no longer listed, anything that is not
/// a regular file (symlinks are removed, never followed), and the folders that end up empty. What
/// is moved into production is then the plan and nothing else. Returns what was removed.
pub fn prune_to_plan(
    root: &Path,
    planned: &std::collections::BTreeSet<&str>,
) -> std::io::Result<Vec<String>> {
    let mut removed = Vec::new();
    if std::fs::symlink_metadata(root).is_err() {
        return Ok(removed);
    }
    // Deepest first, so a folder is looked at after its content.
    for entry in walkdir::WalkDir::new(root)
        .min_depth(1)
        .contents_first(true)
    {
        let entry = entry.map_err(std::io::Error::other)?;
        let relative = entry
            .path()
            .strip_prefix(root)
            .expect("walkdir yields paths under its root")
            .to_string_lossy()
            .replace(std::path::MAIN_SEPARATOR, "/");
        let kind = entry.file_type();
        if kind.is_dir() {
            // Only when empty: `remove_dir` refuses anything else.
            let _ = std::fs::remove_dir(entry.path());
        } else if !kind.is_file() || !planned.contains(relative.as_str()) {
            std::fs::remove_file(entry.path())?;
            removed.push(relative);
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_planned_regular_files_are_kept() {
        let root = tempfile::tempdir().unwrap();
        let files = root.path().join("files");
        std::fs::create_dir_all(files.join("sub/empty")).unwrap();
        for name in [
            "config.json",
            "sub/w.safetensors",
            "0000-evil.bin",
            "sub/stale.bin",
        ] {
            std::fs::write(files.join(name), b"x").unwrap();
        }
        let outside = root.path().join("victim");
        std::fs::write(&outside, b"keep me").unwrap();
        std::os::unix::fs::symlink(&outside, files.join("tokenizer.json")).unwrap();
        let planned = ["config.json", "sub/w.safetensors", "tokenizer.json"]
            .into_iter()
            .collect();
        let mut removed = prune_to_plan(&files, &planned).unwrap();
        removed.sort();
        assert_eq!(
            removed,
            ["0000-evil.bin", "sub/stale.bin", "tokenizer.json"]
        );
        assert!(files.join("config.json").is_file() && files.join("sub/w.safetensors").is_file());
        assert!(!files.join("sub/empty").exists());
        assert_eq!(std::fs::read(&outside).unwrap(), b"keep me");
    }

    #[test]
    fn links_planted_in_the_prod_root_are_not_followed() {
        let root = tempfile::tempdir().unwrap();
        let victim = tempfile::tempdir().unwrap();
        let d = Destination::plan(root.path(), &Served::Llm, "abc").unwrap();
        // At the work folder: refused, nothing written in the victim.
        std::fs::create_dir_all(d.work.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(victim.path(), &d.work).unwrap();
        let error = d.lock("pid 1").unwrap_err().to_string();
        assert!(error.contains("is a symlink"), "{error}");
        assert!(std::fs::read_dir(victim.path()).unwrap().next().is_none());
        std::fs::remove_file(&d.work).unwrap();
        // At the lock file: refused.
        let target = victim.path().join("lock-victim");
        std::fs::write(&target, b"keep").unwrap();
        let _ = std::fs::remove_file(&d.lock);
        std::os::unix::fs::symlink(&target, &d.lock).unwrap();
        assert!(d.lock("pid 1").is_err());
        assert_eq!(std::fs::read(&target).unwrap(), b"keep");
        std::fs::remove_file(&d.lock).unwrap();
        // At the state file's temporary: replaced, not written through.
        let _lock = d.lock("pid 1").unwrap();
        std::os::unix::fs::symlink(&target, d.state.with_extension("json.tmp")).unwrap();
        let state = PromotedState {
            name: "m".into(),
            version: "1".into(),
            manifest_digest: None,
            promoted_at: String::new(),
            verification: Verification::Sha256,
            verified_at: String::new(),
            computed_manifest: None,
        };
        d.write_state(&state).unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"keep");
        assert_eq!(d.read_state().unwrap().name, "m");
    }

    #[test]
    fn a_file_or_symlink_at_the_target_is_refused() {
        let root = tempfile::tempdir().unwrap();
        let d = Destination::plan(root.path(), &Served::Llm, "abc").unwrap();
        assert!(d.check_target().is_ok());
        std::fs::create_dir_all(root.path().join("llm-models")).unwrap();
        std::fs::write(&d.target, b"not a model").unwrap();
        let error = d.check_target().unwrap_err();
        assert!(
            error.message.contains("is not a folder"),
            "{}",
            error.message
        );
    }

    #[test]
    fn the_served_folder_holds_model_folders_only() {
        let root = Path::new("/prod");
        let d = Destination::plan(root, &Served::Llm, "abc").unwrap();
        assert_eq!(d.target, Path::new("/prod/llm-models/abc"));
        for own in [&d.work, &d.lock, &d.state] {
            assert!(own.starts_with("/prod/.llmops"), "{}", own.display());
        }
    }

    #[test]
    fn what_an_older_llmops_left_is_moved_beside_the_folder() {
        let root = tempfile::tempdir().unwrap();
        let models = root.path().join("llm-models");
        std::fs::create_dir_all(models.join(".llmops")).unwrap();
        std::fs::write(models.join(".llmops/abc.json"), b"{}").unwrap();
        std::fs::create_dir_all(models.join(".abc.llmops-partial/files")).unwrap();
        std::fs::write(models.join(".abc.llmops-lock"), b"pid 1").unwrap();
        let d = Destination::plan(root.path(), &Served::Llm, "abc").unwrap();
        let _lock = d.lock("pid 2").unwrap();
        assert_eq!(std::fs::read(&d.state).unwrap(), b"{}");
        assert!(d.work.join("files").is_dir());
        let left: Vec<_> = std::fs::read_dir(&models).unwrap().collect();
        assert!(left.is_empty(), "llm-models/ still holds {left:?}");
    }
}
