//! Links and files planted in the prod root by someone else: promote follows none of them and
//! replaces none of them. A link at the work folder is refused; a link at a file inside it is
//! removed, never written through, and the live copy holds regular files only; a file where the
//! model folder goes is refused before any byte moves.

use predicates::prelude::*;

use super::{partial_downloads, promote, published_copies, register_published, stack};
use crate::common::{tag, tree_digests};

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

#[test]
fn a_file_where_the_model_folder_goes_is_refused_and_left_alone() {
    let published = register_published("planted-target");
    let prod = tempfile::tempdir().unwrap();
    let target = published.promoted_copy(prod.path());
    std::fs::create_dir_all(target.parent().unwrap()).unwrap();
    std::fs::write(&target, b"not a model").unwrap();
    for _ in 0..2 {
        // Twice: a second run must not take the first for a finished promote.
        promote(&published.uri(), prod.path())
            .assert()
            .code(1)
            .stderr(predicate::str::contains("is not a folder"))
            .stderr(predicate::str::contains("already promoted").not());
        assert_eq!(std::fs::read(&target).unwrap(), b"not a model");
        assert!(
            partial_downloads(prod.path()).is_empty(),
            "{:?}",
            partial_downloads(prod.path())
        );
    }
    let version = stack().rest_get(&format!(
        "/api/2.0/mlflow/model-versions/get?name={}&version=1",
        published.name
    ));
    let tags = &version["model_version"]["tags"];
    assert_eq!(tag(tags, "llmops.promoted_at"), None, "{tags}");
    assert_eq!(tag(tags, "llmops.promoted_to"), None, "{tags}");
}
