//! Copying a model folder into a dataset: symlinks followed (a Hugging Face snapshot is symlinks into
//! `blobs/`), the tree preserved, files copied in parallel with `copy_file_range` where the
//! filesystem allows, the sha256 manifest computed in the same pass, and the result published by
//! one rename, so the target is either absent or complete.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::manifest::{EntryHasher, Manifest, ManifestEntry};
use crate::progress::Reporter;

/// Folders that are tool metadata, not model: git, and the `.cache/huggingface` of `hf download --local-dir`.
const SKIPPED_DIRS: &[&str] = &[".git", ".cache"];
const CHUNK: usize = 8 * 1024 * 1024;
const WORKERS: usize = 4;

#[derive(Debug, Clone)]
pub struct SourceFile {
    /// Relative path with `/` separators.
    pub relative: String,
    /// The file itself (symlinks resolved).
    pub path: PathBuf,
    pub size: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum StagingError {
    #[error("`{path}`: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("`{0}` is a symlink loop or points outside any readable file")]
    BadLink(PathBuf),
    #[error("`{0}` already exists; llmops never overwrites a staged model in place")]
    TargetExists(PathBuf),
    #[error("`{0}` has a name that is not valid UTF-8, which MLflow artifact paths cannot carry")]
    NonUtf8(PathBuf),
    #[error("`{name}` cannot be registered: {reason} (it could not be published or promoted)")]
    UnsafeName { name: String, reason: &'static str },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StagingError + '_ {
    move |source| StagingError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Every file under `dir`, following symlinks, sorted by path. `walkdir` follows the links and
/// detects loops; tool metadata folders are skipped.
pub fn scan(dir: &Path) -> Result<Vec<SourceFile>, StagingError> {
    let walk = walkdir::WalkDir::new(dir)
        .follow_links(true)
        .min_depth(1)
        .into_iter()
        .filter_entry(|entry| {
            !(entry.file_type().is_dir()
                && SKIPPED_DIRS.contains(&entry.file_name().to_string_lossy().as_ref()))
        });
    let mut files = Vec::new();
    for entry in walk {
        let entry = entry.map_err(|e| walk_error(dir, e))?;
        if !entry.file_type().is_file() {
            continue;
        }
        let path = entry.path().to_path_buf();
        let relative = path
            .strip_prefix(dir)
            .expect("walkdir yields paths under its root")
            .to_str()
            .ok_or_else(|| StagingError::NonUtf8(path.clone()))?
            .to_string();
        // Refused here, by the rule publish and promote apply, rather than after the version exists.
        if let Some(reason) = crate::safe_path::problem(&relative) {
            return Err(StagingError::UnsafeName {
                name: crate::text::printable(&relative),
                reason,
            });
        }
        let size = entry.metadata().map_err(|e| walk_error(dir, e))?.len();
        files.push(SourceFile {
            relative,
            path,
            size,
        });
    }
    files.sort_by(|a, b| a.relative.cmp(&b.relative));
    Ok(files)
}

/// A symlink loop or a dangling link is named as a bad link; anything else as an I/O error.
fn walk_error(dir: &Path, error: walkdir::Error) -> StagingError {
    let path = error.path().unwrap_or(dir).to_path_buf();
    let dangling = error
        .io_error()
        .is_some_and(|e| e.kind() == std::io::ErrorKind::NotFound);
    if error.loop_ancestor().is_some() || dangling {
        return StagingError::BadLink(path);
    }
    let source = error
        .into_io_error()
        .unwrap_or_else(|| std::io::Error::other("unreadable directory entry"));
    StagingError::Io { path, source }
}

/// Copies `files` into `target` (which must not exist) and returns their manifest. The copy is
/// built in a hidden sibling folder and renamed into place once every byte is on disk.
pub fn stage_atomically(
    files: &[SourceFile],
    target: &Path,
    reporter: &dyn Reporter,
) -> Result<Manifest, StagingError> {
    if target.exists() {
        return Err(StagingError::TargetExists(target.to_path_buf()));
    }
    let parent = target.parent().expect("a staging target has a parent");
    std::fs::create_dir_all(parent).map_err(io(parent))?;
    let staging = partial_path(target);
    let result = copy_tree(files, &staging, reporter).and_then(|manifest| {
        sync_dir(&staging)?;
        std::fs::rename(&staging, target).map_err(io(target))?;
        sync_dir(parent)?;
        Ok(manifest)
    });
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&staging);
    }
    result
}

/// Where [`stage_atomically`] builds `target` before the rename: a hidden sibling named after this
/// process, so an interrupted run's leftovers are recognised by [`reclaim_interrupted`].
pub fn partial_path(target: &Path) -> PathBuf {
    let name = target
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("model");
    target.with_file_name(format!(".{name}{PARTIAL_MARKER}{}", std::process::id()))
}

const PARTIAL_MARKER: &str = ".llmops-partial-";

/// Removes the half-built copies in `dir` whose process is gone (a register killed or
/// interrupted before its roll-back), saying what went; a running one's copy is left alone.
pub fn reclaim_interrupted(dir: &Path, reporter: &dyn Reporter) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name
            .rsplit_once(PARTIAL_MARKER)
            .and_then(|(_, pid)| pid.parse::<u32>().ok())
        else {
            continue;
        };
        let alive = Path::new("/proc").join(pid.to_string()).exists();
        if !alive && std::fs::remove_dir_all(entry.path()).is_ok() {
            reporter.note(&format!(
                "removed `{}`, left by an interrupted registration (process {pid})",
                entry.path().display()
            ));
        }
    }
}

fn copy_tree(
    files: &[SourceFile],
    staging: &Path,
    reporter: &dyn Reporter,
) -> Result<Manifest, StagingError> {
    use rayon::prelude::*;
    std::fs::create_dir_all(staging).map_err(io(staging))?;
    reporter.start("staging", files.iter().map(|f| f.size).sum(), files.len());
    // Its own pool: copies wait on the disk as much as on the CPU, so more workers than cores pay.
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(WORKERS)
        .build()
        .map_err(|e| StagingError::Io {
            path: staging.to_path_buf(),
            source: std::io::Error::other(e),
        })?;
    let entries: Result<Vec<ManifestEntry>, StagingError> = pool.install(|| {
        files
            .par_iter()
            .with_max_len(1)
            .map(|file| copy_and_hash(file, &staging.join(&file.relative), reporter))
            .collect()
    });
    reporter.finish();
    Ok(Manifest::new(entries?))
}

/// Copies one file chunk by chunk (in the kernel when it can) and hashes each chunk as it goes.
fn copy_and_hash(
    file: &SourceFile,
    dest: &Path,
    reporter: &dyn Reporter,
) -> Result<ManifestEntry, StagingError> {
    if let Some(dir) = dest.parent() {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
    }
    let progress = reporter.file(&file.relative, file.size);
    let mut source = File::open(&file.path).map_err(io(&file.path))?;
    let mut out = File::create(dest).map_err(io(dest))?;
    let mut hasher = EntryHasher::default();
    let mut buffer = vec![0u8; CHUNK.min(file.size.max(1) as usize)];
    let mut kernel_copy = true;
    let mut copied = 0u64;
    loop {
        let n = if kernel_copy {
            match copy_range(&source, &out, copied, CHUNK) {
                Ok(n) => {
                    // Hash what the kernel just copied (hot in the page cache).
                    hash_range(&mut source, copied, n, &mut hasher, &mut buffer)
                        .map_err(io(&file.path))?;
                    n
                }
                Err(_) => {
                    kernel_copy = false;
                    continue;
                }
            }
        } else {
            let n = source.read(&mut buffer).map_err(io(&file.path))?;
            hasher.update(&buffer[..n]);
            out.write_all(&buffer[..n]).map_err(io(dest))?;
            n
        };
        if n == 0 {
            break;
        }
        copied += n as u64;
        progress.advance(n as u64);
    }
    if copied != file.size {
        return Err(StagingError::Io {
            path: file.path.clone(),
            source: std::io::Error::other(format!(
                "changed while copying: {copied} bytes read, {} expected",
                file.size
            )),
        });
    }
    out.sync_all().map_err(io(dest))?;
    progress.done();
    Ok(hasher.finish(&file.relative, copied))
}

/// The manifest of a folder already in place (both digests of every file, read in parallel):
/// what promote records for a version registered without one.
pub fn hash_tree(dir: &Path, reporter: &dyn Reporter) -> Result<Manifest, StagingError> {
    use rayon::prelude::*;
    let files = scan(dir)?;
    reporter.start("hashing", files.iter().map(|f| f.size).sum(), files.len());
    let entries: Result<Vec<ManifestEntry>, StagingError> = files
        .par_iter()
        .with_max_len(1)
        .map(|file| {
            let progress = reporter.file(&file.relative, file.size);
            let mut source = File::open(&file.path).map_err(io(&file.path))?;
            let mut hasher = EntryHasher::default();
            let mut buffer = vec![0u8; CHUNK.min(file.size.max(1) as usize)];
            let mut size = 0u64;
            loop {
                let n = source.read(&mut buffer).map_err(io(&file.path))?;
                if n == 0 {
                    break;
                }
                hasher.update(&buffer[..n]);
                size += n as u64;
                progress.advance(n as u64);
            }
            progress.done();
            Ok(hasher.finish(&file.relative, size))
        })
        .collect();
    reporter.finish();
    Ok(Manifest::new(entries?))
}

/// `copy_file_range` of up to `len` bytes at `offset` (both files advance together). Fails with
/// EXDEV/ENOSYS/EINVAL where the kernel or filesystem cannot, and the caller falls back to read/write.
#[cfg(target_os = "linux")]
fn copy_range(source: &File, dest: &File, offset: u64, len: usize) -> std::io::Result<usize> {
    use std::os::fd::AsRawFd;
    let mut in_offset = offset as libc::loff_t;
    let mut out_offset = offset as libc::loff_t;
    // SAFETY: both descriptors are open for the duration of the call; the offsets are local.
    let n = unsafe {
        libc::copy_file_range(
            source.as_raw_fd(),
            &mut in_offset,
            dest.as_raw_fd(),
            &mut out_offset,
            len,
            0,
        )
    };
    if n < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

#[cfg(not(target_os = "linux"))]
fn copy_range(_: &File, _: &File, _: u64, _: usize) -> std::io::Result<usize> {
    Err(std::io::Error::from(std::io::ErrorKind::Unsupported))
}

fn hash_range(
    source: &mut File,
    offset: u64,
    len: usize,
    hasher: &mut EntryHasher,
    buffer: &mut [u8],
) -> std::io::Result<()> {
    use std::io::{Seek, SeekFrom};
    source.seek(SeekFrom::Start(offset))?;
    let mut remaining = len;
    while remaining > 0 {
        let want = remaining.min(buffer.len());
        source.read_exact(&mut buffer[..want])?;
        hasher.update(&buffer[..want]);
        remaining -= want;
    }
    Ok(())
}

fn sync_dir(dir: &Path) -> Result<(), StagingError> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(io(dir))
}

/// sha256 of bytes, lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// sha256 of a file, for checking a staged or downloaded copy against the manifest.
pub fn sha256_file(path: &Path) -> std::io::Result<String> {
    crate::transfer::digest::digest_file(path, crate::transfer::digest::DigestKind::Sha256)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::progress::Counting;

    #[test]
    fn follows_symlinks_preserves_the_tree_and_hashes() {
        let source = tempfile::tempdir().unwrap();
        let blobs = tempfile::tempdir().unwrap();
        std::fs::write(blobs.path().join("blob"), b"weights").unwrap();
        std::fs::create_dir_all(source.path().join("sub")).unwrap();
        std::fs::write(source.path().join("config.json"), b"{}").unwrap();
        std::fs::write(
            source.path().join("sub/tokenizer.json"),
            vec![7u8; 20 * 1024 * 1024],
        )
        .unwrap();
        std::os::unix::fs::symlink(
            blobs.path().join("blob"),
            source.path().join("model.safetensors"),
        )
        .unwrap();
        std::fs::create_dir_all(source.path().join(".git")).unwrap();
        std::fs::write(source.path().join(".git/HEAD"), b"x").unwrap();

        let files = scan(source.path()).unwrap();
        let names: Vec<_> = files.iter().map(|f| f.relative.as_str()).collect();
        assert_eq!(
            names,
            ["config.json", "model.safetensors", "sub/tokenizer.json"]
        );

        let dest = tempfile::tempdir().unwrap();
        let target = dest.path().join("llm-models/run1");
        let counting = Counting::default();
        let manifest = stage_atomically(&files, &target, &counting).unwrap();
        assert_eq!(
            std::fs::read(target.join("model.safetensors")).unwrap(),
            b"weights"
        );
        assert!(
            !std::fs::symlink_metadata(target.join("model.safetensors"))
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(
            manifest.entry("model.safetensors").unwrap().sha256,
            hex::encode(Sha256::digest(b"weights"))
        );
        assert_eq!(
            manifest.entry("sub/tokenizer.json").unwrap().sha256,
            sha256_file(&target.join("sub/tokenizer.json")).unwrap()
        );
        assert_eq!(
            counting.bytes.load(std::sync::atomic::Ordering::Relaxed),
            2 + 7 + 20 * 1024 * 1024
        );
        // No partial folder is left beside it.
        assert_eq!(
            std::fs::read_dir(dest.path().join("llm-models"))
                .unwrap()
                .count(),
            1
        );
        // Never overwritten in place.
        assert!(matches!(
            stage_atomically(&files, &target, &counting),
            Err(StagingError::TargetExists(_))
        ));
    }

    #[test]
    fn a_dangling_link_is_named() {
        let source = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink("/nonexistent/blob", source.path().join("model.safetensors"))
            .unwrap();
        let error = scan(source.path()).unwrap_err().to_string();
        assert!(error.contains("model.safetensors"), "{error}");
    }

    #[test]
    fn names_publish_would_refuse_are_refused_at_the_scan() {
        for name in ["new\nline.json", "back\\slash.json"] {
            let source = tempfile::tempdir().unwrap();
            std::fs::write(source.path().join("config.json"), b"{}").unwrap();
            std::fs::write(source.path().join(name), b"x").unwrap();
            let error = scan(source.path()).unwrap_err().to_string();
            assert!(error.contains("cannot be registered"), "{error}");
        }
    }

    #[test]
    fn a_symlink_loop_is_named() {
        let source = tempfile::tempdir().unwrap();
        std::fs::create_dir(source.path().join("sub")).unwrap();
        std::os::unix::fs::symlink(source.path(), source.path().join("sub/back")).unwrap();
        let error = scan(source.path()).unwrap_err().to_string();
        assert!(
            error.contains("symlink loop") && error.contains("back"),
            "{error}"
        );
    }

    #[test]
    fn a_failed_copy_leaves_nothing_behind() {
        let source = tempfile::tempdir().unwrap();
        std::fs::write(source.path().join("a"), b"1").unwrap();
        let mut files = scan(source.path()).unwrap();
        files.push(SourceFile {
            relative: "gone".into(),
            path: source.path().join("gone"),
            size: 1,
        });
        let dest = tempfile::tempdir().unwrap();
        let target = dest.path().join("run");
        assert!(stage_atomically(&files, &target, &Counting::default()).is_err());
        assert_eq!(std::fs::read_dir(dest.path()).unwrap().count(), 0);
    }
}
