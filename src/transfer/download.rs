//! The download engine behind `promote`: objects up to `part_size` in one GET, larger ones in
//! ranged GETs written at their offsets into a preallocated file (`sink`), files taken as a listing
//! yields them. At most `concurrency` requests are in flight, with at most two 512 KiB buffers
//! each, whatever the model size; response bodies are read straight into those buffers
//! (`object_get`). Each part is hashed by the task writing it, as it writes
//! (`digest`: BLAKE3 is a tree, so parts hash independently), so verifying costs no second read and
//! holds nothing back. A read that stalls longer than `stall_timeout` (reset on every byte) is
//! retried like a dropped connection, a 5xx or throttling, with backoff, from the first byte not
//! yet written. Completed parts are recorded beside the staging tree, so a re-run after an
//! interruption fetches only what is missing.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_s3::Client;

use super::digest::{DigestKind, FileDigest, PartDigest};
use super::object_get::{GetError, ObjectGetter};
use super::sink::{AlignedBuffer, BufferPool, FileSink};
use crate::progress::{FileProgress, Reporter};

/// One object to fetch.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RemoteFile {
    pub key: String,
    /// Path relative to the model folder, `/`-separated.
    pub relative: String,
    pub size: u64,
    pub etag: Option<String>,
    #[serde(skip)]
    pub local: PathBuf,
}

impl RemoteFile {
    /// The ETag when it is the object's MD5: a multipart upload's (`<md5 of md5s>-<parts>`) is not.
    pub fn single_part_etag(&self) -> Option<&str> {
        self.etag.as_deref().filter(|etag| !etag.contains('-'))
    }
}

#[derive(Debug, Clone, Copy)]
pub struct DownloadOptions {
    pub concurrency: usize,
    pub part_size: u64,
    pub stall_timeout: Duration,
    pub max_retries: u32,
    /// Hash each file while it downloads (see `digest`); `None` hashes nothing.
    pub digest: Option<DigestKind>,
}

impl Default for DownloadOptions {
    fn default() -> Self {
        DownloadOptions {
            // Each part hashes on its own, so requests in flight are what scales on a link whose
            // connections are capped like S3's (benches/promote.sh, shaped): 32 were 1.13x as
            // fast as 16 there, and as fast on loopback. A request costs ~1 MiB of RSS (its two
            // buffers; bodies are read into them, docs/benchmarks.md), 54 MiB at 32.
            concurrency: 32,
            part_size: 64 * 1024 * 1024,
            stall_timeout: Duration::from_secs(30),
            max_retries: 6,
            digest: None,
        }
    }
}

#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct DownloadSummary {
    /// Bytes fetched in this run.
    pub fetched_bytes: u64,
    /// Bytes already complete from an earlier, interrupted run.
    pub resumed_bytes: u64,
    pub retries: u64,
    /// Files fetched in this run and hashed on the way: relative path → hex digest.
    #[serde(skip)]
    pub digests: BTreeMap<String, String>,
}

#[derive(Debug, thiserror::Error)]
pub enum DownloadError {
    #[error("`{path}`: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("s3://{bucket}/{key} failed after {attempts} attempts: {reason}")]
    GaveUp {
        bucket: String,
        key: String,
        attempts: u32,
        reason: String,
    },
    #[error(
        "s3://{bucket}/{key} changed size while downloading ({got} bytes, listed as {expected})"
    )]
    SizeChanged {
        bucket: String,
        key: String,
        got: u64,
        expected: u64,
    },
}

/// Where resume state lives: one small file per object, outside the tree that gets published.
/// Its records are hints, written without fsync: every byte they let a later run skip is hashed
/// again from disk before anything is published, so a record lost or cut short by a crash costs
/// a refetch, never a wrong file. Synced, they cost ~0.5 ms each, two per small file, on the loop
/// that hands out requests (40 small files held the first large request back by ~15 ms).
pub struct ResumeState {
    dir: PathBuf,
}

impl ResumeState {
    pub fn new(dir: PathBuf) -> std::io::Result<ResumeState> {
        std::fs::create_dir_all(&dir)?;
        Ok(ResumeState { dir })
    }

    fn path(&self, file: &RemoteFile) -> PathBuf {
        let name = crate::layout::staging::sha256_hex(file.relative.as_bytes());
        self.dir.join(format!("{name}.parts"))
    }

    /// The identity line: a resumed file must be the same object (size and ETag).
    fn header(file: &RemoteFile, part_size: u64) -> String {
        format!(
            "{} {} {} {}",
            file.size,
            file.etag.as_deref().unwrap_or("-"),
            part_size,
            file.relative
        )
    }

    /// Parts already on disk, or `None` when the whole file is.
    fn done_parts(&self, file: &RemoteFile, part_size: u64) -> Option<BTreeSet<u64>> {
        let text = std::fs::read_to_string(self.path(file)).unwrap_or_default();
        let mut lines = text.lines();
        if lines.next() != Some(Self::header(file, part_size).as_str()) || !file.local.exists() {
            return Some(BTreeSet::new());
        }
        let mut parts = BTreeSet::new();
        for line in lines {
            if line == "complete" {
                return None;
            }
            if let Ok(part) = line.parse() {
                parts.insert(part);
            }
        }
        Some(parts)
    }

    fn start(&self, file: &RemoteFile, part_size: u64, keep: bool) -> std::io::Result<()> {
        if !keep {
            let header = Self::header(file, part_size) + "\n";
            crate::safe_fs::write_new_unsynced(&self.path(file), header.as_bytes())?;
        }
        Ok(())
    }

    fn record(&self, file: &RemoteFile, line: &str) -> std::io::Result<()> {
        let mut state = crate::safe_fs::no_follow()
            .append(true)
            .open(self.path(file))?;
        writeln!(state, "{line}")
    }

    /// Forgets a file so the next fetch starts it over (after a checksum mismatch).
    pub fn forget(&self, file: &RemoteFile) {
        let _ = std::fs::remove_file(self.path(file));
    }
}

/// Fetches every file not already complete. Returns early with the first error that survives its
/// retries; what completed stays recorded for the next run.
pub async fn download_all(
    client: &Client,
    bucket: &str,
    files: &[RemoteFile],
    state: &ResumeState,
    options: DownloadOptions,
    reporter: &Arc<dyn Reporter>,
) -> Result<DownloadSummary, DownloadError> {
    let (sender, incoming) = tokio::sync::mpsc::channel(files.len().max(1));
    for file in files {
        sender
            .try_send(file.clone())
            .expect("the channel holds every file");
    }
    drop(sender);
    let expected = (files.iter().map(|f| f.size).sum(), files.len());
    download_stream(client, bucket, incoming, expected, state, options, reporter).await
}

/// Like `download_all`, with files arriving as a listing finds them: downloads start with the
/// first page and go on until the sender is dropped. `expected` (bytes, files) sizes the progress.
pub async fn download_stream(
    client: &Client,
    bucket: &str,
    mut incoming: tokio::sync::mpsc::Receiver<RemoteFile>,
    expected: (u64, usize),
    state: &ResumeState,
    options: DownloadOptions,
    reporter: &Arc<dyn Reporter>,
) -> Result<DownloadSummary, DownloadError> {
    let part_size = options.part_size.max(1);
    let mut summary = DownloadSummary::default();
    reporter.start("downloading", expected.0, expected.1);
    let mut listing_open = true;
    let mut arrived = VecDeque::new();

    // Parts go out round-robin over a window of open files, so small files are not starved
    // behind a large one and each large file's parts spread over its length.
    let width = options.concurrency.max(1);
    let noter = reporter.clone();
    let getter = Arc::new(ObjectGetter::new(
        client,
        Box::new(move |message: &str| noter.note(message)),
    ));
    let pool = Arc::new(BufferPool::new(WRITE_BUFFER));
    let semaphore = Arc::new(tokio::sync::Semaphore::new(width));
    let mut window: VecDeque<(Arc<OpenFile>, FileJob)> = VecDeque::new();
    let mut tasks = tokio::task::JoinSet::new();
    loop {
        while window.len() < width && (listing_open || !arrived.is_empty()) {
            let next = match arrived.pop_front() {
                Some(file) => Ok(file),
                None => incoming.try_recv(),
            };
            let file = match next {
                Ok(file) => file,
                Err(tokio::sync::mpsc::error::TryRecvError::Empty) => break,
                Err(tokio::sync::mpsc::error::TryRecvError::Disconnected) => {
                    listing_open = false;
                    break;
                }
            };
            let Some(job) = job_for(file, state, part_size, reporter.as_ref(), &mut summary) else {
                continue;
            };
            let open = Arc::new(open_file(
                &job,
                part_size,
                &pool,
                state,
                options,
                reporter.as_ref(),
            )?);
            if job.parts.is_empty() {
                // Every part landed in an earlier run that stopped before recording the file done.
                let digest = finish_file(&open, &job.file).await?;
                record_complete(state, &job.file, &open, digest, &mut summary)?;
            } else {
                window.push_back((open, job));
            }
        }
        let Some((open, mut job)) = window.pop_front() else {
            if !listing_open {
                break;
            }
            // Everything listed so far is in flight: wait for the listing (or its end).
            match incoming.recv().await {
                Some(file) => arrived.push_back(file),
                None => listing_open = false,
            }
            drain_finished(&mut tasks, state, &mut summary, false).await?;
            continue;
        };
        let part = job
            .parts
            .pop_front()
            .expect("jobs in the window have parts");
        let file = job.file.clone();
        if !job.parts.is_empty() {
            window.push_back((open.clone(), job));
        }
        let permit = semaphore
            .clone()
            .acquire_owned()
            .await
            .expect("semaphore is never closed");
        let task = PartTask {
            getter: getter.clone(),
            bucket: bucket.to_string(),
            file,
            open,
            part,
            part_size,
            options,
            reporter: reporter.clone(),
        };
        tasks.spawn(task.run(permit));
        drain_finished(&mut tasks, state, &mut summary, false).await?;
    }
    drain_finished(&mut tasks, state, &mut summary, true).await?;
    reporter.finish();
    Ok(summary)
}

/// A file the listing sent: what is left of it to fetch, or nothing when an earlier run completed
/// it (counted as resumed).
fn job_for(
    file: RemoteFile,
    state: &ResumeState,
    part_size: u64,
    reporter: &dyn Reporter,
    summary: &mut DownloadSummary,
) -> Option<FileJob> {
    let Some(done) = state.done_parts(&file, part_size) else {
        summary.resumed_bytes += file.size;
        let progress = reporter.file(&file.relative, file.size);
        progress.resumed(file.size);
        progress.done();
        return None;
    };
    summary.resumed_bytes += done
        .iter()
        .map(|p| part_len(file.size, part_size, *p))
        .sum::<u64>();
    Some(FileJob {
        parts: (0..file.size.div_ceil(part_size).max(1))
            .filter(|p| !done.contains(p))
            .collect(),
        file,
        done,
    })
}

/// One part in flight, owning what its task needs.
struct PartTask {
    getter: Arc<ObjectGetter>,
    bucket: String,
    file: RemoteFile,
    open: Arc<OpenFile>,
    part: u64,
    part_size: u64,
    options: DownloadOptions,
    reporter: Arc<dyn Reporter>,
}

impl PartTask {
    /// Fetches the part; the task that lands a file's last part also finishes the file.
    async fn run(self, permit: tokio::sync::OwnedSemaphorePermit) -> PartOutcome {
        let target = PartTarget {
            file: &self.file,
            open: &self.open,
            part: self.part,
            part_size: self.part_size,
        };
        let result = fetch_part(
            &self.getter,
            &self.bucket,
            target,
            self.options,
            self.reporter.as_ref(),
        )
        .await;
        drop(permit);
        let last = result.is_ok() && self.open.remaining.fetch_sub(1, Ordering::SeqCst) == 1;
        let finished = if last {
            Some(finish_file(&self.open, &self.file).await)
        } else {
            None
        };
        PartOutcome {
            file: self.file,
            part: self.part,
            result,
            finished,
            open: self.open,
        }
    }
}

/// A file still to fetch: its missing parts, and those an earlier run completed.
struct FileJob {
    file: RemoteFile,
    parts: VecDeque<u64>,
    done: BTreeSet<u64>,
}

/// A file being written, shared by the tasks fetching its parts.
struct OpenFile {
    pool: Arc<BufferPool>,
    sink: FileSink,
    path: PathBuf,
    progress: Box<dyn FileProgress>,
    remaining: AtomicU64,
    digest: Option<FileDigest>,
    /// Parts an earlier run completed (start, end): hashed from disk when the file finishes.
    on_disk: Vec<(u64, u64)>,
}

fn open_file(
    job: &FileJob,
    part_size: u64,
    pool: &Arc<BufferPool>,
    state: &ResumeState,
    options: DownloadOptions,
    reporter: &dyn Reporter,
) -> Result<OpenFile, DownloadError> {
    let file = &job.file;
    let io_error = |path: &Path| {
        let path = path.to_path_buf();
        move |source| DownloadError::Io { path, source }
    };
    if let Some(dir) = file.local.parent() {
        std::fs::create_dir_all(dir).map_err(io_error(dir))?;
    }
    let resuming = !job.done.is_empty();
    // Full size up front, so parts land at their offsets in any order.
    let sink = FileSink::create(&file.local, file.size, resuming).map_err(io_error(&file.local))?;
    state
        .start(file, part_size, resuming)
        .map_err(io_error(&state.dir))?;
    let digest = options
        .digest
        .filter(|kind| useful_digest(*kind, file))
        .map(|kind| FileDigest::new(kind, file.size, part_size));
    let on_disk = job
        .done
        .iter()
        .map(|p| {
            (
                p * part_size,
                p * part_size + part_len(file.size, part_size, *p),
            )
        })
        .collect();
    let progress = reporter.file(&file.relative, file.size);
    // Parts from an earlier run count as done in the progress, as whole files do.
    progress.resumed(
        job.done
            .iter()
            .map(|p| part_len(file.size, part_size, *p))
            .sum(),
    );
    Ok(OpenFile {
        pool: pool.clone(),
        sink,
        path: file.local.clone(),
        progress,
        remaining: AtomicU64::new(job.parts.len() as u64),
        digest,
        on_disk,
    })
}

/// An MD5 only says something against a single-part ETag (a multipart one is not the file's MD5).
fn useful_digest(kind: DigestKind, file: &RemoteFile) -> bool {
    match kind {
        DigestKind::Blake3 | DigestKind::Sha256 => true,
        DigestKind::Md5 => file.single_part_etag().is_some(),
    }
}

/// The last part is in: flush the file to disk and take its digest (reading back what this run
/// did not hash), off the async workers.
async fn finish_file(
    open: &Arc<OpenFile>,
    file: &RemoteFile,
) -> Result<Option<String>, DownloadError> {
    let open = open.clone();
    tokio::task::spawn_blocking(move || {
        let out = open.sink.file();
        out.sync_all()?;
        match &open.digest {
            None => Ok(None),
            Some(digest) => digest.finish(out, &open.on_disk),
        }
    })
    .await
    .expect("fsync and hashing do not panic")
    .map_err(|source| DownloadError::Io {
        path: file.local.clone(),
        source,
    })
}

struct PartOutcome {
    file: RemoteFile,
    part: u64,
    result: Result<(u64, u64), DownloadError>,
    /// For the file's last part: the fsync's outcome and the file's digest.
    finished: Option<Result<Option<String>, DownloadError>>,
    open: Arc<OpenFile>,
}

/// Records finished parts; with `all`, waits for every task.
async fn drain_finished(
    tasks: &mut tokio::task::JoinSet<PartOutcome>,
    state: &ResumeState,
    summary: &mut DownloadSummary,
    all: bool,
) -> Result<(), DownloadError> {
    loop {
        let next = if all {
            tasks.join_next().await
        } else {
            tasks.try_join_next()
        };
        let Some(joined) = next else { return Ok(()) };
        let outcome = joined.expect("download tasks do not panic");
        let (bytes, retries) = outcome.result?;
        summary.fetched_bytes += bytes;
        summary.retries += retries;
        match outcome.finished {
            Some(finished) => {
                let digest = finished?;
                record_complete(state, &outcome.file, &outcome.open, digest, summary)?;
            }
            None => state
                .record(&outcome.file, &outcome.part.to_string())
                .map_err(|source| DownloadError::Io {
                    path: state.dir.clone(),
                    source,
                })?,
        }
    }
}

fn record_complete(
    state: &ResumeState,
    file: &RemoteFile,
    open: &OpenFile,
    digest: Option<String>,
    summary: &mut DownloadSummary,
) -> Result<(), DownloadError> {
    state
        .record(file, "complete")
        .map_err(|source| DownloadError::Io {
            path: state.dir.clone(),
            source,
        })?;
    open.progress.done();
    if let Some(digest) = digest {
        summary.digests.insert(file.relative.clone(), digest);
    }
    Ok(())
}

fn part_len(size: u64, part_size: u64, part: u64) -> u64 {
    let start = part * part_size;
    (size.saturating_sub(start)).min(part_size)
}

/// Which bytes a part task fetches, and the file they go to.
struct PartTarget<'a> {
    file: &'a RemoteFile,
    open: &'a Arc<OpenFile>,
    part: u64,
    part_size: u64,
}

/// One part, retried until it lands or the retries are spent; a retry asks only for the bytes not
/// yet written. Returns (bytes, retries).
async fn fetch_part(
    getter: &ObjectGetter,
    bucket: &str,
    target: PartTarget<'_>,
    options: DownloadOptions,
    reporter: &dyn Reporter,
) -> Result<(u64, u64), DownloadError> {
    let PartTarget {
        file,
        open,
        part,
        part_size,
    } = target;
    let start = part * part_size;
    let len = part_len(file.size, part_size, part);
    let whole_object = start == 0 && len == file.size;
    let hash: PartHash = open
        .digest
        .as_ref()
        .map(|digest| Arc::new(Mutex::new(digest.part(start, start + len))));
    let mut written_to = start;
    let mut attempt = 0u32;
    loop {
        let outcome = fetch_once(
            getter,
            bucket,
            (file, open, &hash),
            (written_to, start + len),
            whole_object && written_to == 0,
            options.stall_timeout,
            &mut written_to,
        )
        .await;
        match outcome {
            Ok(()) => {
                // Every write (and so every update) has landed: the part's hash is ours alone.
                if let (Some(digest), Some(hash)) = (&open.digest, hash)
                    && let Ok(part) = Arc::try_unwrap(hash)
                {
                    digest.add(part.into_inner().expect("part digest lock"));
                }
                return Ok((len, attempt as u64));
            }
            Err(Attempt::Fatal(error)) => return Err(error),
            Err(Attempt::Retry(reason)) => {
                // The failed attempt's unwritten bytes stay counted in the progress; a retry is rare.
                attempt += 1;
                if attempt > options.max_retries {
                    return Err(DownloadError::GaveUp {
                        bucket: bucket.into(),
                        key: file.key.clone(),
                        attempts: attempt,
                        reason,
                    });
                }
                let delay = Duration::from_millis(200 * 2u64.pow(attempt.min(6) - 1))
                    .min(Duration::from_secs(10));
                reporter.note(&format!(
                    "{} bytes {written_to}..{}: {reason}; retry {attempt} of {} in {:.1} s",
                    crate::text::printable(&file.relative),
                    start + len,
                    options.max_retries,
                    delay.as_secs_f64()
                ));
                tokio::time::sleep(delay).await;
            }
        }
    }
}

enum Attempt {
    Retry(String),
    Fatal(DownloadError),
}

/// 512 KiB writes keep `O_DIRECT` at the disk's speed. A request holds one buffer, and a second
/// while a write handed to a blocking thread is in flight: 32 requests' buffers stay under 32 MiB.
const WRITE_BUFFER: usize = 512 * 1024;

/// A part's hasher, shared with the write in flight (one at a time, so bytes go in in order).
type PartHash = Option<Arc<Mutex<PartDigest>>>;

/// One GET of `range` (end exclusive), or of the whole object. Bytes go into aligned buffers; a
/// full one is written and hashed (in place, or on a blocking thread while the next fills).
/// `written_to` follows the bytes written, so a retry continues from there.
async fn fetch_once(
    getter: &ObjectGetter,
    bucket: &str,
    (file, open, hash): (&RemoteFile, &Arc<OpenFile>, &PartHash),
    (from, to): (u64, u64),
    whole_object: bool,
    stall_timeout: Duration,
    written_to: &mut u64,
) -> Result<(), Attempt> {
    let range = (!whole_object).then_some((from, to));
    let no_response = || Attempt::Retry(format!("no response in {} s", stall_timeout.as_secs()));
    let mut body = tokio::time::timeout(stall_timeout, open_body(getter, bucket, &file.key, range))
        .await
        .map_err(|_| no_response())??;
    let len = to - from;
    if let Body::Own(own) = &body
        && own.content_length() != len
    {
        return Err(Attempt::Fatal(DownloadError::SizeChanged {
            bucket: bucket.into(),
            key: file.key.clone(),
            got: own.content_length(),
            expected: len,
        }));
    }
    let capacity = WRITE_BUFFER.min(len as usize).max(1);
    let mut buffer = open.pool.take(capacity);
    let mut writing: Option<WriteTask> = None;
    let mut received = 0u64;
    let streamed = loop {
        let want = buffer.spare().len().min((len - received) as usize);
        if want == 0 {
            break match tokio::time::timeout(stall_timeout, body.finish(bucket, &file.key, len))
                .await
            {
                Ok(finished) => finished,
                // Every byte is in; only the end of the body is late.
                Err(_) => Ok(()),
            };
        }
        let n =
            match tokio::time::timeout(stall_timeout, body.read_into(&mut buffer.spare()[..want]))
                .await
            {
                Err(_) => {
                    break Err(Attempt::Retry(format!(
                        "stalled: no byte for {} s",
                        stall_timeout.as_secs()
                    )));
                }
                Ok(Err(error)) => {
                    break Err(Attempt::Retry(format!("connection dropped: {error}")));
                }
                Ok(Ok(0)) => break Ok(()),
                Ok(Ok(n)) => n,
            };
        buffer.advance(n);
        received += n as u64;
        open.progress.advance(n as u64);
        if buffer.is_full() {
            // One write in flight per part, so its bytes reach the part's hash in order.
            if let Some(previous) = writing.take() {
                settle(previous).await?;
            }
            let full = std::mem::replace(&mut buffer, open.pool.take(capacity));
            writing = Some(write(open, hash, full, *written_to));
            *written_to += capacity as u64;
        }
    };
    // The write in flight lands before anything else, so `written_to` is true for a retry.
    if let Some(previous) = writing.take() {
        settle(previous).await?;
    }
    streamed?;
    if received != len {
        return Err(Attempt::Retry(format!(
            "connection closed after {received} of {len} bytes"
        )));
    }
    let last = buffer.bytes().len() as u64;
    settle(write(open, hash, buffer, *written_to)).await?;
    *written_to += last;
    Ok(())
}

/// A response body, from our own connection or from the SDK's client.
enum Body {
    Own(super::object_get::Body),
    Sdk {
        stream: aws_sdk_s3::primitives::ByteStream,
        /// What is left of the last chunk.
        pending: bytes::Bytes,
    },
}

/// Sends the GET through our connections, or through the SDK where they do not apply.
async fn open_body(
    getter: &ObjectGetter,
    bucket: &str,
    key: &str,
    range: Option<(u64, u64)>,
) -> Result<Body, Attempt> {
    if getter.unsupported().is_none() {
        match getter.get(bucket, key, range).await {
            Ok(body) => return Ok(Body::Own(body)),
            Err(GetError::Transient(reason)) => return Err(Attempt::Retry(reason)),
            Err(GetError::Refused(reason)) => {
                return Err(Attempt::Fatal(DownloadError::GaveUp {
                    bucket: bucket.into(),
                    key: key.into(),
                    attempts: 1,
                    reason,
                }));
            }
            Err(GetError::Unsupported(why)) => getter.give_up(why),
        }
    }
    let mut request = getter.client().get_object().bucket(bucket).key(key);
    if let Some((from, to)) = range {
        request = request.range(format!("bytes={from}-{}", to - 1));
    }
    let response = request
        .send()
        .await
        .map_err(|error| classify(bucket, key, error))?;
    Ok(Body::Sdk {
        stream: response.body,
        pending: bytes::Bytes::new(),
    })
}

impl Body {
    /// Bytes into `out`; 0 at the end.
    async fn read_into(&mut self, out: &mut [u8]) -> Result<usize, String> {
        match self {
            Body::Own(body) => body.read_into(out).await.map_err(|error| error.to_string()),
            Body::Sdk { stream, pending } => {
                while pending.is_empty() {
                    match stream.next().await {
                        None => return Ok(0),
                        Some(Err(error)) => return Err(error.to_string()),
                        Some(Ok(chunk)) => *pending = chunk,
                    }
                }
                let n = out.len().min(pending.len());
                out[..n].copy_from_slice(&pending.split_to(n));
                Ok(n)
            }
        }
    }

    /// All `len` bytes are in: anything more means the object changed under us.
    async fn finish(&mut self, bucket: &str, key: &str, len: u64) -> Result<(), Attempt> {
        let mut extra = [0u8; 1];
        match self {
            // Our reads stop at Content-Length, which was checked against `len`.
            Body::Own(_) => Ok(()),
            Body::Sdk { .. } => match self.read_into(&mut extra).await {
                Ok(0) | Err(_) => Ok(()),
                // At least one byte more; how many more does not matter.
                Ok(_) => Err(Attempt::Fatal(DownloadError::SizeChanged {
                    bucket: bucket.into(),
                    key: key.into(),
                    got: len + 1,
                    expected: len,
                })),
            },
        }
    }
}

/// A write handed to a blocking thread, or one already done in place.
enum WriteTask {
    Handed(tokio::task::JoinHandle<Result<(), Attempt>>),
    Done(Result<(), Attempt>),
}

/// Writes a full buffer at `offset` and hashes it, by the task that filled it or, where writes
/// wait on a server, on a blocking thread (see [`FileSink::waits_on_network`]). Either way the
/// buffer goes back to the pool once written, so a request holds a second buffer only while a
/// handed-over write is in flight.
fn write(open: &Arc<OpenFile>, hash: &PartHash, buffer: AlignedBuffer, offset: u64) -> WriteTask {
    write_either_way(open, hash, buffer, offset, open.sink.waits_on_network())
}

fn write_either_way(
    open: &Arc<OpenFile>,
    hash: &PartHash,
    buffer: AlignedBuffer,
    offset: u64,
    hand_over: bool,
) -> WriteTask {
    if hand_over {
        let (open, hash) = (open.clone(), hash.clone());
        WriteTask::Handed(tokio::task::spawn_blocking(move || {
            write_and_hash(&open, &hash, buffer, offset)
        }))
    } else {
        WriteTask::Done(write_and_hash(open, hash, buffer, offset))
    }
}

fn write_and_hash(
    open: &OpenFile,
    hash: &PartHash,
    buffer: AlignedBuffer,
    offset: u64,
) -> Result<(), Attempt> {
    open.sink
        .write_at(buffer.bytes(), offset)
        .map_err(|source| {
            Attempt::Fatal(DownloadError::Io {
                path: open.path.clone(),
                source,
            })
        })?;
    if let Some(hash) = hash {
        hash.lock()
            .expect("part digest lock")
            .update(buffer.bytes());
    }
    open.pool.recycle(buffer);
    Ok(())
}

/// Waits for a write to land.
async fn settle(write: WriteTask) -> Result<(), Attempt> {
    match write {
        WriteTask::Handed(task) => task.await.expect("writes do not panic"),
        WriteTask::Done(written) => written,
    }
}

/// Transient (throttling, 5xx, network) or not (missing key, access denied).
fn classify<E>(
    bucket: &str,
    key: &str,
    error: aws_sdk_s3::error::SdkError<E, aws_sdk_s3::config::http::HttpResponse>,
) -> Attempt
where
    E: aws_sdk_s3::error::ProvideErrorMetadata + std::error::Error + 'static,
{
    use aws_sdk_s3::error::SdkError;
    let text = describe_sdk_error(&error);
    match &error {
        SdkError::ServiceError(service) => {
            let code = service.err().code().unwrap_or_default();
            let status = service.raw().status().as_u16();
            if super::object_get::worth_retrying(status, code) {
                Attempt::Retry(text)
            } else {
                Attempt::Fatal(DownloadError::GaveUp {
                    bucket: bucket.into(),
                    key: key.into(),
                    attempts: 1,
                    reason: text,
                })
            }
        }
        _ => Attempt::Retry(text),
    }
}

/// An SDK error with its code and message, and the cause chain (the SDK's Display is terse).
pub fn describe_sdk_error<E>(
    error: &aws_sdk_s3::error::SdkError<E, aws_sdk_s3::config::http::HttpResponse>,
) -> String
where
    E: aws_sdk_s3::error::ProvideErrorMetadata + std::error::Error + 'static,
{
    use aws_sdk_s3::error::SdkError;
    match error {
        SdkError::ServiceError(service) => {
            let err = service.err();
            match (err.code(), err.message()) {
                (Some(code), message) => format!("{} ({code})", message.unwrap_or("no message")),
                // An answer the SDK could not parse (a non-AWS server): its status and body say more.
                (None, _) => format!(
                    "HTTP {}: {}",
                    service.raw().status().as_u16(),
                    crate::text::excerpt(
                        &String::from_utf8_lossy(service.raw().body().bytes().unwrap_or_default()),
                        300
                    )
                ),
            }
        }
        other => {
            let mut text = other.to_string();
            let mut source = std::error::Error::source(other);
            while let Some(cause) = source {
                text = format!("{text}: {cause}");
                source = cause.source();
            }
            text
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file written through `write` in whole buffers and a short last one, in place or handed to
    /// blocking threads: the same bytes at the same offsets, and the part's BLAKE3 is the file's.
    async fn write_through(hand_over: bool) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let size = 3 * WRITE_BUFFER as u64 + 123;
        let bytes: Vec<u8> = (0..size).map(|i| (i * 7 % 251) as u8).collect();
        let pool = Arc::new(BufferPool::new(WRITE_BUFFER));
        let digest = FileDigest::new(DigestKind::Blake3, size, size);
        let shared = Arc::new(Mutex::new(digest.part(0, size)));
        let part: PartHash = Some(shared.clone());
        let open = Arc::new(OpenFile {
            pool: pool.clone(),
            sink: FileSink::create(&path, size, false).unwrap(),
            path: path.clone(),
            progress: crate::progress::Silent::quiet().file("f", size),
            remaining: AtomicU64::new(1),
            digest: None,
            on_disk: Vec::new(),
        });
        let mut offset = 0u64;
        for chunk in bytes.chunks(WRITE_BUFFER) {
            let mut buffer = pool.take(WRITE_BUFFER.min(chunk.len()));
            buffer.spare()[..chunk.len()].copy_from_slice(chunk);
            buffer.advance(chunk.len());
            let task = write_either_way(&open, &part, buffer, offset, hand_over);
            assert_eq!(matches!(task, WriteTask::Handed(_)), hand_over);
            assert!(settle(task).await.is_ok());
            offset += chunk.len() as u64;
        }
        open.sink.file().sync_all().unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), bytes);
        drop(part);
        digest.add(Arc::into_inner(shared).unwrap().into_inner().unwrap());
        let file = std::fs::File::open(&path).unwrap();
        assert_eq!(
            digest.finish(&file, &[]).unwrap().unwrap(),
            blake3::hash(&bytes).to_hex().to_string()
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn writes_in_place_land_and_hash_whole() {
        write_through(false).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn writes_handed_to_threads_land_and_hash_whole() {
        write_through(true).await;
    }
}
