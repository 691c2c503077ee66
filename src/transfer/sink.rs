//! Where a downloaded file's bytes go. Large files are written with `O_DIRECT` from page-aligned
//! buffers: the bytes go from our buffer to the disk without being copied into the page cache,
//! which was as much of a promote's CPU as hashing them, and a 400 GiB model does not evict
//! everything else a production node keeps cached. A filesystem that refuses `O_DIRECT` (tmpfs,
//! some network and FUSE filesystems) gets ordinary writes, with writeback started as they go.

use std::fs::File;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

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
            buffered,
            direct_works: AtomicBool::new(direct.is_some()),
            direct,
        })
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

/// Whether a full buffer is written (and hashed) by the task that filled it, or handed to a
/// blocking thread. Handing over costs two thread wake-ups per buffer; on a 2-core machine the
/// wake-ups and context switches cost more CPU than the writes themselves (docs/benchmarks.md).
/// Writing in place blocks an async worker while the write lasts, and keeps at most one write per
/// worker (one per core) in flight. That is right while writes are quick: a machine with few cores
/// is short of CPU, not of writes in flight, and one with many has as many writes in flight. It is
/// wrong for a device that takes long per write (a throttled volume, NFS): the worker's other
/// connections go unread meanwhile. So writes start in place and, once their average time passes
/// [`SLOW_WRITE`], go to blocking threads for the rest of the download; they never come back.
#[derive(Default)]
pub struct WritePace {
    /// Exponentially weighted average of in-place write times, in nanoseconds.
    average_nanos: AtomicU64,
    handed_over: AtomicBool,
}

/// 512 KiB in 10 ms is ~50 MB/s per worker: a device that slow decides the pace, and the writes
/// in flight must be many. Below it, waits come from the CPU being shared (writes measured here on
/// a busy 2-core machine averaged 1–3 ms, with single ones up to 15 ms), not from the device, and
/// a connection's socket buffer (megabytes) holds what arrives while its worker writes.
pub const SLOW_WRITE: Duration = Duration::from_millis(10);

impl WritePace {
    /// Whether writes go to blocking threads from now on.
    pub fn hand_over(&self) -> bool {
        self.handed_over.load(Ordering::Relaxed)
    }

    /// Counts an in-place write that took `took`. Updates race harmlessly: the average is a
    /// hint, and the switch goes one way.
    pub fn record(&self, took: Duration) {
        let took = u64::try_from(took.as_nanos()).unwrap_or(u64::MAX);
        let before = self.average_nanos.load(Ordering::Relaxed);
        // Weight 1/8: one slow write (a journal commit) does not decide, a run of them does.
        let average = if before == 0 {
            took
        } else {
            before - before / 8 + took / 8
        };
        self.average_nanos.store(average, Ordering::Relaxed);
        if average > SLOW_WRITE.as_nanos() as u64 {
            self.handed_over.store(true, Ordering::Relaxed);
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
    fn writes_move_to_threads_after_a_run_of_slow_ones_not_one() {
        let pace = WritePace::default();
        let quick = SLOW_WRITE / 4;
        for _ in 0..20 {
            pace.record(quick);
        }
        pace.record(SLOW_WRITE * 3);
        assert!(!pace.hand_over(), "one slow write among quick ones");
        for _ in 0..20 {
            pace.record(SLOW_WRITE * 3);
        }
        assert!(pace.hand_over(), "a run of slow writes");
        for _ in 0..100 {
            pace.record(quick);
        }
        assert!(pace.hand_over(), "the switch goes one way");
    }
}
