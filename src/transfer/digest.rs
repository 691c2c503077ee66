//! A file's digest computed while its parts download. Parts arrive out of order from several
//! tasks, and a hash only takes bytes in order: the writer whose bytes start where the hash stands
//! hashes them while they are still in memory; bytes written ahead of that point are remembered
//! as ranges and read back (from the page cache) once the hash reaches them. Hashing this way
//! overlaps the download instead of re-reading the whole model after it, which was half of
//! promote's time.

use std::collections::BTreeMap;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::sync::Mutex;

use md5::Md5;
use sha2::{Digest, Sha256};

/// Which digest a promote checks: sha256 against the manifest, or MD5 against a single-part ETag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DigestKind {
    Sha256,
    Md5,
}

enum Hasher {
    Sha256(Sha256),
    Md5(Md5),
}

impl Hasher {
    fn update(&mut self, data: &[u8]) {
        match self {
            Hasher::Sha256(h) => h.update(data),
            Hasher::Md5(h) => h.update(data),
        }
    }

    fn finish(self) -> String {
        match self {
            Hasher::Sha256(h) => hex::encode(h.finalize()),
            Hasher::Md5(h) => hex::encode(h.finalize()),
        }
    }
}

/// Where the hash stands. Only the task holding `busy` hashes; the others leave their ranges in
/// `waiting` for it, so no byte is hashed twice or skipped.
struct Front {
    next: u64,
    busy: bool,
    /// Written but not yet hashed: start → end, adjacent ranges merged.
    waiting: BTreeMap<u64, u64>,
    /// A read-back failed: the digest is unknown (the caller re-reads the file instead).
    broken: bool,
}

pub struct OrderedDigest {
    file: File,
    front: Mutex<Front>,
    hasher: Mutex<Option<Hasher>>,
}

impl OrderedDigest {
    /// `already_written`: ranges on disk from an earlier, interrupted run; they are hashed as soon
    /// as the hash reaches them, the first one here if it starts the file.
    pub fn new(
        kind: DigestKind,
        file: File,
        already_written: impl IntoIterator<Item = (u64, u64)>,
    ) -> OrderedDigest {
        let hasher = match kind {
            DigestKind::Sha256 => Hasher::Sha256(Sha256::new()),
            DigestKind::Md5 => Hasher::Md5(Md5::new()),
        };
        let digest = OrderedDigest {
            file,
            front: Mutex::new(Front {
                next: 0,
                busy: false,
                waiting: BTreeMap::new(),
                broken: false,
            }),
            hasher: Mutex::new(Some(hasher)),
        };
        {
            let mut front = digest.front.lock().expect("digest lock");
            for (start, end) in already_written {
                Self::remember(&mut front, start, end);
            }
        }
        digest.written(0, &[]);
        digest
    }

    fn remember(front: &mut Front, start: u64, end: u64) {
        if start == end {
            return;
        }
        let mut merged = (start, end);
        if let Some((&s, &e)) = front.waiting.range(..start).next_back()
            && e == start
        {
            merged.0 = s;
        }
        if let Some(after_end) = front.waiting.remove(&end) {
            merged.1 = after_end;
        }
        front.waiting.insert(merged.0, merged.1);
    }

    /// `data` has just been written at `start`. Hashes it now if the hash stands at `start`, and
    /// then whatever waits right behind it; otherwise leaves the range for whoever gets there.
    pub fn written(&self, start: u64, data: &[u8]) {
        {
            let mut front = self.front.lock().expect("digest lock");
            if front.busy || front.next != start {
                // Under the same lock as the owner's last look at `waiting`: never stranded.
                Self::remember(&mut front, start, start + data.len() as u64);
                return;
            }
            front.busy = true;
        }
        let mut hasher = self.hasher.lock().expect("digest lock");
        let Some(h) = hasher.as_mut() else { return };
        h.update(data);
        let mut next = start + data.len() as u64;
        loop {
            let (from, to) = {
                let mut front = self.front.lock().expect("digest lock");
                front.next = next;
                match front.waiting.remove(&next) {
                    Some(end) => (next, end),
                    None => {
                        front.busy = false;
                        return;
                    }
                }
            };
            // Bytes that landed ahead of the hash: read them back, off the async workers.
            if off_the_runtime(|| read_into(&self.file, from, to, h)).is_err() {
                // Stay busy: nothing more is hashed, and `finish` reports the digest unknown.
                self.front.lock().expect("digest lock").broken = true;
                return;
            }
            next = to;
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
    use std::sync::Arc;

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

    #[test]
    fn any_order_of_chunks_gives_the_whole_file_digest() {
        let bytes = data(10_000);
        let (_tmp, file) = file_with(&bytes);
        // Chunk boundaries and an order that puts most bytes ahead of the hash.
        let cuts = [0, 100, 1000, 1001, 4096, 7000, 9999, 10_000];
        let chunks: Vec<(usize, usize)> = cuts.windows(2).map(|w| (w[0], w[1])).collect();
        for order in [
            vec![0, 1, 2, 3, 4, 5, 6],
            vec![6, 5, 4, 3, 2, 1, 0],
            vec![3, 0, 6, 1, 5, 2, 4],
            vec![1, 3, 5, 0, 2, 4, 6],
        ] {
            let digest = OrderedDigest::new(DigestKind::Sha256, file.try_clone().unwrap(), []);
            for i in &order {
                let (s, e) = chunks[*i];
                digest.written(s as u64, &bytes[s..e]);
            }
            assert_eq!(
                digest.finish(bytes.len() as u64),
                Some(expected(&bytes)),
                "{order:?}"
            );
        }
    }

    #[test]
    fn ranges_from_an_earlier_run_are_read_back() {
        let bytes = data(5000);
        let (_tmp, file) = file_with(&bytes);
        let digest = OrderedDigest::new(DigestKind::Sha256, file, [(0, 1000), (3000, 5000)]);
        digest.written(1000, &bytes[1000..3000]);
        assert_eq!(digest.finish(5000), Some(expected(&bytes)));
    }

    #[test]
    fn a_missing_range_leaves_the_digest_unknown() {
        let bytes = data(3000);
        let (_tmp, file) = file_with(&bytes);
        let digest = OrderedDigest::new(DigestKind::Md5, file, []);
        digest.written(0, &bytes[..1000]);
        digest.written(2000, &bytes[2000..]);
        assert_eq!(digest.finish(3000), None);
    }

    #[test]
    fn tasks_on_threads_agree_with_a_plain_hash() {
        let bytes = Arc::new(data(1 << 20));
        let (_tmp, file) = file_with(&bytes);
        let digest = Arc::new(OrderedDigest::new(DigestKind::Sha256, file, []));
        std::thread::scope(|scope| {
            for t in 0..4 {
                let (digest, bytes) = (digest.clone(), bytes.clone());
                scope.spawn(move || {
                    // Thread t owns chunks t, t+4, …, of 4 KiB, written in descending order.
                    let chunk = 4096;
                    let mut mine: Vec<usize> = (t..bytes.len() / chunk).step_by(4).collect();
                    mine.reverse();
                    for c in mine {
                        let s = c * chunk;
                        digest.written(s as u64, &bytes[s..s + chunk]);
                    }
                });
            }
        });
        assert_eq!(digest.finish(1 << 20), Some(expected(&bytes)));
    }
}
