//! Links planted in the prod root by someone else: promote follows none of them. A link at the
//! work folder is refused; a link at a file inside it is removed, never written through, and the
//! live copy holds regular files only.

use predicates::prelude::*;

use super::{promote, published_copies, register_published};
use crate::common::tree_digests;

#[test]
fn a_link_at_the_work_folder_is_refused() {
    let published = register_published("planted-folder");
    let prod = tempfile::tempdir().unwrap();
    let victim = tempfile::tempdir().unwrap();
    let work = prod.path().join(".llmops/partial").join(&published.parent);
    std::fs::create_dir_all(work.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(victim.path(), &work).unwrap();
    promote(&published.uri(), prod.path())
        .assert()
        .code(1)
        .stderr(predicate::str::contains("is a symlink"));
    assert!(std::fs::read_dir(victim.path()).unwrap().next().is_none());
    assert!(published_copies(prod.path()).is_empty());
}

#[test]
fn a_link_at_a_file_is_not_written_through() {
    let published = register_published("planted-file");
    let prod = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let victim = outside.path().join("victim.json");
    std::fs::write(&victim, b"keep me").unwrap();
    let files = prod
        .path()
        .join(".llmops/partial")
        .join(&published.parent)
        .join("files");
    std::fs::create_dir_all(&files).unwrap();
    std::os::unix::fs::symlink(&victim, files.join("config.json")).unwrap();
    promote(&published.uri(), prod.path()).assert().code(0);
    assert_eq!(std::fs::read(&victim).unwrap(), b"keep me");
    let copy = published.promoted_copy(prod.path());
    let config = std::fs::symlink_metadata(copy.join("config.json")).unwrap();
    assert!(config.is_file(), "the live config.json is a regular file");
    assert_eq!(tree_digests(&copy), tree_digests(published.model.path()));
}
