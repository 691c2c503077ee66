//! A file's digest computed while its parts download. Parts arrive out of order from several
//! tasks, and a hash only takes bytes in order: the writer whose bytes start where the hash stands
//! hashes them while they are still in memory; a writer further along keeps its buffers (within
//! the pool's lookahead budget) until the hash reaches them. When the budget is spent it waits, or,
//! where the CPU has room (see `cpu`), leaves its bytes on disk to be read back (`spill`); parts an
//! earlier, interrupted run left on disk are read back too. Hashing this way overlaps the download
//! instead of re-reading the whole model after it, which was half of promote's time.

use std::collections::BTreeMap;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::sync::{Arc, Mutex};

use md5::Md5;
use sha2::{Digest, Sha256};

use super::sink::AlignedBuffer;

/// Which digest a promote checks: BLAKE3 (or, in older manifests, sha256) against the manifest,
/// or MD5 against a single-part ETag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DigestKind {
    Blake3,
    Sha256,
    Md5,
}

enum Hasher {
    // Boxed: BLAKE3's hasher is ~2 KB, the others a few hundred bytes.
    Blake3(Box<blake3::Hasher>),
    Sha256(Sha256),
    Md5(Md5),
}

impl Hasher {
    fn update(&mut self, data: &[u8]) {
        match self {
            Hasher::Blake3(h) => {
                h.update(data);
            }
            Hasher::Sha256(h) => h.update(data),
            Hasher::Md5(h) => h.update(data),
        }
    }

    fn finish(self) -> String {
        match self {
            Hasher::Blake3(h) => h.finalize().to_hex().to_string(),
            Hasher::Sha256(h) => hex::encode(h.finalize()),
            Hasher::Md5(h) => hex::encode(h.finalize()),
        }
    }
}

impl DigestKind {
    fn hasher(self) -> Hasher {
        match self {
            DigestKind::Blake3 => Hasher::Blake3(Box::new(blake3::Hasher::new())),
            DigestKind::Sha256 => Hasher::Sha256(Sha256::new()),
            DigestKind::Md5 => Hasher::Md5(Md5::new()),
        }
    }
}

/// The hex digest of a whole file, read once (a copy completed before this run, or checked later).
pub fn digest_file(path: &std::path::Path, kind: DigestKind) -> std::io::Result<String> {
    let file = File::open(path)?;
    let size = file.metadata()?.len();
    let mut hasher = kind.hasher();
    read_into(&file, 0, size, &mut hasher)?;
    Ok(hasher.finish())
}

/// The download's aligned buffers. Reused rather than freed (peak memory then stays what is in
/// use, not what the allocator keeps after churning through a model), and a budget for those held
/// ahead of the hashes of all files together: a writer past the point where its file's hash stands
/// keeps its buffer in memory rather than having it read back from disk later; when the budget is
/// spent it waits (which paces it to the hash, and the download to the CPU) or spills.
pub struct BufferPool {
    buffer_size: usize,
    free: Mutex<Vec<AlignedBuffer>>,
    held: Mutex<usize>,
    limit: usize,
    /// Signalled whenever bytes are hashed: a waiting writer may now fit, or be at the front.
    progressed: tokio::sync::Notify,
}

impl BufferPool {
    /// Buffers of `buffer_size` bytes are reused; `lookahead` bytes may wait for hashes.
    pub fn new(buffer_size: usize, lookahead: usize) -> BufferPool {
        BufferPool {
            buffer_size,
            free: Mutex::new(Vec::new()),
            held: Mutex::new(0),
            limit: lookahead,
            progressed: tokio::sync::Notify::new(),
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

    fn try_hold(&self, bytes: usize) -> bool {
        let mut held = self.held.lock().expect("pool lock");
        if *held + bytes > self.limit {
            return false;
        }
        *held += bytes;
        true
    }

    fn release(&self, buffer: AlignedBuffer) {
        *self.held.lock().expect("pool lock") -= buffer.bytes().len();
        self.recycle(buffer);
    }
}

/// What became of an offered buffer.
pub enum Offer {
    /// Hashed now (it was at the front): the buffer is free again.
    Hashed(AlignedBuffer),
    /// Kept in memory until the hash reaches it.
    Kept,
    /// Ahead of the hash, and the pool's lookahead budget is spent: offer it again after `progressed`.
    Wait(AlignedBuffer),
}

/// Bytes waiting for the hash: in memory, or on disk from an earlier run.
enum Pending {
    InMemory(AlignedBuffer),
    OnDisk { end: u64 },
}

/// Where the hash stands. Only the task holding `busy` hashes; the others leave their bytes in
/// `waiting` for it, so no byte is hashed twice or skipped.
struct Front {
    next: u64,
    busy: bool,
    waiting: BTreeMap<u64, Pending>,
    /// A read-back failed: the digest is unknown (the caller re-reads the file instead).
    broken: bool,
}

pub struct OrderedDigest {
    file: File,
    front: Mutex<Front>,
    hasher: Mutex<Option<Hasher>>,
    pool: Arc<BufferPool>,
}

impl OrderedDigest {
    /// `file` is read for `already_written`: ranges on disk from an earlier, interrupted run,
    /// hashed when the hash reaches them (the first one here, if it starts the file).
    pub fn new(
        kind: DigestKind,
        file: File,
        already_written: impl IntoIterator<Item = (u64, u64)>,
        pool: Arc<BufferPool>,
    ) -> OrderedDigest {
        let hasher = kind.hasher();
        let waiting = already_written
            .into_iter()
            .filter(|(start, end)| end > start)
            .map(|(start, end)| (start, Pending::OnDisk { end }))
            .collect();
        let digest = OrderedDigest {
            file,
            front: Mutex::new(Front {
                next: 0,
                busy: false,
                waiting,
                broken: false,
            }),
            hasher: Mutex::new(Some(hasher)),
            pool,
        };
        if let Some(mut hasher) = digest.claim_front(0) {
            digest.hash_waiting(&mut hasher, 0);
        }
        digest
    }

    /// `buffer` holds the bytes written at `start`. Hashes them now if the hash stands at
    /// `start` (and then whatever waits right behind them); else keeps them for whoever gets
    /// there, budget permitting.
    pub fn offer(&self, start: u64, buffer: AlignedBuffer) -> Offer {
        if buffer.bytes().is_empty() {
            // Nothing to hash; kept, it would sit at a start the hash passes without looking.
            return Offer::Hashed(buffer);
        }
        let Some(mut hasher) = self.claim_front(start) else {
            let mut front = self.front.lock().expect("digest lock");
            // Checked again under the lock the owner releases `busy` under: never stranded.
            if front.next != start || front.busy {
                if !self.pool.try_hold(buffer.bytes().len()) {
                    return Offer::Wait(buffer);
                }
                front.waiting.insert(start, Pending::InMemory(buffer));
                return Offer::Kept;
            }
            drop(front);
            return self.offer(start, buffer);
        };
        if let Some(h) = hasher.as_mut() {
            h.update(buffer.bytes());
        }
        self.hash_waiting(&mut hasher, start + buffer.bytes().len() as u64);
        Offer::Hashed(buffer)
    }

    /// For a buffer told to wait when waiting is not worth it (the CPU has room to read back): its
    /// bytes, already written, are left on disk and read back when the hash reaches them. Returns
    /// the buffer, free again, unless the offer made now finds room to keep it.
    pub fn spill(&self, start: u64, buffer: AlignedBuffer) -> Option<AlignedBuffer> {
        let buffer = match self.offer(start, buffer) {
            Offer::Hashed(buffer) => return Some(buffer),
            Offer::Kept => return None,
            Offer::Wait(buffer) => buffer,
        };
        let mut front = self.front.lock().expect("digest lock");
        if front.next == start && !front.busy {
            // The hash got here meanwhile: hash it now rather than read it back.
            drop(front);
            return self.spill(start, buffer);
        }
        let end = start + buffer.bytes().len() as u64;
        front.waiting.insert(start, Pending::OnDisk { end });
        Some(buffer)
    }

    /// Completes when an offer that got `Wait` may go differently; take it before offering again,
    /// so a change in between is not missed.
    pub fn progressed(&self) -> tokio::sync::futures::Notified<'_> {
        self.pool.progressed.notified()
    }

    /// The hasher, if the hash stands at `start` and nobody else is hashing.
    fn claim_front(&self, start: u64) -> Option<std::sync::MutexGuard<'_, Option<Hasher>>> {
        let mut front = self.front.lock().expect("digest lock");
        if front.busy || front.next != start {
            return None;
        }
        front.busy = true;
        drop(front);
        Some(self.hasher.lock().expect("digest lock"))
    }

    /// Hashes, from `next` on, every range already waiting, then lets go of the front.
    fn hash_waiting(&self, hasher: &mut Option<Hasher>, mut next: u64) {
        loop {
            let pending = {
                let mut front = self.front.lock().expect("digest lock");
                front.next = next;
                match front.waiting.remove(&next) {
                    Some(pending) => pending,
                    None => {
                        front.busy = false;
                        drop(front);
                        self.pool.progressed.notify_waiters();
                        return;
                    }
                }
            };
            let Some(h) = hasher.as_mut() else { return };
            match pending {
                Pending::InMemory(buffer) => {
                    h.update(buffer.bytes());
                    next += buffer.bytes().len() as u64;
                    self.pool.release(buffer);
                }
                Pending::OnDisk { end } => {
                    if off_the_runtime(|| read_into(&self.file, next, end, h)).is_err() {
                        // Stay busy: nothing more is hashed, and `finish` says the digest is unknown.
                        self.front.lock().expect("digest lock").broken = true;
                        self.pool.progressed.notify_waiters();
                        return;
                    }
                    next = end;
                }
            }
        }
    }

    /// The hex digest, once every byte of a `size`-byte file went through it in order; `None` when
    /// some did not (a part failed, a read-back failed).
    pub fn finish(&self, size: u64) -> Option<String> {
        let front = self.front.lock().expect("digest lock");
        if front.broken || front.busy || front.next != size || !front.waiting.is_empty() {
            return None;
        }
        drop(front);
        self.hasher
            .lock()
            .expect("digest lock")
            .take()
            .map(Hasher::finish)
    }
}

impl Drop for OrderedDigest {
    /// A download that stopped early leaves buffers waiting: give their budget back.
    fn drop(&mut self) {
        let front = self.front.get_mut().expect("digest lock");
        for (_, pending) in std::mem::take(&mut front.waiting) {
            if let Pending::InMemory(buffer) = pending {
                self.pool.release(buffer);
            }
        }
        self.pool.progressed.notify_waiters();
    }
}

fn read_into(file: &File, from: u64, to: u64, hasher: &mut Hasher) -> std::io::Result<()> {
    let mut buffer = vec![0u8; (to - from).min(4 * 1024 * 1024) as usize];
    let mut offset = from;
    while offset < to {
        let want = ((to - offset) as usize).min(buffer.len());
        file.read_exact_at(&mut buffer[..want], offset)?;
        hasher.update(&buffer[..want]);
        offset += want as u64;
    }
    Ok(())
}

/// Runs blocking work without starving the async workers: on a multi-threaded runtime the worker
/// hands its other tasks to another thread meanwhile.
pub fn off_the_runtime<T>(work: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(handle) if handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(work)
        }
        _ => work(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn data(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 7 % 251) as u8).collect()
    }

    fn file_with(bytes: &[u8]) -> (tempfile::NamedTempFile, File) {
        let mut tmp = tempfile::NamedTempFile::new().unwrap();
        tmp.write_all(bytes).unwrap();
        let file = File::open(tmp.path()).unwrap();
        (tmp, file)
    }

    fn expected(bytes: &[u8]) -> String {
        hex::encode(Sha256::digest(bytes))
    }

    fn buffer(bytes: &[u8]) -> AlignedBuffer {
        let mut buffer = AlignedBuffer::new(bytes.len().max(1));
        assert_eq!(buffer.fill_from(bytes), bytes.len());
        buffer
    }

    /// Offers every chunk in `order`; a chunk told to wait is offered again after the others.
    fn offer_all(digest: &OrderedDigest, bytes: &[u8], chunks: &[(usize, usize)], order: &[usize]) {
        let mut queue: std::collections::VecDeque<usize> = order.iter().copied().collect();
        let mut waits = 0;
        while let Some(i) = queue.pop_front() {
            let (s, e) = chunks[i];
            if let Offer::Wait(_) = digest.offer(s as u64, buffer(&bytes[s..e])) {
                queue.push_back(i);
                waits += 1;
                assert!(waits < 1000, "offers never settle");
            }
        }
    }

    #[test]
    fn any_order_of_chunks_gives_the_whole_file_digest() {
        let bytes = data(10_000);
        let (_tmp, file) = file_with(&bytes);
        let cuts = [0, 100, 1000, 1001, 4096, 7000, 9999, 10_000];
        let chunks: Vec<(usize, usize)> = cuts.windows(2).map(|w| (w[0], w[1])).collect();
        for limit in [usize::MAX, 3000, 0] {
            for order in [
                vec![0, 1, 2, 3, 4, 5, 6],
                vec![6, 5, 4, 3, 2, 1, 0],
                vec![3, 0, 6, 1, 5, 2, 4],
                vec![1, 3, 5, 0, 2, 4, 6],
            ] {
                let pool = Arc::new(BufferPool::new(1, limit));
                let digest = OrderedDigest::new(
                    DigestKind::Sha256,
                    file.try_clone().unwrap(),
                    [],
                    pool.clone(),
                );
                offer_all(&digest, &bytes, &chunks, &order);
                assert_eq!(
                    digest.finish(bytes.len() as u64),
                    Some(expected(&bytes)),
                    "{order:?} with {limit} bytes of lookahead"
                );
                assert_eq!(*pool.held.lock().unwrap(), 0, "budget given back");
            }
        }
    }

    #[test]
    fn a_spent_budget_says_wait_and_the_front_never_waits() {
        let bytes = data(300);
        let (_tmp, file) = file_with(&bytes);
        let digest = OrderedDigest::new(
            DigestKind::Sha256,
            file,
            [],
            Arc::new(BufferPool::new(1, 100)),
        );
        assert!(matches!(
            digest.offer(100, buffer(&bytes[100..200])),
            Offer::Kept
        ));
        assert!(matches!(
            digest.offer(200, buffer(&bytes[200..])),
            Offer::Wait(_)
        ));
        assert!(matches!(
            digest.offer(0, buffer(&bytes[..100])),
            Offer::Hashed(_)
        ));
        assert!(matches!(
            digest.offer(200, buffer(&bytes[200..])),
            Offer::Hashed(_)
        ));
        assert_eq!(digest.finish(300), Some(expected(&bytes)));
    }

    #[test]
    fn spilled_bytes_are_read_back_when_the_hash_reaches_them() {
        let bytes = data(300);
        let (_tmp, file) = file_with(&bytes);
        let digest = OrderedDigest::new(
            DigestKind::Sha256,
            file,
            [],
            Arc::new(BufferPool::new(1, 0)),
        );
        // Nothing may wait in memory: the two later chunks are left on disk.
        assert!(digest.spill(200, buffer(&bytes[200..])).is_some());
        assert!(digest.spill(100, buffer(&bytes[100..200])).is_some());
        assert!(matches!(
            digest.offer(0, buffer(&bytes[..100])),
            Offer::Hashed(_)
        ));
        assert_eq!(digest.finish(300), Some(expected(&bytes)));
        // At the front, a spill is simply hashed.
        let (_tmp, file) = file_with(&bytes);
        let digest = OrderedDigest::new(
            DigestKind::Sha256,
            file,
            [],
            Arc::new(BufferPool::new(1, 0)),
        );
        assert!(digest.spill(0, buffer(&bytes[..300])).is_some());
        assert_eq!(digest.finish(300), Some(expected(&bytes)));
    }

    #[test]
    fn an_empty_buffer_ahead_of_the_hash_is_not_left_waiting() {
        let bytes = data(200);
        let (_tmp, file) = file_with(&bytes);
        let digest = OrderedDigest::new(
            DigestKind::Sha256,
            file,
            [],
            Arc::new(BufferPool::new(1, 1000)),
        );
        // The empty tail of a part that ended on a buffer boundary, offered at the next part's start.
        assert!(matches!(digest.offer(100, buffer(&[])), Offer::Hashed(_)));
        digest.offer(100, buffer(&bytes[100..]));
        digest.offer(0, buffer(&bytes[..100]));
        assert_eq!(digest.finish(200), Some(expected(&bytes)));
    }

    #[test]
    fn ranges_from_an_earlier_run_are_read_back() {
        let bytes = data(5000);
        let (_tmp, file) = file_with(&bytes);
        let digest = OrderedDigest::new(
            DigestKind::Sha256,
            file,
            [(0, 1000), (3000, 5000)],
            Arc::new(BufferPool::new(1, 0)),
        );
        assert!(matches!(
            digest.offer(1000, buffer(&bytes[1000..3000])),
            Offer::Hashed(_)
        ));
        assert_eq!(digest.finish(5000), Some(expected(&bytes)));
    }

    #[test]
    fn a_missing_range_leaves_the_digest_unknown() {
        let bytes = data(3000);
        let (_tmp, file) = file_with(&bytes);
        let digest = OrderedDigest::new(
            DigestKind::Md5,
            file,
            [],
            Arc::new(BufferPool::new(1, 1 << 20)),
        );
        digest.offer(0, buffer(&bytes[..1000]));
        digest.offer(2000, buffer(&bytes[2000..]));
        assert_eq!(digest.finish(3000), None);
    }

    #[test]
    fn tasks_on_threads_agree_with_a_plain_hash() {
        let bytes = Arc::new(data(1 << 20));
        let (_tmp, file) = file_with(&bytes);
        let pool = Arc::new(BufferPool::new(1, 64 * 1024));
        let digest = Arc::new(OrderedDigest::new(DigestKind::Sha256, file, [], pool));
        std::thread::scope(|scope| {
            for t in 0..4 {
                let (digest, bytes) = (digest.clone(), bytes.clone());
                scope.spawn(move || {
                    // Thread t owns chunks t, t+4, … of 4 KiB, offered in order, retried on Wait.
                    let chunk = 4096;
                    for c in (t..bytes.len() / chunk).step_by(4) {
                        let s = c * chunk;
                        while let Offer::Wait(_) =
                            digest.offer(s as u64, buffer(&bytes[s..s + chunk]))
                        {
                            std::thread::yield_now();
                        }
                    }
                });
            }
        });
        assert_eq!(digest.finish(1 << 20), Some(expected(&bytes)));
    }
}

#[cfg(test)]
mod runtime_tests {
    use super::off_the_runtime;

    /// Read-backs run from async workers and from blocking-pool threads (the background writes).
    #[test]
    fn blocking_work_runs_from_workers_and_from_the_blocking_pool() {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .unwrap();
        runtime.block_on(async {
            assert_eq!(off_the_runtime(|| 1), 1);
            let from_pool = tokio::task::spawn_blocking(|| off_the_runtime(|| 2));
            assert_eq!(from_pool.await.unwrap(), 2);
            let from_task = tokio::spawn(async { off_the_runtime(|| 3) });
            assert_eq!(from_task.await.unwrap(), 3);
        });
        assert_eq!(off_the_runtime(|| 4), 4);
    }
}
