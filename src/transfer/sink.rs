//! Where a downloaded file's bytes go. Large files are written with `O_DIRECT` from page-aligned
//! buffers: the bytes go from our buffer to the disk without being copied into the page cache,
//! which was as much of a promote's CPU as hashing them, and a 400 GiB model does not evict
//! everything else a production node keeps cached. A filesystem that refuses `O_DIRECT` (tmpfs,
//! some network and FUSE filesystems) gets ordinary writes, with writeback started as they go.

use std::fs::File;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

/// `O_DIRECT` needs offsets, lengths and memory aligned to the logical block size; 4 KiB covers
/// the devices we meet (512-byte and 4 KiB sectors).
pub const ALIGN: usize = 4096;
/// Below this a file is written through the page cache: it is one or two writes anyway.
const DIRECT_MIN_BYTES: u64 = 8 * 1024 * 1024;

pub struct FileSink {
    /// Ordinary descriptor: the unaligned tail, reads back, fsync, and everything when `direct`
    /// is unavailable.
    buffered: File,
    direct: Option<File>,
    direct_works: AtomicBool,
    on_network: bool,
}

impl FileSink {
    /// Opens (creating, or keeping the bytes of an interrupted run when `resuming`) a file of
    /// `size` bytes, allocated up front so a full disk fails now rather than mid-download.
    pub fn create(path: &Path, size: u64, resuming: bool) -> std::io::Result<FileSink> {
        // O_NOFOLLOW: a symlink planted at the file is an error, never a write elsewhere.
        let buffered = crate::safe_fs::no_follow()
            .create(true)
            .read(true)
            .write(true)
            .truncate(!resuming)
            .open(path)?;
        allocate(&buffered, size)?;
        let direct = if size >= DIRECT_MIN_BYTES {
            std::fs::OpenOptions::new()
                .write(true)
                .custom_flags(libc::O_DIRECT | libc::O_NOFOLLOW)
                .open(path)
                .ok()
        } else {
            None
        };
        Ok(FileSink {
            on_network: on_network_filesystem(&buffered),
            buffered,
            direct_works: AtomicBool::new(direct.is_some()),
            direct,
        })
    }

    /// Whether a write waits on a server: a network or FUSE filesystem. There each write takes a
    /// round trip and the server takes many at once, so a download hands its writes to blocking
    /// threads and keeps one per request in flight. Elsewhere the task that filled a buffer writes
    /// it: handing over costs two thread wake-ups per 512 KiB, which on a 2-core machine cost more
    /// CPU than the writes (docs/benchmarks.md), and a block device is kept busy by one write per
    /// async worker (one per core, at least 8).
    pub fn waits_on_network(&self) -> bool {
        self.on_network
    }

    /// The file, for reading back and for fsync.
    pub fn file(&self) -> &File {
        &self.buffered
    }

    /// Writes `data` at `offset`: directly where it is aligned, the rest through the page cache.
    pub fn write_at(&self, data: &[u8], offset: u64) -> std::io::Result<()> {
        let aligned_len = data.len() / ALIGN * ALIGN;
        if let Some(direct) = &self.direct
            && aligned_len > 0
            && self.direct_works.load(Ordering::Relaxed)
            && offset.is_multiple_of(ALIGN as u64)
            && (data.as_ptr() as usize).is_multiple_of(ALIGN)
        {
            match direct.write_all_at(&data[..aligned_len], offset) {
                Ok(()) => {
                    return self.write_buffered(&data[aligned_len..], offset + aligned_len as u64);
                }
                // Opened with O_DIRECT but refused on write (some FUSE filesystems): stop trying.
                Err(error) if error.raw_os_error() == Some(libc::EINVAL) => {
                    self.direct_works.store(false, Ordering::Relaxed);
                }
                Err(error) => return Err(error),
            }
        }
        self.write_buffered(data, offset)
    }

    fn write_buffered(&self, data: &[u8], offset: u64) -> std::io::Result<()> {
        if data.is_empty() {
            return Ok(());
        }
        self.buffered.write_all_at(data, offset)?;
        start_writeback(&self.buffered, offset, data.len());
        Ok(())
    }
}

/// `statfs` magic numbers of filesystems whose writes go to a server: NFS, SMB/CIFS, FUSE (s3fs,
/// mountpoint-s3, gcsfuse, …), Ceph, AFS and 9P as the Linux kernel defines them (the names are
/// its own, from `include/uapi/linux/magic.h` or the filesystem's source), Lustre (FSx for Lustre)
/// from Lustre's `lustre_user.h`.
const NETWORK_FILESYSTEMS: [i64; 10] = [
    0x6969,     // NFS_SUPER_MAGIC
    0x517b,     // SMB_SUPER_MAGIC
    0xff534d42, // CIFS_SUPER_MAGIC
    0xfe534d42, // SMB2_SUPER_MAGIC
    0x65735546, // FUSE_SUPER_MAGIC
    0x00c36400, // CEPH_SUPER_MAGIC
    0x5346414f, // AFS_SUPER_MAGIC
    0x6b414653, // AFS_FS_MAGIC
    0x01021997, // V9FS_MAGIC
    0x0bd00bd0, // LL_SUPER_MAGIC (Lustre)
];

fn on_network_filesystem(file: &File) -> bool {
    use std::os::fd::AsRawFd;
    let mut stat = std::mem::MaybeUninit::<libc::statfs>::uninit();
    // SAFETY: fstatfs fills the struct it is given, on an open descriptor.
    if unsafe { libc::fstatfs(file.as_raw_fd(), stat.as_mut_ptr()) } != 0 {
        return false;
    }
    // SAFETY: fstatfs returned 0, so it filled the struct.
    let stat = unsafe { stat.assume_init() };
    // `f_type` is a signed long on some targets and an int on others; magic numbers are 32-bit.
    #[allow(clippy::unnecessary_cast)]
    let kind = stat.f_type as i64 & 0xffff_ffff;
    NETWORK_FILESYSTEMS.contains(&kind)
}

/// Reserves the blocks (`fallocate`); where the filesystem cannot, sets the length (sparse).
fn allocate(file: &File, size: u64) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    if size == 0 {
        return file.set_len(0);
    }
    // SAFETY: a plain syscall on an open descriptor.
    let status = unsafe { libc::fallocate(file.as_raw_fd(), 0, 0, size as libc::off_t) };
    if status == 0 {
        // fallocate never shrinks: a longer leftover from an earlier, different object is cut.
        return file.set_len(size);
    }
    let error = std::io::Error::last_os_error();
    match error.raw_os_error() {
        Some(libc::ENOSPC) | Some(libc::EDQUOT) => Err(error),
        _ => file.set_len(size),
    }
}

/// Asks the kernel to start writing these bytes to disk now, without waiting: the fsync before
/// the folder is published then finds little left to write, instead of the whole model at once.
fn start_writeback(file: &File, offset: u64, len: usize) {
    use std::os::fd::AsRawFd;
    // SAFETY: a plain syscall on an open descriptor; it reads no memory of ours. An error (a
    // filesystem without it) only means the fsync does all the work, as it would anyway.
    unsafe {
        libc::sync_file_range(
            file.as_raw_fd(),
            offset as libc::off64_t,
            len as libc::off64_t,
            libc::SYNC_FILE_RANGE_WRITE,
        );
    }
}

/// A page-aligned buffer of fixed capacity, filled from the network and written in one call.
pub struct AlignedBuffer {
    storage: Box<[u8]>,
    start: usize,
    capacity: usize,
    filled: usize,
}

impl AlignedBuffer {
    pub fn new(capacity: usize) -> AlignedBuffer {
        let storage = vec![0u8; capacity + ALIGN].into_boxed_slice();
        let start = storage.as_ptr().align_offset(ALIGN);
        AlignedBuffer {
            storage,
            start,
            capacity,
            filled: 0,
        }
    }

    /// The space not yet filled, for a read straight from the network; then `advance`.
    pub fn spare(&mut self) -> &mut [u8] {
        let at = self.start + self.filled;
        &mut self.storage[at..self.start + self.capacity]
    }

    /// Counts `n` more bytes as filled, after a read into `spare`.
    pub fn advance(&mut self, n: usize) {
        assert!(self.filled + n <= self.capacity, "advanced past the buffer");
        self.filled += n;
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    pub fn is_full(&self) -> bool {
        self.filled == self.capacity
    }

    pub fn bytes(&self) -> &[u8] {
        &self.storage[self.start..self.start + self.filled]
    }

    pub fn clear(&mut self) {
        self.filled = 0;
    }
}

/// Buffers of one size, reused rather than freed: peak memory then stays what is in use, not what
/// the allocator keeps after churning through a model.
pub struct BufferPool {
    buffer_size: usize,
    free: std::sync::Mutex<Vec<AlignedBuffer>>,
}

impl BufferPool {
    pub fn new(buffer_size: usize) -> BufferPool {
        BufferPool {
            buffer_size,
            free: std::sync::Mutex::new(Vec::new()),
        }
    }

    /// An empty buffer of `capacity` bytes.
    pub fn take(&self, capacity: usize) -> AlignedBuffer {
        if capacity == self.buffer_size
            && let Some(buffer) = self.free.lock().expect("pool lock").pop()
        {
            return buffer;
        }
        AlignedBuffer::new(capacity)
    }

    pub fn recycle(&self, mut buffer: AlignedBuffer) {
        if buffer.capacity() == self.buffer_size {
            buffer.clear();
            self.free.lock().expect("pool lock").push(buffer);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligned_and_unaligned_writes_read_back_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let size = DIRECT_MIN_BYTES + 1234;
        let sink = FileSink::create(&path, size, false).unwrap();
        let bytes: Vec<u8> = (0..size).map(|i| (i % 253) as u8).collect();
        let mut buffer = AlignedBuffer::new(1 << 20);
        let mut offset = 0u64;
        let mut rest = &bytes[..];
        while !rest.is_empty() {
            let spare = buffer.spare();
            let n = spare.len().min(rest.len());
            spare[..n].copy_from_slice(&rest[..n]);
            buffer.advance(n);
            rest = &rest[n..];
            if buffer.is_full() || rest.is_empty() {
                sink.write_at(buffer.bytes(), offset).unwrap();
                offset += buffer.bytes().len() as u64;
                buffer.clear();
            }
        }
        sink.file().sync_all().unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), bytes);
    }

    #[test]
    fn a_shorter_object_replaces_a_longer_leftover() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, vec![7u8; 10_000]).unwrap();
        let sink = FileSink::create(&path, 100, true).unwrap();
        sink.write_at(&[1u8; 100], 0).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), vec![1u8; 100]);
    }

    #[test]
    fn a_local_file_is_written_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let sink = FileSink::create(&dir.path().join("f"), 10, false).unwrap();
        assert!(
            !sink.waits_on_network(),
            "{} is local",
            dir.path().display()
        );
    }
}
