//! The one verification engine: files on disk against what they should be (a manifest's sha256, a
//! single-part ETag's MD5, or a size alone), checked on one bounded hashing pool. `publish` checks
//! the dev copy with it, `promote` the copy it is about to replace and any file it could not hash
//! while downloading, `verify` the prod copy.

use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::manifest::Manifest;
use crate::transfer::digest::{DigestKind, digest_file};

/// What a file's bytes should be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expected {
    /// Lower-case hex BLAKE3, from the manifest.
    Blake3(String),
    /// Lower-case hex sha256, from the manifest.
    Sha256(String),
    /// Lower-case hex MD5, from a single-part ETag.
    Md5(String),
    /// Nothing but the size is known (a multipart ETag).
    SizeOnly,
}

/// One file to check.
#[derive(Debug, Clone)]
pub struct FileCheck {
    /// The name to report (relative, `/`-separated).
    pub name: String,
    pub path: PathBuf,
    pub size: u64,
    pub expected: Expected,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finding {
    Missing,
    WrongSize {
        actual: u64,
        expected: u64,
    },
    Differs,
    Unreadable(String),
    /// In the copy but not in the manifest: a file, link or other entry nobody registered.
    NotInManifest,
}

/// A file that is not what it should be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub name: String,
    pub finding: Finding,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = crate::text::printable(&self.name);
        match &self.finding {
            Finding::Missing => write!(f, "`{name}` is missing"),
            Finding::WrongSize { actual, expected } => {
                write!(f, "`{name}` is {actual} bytes, registered as {expected}")
            }
            Finding::Differs => write!(f, "`{name}` differs from the manifest"),
            Finding::Unreadable(reason) => write!(f, "`{name}`: {reason}"),
            Finding::NotInManifest => write!(f, "`{name}` is not in the manifest"),
        }
    }
}

/// Every manifest file under `dir`, by BLAKE3 when the manifest has it for every file, else sha256.
pub fn manifest_checks(dir: &Path, manifest: &Manifest) -> Vec<FileCheck> {
    let blake3 = manifest.has_blake3();
    manifest
        .files
        .iter()
        .map(|entry| FileCheck {
            name: entry.path.clone(),
            path: dir.join(&entry.path),
            size: entry.size,
            expected: match (&entry.blake3, blake3) {
                (Some(hex), true) => Expected::Blake3(hex.clone()),
                _ => Expected::Sha256(entry.sha256.clone()),
            },
        })
        .collect()
}

/// The files that are not what they should be, sorted by name. Sizes are compared first (free);
/// only files of the right size are hashed, in parallel.
pub fn check(files: &[FileCheck]) -> Vec<Problem> {
    let mut problems: Vec<Problem> = files
        .par_iter()
        .with_max_len(1)
        .filter_map(|file| {
            check_one(file).map(|finding| Problem {
                name: file.name.clone(),
                finding,
            })
        })
        .collect();
    problems.sort_by(|a, b| a.name.cmp(&b.name));
    problems
}

/// [`check`] for a manifest: the tree under `dir` holds every manifest file with its bytes.
pub fn check_tree(dir: &Path, manifest: &Manifest) -> Vec<Problem> {
    check(&manifest_checks(dir, manifest))
}

/// A live copy against its manifest: every listed file under `dir` with its bytes, and nothing
/// unlisted under `scope`, the folder production reads (`dir` itself, or a Triton version folder).
pub fn check_copy(dir: &Path, scope: &Path, manifest: &Manifest) -> Vec<Problem> {
    let mut problems = check_tree(dir, manifest);
    problems.extend(unexpected_entries(dir, scope, manifest.paths()));
    problems.sort_by(|a, b| a.name.cmp(&b.name));
    problems
}

/// Entries under `scope` (`dir` or a folder in it) that the manifest does not list: files, links
/// (reported, never followed) and anything else but the folders on the way to listed files. A
/// folder that cannot be read is reported as unreadable rather than skipped.
pub fn unexpected_entries<'a>(
    dir: &Path,
    scope: &Path,
    listed: impl IntoIterator<Item = &'a str>,
) -> Vec<Problem> {
    let listed: std::collections::BTreeSet<&str> = listed.into_iter().collect();
    let relative = |path: &Path| {
        path.strip_prefix(dir)
            .unwrap_or(path)
            .to_string_lossy()
            .replace(std::path::MAIN_SEPARATOR, "/")
    };
    let mut problems = Vec::new();
    for entry in walkdir::WalkDir::new(scope).min_depth(1) {
        match entry {
            Ok(entry) if entry.file_type().is_dir() => {}
            Ok(entry) => {
                let name = relative(entry.path());
                if !listed.contains(name.as_str()) && !is_bytecode_of_listed(&name, &listed) {
                    problems.push(Problem {
                        name,
                        finding: Finding::NotInManifest,
                    });
                }
            }
            Err(error) => problems.push(Problem {
                name: error.path().map(relative).unwrap_or_default(),
                finding: Finding::Unreadable(error.to_string()),
            }),
        }
    }
    problems.sort_by(|a, b| a.name.cmp(&b.name));
    problems
}

/// `dir/__pycache__/model.cpython-311.pyc` beside a listed `dir/model.py`: the bytecode Python
/// writes when the server imports the listed source (Triton's Python backend does, in the version
/// folder), not a file anyone added.
fn is_bytecode_of_listed(name: &str, listed: &std::collections::BTreeSet<&str>) -> bool {
    // `folder` is empty or ends in `/`; the cache holds files, no folders.
    let Some((folder, file)) = name.rsplit_once("__pycache__/") else {
        return false;
    };
    if !(folder.is_empty() || folder.ends_with('/')) || file.contains('/') {
        return false;
    }
    let Some(stem) = file.strip_suffix(".pyc").and_then(|f| f.split('.').next()) else {
        return false;
    };
    listed.contains(format!("{folder}{stem}.py").as_str())
}

fn check_one(file: &FileCheck) -> Option<Finding> {
    let actual = match std::fs::symlink_metadata(&file.path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Some(Finding::Missing),
        Err(e) => return Some(Finding::Unreadable(e.to_string())),
        Ok(meta) if !meta.is_file() => {
            return Some(Finding::Unreadable("not a regular file".into()));
        }
        Ok(meta) => meta.len(),
    };
    if actual != file.size {
        return Some(Finding::WrongSize {
            actual,
            expected: file.size,
        });
    }
    let (kind, expected) = match &file.expected {
        Expected::SizeOnly => return None,
        Expected::Blake3(hex) => (DigestKind::Blake3, hex),
        Expected::Sha256(hex) => (DigestKind::Sha256, hex),
        Expected::Md5(hex) => (DigestKind::Md5, hex),
    };
    match digest_file(&file.path, kind) {
        Ok(digest) if digest == *expected => None,
        Ok(_) => Some(Finding::Differs),
        Err(e) => Some(Finding::Unreadable(e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::ManifestEntry;

    #[test]
    fn finds_each_kind_of_difference() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("good"), b"abc").unwrap();
        std::fs::write(dir.path().join("short"), b"ab").unwrap();
        std::fs::write(dir.path().join("changed"), b"abd").unwrap();
        std::fs::create_dir(dir.path().join("folder")).unwrap();
        // sha256("abc"), computed by `printf abc | sha256sum`.
        let abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        let entry = |path: &str| ManifestEntry {
            path: path.into(),
            size: 3,
            sha256: abc.into(),
            blake3: None,
        };
        let manifest = Manifest::new(
            ["good", "short", "changed", "gone", "folder"]
                .into_iter()
                .map(entry)
                .collect(),
        );
        let shown: Vec<String> = check_tree(dir.path(), &manifest)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            shown,
            [
                "`changed` differs from the manifest",
                "`folder`: not a regular file",
                "`gone` is missing",
                "`short` is 2 bytes, registered as 3",
            ]
        );
    }

    #[test]
    fn entries_the_manifest_does_not_list_are_found_in_the_scope_only() {
        let dir = tempfile::tempdir().unwrap();
        let version = dir.path().join("3");
        std::fs::create_dir_all(version.join("sub")).unwrap();
        std::fs::write(version.join("model.bin"), b"abc").unwrap();
        std::fs::write(version.join("sub").join("0000-evil.bin"), b"x").unwrap();
        std::os::unix::fs::symlink("/etc/passwd", version.join("link")).unwrap();
        // Python's bytecode of a listed source is the server's doing; of an unlisted one it is not.
        std::fs::write(version.join("model.py"), b"").unwrap();
        std::fs::create_dir(version.join("__pycache__")).unwrap();
        std::fs::write(version.join("__pycache__/model.cpython-311.pyc"), b"").unwrap();
        std::fs::write(version.join("__pycache__/evil.cpython-311.pyc"), b"").unwrap();
        // Beside the scope: another version's folder, not this manifest's business.
        std::fs::create_dir(dir.path().join("2")).unwrap();
        std::fs::write(dir.path().join("2").join("other.bin"), b"y").unwrap();
        let listed = |path: &str| ManifestEntry {
            path: path.into(),
            size: 3,
            sha256: String::new(),
            blake3: None,
        };
        let manifest = Manifest::new(vec![listed("3/model.bin"), listed("3/model.py")]);
        let shown: Vec<String> = unexpected_entries(dir.path(), &version, manifest.paths())
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            shown,
            [
                "`3/__pycache__/evil.cpython-311.pyc` is not in the manifest",
                "`3/link` is not in the manifest",
                "`3/sub/0000-evil.bin` is not in the manifest",
            ]
        );
        assert!(unexpected_entries(dir.path(), &dir.path().join("2"), []).len() == 1);
        let top: std::collections::BTreeSet<&str> = ["model.py"].into_iter().collect();
        assert!(is_bytecode_of_listed(
            "__pycache__/model.cpython-312.pyc",
            &top
        ));
        assert!(!is_bytecode_of_listed(
            "x__pycache__/model.cpython-312.pyc",
            &top
        ));
        assert!(!is_bytecode_of_listed("__pycache__/model.py", &top));
    }

    #[test]
    fn md5_and_size_only_checks() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"abc").unwrap();
        let file = |expected| FileCheck {
            name: "f".into(),
            path: path.clone(),
            size: 3,
            expected,
        };
        // md5("abc") from RFC 1321's test suite.
        let md5 = "900150983cd24fb0d6963f7d28e17f72";
        assert!(check(&[file(Expected::Md5(md5.into()))]).is_empty());
        assert_eq!(
            check(&[file(Expected::Md5("0".repeat(32)))])[0].finding,
            Finding::Differs
        );
        assert!(check(&[file(Expected::SizeOnly)]).is_empty());
        // BLAKE3("abc") from the BLAKE3 reference implementation's `b3sum`.
        let blake3 = "6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85";
        assert!(check(&[file(Expected::Blake3(blake3.into()))]).is_empty());
        assert_eq!(
            check(&[file(Expected::Blake3("0".repeat(64)))])[0].finding,
            Finding::Differs
        );
    }
}
