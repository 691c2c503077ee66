//! The fault matrix (issue #11): one published model promoted into one prod root again and again,
//! each run through another fault (503 SlowDown, dropped and stalled bodies, kill -9 and SIGTERM at
//! several points, the web-identity token file deleted), some runs replacing an older copy, while a
//! poller thread looks at the live folder every few milliseconds for the whole matrix. The folder
//! must only ever be absent, the older copy, or byte for byte the registered model: never anything
//! in between.

use std::collections::BTreeMap;
use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::{
    Published, json_of, most_parts_recorded, partial_downloads, published_copies,
    register_published, stack,
};
use crate::common::assert_same_tree;
use crate::fault_proxy::{Fault, FaultProxy};

/// The promote's part size, and so the parts of the 2 MiB shard of [`super::model_folder`].
const PART_SIZE: &str = "64KiB";
const SHARD_PARTS: usize = 2 * 1024 * 1024 / (64 * 1024);

/// A tree read by a walk of the test's own: relative path → (is a regular file, its bytes). Two
/// trees are equal when they are byte for byte the same.
type Tree = BTreeMap<String, (bool, Vec<u8>)>;

fn tree_of(root: &Path) -> Tree {
    try_tree_of(root).unwrap_or_else(|e| panic!("{}: {e}", root.display()))
}

fn try_tree_of(root: &Path) -> std::io::Result<Tree> {
    fn walk(dir: &Path, prefix: &str, out: &mut Tree) -> std::io::Result<()> {
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            let relative = format!("{prefix}{}", entry.file_name().to_string_lossy());
            let kind = entry.file_type()?;
            if kind.is_dir() {
                walk(&entry.path(), &format!("{relative}/"), out)?;
            } else {
                out.insert(relative, (kind.is_file(), std::fs::read(entry.path())?));
            }
        }
        Ok(())
    }
    let mut out = Tree::new();
    walk(root, "", &mut out)?;
    Ok(out)
}

/// What the live folder was at one look.
#[derive(Clone, Debug, PartialEq, Eq)]
enum State {
    Absent,
    /// One of the whole trees the test knows, by name.
    Whole(&'static str),
    /// Anything else, described.
    Partial(String),
}

/// One entry in a [`Signature`]: path, size, mtime (seconds, nanoseconds) and inode.
type Stat = (String, u64, i64, i64, u64);

/// The cheap part of a look: the folder's inode, then every entry's [`Stat`].
type Signature = (u64, Vec<Stat>);

/// Looks at `target` once. The folder is opened once and read through that descriptor
/// (`/proc/self/fd/N/...`), so one look sees one folder; a look during which `target` was swapped
/// for another folder is `None` (the folder read may be the old copy being deleted after the swap,
/// which nobody can open by the live path any more). The files are read only when the signature
/// differs from `last`'s (then compared byte for byte with the known trees).
fn look(
    target: &Path,
    known: &[(&'static str, Tree)],
    last: &Option<(Signature, State)>,
) -> Option<(Signature, State)> {
    let folder = match std::fs::File::open(target) {
        Ok(folder) => folder,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Some(((0, Vec::new()), State::Absent));
        }
        Err(e) => return Some(((0, Vec::new()), State::Partial(format!("open: {e}")))),
    };
    let through = PathBuf::from(format!("/proc/self/fd/{}", folder.as_raw_fd()));
    let same_folder = || {
        let (live, opened) = (std::fs::metadata(target), folder.metadata());
        matches!((live, opened), (Ok(l), Ok(o)) if (l.dev(), l.ino()) == (o.dev(), o.ino()))
    };
    let inode = folder.metadata().map(|m| m.ino()).unwrap_or_default();
    let signature = match signature_of(&through) {
        Ok(entries) => (inode, entries),
        Err(e) if same_folder() => {
            return Some(((inode, Vec::new()), State::Partial(format!("walk: {e}"))));
        }
        Err(_) => return None,
    };
    if let Some((seen, state)) = last
        && *seen == signature
    {
        return same_folder().then(|| (signature, state.clone()));
    }
    let state = match try_tree_of(&through) {
        Ok(tree) => match known.iter().find(|(_, whole)| *whole == tree) {
            Some((name, _)) => State::Whole(name),
            None => State::Partial(describe(&tree, &known[0].1)),
        },
        Err(e) => State::Partial(format!("read: {e}")),
    };
    same_folder().then_some((signature, state))
}

fn signature_of(dir: &Path) -> std::io::Result<Vec<Stat>> {
    let mut out = Vec::new();
    let mut pending = vec![(dir.to_path_buf(), String::new())];
    while let Some((dir, prefix)) = pending.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let entry = entry?;
            let relative = format!("{prefix}{}", entry.file_name().to_string_lossy());
            let meta = entry.metadata()?;
            if meta.is_dir() {
                pending.push((entry.path(), format!("{relative}/")));
            }
            out.push((
                relative,
                meta.len(),
                meta.mtime(),
                meta.mtime_nsec(),
                meta.ino(),
            ));
        }
    }
    out.sort();
    Ok(out)
}

/// How `tree` differs from `expected`.
fn describe(tree: &Tree, expected: &Tree) -> String {
    let missing: Vec<&String> = expected.keys().filter(|k| !tree.contains_key(*k)).collect();
    let extra: Vec<&String> = tree.keys().filter(|k| !expected.contains_key(*k)).collect();
    let differ: Vec<String> = tree
        .iter()
        .filter(|(k, v)| expected.get(*k).is_some_and(|e| e != *v))
        .map(|(k, (_, bytes))| format!("{k} ({} bytes)", bytes.len()))
        .collect();
    format!("missing {missing:?}, extra {extra:?}, different {differ:?}")
}

/// What the poller saw over the whole matrix.
#[derive(Debug, Default)]
struct PollLog {
    polls: usize,
    /// Looks whose signature was new, so every file was read and compared.
    compared: usize,
    /// Looks discarded because the folder was swapped while being read.
    raced: usize,
    /// The states in the order they appeared (each differs from the one before).
    states: Vec<State>,
}

struct Poller {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<PollLog>,
}

impl Poller {
    fn start(target: PathBuf, known: Vec<(&'static str, Tree)>) -> Poller {
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut log = PollLog::default();
            let mut last: Option<(Signature, State)> = None;
            // One last look after the stop is asked for: the state the test left is seen.
            let mut last_look = false;
            while !last_look {
                last_look = stopping.load(Ordering::SeqCst);
                log.polls += 1;
                match look(&target, &known, &last) {
                    None => log.raced += 1,
                    Some((signature, state)) => {
                        if last.as_ref().is_none_or(|(seen, _)| *seen != signature) {
                            log.compared += 1;
                        }
                        if log.states.last() != Some(&state) {
                            log.states.push(state.clone());
                        }
                        last = Some((signature, state));
                    }
                }
                std::thread::sleep(Duration::from_millis(2));
            }
            log
        });
        Poller { stop, thread }
    }

    fn finish(self) -> PollLog {
        self.stop.store(true, Ordering::SeqCst);
        self.thread.join().expect("the poller does not panic")
    }
}

/// How the live folder is set up before a run.
#[derive(Debug, Clone, Copy)]
enum Start {
    /// Removed (renamed aside in one step, then deleted): the run creates the copy.
    Absent,
    /// The older copy moved in whole (built aside, renamed in): the run replaces it.
    Older,
    /// As the run before left it.
    AsLeft,
}

/// When a signal is sent or the token file deleted.
#[derive(Debug, Clone, Copy)]
enum When {
    /// A request to MLflow is being held (every API call waits 300 ms): before any S3 request.
    MlflowAnswering,
    /// This many more parts recorded than when the run started (S3 object GETs of the shard wait
    /// 150 ms each).
    MoreParts(usize),
    /// The shard's last part recorded (as its `complete` line): the rest is the small files,
    /// verification and the swap (the audit tags wait as for `Swapped`).
    ShardComplete,
    /// The live folder is another one than when the run started: just after the swap, while the
    /// audit tags wait (each `model-versions/set-tag` is held 1.5 s).
    Swapped,
}

#[derive(Debug, Clone)]
enum Inject {
    /// A fault proxy in front of S3: the run must promote and verify.
    Proxy(Fault),
    /// `kill(pid, signal)` once `When` holds.
    Signal(i32, When),
    /// The web-identity token file deleted once `When` holds: verified, or a clean failure.
    DeleteToken(When),
    /// No fault.
    Clean,
}

/// Everything one run of the matrix needs.
struct Matrix {
    published: Published,
    prod: tempfile::TempDir,
    target: PathBuf,
    /// The older copy, built once; planted by copy and rename.
    older: tempfile::TempDir,
    known: Vec<(&'static str, Tree)>,
    scratch: tempfile::TempDir,
    runs: usize,
    faults: usize,
    signals: usize,
    token_deletions: usize,
}

/// The registered model's files, with README.md and the shard of another (older) version.
fn older_copy(model: &Path) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(model).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), dir.path().join(entry.file_name())).unwrap();
    }
    std::fs::write(dir.path().join("README.md"), "an older version\n").unwrap();
    let shard: Vec<u8> = (0..1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(dir.path().join("extra-shard.safetensors"), shard).unwrap();
    dir
}

impl Matrix {
    fn new() -> Matrix {
        let published = register_published("matrix");
        let prod = tempfile::tempdir().unwrap();
        let target = published.promoted_copy(prod.path());
        let older = older_copy(published.model.path());
        let known = vec![
            ("registered", tree_of(published.model.path())),
            ("older", tree_of(older.path())),
        ];
        assert_ne!(known[0].1, known[1].1);
        Matrix {
            published,
            prod,
            target,
            older,
            known,
            scratch: tempfile::tempdir().unwrap(),
            runs: 0,
            faults: 0,
            signals: 0,
            token_deletions: 0,
        }
    }

    /// The live folder now (looked at by the poller's rule, swapped by nobody meanwhile).
    fn state(&self) -> State {
        look(&self.target, &self.known, &None)
            .expect("nothing swaps the folder between runs")
            .1
    }

    /// Sets the live folder up as `start` says, each change one rename.
    fn prepare(&mut self, start: Start) {
        let aside =
            |m: &Matrix, what: &str| m.prod.path().join(format!(".matrix-{what}-{}", m.runs));
        if matches!(start, Start::Absent | Start::Older) && self.target.exists() {
            let trash = aside(self, "trash");
            std::fs::rename(&self.target, &trash).unwrap();
            std::fs::remove_dir_all(&trash).unwrap();
        }
        if let Start::Older = start {
            let built = aside(self, "older");
            std::fs::create_dir_all(&built).unwrap();
            for entry in std::fs::read_dir(self.older.path()).unwrap() {
                let entry = entry.unwrap();
                std::fs::copy(entry.path(), built.join(entry.file_name())).unwrap();
            }
            std::fs::create_dir_all(self.target.parent().unwrap()).unwrap();
            std::fs::rename(&built, &self.target).unwrap();
        }
    }

    /// `llmops promote` of the matrix's model into its prod root, its web-identity token file a
    /// fresh copy of the stack's (returned, for deleting), S3 and MLflow behind the given proxies.
    fn command(
        &self,
        s3: Option<&FaultProxy>,
        mlflow: Option<&FaultProxy>,
    ) -> (std::process::Command, PathBuf) {
        let stack = stack();
        let token = self.scratch.path().join(format!("token-{}.jwt", self.runs));
        std::fs::copy(stack.var("AWS_WEB_IDENTITY_TOKEN_FILE"), &token).unwrap();
        let mut command = stack.llmops_std();
        command
            .args(["promote", &self.published.uri(), "--prod-root"])
            .arg(self.prod.path())
            .args([
                "--artifacts-destination",
                stack.var("LLMOPS_ARTIFACTS_DESTINATION"),
            ])
            .args([
                "--part-size",
                PART_SIZE,
                "--concurrency",
                "1",
                "--stall-timeout",
                "1",
            ])
            .args(["--output", "json"])
            .env("AWS_WEB_IDENTITY_TOKEN_FILE", &token);
        if let Some(proxy) = s3 {
            command.env("AWS_ENDPOINT_URL_S3", &proxy.url);
        }
        if let Some(proxy) = mlflow {
            command.env("MLFLOW_TRACKING_URI", &proxy.url);
        }
        (command, token)
    }
}

/// The outcome a run that completes reports, from what the live folder was before it.
fn outcome_from(before: &State) -> &'static str {
    match before {
        State::Absent => "promoted",
        State::Whole("registered") => "already_promoted",
        _ => "replaced",
    }
}

/// The live folder's identity, `None` when absent.
fn identity(path: &Path) -> Option<(u64, u64)> {
    std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

impl Matrix {
    /// One run of the matrix: the folder set up as `start` says, the promote run with `inject`,
    /// then what it left checked.
    fn run(&mut self, start: Start, inject: Inject) {
        self.prepare(start);
        let before = self.state();
        let began = Instant::now();
        let after = match &inject {
            Inject::Proxy(fault) => self.through_proxy(fault.clone(), &before),
            Inject::Clean => self.clean(&before),
            Inject::Signal(..) | Inject::DeleteToken(_) => self.interrupted(&inject, &before),
        };
        assert_eq!(
            after,
            self.state(),
            "run {}: the folder moved after the run",
            self.runs
        );
        let stray: Vec<PathBuf> = published_copies(self.prod.path())
            .into_iter()
            .filter(|p| *p != self.target)
            .collect();
        assert!(stray.is_empty(), "run {}: {stray:?}", self.runs);
        // Also asserts `llm-models/` holds no work folder.
        partial_downloads(self.prod.path());
        eprintln!(
            "matrix run {:>2}: {start:?}, {inject:?}: {before:?} -> {after:?} in {:.1} s",
            self.runs,
            began.elapsed().as_secs_f64()
        );
        self.runs += 1;
    }

    /// A run through a fault proxy in front of S3: it promotes and verifies.
    fn through_proxy(&mut self, fault: Fault, before: &State) -> State {
        let proxy = FaultProxy::start(stack().var("MOTO_URL"), fault);
        let (mut command, _) = self.command(Some(&proxy), None);
        let report = json_of(&command.output().unwrap());
        assert_eq!(report["verified"], "blake3", "{report}");
        assert_eq!(report["outcome"], outcome_from(before), "{report}");
        let injected = proxy.faults.load(Ordering::SeqCst);
        assert!(injected >= 1, "the fault was not met");
        self.faults += injected;
        let after = self.state();
        assert_eq!(after, State::Whole("registered"));
        after
    }

    /// The closing run, without faults.
    fn clean(&mut self, before: &State) -> State {
        let (mut command, _) = self.command(None, None);
        let report = json_of(&command.output().unwrap());
        assert_eq!(report["verified"], "blake3", "{report}");
        assert_eq!(report["outcome"], outcome_from(before), "{report}");
        self.state()
    }

    /// A run slowed down (S3 object GETs of the shard by 150 ms; MLflow as `When` needs), hit by
    /// `inject` when its moment comes; what it must have left depends on the moment.
    fn interrupted(&mut self, inject: &Inject, before: &State) -> State {
        let (Inject::Signal(_, when) | Inject::DeleteToken(when)) = *inject else {
            unreachable!("only signals and token deletions interrupt")
        };
        let s3 = FaultProxy::start(
            stack().var("MOTO_URL"),
            Fault::Delay {
                path: "extra-shard",
                millis: 150,
            },
        );
        let mlflow = match when {
            When::MlflowAnswering => Some(("/api/2.0/mlflow/", 300)),
            // The run cannot end before the signal comes.
            When::Swapped | When::ShardComplete => Some(("model-versions/set-tag", 1500)),
            When::MoreParts(_) => None,
        }
        .map(|(path, millis)| {
            FaultProxy::start(
                stack().tracking_uri(),
                Fault::DelayRequests { path, millis },
            )
        });
        let (mut command, token) = self.command(Some(&s3), mlflow.as_ref());
        let log = self
            .scratch
            .path()
            .join(format!("stderr-{}.txt", self.runs));
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let (prod, target) = (self.prod.path().to_path_buf(), self.target.clone());
        let (parts_before, live_before) = (most_parts_recorded(&prod), identity(&target));
        let moment: Box<dyn Fn() -> bool> = match when {
            When::MlflowAnswering => {
                let held = mlflow.as_ref().unwrap().delayed.clone();
                Box::new(move || held.load(Ordering::SeqCst) >= 1)
            }
            When::MoreParts(n) => Box::new(move || most_parts_recorded(&prod) >= parts_before + n),
            // The last part is recorded as the `complete` line: SHARD_PARTS lines in all.
            When::ShardComplete => Box::new(move || most_parts_recorded(&prod) >= SHARD_PARTS),
            When::Swapped => Box::new(move || identity(&target) != live_before),
        };
        wait_for(&mut child, &log, &format!("{when:?}"), moment);
        match *inject {
            Inject::Signal(signal, _) => {
                // SAFETY: kill(2) on the child we spawned and have not reaped.
                assert_eq!(unsafe { libc::kill(child.id() as i32, signal) }, 0);
                self.signals += 1;
            }
            _ => {
                std::fs::remove_file(&token).unwrap();
                self.token_deletions += 1;
            }
        }
        let output = child.wait_with_output().unwrap();
        let stderr = std::fs::read_to_string(&log).unwrap();
        let after = self.state();
        let kept = after == *before;
        match *inject {
            Inject::Signal(libc::SIGKILL, _) => {
                assert_eq!(output.status.signal(), Some(libc::SIGKILL), "{stderr}");
            }
            Inject::Signal(_, _) => {
                assert_eq!(output.status.code(), Some(143), "{stderr}");
                assert!(stderr.contains("interrupted by SIGTERM"), "{stderr}");
            }
            _ if output.status.success() => {
                let report = json_of(&output);
                assert_eq!(report["verified"], "blake3", "{report}");
                assert_eq!(after, State::Whole("registered"));
            }
            _ => {
                assert_eq!(output.status.code(), Some(1), "{stderr}");
                assert!(
                    stderr.contains("AWS credentials") || stderr.contains("token"),
                    "{stderr}"
                );
                // Deleted before the credentials were loaded: the hint names the missing file.
                if let When::MlflowAnswering = when {
                    assert!(stderr.contains("token file missing"), "{stderr}");
                }
                eprintln!("matrix run {:>2} failed cleanly:\n{stderr}", self.runs);
                assert!(
                    kept,
                    "a failed run changed the folder: {before:?} -> {after:?}"
                );
            }
        }
        match when {
            When::MlflowAnswering | When::MoreParts(_) if matches!(inject, Inject::Signal(..)) => {
                assert!(kept, "{when:?}: {before:?} -> {after:?}")
            }
            When::Swapped => assert_eq!(after, State::Whole("registered")),
            _ => assert!(kept || after == State::Whole("registered"), "{after:?}"),
        }
        after
    }
}

/// Waits until `moment` holds; the run must not have ended before.
fn wait_for(child: &mut Child, log: &Path, what: &str, moment: Box<dyn Fn() -> bool>) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while !moment() {
        if let Some(status) = child.try_wait().unwrap() {
            let stderr = std::fs::read_to_string(log).unwrap_or_default();
            panic!("the promote ended ({status}) before {what}:\n{stderr}");
        }
        assert!(Instant::now() < deadline, "never reached {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// The matrix: 22 faults or more before the closing run. Parts recorded carry over from one
/// interrupted run to the next (`AsLeft`), so the `MoreParts` moments add up to fewer than the
/// shard's 32 before `ShardComplete`.
fn steps() -> Vec<(Start, Inject)> {
    use Inject::{DeleteToken, Proxy, Signal};
    use When::{MlflowAnswering, MoreParts, ShardComplete, Swapped};
    use libc::{SIGKILL, SIGTERM};
    let slow_down = Fault::S3SlowDown {
        path: "/artifacts/model/",
        times: 6,
    };
    let dropped = Fault::DropBody {
        path: "extra-shard",
        after: 30_000,
        times: 4,
    };
    let stalled = Fault::StallBody {
        path: "extra-shard",
        after: 30_000,
        seconds: 3,
        times: 1,
    };
    vec![
        (Start::Older, Proxy(slow_down)),
        (Start::Absent, Proxy(dropped)),
        (Start::Older, Proxy(stalled)),
        (Start::Absent, Signal(SIGTERM, MlflowAnswering)),
        (Start::AsLeft, Signal(SIGKILL, MoreParts(3))),
        (Start::AsLeft, Signal(SIGKILL, MoreParts(8))),
        (Start::Older, Signal(SIGTERM, MoreParts(5))),
        (Start::AsLeft, Signal(SIGKILL, MoreParts(4))),
        (Start::AsLeft, Signal(SIGKILL, ShardComplete)),
        (Start::Older, Signal(SIGKILL, Swapped)),
        (Start::Absent, Signal(SIGTERM, Swapped)),
        (Start::Absent, DeleteToken(MlflowAnswering)),
        (Start::Older, DeleteToken(MoreParts(4))),
        (Start::Older, Signal(SIGKILL, MoreParts(6))),
        (Start::AsLeft, Signal(SIGTERM, MoreParts(4))),
    ]
}

/// The matrix with the poller watching; then a clean run replaces the older copy, and `verify`
/// passes on the result.
#[test]
fn the_live_folder_is_never_partial_through_a_matrix_of_faults() {
    let began = Instant::now();
    let mut matrix = Matrix::new();
    let registered = began.elapsed().as_secs_f64();
    let poller = Poller::start(matrix.target.clone(), matrix.known.clone());
    for (start, inject) in steps() {
        matrix.run(start, inject);
    }
    matrix.run(Start::AsLeft, Inject::Clean);
    let log = poller.finish();

    assert_same_tree(matrix.published.model.path(), &matrix.target);
    assert!(partial_downloads(matrix.prod.path()).is_empty());
    stack()
        .llmops()
        .args(["verify", &matrix.published.uri(), "--prod-root"])
        .arg(matrix.prod.path())
        .assert()
        .success();
    let injected = matrix.faults + matrix.signals + matrix.token_deletions;
    let partial: Vec<&State> = log
        .states
        .iter()
        .filter(|s| matches!(s, State::Partial(_)))
        .collect();
    eprintln!(
        "fault matrix: {injected} faults injected ({} by proxies, {} signals, {} token files deleted) \
         over {} runs; poller: {} polls, {} compared in full, {} raced a swap, {} states seen in turn \
         ({} partial); {:.1} s (registering {registered:.1} s)",
        matrix.faults,
        matrix.signals,
        matrix.token_deletions,
        matrix.runs,
        log.polls,
        log.compared,
        log.raced,
        log.states.len(),
        partial.len(),
        began.elapsed().as_secs_f64()
    );
    eprintln!("states in turn: {:?}", log.states);
    assert!(partial.is_empty(), "partial states: {partial:?}");
    assert!(injected >= 20, "only {injected} faults");
    for name in ["registered", "older"] {
        assert!(
            log.states.contains(&State::Whole(name)),
            "{name} never seen"
        );
    }
    assert!(log.states.contains(&State::Absent));
}

/// The poller itself: a copy written file by file into the live folder (what promote must never
/// do) is seen as partial states between absent and whole.
#[test]
fn the_poller_sees_a_copy_written_in_place() {
    let model = super::model_folder();
    let root = tempfile::tempdir().unwrap();
    let target = root.path().join("live");
    let poller = Poller::start(target.clone(), vec![("registered", tree_of(model.path()))]);
    std::thread::sleep(Duration::from_millis(20));
    std::fs::create_dir(&target).unwrap();
    for entry in std::fs::read_dir(model.path()).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), target.join(entry.file_name())).unwrap();
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(20));
    let log = poller.finish();
    let partial = log
        .states
        .iter()
        .filter(|s| matches!(s, State::Partial(_)))
        .count();
    assert_eq!(log.states.first(), Some(&State::Absent), "{log:?}");
    assert_eq!(
        log.states.last(),
        Some(&State::Whole("registered")),
        "{log:?}"
    );
    eprintln!(
        "poller self-check: {} polls, {partial} partial states of {}",
        log.polls,
        log.states.len()
    );
    assert!(partial >= 5, "{log:?}");
}
