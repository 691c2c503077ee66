//! A file's digest computed while its parts download, in any order, without holding bytes back.
//!
//! BLAKE3 is a tree hash: the file is cut into 1 KiB chunks, and the root hash is built from the
//! chaining values of subtrees whose shape is fixed by the file's size alone (BLAKE3 paper, §2.1;
//! the `blake3::hazmat` API). Each part covers a run of whole subtrees of that tree, so the task
//! writing a part hashes its own bytes, in order, as it writes them, whatever the other parts do;
//! when the last part lands, the subtrees' chaining values are merged up to the root, which equals
//! `blake3::hash` of the whole file. No byte waits in memory for another part and none is read
//! back, so hashing scales with the parts in flight instead of being one sequential stream.
//!
//! sha256 and MD5 (older manifests, single-part ETags) are sequential: a one-part file is hashed
//! as it is written; a larger one is read back once when it is complete.

use std::collections::BTreeMap;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::sync::Mutex;

use blake3::hazmat::{ChainingValue, HasherExt, Mode, left_subtree_len};
use md5::Md5;
use sha2::{Digest, Sha256};

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
    read_into(&file, 0, size, |bytes| hasher.update(bytes))?;
    Ok(hasher.finish())
}

/// BLAKE3's leaf size: parts must start on a multiple of it to be hashed on their own.
const CHUNK_LEN: u64 = blake3::CHUNK_LEN as u64;

/// What a part's bytes contribute: a subtree's chaining value, or the file's digest when the part
/// is the whole file.
enum Piece {
    Subtree { len: u64, value: ChainingValue },
    Whole(String),
}

/// The digest of one `size`-byte file, put together from its parts as they complete.
pub struct FileDigest {
    kind: DigestKind,
    size: u64,
    /// BLAKE3 with parts on chunk boundaries: each part hashes its own subtrees.
    tree: bool,
    /// By start offset.
    pieces: Mutex<BTreeMap<u64, Piece>>,
}

impl FileDigest {
    /// For a file fetched in parts of `part_size` bytes.
    pub fn new(kind: DigestKind, size: u64, part_size: u64) -> FileDigest {
        FileDigest {
            kind,
            size,
            tree: kind == DigestKind::Blake3 && part_size.is_multiple_of(CHUNK_LEN),
            pieces: Mutex::new(BTreeMap::new()),
        }
    }

    /// A hasher for the part `start..end` (part boundaries: multiples of the part size, and the
    /// file's end), to be fed its bytes in order. A part that cannot be hashed on its own (one of
    /// several parts under a sequential digest) hashes nothing, and `finish` reads the file back.
    pub fn part(&self, start: u64, end: u64) -> PartDigest {
        let state = if self.tree {
            let mut subtrees = Vec::new();
            subtrees_within((0, self.size), (start, end), &mut subtrees);
            subtrees.reverse();
            PartState::Tree {
                hasher: None,
                subtrees,
                done: Vec::new(),
            }
        } else if start == 0 && end == self.size {
            PartState::Whole(self.kind.hasher())
        } else {
            PartState::Skip
        };
        PartDigest {
            size: self.size,
            state,
        }
    }

    /// Takes what a part hashed, once all its bytes went through it.
    pub fn add(&self, part: PartDigest) {
        let mut pieces = self.pieces.lock().expect("digest lock");
        for (start, piece) in part.finish() {
            pieces.insert(start, piece);
        }
    }

    /// The file's hex digest once every part is in. `on_disk` are the ranges an earlier run left
    /// complete: they are read back from `file` and hashed, as is the whole file when its parts
    /// could not be hashed on their own. `None` when a range was never hashed.
    pub fn finish(&self, file: &File, on_disk: &[(u64, u64)]) -> std::io::Result<Option<String>> {
        if self.tree {
            for &(start, end) in on_disk {
                let mut part = self.part(start, end);
                read_into(file, start, end, |bytes| part.update(bytes))?;
                self.add(part);
            }
        }
        let pieces = self.pieces.lock().expect("digest lock");
        if let Some(Piece::Whole(digest)) = pieces.get(&0) {
            return Ok(Some(digest.clone()));
        }
        if self.tree {
            return Ok(root_digest(&pieces, self.size));
        }
        let mut hasher = self.kind.hasher();
        read_into(file, 0, self.size, |bytes| hasher.update(bytes))?;
        Ok(Some(hasher.finish()))
    }
}

/// The largest subtrees of the file's tree (`node` is `(start, len)`) lying wholly in `start..end`,
/// in file order. Part boundaries are chunk boundaries, so no chunk straddles one.
fn subtrees_within(node: (u64, u64), (start, end): (u64, u64), out: &mut Vec<(u64, u64)>) {
    let (at, len) = node;
    if at >= end || at + len <= start || len == 0 {
        return;
    }
    if start <= at && at + len <= end {
        out.push(node);
        return;
    }
    if len <= CHUNK_LEN {
        return; // a chunk cut by the part: left out, so the digest comes out unknown, not wrong
    }
    let left = left_subtree_len(len);
    subtrees_within((at, left), (start, end), out);
    subtrees_within((at + left, len - left), (start, end), out);
}

/// The root hash from subtree chaining values, merging down from the whole file's tree.
fn root_digest(pieces: &BTreeMap<u64, Piece>, size: u64) -> Option<String> {
    if size == 0 {
        return Some(blake3::hash(b"").to_hex().to_string());
    }
    if size <= CHUNK_LEN {
        return None; // a one-chunk file is one part, and that part finished as `Whole`
    }
    let left = left_subtree_len(size);
    let root = blake3::hazmat::merge_subtrees_root(
        &subtree_value(pieces, 0, left)?,
        &subtree_value(pieces, left, size - left)?,
        Mode::Hash,
    );
    Some(root.to_hex().to_string())
}

fn subtree_value(pieces: &BTreeMap<u64, Piece>, at: u64, len: u64) -> Option<ChainingValue> {
    if let Some(Piece::Subtree { len: got, value }) = pieces.get(&at)
        && *got == len
    {
        return Some(*value);
    }
    if len <= CHUNK_LEN {
        return None;
    }
    let left = left_subtree_len(len);
    Some(blake3::hazmat::merge_subtrees_non_root(
        &subtree_value(pieces, at, left)?,
        &subtree_value(pieces, at + left, len - left)?,
        Mode::Hash,
    ))
}

/// Hashes one part's bytes as they are written, in order.
pub struct PartDigest {
    size: u64,
    state: PartState,
}

enum PartState {
    /// BLAKE3: the subtrees still to hash (next one last), the one being hashed, those done.
    Tree {
        // Boxed: BLAKE3's hasher is ~2 KB.
        hasher: Option<(u64, u64, Box<blake3::Hasher>)>,
        subtrees: Vec<(u64, u64)>,
        done: Vec<(u64, Piece)>,
    },
    /// A sequential digest of a file that is this one part.
    Whole(Hasher),
    Skip,
}

impl PartDigest {
    pub fn update(&mut self, bytes: &[u8]) {
        match &mut self.state {
            PartState::Skip => {}
            PartState::Whole(hasher) => hasher.update(bytes),
            PartState::Tree {
                hasher,
                subtrees,
                done,
            } => {
                let mut rest = bytes;
                while !rest.is_empty() {
                    let (at, len, current) = match hasher {
                        Some(current) => current,
                        None => {
                            // Bytes past the part's end cannot arrive: the download refuses an
                            // answer longer than the range it asked for.
                            let Some((at, len)) = subtrees.pop() else {
                                return;
                            };
                            let mut fresh = Box::new(blake3::Hasher::new());
                            fresh.set_input_offset(at);
                            hasher.insert((at, len, fresh))
                        }
                    };
                    let take = ((*len - current.count()) as usize).min(rest.len());
                    current.update(&rest[..take]);
                    rest = &rest[take..];
                    if current.count() == *len {
                        done.push((*at, subtree_piece(*at, *len, current, self.size)));
                        *hasher = None;
                    }
                }
            }
        }
    }

    fn finish(self) -> Vec<(u64, Piece)> {
        match self.state {
            PartState::Skip => Vec::new(),
            PartState::Whole(hasher) => vec![(0, Piece::Whole(hasher.finish()))],
            // Subtrees not completed are left out: the root cannot be built without them.
            PartState::Tree { done, .. } => done,
        }
    }
}

/// A finished subtree: the root itself when it spans the file.
fn subtree_piece(at: u64, len: u64, hasher: &blake3::Hasher, size: u64) -> Piece {
    if at == 0 && len == size {
        Piece::Whole(hasher.finalize().to_hex().to_string())
    } else {
        Piece::Subtree {
            len,
            value: hasher.finalize_non_root(),
        }
    }
}

fn read_into(file: &File, from: u64, to: u64, mut hash: impl FnMut(&[u8])) -> std::io::Result<()> {
    let mut buffer = vec![0u8; (to - from).min(4 * 1024 * 1024) as usize];
    let mut offset = from;
    while offset < to {
        let want = ((to - offset) as usize).min(buffer.len());
        file.read_exact_at(&mut buffer[..want], offset)?;
        hash(&buffer[..want]);
        offset += want as u64;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::io::Write;

    fn data(len: usize, seed: u8) -> Vec<u8> {
        (0..len).map(|i| (i * 7 % 251) as u8 ^ seed).collect()
    }

    fn expected(kind: DigestKind, bytes: &[u8]) -> String {
        match kind {
            DigestKind::Blake3 => blake3::hash(bytes).to_hex().to_string(),
            DigestKind::Sha256 => hex::encode(Sha256::digest(bytes)),
            DigestKind::Md5 => hex::encode(Md5::digest(bytes)),
        }
    }

    fn file_with(bytes: &[u8]) -> tempfile::NamedTempFile {
        let mut tmp = tempfile::NamedTempFile::new().unwrap();
        tmp.write_all(bytes).unwrap();
        tmp.flush().unwrap();
        tmp
    }

    /// Hashes `bytes` the way a download does: parts of `part_size` in `order`, each fed in
    /// slices of `slice` bytes, those in `resumed` left to `finish` to read back from disk.
    fn digest_in_parts(
        kind: DigestKind,
        bytes: &[u8],
        part_size: usize,
        order: &[usize],
        slice: usize,
        resumed: &[usize],
    ) -> Option<String> {
        let size = bytes.len();
        let digest = FileDigest::new(kind, size as u64, part_size as u64);
        let parts = size.div_ceil(part_size).max(1);
        let range = |p: usize| (p * part_size, ((p + 1) * part_size).min(size));
        for &p in order.iter().filter(|p| **p < parts && !resumed.contains(p)) {
            let (start, end) = range(p);
            let mut part = digest.part(start as u64, end as u64);
            for piece in bytes[start..end].chunks(slice.max(1)) {
                part.update(piece);
            }
            digest.add(part);
        }
        let on_disk: Vec<(u64, u64)> = resumed
            .iter()
            .filter(|p| **p < parts)
            .map(|p| range(*p))
            .map(|(s, e)| (s as u64, e as u64))
            .collect();
        let tmp = file_with(bytes);
        digest.finish(tmp.as_file(), &on_disk).unwrap()
    }

    /// A file size, a part size (on or off 1 KiB chunk boundaries: off them, the digest reads the
    /// file back), and every part of the file in a random order.
    fn file_and_part_order() -> impl Strategy<Value = (usize, usize, Vec<usize>)> {
        let size = prop_oneof![0usize..4096, 0usize..300_000];
        let part_size = (1usize..40, any::<bool>())
            .prop_map(|(chunks, odd)| chunks * 1024 + usize::from(odd) * 100);
        (size, part_size).prop_flat_map(|(size, part_size)| {
            let parts: Vec<usize> = (0..size.div_ceil(part_size).max(1)).collect();
            (Just(size), Just(part_size), Just(parts).prop_shuffle())
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        /// Any size, any part size, parts in any order and resumed from disk: the digest of the
        /// whole file, as `blake3::hash` (and sha256, MD5) compute it in one pass.
        #[test]
        fn parts_in_any_order_give_the_one_pass_digest(
            (size, part_size, order) in file_and_part_order(),
            seed in any::<u8>(),
            slice in 1usize..70_000,
            resumed_mask in any::<u32>(),
            kind in prop_oneof![Just(DigestKind::Blake3), Just(DigestKind::Sha256), Just(DigestKind::Md5)],
        ) {
            let bytes = data(size, seed);
            let resumed: Vec<usize> = order.iter().copied().filter(|p| resumed_mask >> (p % 32) & 1 == 1).collect();
            let got = digest_in_parts(kind, &bytes, part_size, &order, slice, &resumed);
            prop_assert_eq!(got, Some(expected(kind, &bytes)));
        }
    }

    #[test]
    fn a_part_never_added_leaves_the_digest_unknown() {
        let bytes = data(10 * 1024 + 7, 3);
        let order = [0, 1, 3, 4, 5, 6, 7, 8, 9, 10]; // part 2 missing
        assert_eq!(
            digest_in_parts(DigestKind::Blake3, &bytes, 1024, &order, 500, &[]),
            None
        );
    }

    #[test]
    fn a_part_cut_short_leaves_the_digest_unknown() {
        let bytes = data(8 * 1024, 9);
        let digest = FileDigest::new(DigestKind::Blake3, bytes.len() as u64, 4096);
        let mut first = digest.part(0, 4096);
        first.update(&bytes[..3000]);
        digest.add(first);
        let mut second = digest.part(4096, 8192);
        second.update(&bytes[4096..]);
        digest.add(second);
        let tmp = file_with(&bytes);
        assert_eq!(digest.finish(tmp.as_file(), &[]).unwrap(), None);
    }

    #[test]
    fn model_sized_shapes_split_at_the_tree_boundaries() {
        // 64 MiB parts of a 2 GiB + 5 byte file, scaled down 1:16384 in chunks: 4 KiB parts.
        let bytes = data(131_072 + 5 * 1024 + 5, 1);
        for part_size in [4096, 3 * 1024, 65_536, 131_072] {
            let parts = bytes.len().div_ceil(part_size);
            let order: Vec<usize> = (0..parts).rev().collect();
            let got = digest_in_parts(DigestKind::Blake3, &bytes, part_size, &order, 4096, &[]);
            assert_eq!(
                got,
                Some(expected(DigestKind::Blake3, &bytes)),
                "part size {part_size}"
            );
        }
    }

    #[test]
    fn digest_file_reads_the_whole_file() {
        let bytes = data(9_000_000, 5);
        let tmp = file_with(&bytes);
        for kind in [DigestKind::Blake3, DigestKind::Sha256, DigestKind::Md5] {
            assert_eq!(
                digest_file(tmp.path(), kind).unwrap(),
                expected(kind, &bytes)
            );
        }
    }
}
