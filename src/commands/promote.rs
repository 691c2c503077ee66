//! `llmops promote`: a registered version's binaries, from the parent run's S3 prefix (with the
//! deployer's own AWS credentials, IRSA in production) to `<prod-root>/llm-models/<parent-run-id>/`,
//! verified against the manifest and swapped in atomically. Also `status` and `verify`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;

use crate::cli::{PromoteArgs, StatusArgs, VerifyArgs};
use crate::commands::publish::read_manifest_bytes;
use crate::commands::register::{MODEL_ARTIFACT_DIR, tags};
use crate::env;
use crate::exit::UserError;
use crate::layout::LLM_MODELS_DIR;
use crate::layout::publish::{self, Lock, Swap};
use crate::layout::roots::{self, RootKind};
use crate::manifest::{MANIFEST_ARTIFACT, Manifest};
use crate::mlflow::client::{MlflowClient, ModelVersion};
use crate::mlflow::lineage::{self, Lineage, ParentSource};
use crate::mlflow::model_ref::{ModelRef, ResolveError};
use crate::mlflow::{self, proxied_artifact_path};
use crate::progress;
use crate::s3::{self, S3Location, local_path_for_key};
use crate::transfer::digest::{DigestKind, digest_file};
use crate::transfer::download::{
    self, DownloadOptions, RemoteFile, ResumeState, describe_sdk_error,
};
use crate::transfer::sink::ALIGN;

/// Version tags `promote` leaves for the audit trail.
pub mod audit {
    pub const PROMOTED_AT: &str = "llmops.promoted_at";
    pub const PROMOTED_BY: &str = "llmops.promoted_by";
    pub const PROMOTED_TO: &str = "llmops.promoted_to";
    pub const PROMOTED_DIGEST: &str = "llmops.promoted_manifest_digest";
}

/// What `promote` remembers about a promoted copy, beside it: `<prod>/llm-models/.llmops/<run>.json`.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct PromotedState {
    pub name: String,
    pub version: String,
    pub manifest_digest: Option<String>,
    pub promoted_at: String,
    pub verification: Verification,
    pub verified_at: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verification {
    /// Every file's sha256 against the manifest `register` recorded.
    Sha256,
    /// No manifest: sizes, and MD5 against single-part ETags (multipart ETags cannot be checked).
    SizeAndEtag,
}

impl Verification {
    pub fn label(self) -> &'static str {
        match self {
            Verification::Sha256 => "sha256",
            Verification::SizeAndEtag => "size+etag",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct PlannedFile {
    pub path: String,
    pub size: u64,
}

#[derive(Debug, Serialize)]
pub struct PromoteReport {
    pub schema_version: u32,
    pub outcome: Outcome,
    pub name: String,
    pub version: String,
    pub parent_run_id: String,
    pub parent_found_by: ParentSource,
    pub source: String,
    pub destination: String,
    pub credential_source: String,
    pub caller_arn: Option<String>,
    pub files: usize,
    pub bytes: u64,
    pub fetched_bytes: u64,
    pub resumed_bytes: u64,
    pub retries: u64,
    pub seconds: f64,
    pub mib_per_second: f64,
    pub verified: Option<Verification>,
    pub alias: Option<String>,
    /// The file list, for `--dry-run`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub plan: Vec<PlannedFile>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Promoted,
    Replaced,
    AlreadyPromoted,
    DryRun,
    WouldReplace,
}

/// Where a promote writes: the LLM layout (`<root>/llm-models/<run>/`) or a Triton repository
/// (`<repo>/<model>/<N>/` and `<repo>/<model>/config.pbtxt`), with its work folder (on the same
/// filesystem, outside a Triton repository), lock and record.
struct Destination {
    /// The folder production reads for this version.
    target: PathBuf,
    /// The root the manifest's paths are relative to, to compare a live copy.
    compare_root: PathBuf,
    work: PathBuf,
    lock: PathBuf,
    state: PathBuf,
    /// (model folder, version folder) for Triton.
    triton: Option<(String, String)>,
}

impl Destination {
    fn new(
        target: crate::cli::Target,
        root: &roots::DatasetRoot,
        version: &ModelVersion,
        parent_id: &str,
    ) -> anyhow::Result<Destination> {
        let triton = crate::commands::publish::triton_model_of(version)?;
        match (target, triton) {
            (crate::cli::Target::Llm, None) => {
                roots::check_writable(RootKind::Prod, root)
                    .map_err(|e| UserError::usage(e.to_string()).with_hint("pass a writable `--prod-root`"))?;
                let models = root.path.join(LLM_MODELS_DIR);
                Ok(Destination {
                    target: models.join(parent_id),
                    compare_root: models.join(parent_id),
                    work: models.join(format!(".{parent_id}.llmops-partial")),
                    lock: models.join(format!(".{parent_id}.llmops-lock")),
                    state: models.join(".llmops").join(format!("{parent_id}.json")),
                    triton: None,
                })
            }
            (crate::cli::Target::Triton, Some((model, number))) => {
                crate::commands::register_triton::check_repository(&root.path)?;
                let area = crate::commands::register_triton::staging_area(&root.path)?;
                Ok(Destination {
                    target: root.path.join(&model).join(&number),
                    compare_root: root.path.join(&model),
                    work: area.join(format!("{model}-{number}.llmops-partial")),
                    lock: area.join(format!("{model}-{number}.llmops-lock")),
                    state: area.join("promoted").join(format!("{model}-{number}.json")),
                    triton: Some((model, number)),
                })
            }
            (crate::cli::Target::Llm, Some(_)) => Err(UserError::usage(format!(
                "{}/{} was registered for Triton; promote it with `--target triton --prod-root <model repository>`",
                version.name, version.version
            ))
            .into()),
            (crate::cli::Target::Triton, None) => Err(UserError::usage(format!(
                "{}/{} was not registered with `--target triton`; promote it without `--target triton`",
                version.name, version.version
            ))
            .into()),
        }
    }

    /// Moves the verified tree in. Triton: the version folder by rename (exchanged if it exists),
    /// then `config.pbtxt` by rename; a new model folder moves in whole.
    fn publish(&self, files: &Path) -> anyhow::Result<Swap> {
        // `swap_into_place` fsyncs the tree it moves; Triton also moves `config.pbtxt` (or the
        // whole model folder) outside it.
        let Some((_, number)) = &self.triton else {
            return Ok(publish::swap_into_place(files, &self.target)?);
        };
        publish::sync_tree(files)?;
        let model_dir = &self.compare_root;
        if !model_dir.exists() {
            std::fs::rename(files, model_dir)?;
            return Ok(Swap::Created);
        }
        let swap = publish::swap_into_place(&files.join(number), &self.target)?;
        if files.join("config.pbtxt").exists() {
            std::fs::rename(files.join("config.pbtxt"), model_dir.join("config.pbtxt"))?;
        }
        std::fs::File::open(model_dir).and_then(|d| d.sync_all())?;
        Ok(swap)
    }
}

/// A Triton version's objects are `config.pbtxt` and `<N>/…`, nothing else.
fn check_triton_files(files: &[RemoteFile], number: &str) -> anyhow::Result<()> {
    let prefix = format!("{number}/");
    match files
        .iter()
        .find(|f| f.relative != "config.pbtxt" && !f.relative.starts_with(&prefix))
    {
        Some(stray) => Err(UserError::failed(format!(
            "`{}` does not belong in a Triton model folder for version {number}",
            crate::output::printable(&stray.relative)
        ))
        .into()),
        None => Ok(()),
    }
}

/// The version, its lineage and the S3 location of its binaries.
pub(crate) struct Resolved {
    pub version: ModelVersion,
    pub lineage: Lineage,
    pub location: S3Location,
}

/// The MLflow server's artifact store, for `mlflow-artifacts:/` URIs: the flag, then
/// `LLMOPS_ARTIFACTS_DESTINATION`, then `MLFLOW_S3_BUCKET` (the reference notebooks' variable).
pub(crate) fn artifacts_destination(flag: Option<&str>) -> Result<String, UserError> {
    flag.map(str::to_string)
        .or_else(|| std::env::var(env::LLMOPS_ARTIFACTS_DESTINATION).ok().filter(|v| !v.is_empty()))
        .or_else(|| {
            std::env::var(env::MLFLOW_S3_BUCKET)
                .ok()
                .filter(|v| !v.is_empty())
                .map(|b| if b.starts_with("s3://") { b } else { format!("s3://{b}") })
        })
        .ok_or_else(|| {
            UserError::usage("the artifacts are behind the MLflow artifact proxy, and llmops reads them from S3 directly")
                .with_hint("pass `--artifacts-destination s3://BUCKET/PREFIX` (the server's --artifacts-destination), or set LLMOPS_ARTIFACTS_DESTINATION or MLFLOW_S3_BUCKET")
        })
}

pub(crate) async fn resolve(
    client: &MlflowClient,
    reference: &ModelRef,
    destination: Option<&str>,
) -> anyhow::Result<Resolved> {
    let version = reference.resolve(client).await.map_err(|e| match e {
        ResolveError::NotFound(r) => anyhow::Error::new(
            UserError::usage(format!("`{r}` does not exist in the model registry"))
                .with_hint("check the name, version or alias in the MLflow UI"),
        ),
        ResolveError::Mlflow(e) => e.into(),
    })?;
    let lineage = lineage::resolve(client, &version).await?;
    if lineage.parent_source != ParentSource::ModelContext {
        crate::output::note(&format!(
            "parent run {} found from {}",
            lineage.parent.info.run_id, lineage.parent_source
        ));
    }
    let uri = lineage.parent.info.artifact_uri.clone();
    let location = if uri.starts_with("s3://") {
        S3Location::parse(&uri).map_err(UserError::failed)?
    } else if let Some(relative) = proxied_artifact_path(&uri) {
        let destination = artifacts_destination(destination)?;
        S3Location::parse(&destination)
            .map_err(UserError::usage)?
            .join(&relative)
    } else {
        return Err(UserError::failed(format!("the parent run stores artifacts at `{uri}`, which is neither s3:// nor mlflow-artifacts:/")).into());
    };
    Ok(Resolved {
        version,
        lineage,
        location,
    })
}

fn options(args: &PromoteArgs) -> anyhow::Result<DownloadOptions> {
    let mut options = DownloadOptions::default();
    if let Some(concurrency) = args.concurrency {
        options.concurrency = usize::from(concurrency);
    }
    if let Some(size) = &args.part_size {
        options.part_size = crate::units::parse_bytes(size)
            .map_err(|e| UserError::usage(format!("--part-size: {e}")))?;
        // Parts start where direct I/O may write: on a 4 KiB boundary.
        if options.part_size == 0 || options.part_size % ALIGN as u64 != 0 {
            return Err(UserError::usage(format!(
                "--part-size {size} is not a whole number of 4 KiB blocks"
            ))
            .with_hint("use e.g. 8MiB, 64MiB (the default) or 256MiB")
            .into());
        }
    }
    if let Some(seconds) = args.stall_timeout {
        options.stall_timeout = std::time::Duration::from_secs_f64(seconds);
    }
    Ok(options)
}

pub async fn run(args: &PromoteArgs, json: bool) -> anyhow::Result<PromoteReport> {
    let started = Instant::now();
    let download_options = options(args)?;
    let reference =
        ModelRef::parse(&args.model, args.version.as_deref()).map_err(UserError::usage)?;
    let client = mlflow::client_from(args.tracking_uri.as_deref())?;
    let prod_root = roots::resolve(RootKind::Prod, args.prod_root.as_deref())
        .map_err(|e| UserError::usage(e.to_string()))?;
    let Resolved {
        version,
        lineage,
        location,
    } = resolve(&client, &reference, args.artifacts_destination.as_deref()).await?;
    let parent_id = lineage.parent.info.run_id.clone();
    let dest = Destination::new(args.target, &prod_root, &version, &parent_id)?;

    let credential_source = s3::credential_source();
    let (s3, sts) = s3::clients().await;
    let caller_arn = match sts.get_caller_identity().send().await {
        Ok(identity) => identity.arn().map(str::to_string),
        // An S3-compatible store without STS (MinIO, rclone) answers with an error it invents; the
        // caller is then unknown, and S3 itself will say whether the credentials work.
        Err(aws_sdk_sts::error::SdkError::ServiceError(service))
            if !is_credential_error(service.err().meta().code()) =>
        {
            crate::output::warn(&format!(
                "could not identify the AWS caller (STS: {}); continuing",
                service
                    .err()
                    .meta()
                    .message()
                    .unwrap_or("unreadable answer")
            ));
            None
        }
        Err(error) => {
            return Err(UserError::failed(format!("AWS credentials are not usable: {}", describe_sdk_error(&error)))
                .with_hint(format!("credentials came from: {credential_source}; in a pod, check the IRSA annotation and AWS_WEB_IDENTITY_TOKEN_FILE"))
                .into());
        }
    };

    // Everything under `<run>/artifacts/model/`, and nothing else: the bucket policy may allow no more.
    let target = dest.target.clone();
    let work = dest.work.clone();
    let model_location = location.join(MODEL_ARTIFACT_DIR);
    let files_root = work.join("files");
    let mut listing = Listing::new(&s3, &model_location, &files_root);
    let mut listed = listing.first_files().await?;
    if listed.is_empty() {
        return Err(UserError::failed(format!(
            "{reference} has no binaries in {model_location}: they were never published"
        ))
        .with_hint(format!(
            "run `llmops publish {reference}` from where it was registered, then promote again"
        ))
        .into());
    }
    if args.require_fit {
        require_fit(args, &s3, &model_location).await?;
    }
    let manifest = fetch_manifest(&s3, &location).await?;
    // With a manifest, the plan is the manifest and downloads start with the first page of the
    // listing while the rest streams in; the whole listing is checked against it before anything is
    // published. Without one (or for a dry run) the listing is the plan, read whole first.
    let streaming = manifest.is_some() && !args.dry_run;
    if !streaming {
        while let Some(page) = listing.next_page().await? {
            listed.extend(page);
        }
        listed.sort_by(|a, b| a.relative.cmp(&b.relative));
    }
    let files = match &manifest {
        Some(manifest) if streaming => {
            planned_from_manifest(manifest, &model_location, &files_root)?
        }
        _ => listed.clone(),
    };
    match &manifest {
        Some(manifest) if !streaming => check_listing_against_manifest(&listed, manifest)?,
        Some(_) => {}
        None => crate::output::warn(
            "no llmops manifest in the parent run (registered by another tool): files are checked by size and single-part ETag only",
        ),
    }
    let total_bytes: u64 = files.iter().map(|f| f.size).sum();
    let digest = manifest.as_ref().map(Manifest::digest);
    let state_path = dest.state.clone();

    let mut report = PromoteReport {
        schema_version: 1,
        outcome: Outcome::Promoted,
        name: version.name.clone(),
        version: version.version.clone(),
        parent_run_id: parent_id.clone(),
        parent_found_by: lineage.parent_source,
        source: model_location.to_string(),
        destination: target.display().to_string(),
        credential_source,
        caller_arn: caller_arn.clone(),
        files: files.len(),
        bytes: total_bytes,
        fetched_bytes: 0,
        resumed_bytes: 0,
        retries: 0,
        seconds: 0.0,
        mib_per_second: 0.0,
        verified: None,
        alias: args.alias.clone(),
        plan: Vec::new(),
    };

    if let Some((_, number)) = &dest.triton {
        check_triton_files(&files, number)?;
    }
    let identical =
        target.exists() && existing_copy_matches(&dest.compare_root, &files, manifest.as_ref());
    if args.dry_run {
        report.outcome = if !target.exists() || identical {
            Outcome::DryRun
        } else {
            Outcome::WouldReplace
        };
        report.plan = files
            .iter()
            .map(|f| PlannedFile {
                path: f.relative.clone(),
                size: f.size,
            })
            .collect();
        report.seconds = started.elapsed().as_secs_f64();
        if identical {
            crate::output::note(&format!(
                "{} already holds this version: promote would change nothing",
                target.display()
            ));
        }
        return Ok(report);
    }

    let user = std::env::var(env::DOMINO_STARTING_USERNAME)
        .ok()
        .or(caller_arn.clone())
        .unwrap_or_else(|| "unknown".into());
    let _lock = Lock::acquire(&dest.lock, &publish::holder_description(&user))?;
    if identical {
        crate::output::note(&format!(
            "already promoted: {} holds {reference} and matches its manifest",
            target.display()
        ));
        report.outcome = Outcome::AlreadyPromoted;
        report.verified = Some(if manifest.is_some() {
            Verification::Sha256
        } else {
            Verification::SizeAndEtag
        });
    } else {
        let state = ResumeState::new(work.join("state"))?;
        let reporter = progress::reporter(progress::mode(json));
        let download_options = DownloadOptions {
            digest: Some(if manifest.is_some() {
                DigestKind::Sha256
            } else {
                DigestKind::Md5
            }),
            ..download_options
        };
        let (listed, summary) = if streaming {
            let manifest = manifest.as_ref().expect("streaming needs a manifest");
            let (sender, incoming) = tokio::sync::mpsc::channel(1024);
            let feed = async {
                let sender = sender;
                let mut all = listed;
                for file in &all {
                    sender.send(file.clone()).await?;
                }
                while let Some(page) = listing.next_page().await? {
                    for file in &page {
                        sender.send(file.clone()).await?;
                    }
                    all.extend(page);
                }
                drop(sender);
                all.sort_by(|a, b| a.relative.cmp(&b.relative));
                check_listing_against_manifest(&all, manifest)?;
                anyhow::Ok(all)
            };
            let download = async {
                Ok(download::download_stream(
                    &s3,
                    &location.bucket,
                    incoming,
                    (total_bytes, files.len()),
                    &state,
                    download_options,
                    reporter.as_ref(),
                )
                .await?)
            };
            tokio::try_join!(feed, download)?
        } else {
            let summary = download::download_all(
                &s3,
                &location.bucket,
                &listed,
                &state,
                download_options,
                reporter.as_ref(),
            )
            .await?;
            (listed, summary)
        };
        report.fetched_bytes = summary.fetched_bytes;
        report.resumed_bytes = summary.resumed_bytes;
        report.retries = summary.retries;
        let verification = verify_with_one_refetch(
            &s3,
            &location.bucket,
            &listed,
            manifest.as_ref(),
            &summary.digests,
            &state,
            download_options,
        )
        .await?;
        report.verified = Some(verification);
        let swap = dest.publish(&work.join("files"))?;
        report.outcome = if swap == Swap::Replaced {
            Outcome::Replaced
        } else {
            Outcome::Promoted
        };
        let _ = std::fs::remove_dir_all(&work);
        write_state(
            &state_path,
            &PromotedState {
                name: version.name.clone(),
                version: version.version.clone(),
                manifest_digest: digest.clone(),
                promoted_at: utc_now(),
                verification,
                verified_at: utc_now(),
            },
        )?;
    }

    // The audit trail, and the alias.
    let tags = [
        (audit::PROMOTED_AT, utc_now()),
        (audit::PROMOTED_BY, user),
        (audit::PROMOTED_TO, target.display().to_string()),
        (
            audit::PROMOTED_DIGEST,
            digest.unwrap_or_else(|| "none (no manifest)".into()),
        ),
    ];
    for (key, value) in tags {
        client
            .set_model_version_tag(&version.name, &version.version, key, &value)
            .await?;
    }
    if let Some(alias) = &args.alias {
        client
            .set_alias(&version.name, alias, &version.version)
            .await?;
    }
    if args.load
        && let (Some((model, number)), Some(url)) = (&dest.triton, &args.triton_url)
    {
        crate::triton::load_and_wait(
            url,
            model,
            number,
            std::time::Duration::from_secs_f64(args.load_timeout),
        )
        .await?;
    }
    report.seconds = started.elapsed().as_secs_f64();
    report.mib_per_second =
        report.fetched_bytes as f64 / (1024.0 * 1024.0) / report.seconds.max(1e-9);
    Ok(report)
}

/// Every object under `location`, mapped to its path under `root`; any unsafe key fails the whole
/// listing before a byte is written.
pub(crate) async fn list_model(
    client: &aws_sdk_s3::Client,
    location: &S3Location,
    root: &Path,
) -> anyhow::Result<Vec<RemoteFile>> {
    let mut listing = Listing::new(client, location, root);
    let mut files = Vec::new();
    while let Some(page) = listing.next_page().await? {
        files.extend(page);
    }
    files.sort_by(|a, b| a.relative.cmp(&b.relative));
    Ok(files)
}

/// The objects under a location, a page (up to 1,000 keys) at a time, each key mapped to its
/// path under `root` by `local_path_for_key`: an unsafe key is an error, folder markers are
/// skipped.
pub(crate) struct Listing<'a> {
    client: &'a aws_sdk_s3::Client,
    location: &'a S3Location,
    root: &'a Path,
    continuation: Option<String>,
    finished: bool,
}

impl<'a> Listing<'a> {
    pub(crate) fn new(
        client: &'a aws_sdk_s3::Client,
        location: &'a S3Location,
        root: &'a Path,
    ) -> Listing<'a> {
        Listing {
            client,
            location,
            root,
            continuation: None,
            finished: false,
        }
    }

    /// The next page's files; `None` once the listing is over.
    pub(crate) async fn next_page(&mut self) -> anyhow::Result<Option<Vec<RemoteFile>>> {
        if self.finished {
            return Ok(None);
        }
        let location = self.location;
        let page = self
            .client
            .list_objects_v2()
            .bucket(&location.bucket)
            .prefix(format!("{}/", location.prefix))
            .set_continuation_token(self.continuation.take())
            .send()
            .await
            .map_err(|error| {
                let text = describe_sdk_error(&error);
                let hint = if text.contains("NoSuchBucket") {
                    "the bucket does not exist: check `--artifacts-destination` (or LLMOPS_ARTIFACTS_DESTINATION / MLFLOW_S3_BUCKET)".to_string()
                } else if text.contains("AccessDenied") {
                    format!("the credentials ({}) may not list {location}", s3::credential_source())
                } else {
                    "check the S3 endpoint and network".to_string()
                };
                UserError::failed(format!("cannot list {location}: {text}")).with_hint(hint)
            })?;
        self.continuation = page.next_continuation_token().map(str::to_string);
        self.finished = !page.is_truncated().unwrap_or(false) || self.continuation.is_none();
        let mut files = Vec::new();
        for object in page.contents() {
            let key = object.key().unwrap_or_default();
            let Some(local) = local_path_for_key(self.root, &location.prefix, key)
                .map_err(|e| UserError::failed(e.to_string()))?
            else {
                continue;
            };
            let relative = local
                .strip_prefix(self.root)
                .expect("inside the root")
                .to_string_lossy()
                .into_owned();
            files.push(RemoteFile {
                key: key.to_string(),
                relative,
                size: object.size().unwrap_or(0).max(0) as u64,
                etag: object.e_tag().map(|e| e.trim_matches('"').to_string()),
                local,
            });
        }
        Ok(Some(files))
    }

    /// Pages until one has a file (or the listing ends): an empty result means no objects.
    async fn first_files(&mut self) -> anyhow::Result<Vec<RemoteFile>> {
        while let Some(page) = self.next_page().await? {
            if !page.is_empty() {
                return Ok(page);
            }
        }
        Ok(Vec::new())
    }
}

/// The files a manifest lists, with their keys under `location`; a manifest path that is not a
/// safe relative path is refused like a hostile key.
fn planned_from_manifest(
    manifest: &Manifest,
    location: &S3Location,
    root: &Path,
) -> anyhow::Result<Vec<RemoteFile>> {
    let mut files = Vec::new();
    for entry in &manifest.files {
        let key = format!("{}/{}", location.prefix, entry.path);
        let Some(local) = local_path_for_key(root, &location.prefix, &key)
            .map_err(|e| UserError::failed(format!("the manifest: {e}")))?
        else {
            continue;
        };
        files.push(RemoteFile {
            key,
            relative: entry.path.clone(),
            size: entry.size,
            etag: None,
            local,
        });
    }
    Ok(files)
}

async fn fetch_manifest(
    client: &aws_sdk_s3::Client,
    location: &S3Location,
) -> anyhow::Result<Option<Manifest>> {
    let key = location.join(MANIFEST_ARTIFACT).prefix;
    match client
        .get_object()
        .bucket(&location.bucket)
        .key(&key)
        .send()
        .await
    {
        Ok(object) => {
            let bytes = object
                .body
                .collect()
                .await
                .map_err(|e| anyhow::anyhow!("reading s3://{}/{key}: {e}", location.bucket))?
                .into_bytes();
            Ok(Some(read_manifest_bytes(&bytes)?))
        }
        Err(error) => {
            let text = describe_sdk_error(&error);
            if text.contains("NoSuchKey") || text.contains("Not Found") || text.contains("NotFound")
            {
                Ok(None)
            } else {
                Err(UserError::failed(format!(
                    "cannot read s3://{}/{key}: {text}",
                    location.bucket
                ))
                .into())
            }
        }
    }
}

fn check_listing_against_manifest(files: &[RemoteFile], manifest: &Manifest) -> anyhow::Result<()> {
    let mut problems = Vec::new();
    for entry in &manifest.files {
        match files.iter().find(|f| f.relative == entry.path) {
            None => problems.push(format!("`{}` is missing", entry.path)),
            Some(f) if f.size != entry.size => problems.push(format!(
                "`{}` is {} bytes, registered as {}",
                entry.path, f.size, entry.size
            )),
            Some(_) => {}
        }
    }
    for file in files {
        if manifest.entry(&file.relative).is_none() {
            problems.push(format!(
                "`{}` is not in the manifest",
                crate::output::printable(&file.relative)
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(UserError::failed(format!(
            "the published binaries do not match the manifest: {}",
            problems.join(", ")
        ))
        .with_hint("publish the version again (`llmops publish`), or register it anew")
        .into())
    }
}

/// Checks every file, by the digest taken while it downloaded or else by reading it back; a
/// mismatch is fetched once more, then it fails naming the file.
async fn verify_with_one_refetch(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    files: &[RemoteFile],
    manifest: Option<&Manifest>,
    digests: &BTreeMap<String, String>,
    state: &ResumeState,
    options: DownloadOptions,
) -> anyhow::Result<Verification> {
    let verification = if manifest.is_some() {
        Verification::Sha256
    } else {
        Verification::SizeAndEtag
    };
    let bad = mismatches(files, manifest, digests).await?;
    if bad.is_empty() {
        return Ok(verification);
    }
    let refetch: Vec<RemoteFile> = files
        .iter()
        .filter(|f| bad.contains(&f.relative))
        .cloned()
        .collect();
    for file in &refetch {
        crate::output::warn(&format!(
            "`{}` does not match; fetching it again",
            crate::output::printable(&file.relative)
        ));
        state.forget(file);
        let _ = std::fs::remove_file(&file.local);
    }
    let again =
        download::download_all(client, bucket, &refetch, state, options, &progress::Silent).await?;
    let still_bad = mismatches(&refetch, manifest, &again.digests).await?;
    if still_bad.is_empty() {
        Ok(verification)
    } else {
        Err(UserError::failed(format!(
            "checksum mismatch after a second fetch: {}",
            still_bad.join(", ")
        ))
        .with_hint("the object in S3 differs from what was registered; publish the version again")
        .into())
    }
}

/// Files whose bytes differ from the manifest (or, without one, from their single-part ETag).
/// A digest taken during the download is used as is; the other files (complete before this run,
/// or whose digest could not follow) are read back.
async fn mismatches(
    files: &[RemoteFile],
    manifest: Option<&Manifest>,
    digests: &BTreeMap<String, String>,
) -> anyhow::Result<Vec<String>> {
    let mut bad = Vec::new();
    let mut unhashed = Vec::new();
    for file in files {
        match digests.get(&file.relative) {
            Some(digest) if digest_matches(file, manifest, digest) => {}
            Some(_) => bad.push(file.relative.clone()),
            None => unhashed.push(file.clone()),
        }
    }
    bad.extend(reread_mismatches(unhashed, manifest).await?);
    Ok(bad)
}

/// `digest` is the sha256 (with a manifest) or MD5 (without) of the bytes downloaded for `file`.
fn digest_matches(file: &RemoteFile, manifest: Option<&Manifest>, digest: &str) -> bool {
    match manifest {
        Some(m) => m.entry(&file.relative).is_some_and(|e| e.sha256 == digest),
        None => file.single_part_etag() == Some(digest),
    }
}

async fn reread_mismatches(
    files: Vec<RemoteFile>,
    manifest: Option<&Manifest>,
) -> anyhow::Result<Vec<String>> {
    let manifest = manifest.cloned();
    let bad = tokio::task::spawn_blocking(move || {
        let next = std::sync::atomic::AtomicUsize::new(0);
        let bad = std::sync::Mutex::new(Vec::new());
        std::thread::scope(|scope| {
            for _ in 0..2 {
                scope.spawn(|| {
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(file) = files.get(i) else { break };
                        let ok = matches_expected(&file.local, file, manifest.as_ref());
                        if !ok {
                            bad.lock().unwrap().push(file.relative.clone());
                        }
                    }
                });
            }
        });
        bad.into_inner().unwrap()
    })
    .await?;
    Ok(bad)
}

/// Whether the bytes at `path` are the ones registered: sha256 against the manifest when there is
/// one (only sha256: MD5 on top doubled the CPU of a promote), else MD5 against a single-part ETag,
/// else the size alone.
fn matches_expected(path: &Path, file: &RemoteFile, manifest: Option<&Manifest>) -> bool {
    match manifest {
        Some(m) => crate::layout::staging::sha256_file(path)
            .is_ok_and(|hash| m.entry(&file.relative).is_some_and(|e| e.sha256 == hash)),
        None => match file.single_part_etag() {
            Some(etag) => digest_file(path, DigestKind::Md5).is_ok_and(|md5| md5 == etag),
            None => std::fs::metadata(path).is_ok_and(|m| m.len() == file.size),
        },
    }
}

/// A promoted copy is the same as the registered one: every file has its size and (with a manifest)
/// its sha256, or (without) its single-part ETag. Re-hashing costs a read of the copy, and makes
/// "already promoted" a verified statement, not a remembered one.
fn existing_copy_matches(target: &Path, files: &[RemoteFile], manifest: Option<&Manifest>) -> bool {
    let sizes_match = files
        .iter()
        .all(|f| std::fs::metadata(target.join(&f.relative)).is_ok_and(|m| m.len() == f.size));
    sizes_match
        && files
            .iter()
            .all(|f| matches_expected(&target.join(&f.relative), f, manifest))
}

fn write_state(path: &Path, state: &PromotedState) -> anyhow::Result<()> {
    let dir = path.parent().expect("state has a folder");
    std::fs::create_dir_all(dir)?;
    let temp = path.with_extension("json.tmp");
    std::fs::write(&temp, serde_json::to_vec_pretty(state)?)?;
    std::fs::rename(&temp, path)?;
    Ok(())
}

pub fn utc_now() -> String {
    crate::commands::register::utc_now()
}

#[derive(Debug, Serialize)]
pub struct VersionStatus {
    pub version: String,
    pub aliases: Vec<String>,
    pub parent_run_id: Option<String>,
    pub dev_staged: Option<bool>,
    pub published: bool,
    pub promoted_to: Option<String>,
    pub promoted: bool,
    pub verified: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct StatusReport {
    pub schema_version: u32,
    pub name: String,
    pub versions: Vec<VersionStatus>,
}

/// `llmops status <name>`: per version, what is where.
pub async fn status(args: &StatusArgs) -> anyhow::Result<StatusReport> {
    let client = mlflow::client_from(args.tracking_uri.as_deref())?;
    crate::mlflow::model_ref::validate_registered_model_name(&args.name)
        .map_err(UserError::usage)?;
    let versions = client.search_model_versions(&args.name).await?;
    if versions.is_empty() {
        return Err(UserError::usage(format!(
            "registered model `{}` has no versions (or does not exist)",
            args.name
        ))
        .into());
    }
    let dev_root = roots::resolve(RootKind::Dev, args.dev_root.as_deref()).ok();
    let prod_root = roots::resolve(RootKind::Prod, args.prod_root.as_deref()).ok();
    let aliases = registered_aliases(&client, &args.name).await;
    let mut rows = Vec::new();
    for version in versions {
        let parent = version.tag(tags::PARENT_RUN_ID).map(str::to_string);
        // Where `register` staged it (recorded on the version), else the LLM layout under --dev-root.
        let dev_staged = match (version.tag(tags::DEV_STAGED_PATH), &dev_root, &parent) {
            (Some(path), _, _) => Some(Path::new(path).is_dir()),
            (None, Some(root), Some(parent)) => {
                Some(root.path.join(LLM_MODELS_DIR).join(parent).is_dir())
            }
            _ => None,
        };
        let triton = crate::commands::publish::triton_model_of(&version)
            .ok()
            .flatten();
        let promoted_to = version.tag(audit::PROMOTED_TO).map(str::to_string);
        let promoted = promoted_to
            .as_deref()
            .is_some_and(|p| Path::new(p).is_dir())
            || match (&prod_root, &parent) {
                (Some(root), Some(parent)) => root.path.join(LLM_MODELS_DIR).join(parent).is_dir(),
                _ => false,
            };
        let record = match (&prod_root, &parent, &triton) {
            (Some(root), _, Some((model, number))) => {
                crate::commands::register_triton::staging_area_path(&root.path)
                    .ok()
                    .map(|area| area.join("promoted").join(format!("{model}-{number}.json")))
            }
            (Some(root), Some(parent), None) => Some(
                root.path
                    .join(LLM_MODELS_DIR)
                    .join(".llmops")
                    .join(format!("{parent}.json")),
            ),
            _ => None,
        };
        let verified = match record {
            Some(record) => std::fs::read(record)
                .ok()
                .and_then(|b| serde_json::from_slice::<PromotedState>(&b).ok())
                .map(|s| format!("{} at {}", s.verification.label(), s.verified_at)),
            _ => None,
        };
        rows.push(VersionStatus {
            aliases: aliases
                .iter()
                .filter(|(_, v)| *v == version.version)
                .map(|(a, _)| a.clone())
                .collect(),
            version: version.version.clone(),
            parent_run_id: parent,
            dev_staged,
            published: version.tag(tags::PUBLISHED) == Some("true"),
            promoted_to,
            promoted,
            verified,
        });
    }
    Ok(StatusReport {
        schema_version: 1,
        name: args.name.clone(),
        versions: rows,
    })
}

async fn registered_aliases(client: &MlflowClient, name: &str) -> Vec<(String, String)> {
    client
        .registered_model_aliases(name)
        .await
        .unwrap_or_default()
}

#[derive(Debug, Serialize)]
pub struct VerifyReport {
    pub schema_version: u32,
    pub name: String,
    pub version: String,
    pub path: String,
    pub files: usize,
    pub bytes: u64,
    pub verified: bool,
    pub problems: Vec<String>,
}

/// `llmops verify`: re-hash the prod copy against the manifest.
pub async fn verify(args: &VerifyArgs) -> anyhow::Result<VerifyReport> {
    let reference =
        ModelRef::parse(&args.model, args.version.as_deref()).map_err(UserError::usage)?;
    let client = mlflow::client_from(args.tracking_uri.as_deref())?;
    let prod_root = roots::resolve(RootKind::Prod, args.prod_root.as_deref())
        .map_err(|e| UserError::usage(e.to_string()))?;
    let version = reference.resolve(&client).await.map_err(|e| match e {
        ResolveError::NotFound(r) => anyhow::Error::new(UserError::usage(format!(
            "`{r}` does not exist in the model registry"
        ))),
        ResolveError::Mlflow(e) => e.into(),
    })?;
    let lineage = lineage::resolve(&client, &version).await?;
    let parent = lineage.parent.info.run_id.clone();
    let manifest =
        crate::commands::publish::read_manifest(&client, &lineage.parent_artifact_path).await?;
    // The manifest's paths are relative to the run folder (LLM) or the model folder (Triton).
    let triton = crate::commands::publish::triton_model_of(&version)?;
    let dir: PathBuf = match &triton {
        Some((model, _)) => prod_root.path.join(model),
        None => prod_root.path.join(LLM_MODELS_DIR).join(&parent),
    };
    if !dir.is_dir() {
        return Err(UserError::failed(format!(
            "{reference} is not promoted: `{}` does not exist",
            dir.display()
        ))
        .with_hint(format!("run `llmops promote {reference}`"))
        .into());
    }
    let mut problems = Vec::new();
    for entry in &manifest.files {
        let path = dir.join(&entry.path);
        match crate::layout::staging::sha256_file(&path) {
            Err(_) => problems.push(format!("`{}` is missing", entry.path)),
            Ok(hash) if hash != entry.sha256 => {
                problems.push(format!("`{}` differs from the manifest", entry.path))
            }
            Ok(_) => {}
        }
    }
    let verified = problems.is_empty();
    if verified {
        let state_path = match &triton {
            Some((model, number)) => {
                crate::commands::register_triton::staging_area(&prod_root.path)?
                    .join("promoted")
                    .join(format!("{model}-{number}.json"))
            }
            None => prod_root
                .path
                .join(LLM_MODELS_DIR)
                .join(".llmops")
                .join(format!("{parent}.json")),
        };
        let mut state = std::fs::read(&state_path)
            .ok()
            .and_then(|b| serde_json::from_slice::<PromotedState>(&b).ok())
            .unwrap_or(PromotedState {
                name: version.name.clone(),
                version: version.version.clone(),
                manifest_digest: Some(manifest.digest()),
                promoted_at: "unknown".into(),
                verification: Verification::Sha256,
                verified_at: String::new(),
            });
        state.verified_at = utc_now();
        write_state(&state_path, &state)?;
    }
    Ok(VerifyReport {
        schema_version: 1,
        name: version.name,
        version: version.version,
        path: dir.display().to_string(),
        files: manifest.files.len(),
        bytes: manifest.total_bytes(),
        verified,
        problems,
    })
}

/// `--require-fit`: size the published model (headers only) and refuse one that will not start.
async fn require_fit(
    args: &PromoteArgs,
    s3: &aws_sdk_s3::Client,
    location: &S3Location,
) -> anyhow::Result<()> {
    let gpu = args.gpu.as_deref().unwrap_or_default();
    let model = crate::sizing::remote::load_from(s3, location).await?;
    let estimate = crate::sizing::verdict::verdict_for(
        &model,
        gpu,
        args.max_model_len,
        args.tensor_parallel_size,
    )
    .map_err(UserError::usage)?;
    if estimate.fits() {
        crate::output::note(&format!(
            "fits on {gpu}: {:.2} concurrent requests of {} tokens",
            estimate.max_concurrency, estimate.settings.max_model_len
        ));
        return Ok(());
    }
    let hint = match estimate.max_model_len_that_fits {
        Some(len) => format!("with --max-model-len {len} it would fit; `llmops size` on the model shows every option"),
        None => "no context length fits on this GPU; `llmops size` on the model shows which GPUs or tensor-parallel sizes would".into(),
    };
    Err(UserError::failed(format!(
        "refusing to promote: the model will not start on {gpu} with --max-model-len {} ({:?})",
        estimate.settings.max_model_len, estimate.problems
    ))
    .with_hint(hint)
    .into())
}

/// STS error codes that mean the credentials themselves are bad.
fn is_credential_error(code: Option<&str>) -> bool {
    matches!(
        code,
        Some(
            "InvalidClientTokenId"
                | "ExpiredToken"
                | "ExpiredTokenException"
                | "AccessDenied"
                | "SignatureDoesNotMatch"
                | "InvalidIdentityToken"
                | "UnrecognizedClientException"
        )
    )
}
