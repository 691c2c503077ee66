//! Writing only where llmops means to: folders it creates are checked component by component
//! (a symlink or a file where a folder should be is refused, never followed), and files are
//! opened with `O_NOFOLLOW`, so a link planted in the prod root cannot turn a write into a write
//! somewhere else. The root the user passed may itself be a symlink; what is below it may not.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// Creates `dir` and its missing parents below `base`, refusing any component below `base` that
/// is a symlink or not a folder.
pub fn create_dirs(base: &Path, dir: &Path) -> std::io::Result<()> {
    let below = dir.strip_prefix(base).map_err(|_| {
        std::io::Error::other(format!(
            "`{}` is not below `{}`",
            dir.display(),
            base.display()
        ))
    })?;
    let mut path = PathBuf::from(base);
    for component in below.components() {
        path.push(component);
        match std::fs::symlink_metadata(&path) {
            Ok(meta) if meta.file_type().is_symlink() => return Err(refused(&path, "a symlink")),
            Ok(meta) if !meta.is_dir() => return Err(refused(&path, "not a folder")),
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => std::fs::create_dir(&path)?,
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

fn refused(path: &Path, what: &str) -> std::io::Error {
    std::io::Error::other(format!(
        "`{}` is {what}; llmops writes only into folders it made, and follows no link it did not create",
        path.display()
    ))
}

/// Whether this process may create entries in `dir`, asked of the kernel (`access(2)` with
/// `W_OK | X_OK`, which also reports a read-only filesystem) instead of by creating a probe: a
/// probe file in a served folder is something a server polling it could see.
pub fn check_writable_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let path = std::ffi::CString::new(dir.as_os_str().as_bytes())
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidInput, "a NUL in the path"))?;
    // SAFETY: `path` is a valid NUL-terminated string that outlives the call.
    match unsafe { libc::access(path.as_ptr(), libc::W_OK | libc::X_OK) } {
        0 => Ok(()),
        _ => Err(std::io::Error::last_os_error()),
    }
}

/// Options that never follow a symlink at the file itself (`ELOOP` instead).
pub fn no_follow() -> OpenOptions {
    let mut options = OpenOptions::new();
    options.custom_flags(libc::O_NOFOLLOW);
    options
}

/// Writes `bytes` to a new `path`, first removing whatever is there (a symlink is removed, not
/// followed), and syncs it.
pub fn write_new(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_new_unsynced(path, bytes)?.sync_all()
}

/// `write_new` without waiting for the disk, for files a crash may lose or cut short.
pub fn write_new_unsynced(path: &Path, bytes: &[u8]) -> std::io::Result<File> {
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let mut file: File = no_follow().write(true).create_new(true).open(path)?;
    file.write_all(bytes)?;
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_below_the_base_are_refused_not_followed() {
        let base = tempfile::tempdir().unwrap();
        let victim = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(victim.path(), base.path().join("linked")).unwrap();
        let error = create_dirs(base.path(), &base.path().join("linked/sub")).unwrap_err();
        assert!(error.to_string().contains("is a symlink"), "{error}");
        assert!(std::fs::read_dir(victim.path()).unwrap().next().is_none());
        create_dirs(base.path(), &base.path().join("a/b")).unwrap();
        assert!(base.path().join("a/b").is_dir());
    }

    #[test]
    fn a_link_at_a_file_is_replaced_not_written_through() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, b"keep").unwrap();
        let path = dir.path().join("state.json.tmp");
        std::os::unix::fs::symlink(&victim, &path).unwrap();
        write_new(&path, b"new").unwrap();
        assert_eq!(std::fs::read(&victim).unwrap(), b"keep");
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
        std::os::unix::fs::symlink(&victim, dir.path().join("lock")).unwrap();
        let opened = no_follow().write(true).open(dir.path().join("lock"));
        assert!(opened.is_err());
    }
}
