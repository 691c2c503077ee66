//! Putting a complete tree where production reads it, so production never sees a half-written
//! model: the tree is built beside the destination (same filesystem), fsynced, and swapped in with
//! one rename (`renameat2(RENAME_EXCHANGE)` when a copy is already live, so the live folder is never
//! absent, let alone deleted first). A lock file serialises concurrent writers and names its holder.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum SwapError {
    #[error("`{path}`: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "another promote of this model is running ({holder}); wait for it: the lock on `{lock}` is freed when that process ends, even if it is killed"
    )]
    Locked { holder: String, lock: PathBuf },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> SwapError + '_ {
    move |source| SwapError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// An exclusive lock on `path`, released when dropped or when the process dies. The file stays: deleting
/// it would let a waiter lock an unlinked file while a third process creates a new one.
#[derive(Debug)]
pub struct Lock {
    _file: File,
    path: PathBuf,
}

impl Lock {
    pub fn acquire(path: &Path, holder: &str) -> Result<Lock, SwapError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io(dir))?;
        }
        // O_NOFOLLOW: a symlink planted at the lock is refused, not written through.
        let mut file = crate::safe_fs::no_follow()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(path)
            .map_err(io(path))?;
        match file.try_lock() {
            Ok(()) => {
                file.set_len(0).map_err(io(path))?;
                file.write_all(holder.as_bytes()).map_err(io(path))?;
                Ok(Lock {
                    _file: file,
                    path: path.to_path_buf(),
                })
            }
            Err(std::fs::TryLockError::WouldBlock) => {
                let holder = std::fs::read_to_string(path).unwrap_or_default();
                Err(SwapError::Locked {
                    holder: holder.trim().to_string(),
                    lock: path.to_path_buf(),
                })
            }
            Err(std::fs::TryLockError::Error(e)) => Err(SwapError::Io {
                path: path.to_path_buf(),
                source: e,
            }),
        }
    }
}

impl Lock {
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Who holds a lock: process, host, user and time, for the message another process shows.
pub fn holder_description(user: &str) -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    format!(
        "pid {} on {} by {user} since {}",
        std::process::id(),
        host.trim(),
        crate::units::now_rfc3339()
    )
}

/// fsyncs every file and folder under `dir`, so a crash after the rename cannot expose empty files.
pub fn sync_tree(dir: &Path) -> Result<(), SwapError> {
    for entry in std::fs::read_dir(dir).map_err(io(dir))? {
        let path = entry.map_err(io(dir))?.path();
        if path.is_dir() {
            sync_tree(&path)?;
        } else {
            File::open(&path)
                .and_then(|f| f.sync_all())
                .map_err(io(&path))?;
        }
    }
    File::open(dir).and_then(|d| d.sync_all()).map_err(io(dir))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Swap {
    /// Nothing was there.
    Created,
    /// A different copy was there; it was exchanged atomically and then removed.
    Replaced,
}

/// Moves the complete tree `ready` to `target`. `ready` and `target` must be on one filesystem.
pub fn swap_into_place(ready: &Path, target: &Path) -> Result<Swap, SwapError> {
    sync_tree(ready)?;
    let parent = target.parent().expect("a publish target has a parent");
    let swap = if target.exists() {
        exchange(ready, target)?;
        // `ready` now holds the old copy: remove it only after the new one is live.
        std::fs::remove_dir_all(ready).map_err(io(ready))?;
        Swap::Replaced
    } else {
        std::fs::rename(ready, target).map_err(io(target))?;
        Swap::Created
    };
    File::open(parent)
        .and_then(|d| d.sync_all())
        .map_err(io(parent))?;
    Ok(swap)
}

/// Atomically exchanges two paths. Where the filesystem cannot, falls back to renaming the old copy
/// aside and the new one into place (a moment without the folder, but never a partial one).
fn exchange(a: &Path, b: &Path) -> Result<(), SwapError> {
    #[cfg(target_os = "linux")]
    {
        use std::ffi::CString;
        use std::os::unix::ffi::OsStrExt;
        let ca = CString::new(a.as_os_str().as_bytes()).map_err(|e| SwapError::Io {
            path: a.into(),
            source: e.into(),
        })?;
        let cb = CString::new(b.as_os_str().as_bytes()).map_err(|e| SwapError::Io {
            path: b.into(),
            source: e.into(),
        })?;
        // SAFETY: both strings are valid, NUL-terminated paths for the duration of the call.
        let rc = unsafe {
            libc::renameat2(
                libc::AT_FDCWD,
                ca.as_ptr(),
                libc::AT_FDCWD,
                cb.as_ptr(),
                libc::RENAME_EXCHANGE,
            )
        };
        if rc == 0 {
            return Ok(());
        }
        let error = std::io::Error::last_os_error();
        if !matches!(
            error.raw_os_error(),
            Some(libc::EINVAL | libc::ENOSYS | libc::EOPNOTSUPP)
        ) {
            return Err(SwapError::Io {
                path: b.into(),
                source: error,
            });
        }
    }
    let aside = b.with_file_name(format!(
        ".{}.llmops-old",
        b.file_name().and_then(|n| n.to_str()).unwrap_or("old")
    ));
    std::fs::rename(b, &aside).map_err(io(b))?;
    std::fs::rename(a, b).map_err(io(b))?;
    std::fs::rename(&aside, a).map_err(io(a))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_live_copy_is_exchanged_not_deleted_first() {
        let root = tempfile::tempdir().unwrap();
        let target = root.path().join("run");
        let ready = root.path().join(".run.partial");
        std::fs::create_dir_all(&target).unwrap();
        std::fs::write(target.join("w"), b"old").unwrap();
        std::fs::create_dir_all(&ready).unwrap();
        std::fs::write(ready.join("w"), b"new").unwrap();
        assert_eq!(swap_into_place(&ready, &target).unwrap(), Swap::Replaced);
        assert_eq!(std::fs::read(target.join("w")).unwrap(), b"new");
        assert!(!ready.exists());
        let fresh = root.path().join(".other.partial");
        std::fs::create_dir_all(&fresh).unwrap();
        assert_eq!(
            swap_into_place(&fresh, &root.path().join("other")).unwrap(),
            Swap::Created
        );
    }

    #[test]
    fn a_second_writer_is_told_who_holds_the_lock() {
        let root = tempfile::tempdir().unwrap();
        let path = root.path().join(".run.lock");
        let _held = Lock::acquire(&path, "pid 1 on host by ann").unwrap();
        match Lock::acquire(&path, "pid 2") {
            Err(SwapError::Locked { holder, .. }) => assert_eq!(holder, "pid 1 on host by ann"),
            other => panic!("expected a lock error, got {:?}", other.err()),
        }
    }
}
