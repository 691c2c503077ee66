//! `llmops promote`: a registered version's binaries, from the parent run's S3 prefix (with the
//! deployer's own AWS credentials, IRSA in production) to the prod dataset, verified against the
//! manifest and swapped in atomically, with an audit trail on the version.
//!
//! The registry says which version and where its bytes are (`registry::locate`), the layout where
//! they go (`layout::destination`), the transfer layer moves and checks them; this file decides the
//! order. `source.rs` reads the S3 side (listing, manifest, plan), `report.rs` is what it tells.

mod base;
mod report;
pub mod rollback;
mod source;

use std::sync::Arc;
use std::time::Instant;

pub use report::{Outcome, PlannedFile, PromoteReport};
use source::Source;

use crate::cli::{PromoteArgs, Target};
use crate::env;
use crate::exit::UserError;
use crate::layout::audit::{self, AuditEntry};
use crate::layout::destination::{self, Destination, PromotedState, Verification};
use crate::layout::roots::{self, RootKind};
use crate::layout::swap::{self, Swap};
use crate::layout::triton;
use crate::manifest::Manifest;
use crate::mlflow::{self, MlflowClient};
use crate::progress::{Reporter, Silent};
use crate::registry::names::tag;
use crate::registry::{self, Anchored, Located, ModelRef, Served, gates};
use crate::s3;
use crate::transfer::digest::DigestKind;
use crate::transfer::download::{self, DownloadOptions, RemoteFile, ResumeState};
use crate::transfer::sink::ALIGN;
use crate::transfer::verify::{self, Expected, FileCheck};
use crate::units::now_rfc3339;

pub async fn run(args: &PromoteArgs, reporter: Arc<dyn Reporter>) -> anyhow::Result<PromoteReport> {
    let started = Instant::now();
    let options = download_options(args)?;
    let reference =
        ModelRef::parse(&args.model, args.version.as_deref()).map_err(UserError::usage)?;
    let client = mlflow::client_from(args.tracking.tracking_uri.as_deref(), reporter.clone())?;
    let prod_root = roots::resolve(RootKind::Prod, args.prod.prod_root.as_deref())
        .map_err(|e| UserError::usage(e.to_string()))?;
    let destination = args.artifact_store.artifacts_destination.as_deref();
    let located = registry::locate(&client, &reference, destination, reporter.as_ref()).await?;
    let configured = crate::config::gates_for(&located.version.name)
        .map_err(|e| UserError::usage(e.to_string()))?;
    let gates = check_gates(args, &configured, &client, &located).await?;
    let served = registry::served_as(&located.version)?;
    check_target(args.target, &served, &located)?;
    let dest = Destination::plan(&prod_root.path, &served, located.parent_run_id())?;
    dest.check_target()?;
    dest.check_writable(&prod_root)?;

    let credential_source = s3::credential_source();
    let (s3, sts) = s3::clients().await;
    let caller_arn = identify_caller(&sts, &credential_source, reporter.as_ref()).await?;
    let binaries = located.binaries();
    let mut source = Source::open(&s3, &located, &binaries, &dest, args.dry_run).await?;
    if source.files.is_empty() {
        return Err(UserError::failed(format!(
            "{reference} has no binaries in {binaries}: they were never published"
        ))
        .with_hint(format!(
            "run `llmops publish {reference}` from where it was registered, then promote again"
        ))
        .into());
    }
    let anchored = registry::check_manifest_chain(
        &located.version,
        source.manifest.as_ref(),
        args.allow_unverified,
    )?;
    if anchored == Anchored::Unverified {
        reporter.warn(match source.manifest {
            None => "no llmops manifest in the parent run: files are checked by size and single-part ETag only (--allow-unverified)",
            Some(_) => "the manifest is not anchored to the registration: files are checked against it, but nothing vouches for it (--allow-unverified)",
        });
    }
    if args.require_fit || configured.iter().any(|c| c.gates.require_fit) {
        require_fit(args, &s3, &binaries, reporter.as_ref()).await?;
    }
    if let Served::Triton { number, .. } = &served {
        check_triton_files(&source.files, number)?;
    }
    let mut report = PromoteReport::new(&located, &binaries, &dest, &source.files);
    report.credential_source = credential_source;
    report.caller_arn = caller_arn.clone();
    report.alias = args.alias.clone();
    report.base = base::ensure_base(
        args,
        &client,
        &prod_root,
        &located.version,
        reporter.clone(),
    )
    .await?;

    let identical = dest.target.exists()
        && existing_copy_matches(&dest, &source.files, source.manifest.as_ref()).await?;
    if args.dry_run {
        return Ok(dry_run(
            report,
            &dest,
            &source.files,
            identical,
            started,
            reporter.as_ref(),
        ));
    }

    let user = std::env::var(env::DOMINO_STARTING_USERNAME)
        .ok()
        .or(caller_arn)
        .unwrap_or_else(|| "unknown".into());
    let _lock = dest.lock(&swap::holder_description(&user))?;
    if identical {
        reporter.note(&format!(
            "already promoted: {} holds {reference} and matches its manifest",
            dest.target.display()
        ));
        report.outcome = Outcome::AlreadyPromoted;
        report.verified = Some(verification_of(source.manifest.as_ref()));
        // A run killed between the swap and its clean-up left the old copy here.
        let _ = std::fs::remove_dir_all(&dest.work);
    } else {
        fetch_verify_and_swap(&s3, &mut source, &dest, options, &reporter, &mut report).await?;
    }

    let audit = Audit {
        base_folder: report.base.as_ref().map(|b| b.folder.clone()),
        gates,
        user,
    };
    record_promotion(
        args,
        &client,
        (&located, &dest),
        (&source, anchored),
        &audit,
    )
    .await?;
    if args.load
        && let (Served::Triton { model, number }, Some(url)) = (&served, &args.triton_url)
    {
        let timeout = std::time::Duration::from_secs_f64(args.load_timeout);
        crate::triton::load_and_wait(url, model, number, timeout).await?;
    }
    report.seconds = started.elapsed().as_secs_f64();
    report.mib_per_second =
        report.fetched_bytes as f64 / (1024.0 * 1024.0) / report.seconds.max(1e-9);
    Ok(report)
}

fn download_options(args: &PromoteArgs) -> anyhow::Result<DownloadOptions> {
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

/// `--target` must match the layout the version was registered for.
fn check_target(target: Target, served: &Served, located: &Located) -> Result<(), UserError> {
    let version = &located.version;
    match (target, served) {
        (Target::Llm, Served::Llm) | (Target::Triton, Served::Triton { .. }) => Ok(()),
        (Target::Llm, Served::Triton { .. }) => Err(UserError::usage(format!(
            "{}/{} was registered for Triton; promote it with `--target triton --prod-root <model repository>`",
            version.name, version.version
        ))),
        (Target::Triton, Served::Llm) => Err(UserError::usage(format!(
            "{}/{} was not registered with `--target triton`; promote it without `--target triton`",
            version.name, version.version
        ))),
    }
}

/// The caller's ARN from STS. An S3-compatible store without STS (MinIO, rclone) answers with an
/// error it invents; the caller is then unknown, and S3 itself will say whether the credentials
/// work. Credentials STS refuses fail here, before any listing.
async fn identify_caller(
    sts: &aws_sdk_sts::Client,
    credential_source: &str,
    reporter: &dyn Reporter,
) -> anyhow::Result<Option<String>> {
    match sts.get_caller_identity().send().await {
        Ok(identity) => Ok(identity.arn().map(str::to_string)),
        Err(aws_sdk_sts::error::SdkError::ServiceError(service))
            if !is_credential_error(service.err().meta().code()) =>
        {
            let message = service.err().meta().message().unwrap_or("unreadable answer");
            reporter.warn(&format!(
                "could not identify the AWS caller (STS: {}); continuing",
                crate::text::excerpt(message, 300)
            ));
            Ok(None)
        }
        Err(error) => Err(UserError::failed(format!(
            "AWS credentials are not usable: {}",
            download::describe_sdk_error(&error)
        ))
        .with_hint(format!("credentials came from: {credential_source}; in a pod, check the IRSA annotation and AWS_WEB_IDENTITY_TOKEN_FILE"))
        .into()),
    }
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

/// A Triton version's objects are `config.pbtxt` and `<N>/…`, nothing else.
fn check_triton_files(files: &[RemoteFile], number: &str) -> anyhow::Result<()> {
    match triton::stray_file(files.iter().map(|f| f.relative.as_str()), number) {
        Some(stray) => Err(UserError::failed(format!(
            "`{}` does not belong in a Triton model folder for version {number}",
            crate::text::printable(stray)
        ))
        .into()),
        None => Ok(()),
    }
}

fn verification_of(manifest: Option<&Manifest>) -> Verification {
    match manifest {
        Some(m) if m.has_blake3() => Verification::Blake3,
        Some(_) => Verification::Sha256,
        None => Verification::SizeAndEtag,
    }
}

/// What `--dry-run` reports: the plan, and whether promoting would change anything.
fn dry_run(
    mut report: PromoteReport,
    dest: &Destination,
    files: &[RemoteFile],
    identical: bool,
    started: Instant,
    reporter: &dyn Reporter,
) -> PromoteReport {
    report.outcome = if !dest.target.exists() || identical {
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
        reporter.note(&format!(
            "{} already holds this version: promote would change nothing",
            dest.target.display()
        ));
    }
    report
}

/// Downloads into the work folder (resuming an interrupted run), verifies every file, swaps the
/// tree in and records what was promoted.
async fn fetch_verify_and_swap(
    s3: &aws_sdk_s3::Client,
    source: &mut Source<'_>,
    dest: &Destination,
    options: DownloadOptions,
    reporter: &Arc<dyn Reporter>,
    report: &mut PromoteReport,
) -> anyhow::Result<()> {
    // The work folder may hold what an earlier run fetched for objects no longer planned.
    prune_work_tree(source, reporter.as_ref())?;
    let state = ResumeState::new(dest.work.join("state"))?;
    let options = DownloadOptions {
        digest: Some(match verification_of(source.manifest.as_ref()) {
            Verification::Blake3 => DigestKind::Blake3,
            Verification::Sha256 => DigestKind::Sha256,
            Verification::SizeAndEtag => DigestKind::Md5,
        }),
        ..options
    };
    let (listed, summary) = source.download(s3, &state, options, reporter).await?;
    report.fetched_bytes = summary.fetched_bytes;
    report.resumed_bytes = summary.resumed_bytes;
    report.retries = summary.retries;
    let bucket = &source.bucket;
    let manifest = source.manifest.as_ref();
    let refetch = Refetch {
        client: s3,
        bucket,
        state: &state,
        options,
    };
    let verification = verify_with_one_refetch(
        &refetch,
        &listed,
        manifest,
        &summary.digests,
        reporter.as_ref(),
    )
    .await?;
    report.verified = Some(verification);
    // Only the planned, verified files move into production.
    prune_work_tree(source, reporter.as_ref())?;
    // A version registered without a manifest: record one of what is promoted, for `verify`.
    let computed_manifest = match manifest {
        Some(_) => None,
        None => {
            let root = source.files_root.clone();
            let reporter = reporter.clone();
            let computed = tokio::task::spawn_blocking(move || {
                crate::layout::staging::hash_tree(&root, reporter.as_ref())
            })
            .await??;
            Some(computed)
        }
    };
    let swapped = dest.publish(&source.files_root)?;
    report.outcome = match swapped {
        Swap::Replaced => Outcome::Replaced,
        Swap::Created => Outcome::Promoted,
    };
    let _ = std::fs::remove_dir_all(&dest.work);
    dest.write_state(&PromotedState {
        name: report.name.clone(),
        version: report.version.clone(),
        manifest_digest: manifest
            .or(computed_manifest.as_ref())
            .map(Manifest::digest),
        promoted_at: now_rfc3339(),
        verification,
        verified_at: now_rfc3339(),
        computed_manifest,
    })
}

/// Removes from the work tree whatever is not in the plan, saying what went.
fn prune_work_tree(source: &Source<'_>, reporter: &dyn Reporter) -> anyhow::Result<()> {
    let planned = source.files.iter().map(|f| f.relative.as_str()).collect();
    for removed in destination::prune_to_plan(&source.files_root, &planned)? {
        reporter.note(&format!(
            "removed `{}` from the work folder: it is not part of this version",
            crate::text::printable(&removed)
        ));
    }
    Ok(())
}

/// After the swap: the audit tags on the version, the alias moved, one line in the prod root's
/// audit log.
async fn record_promotion(
    args: &PromoteArgs,
    client: &MlflowClient,
    (located, dest): (&Located, &Destination),
    (source, anchored): (&Source<'_>, Anchored),
    audit: &Audit,
) -> anyhow::Result<()> {
    record_audit(client, located, dest, (source, anchored), audit).await?;
    let alias_before = match &args.alias {
        Some(alias) => move_alias(client, located, alias).await?,
        None => None,
    };
    audit::append(
        dest,
        &AuditEntry {
            at: now_rfc3339(),
            action: "promote".into(),
            name: located.version.name.clone(),
            version: located.version.version.clone(),
            by: audit.user.clone(),
            folder: dest.target.display().to_string(),
            manifest_digest: source.manifest.as_ref().map(Manifest::digest),
            alias: args.alias.clone(),
            alias_before,
            gates: audit.gates.clone(),
            freed_bytes: None,
        },
    )
}

/// What the audit trail records besides the version and the destination.
struct Audit {
    /// An adapter's base folder.
    base_folder: Option<String>,
    /// The gates passed, each with the value found.
    gates: Vec<String>,
    user: String,
}

/// `--require` and `--require-better-than`, and the config files' gates for the model (each
/// named with its file), checked against the registry before any byte moves; the gates passed,
/// each with the value found.
async fn check_gates(
    args: &PromoteArgs,
    configured: &[crate::config::ConfiguredGates],
    client: &MlflowClient,
    located: &Located,
) -> anyhow::Result<Vec<String>> {
    let mut requires: Vec<(String, String, &str)> = args
        .require
        .iter()
        .map(|t| (t.clone(), t.clone(), "--require"))
        .collect();
    let mut better: Vec<(String, String, &str)> = args
        .require_better_than
        .iter()
        .map(|t| {
            (
                t.clone(),
                format!("better than {t}"),
                "--require-better-than",
            )
        })
        .collect();
    for c in configured {
        let from = |text: &str| format!("{text} [{}]", c.file);
        requires.extend(
            c.gates
                .require
                .iter()
                .map(|t| (t.clone(), from(t), c.file.as_str())),
        );
        better.extend(c.gates.require_better_than.iter().map(|t| {
            (
                t.clone(),
                from(&format!("better than {t}")),
                c.file.as_str(),
            )
        }));
    }
    let mut gates = Vec::new();
    for (text, label, from) in requires {
        let gate =
            gates::parse_require(&text).map_err(|e| UserError::usage(format!("{from}: {e}")))?;
        gates.push((label, gate));
    }
    for (text, label, from) in better {
        let gate = gates::parse_better_than(&text)
            .map_err(|e| UserError::usage(format!("{from}: {e}")))?;
        gates.push((label, gate));
    }
    if gates.is_empty() {
        return Ok(Vec::new());
    }
    let checked = gates::evaluate(client, &located.version, &located.lineage, &gates).await?;
    if let Some(refusal) = gates::refusal(&checked) {
        return Err(refusal.into());
    }
    Ok(checked
        .iter()
        .map(|c| format!("{} ({})", c.gate, c.value))
        .collect())
}

/// Moves `alias` to the promoted version; returns the version it pointed to before, if any.
async fn move_alias(
    client: &MlflowClient,
    located: &Located,
    alias: &str,
) -> anyhow::Result<Option<String>> {
    let version = &located.version;
    let before = client
        .get_model_version_by_alias(&version.name, alias)
        .await
        .ok()
        .map(|v| v.version)
        .filter(|v| *v != version.version);
    client
        .set_alias(&version.name, alias, &version.version)
        .await?;
    Ok(before)
}

/// The audit trail on the version: when, by whom, where, which manifest.
async fn record_audit(
    client: &MlflowClient,
    located: &Located,
    dest: &Destination,
    (source, anchored): (&Source<'_>, Anchored),
    audit: &Audit,
) -> anyhow::Result<()> {
    let digest = match (source.manifest.as_ref().map(Manifest::digest), anchored) {
        (Some(digest), Anchored::Registered) => digest,
        (Some(digest), Anchored::Unverified) => {
            format!("{digest} (unverified: --allow-unverified)")
        }
        (None, _) => "none (no manifest: --allow-unverified)".into(),
    };
    let mut tags = vec![
        (tag::PROMOTED_AT, now_rfc3339()),
        (tag::PROMOTED_BY, audit.user.clone()),
        (tag::PROMOTED_TO, dest.target.display().to_string()),
        (tag::PROMOTED_DIGEST, digest),
    ];
    // An adapter: the base folder it was promoted against.
    if let Some(folder) = &audit.base_folder {
        tags.push((tag::PROMOTED_BASE_TO, folder.clone()));
    }
    if !audit.gates.is_empty() {
        tags.push((tag::PROMOTED_GATES, audit.gates.join("; ")));
    }
    let version = &located.version;
    for (key, value) in tags {
        client
            .set_model_version_tag(&version.name, &version.version, key, &value)
            .await?;
    }
    Ok(())
}

/// What a mismatching file is fetched again with.
struct Refetch<'a> {
    client: &'a aws_sdk_s3::Client,
    bucket: &'a str,
    state: &'a ResumeState,
    options: DownloadOptions,
}

/// Checks every file, by the digest taken while it downloaded or else by reading it back; a
/// mismatch is fetched once more, then it fails naming the file.
async fn verify_with_one_refetch(
    refetch: &Refetch<'_>,
    files: &[RemoteFile],
    manifest: Option<&Manifest>,
    digests: &std::collections::BTreeMap<String, String>,
    reporter: &dyn Reporter,
) -> anyhow::Result<Verification> {
    let verification = verification_of(manifest);
    let bad = mismatches(files, manifest, digests).await?;
    if bad.is_empty() {
        return Ok(verification);
    }
    let again: Vec<RemoteFile> = files
        .iter()
        .filter(|f| bad.contains(&f.relative))
        .cloned()
        .collect();
    for file in &again {
        reporter.warn(&format!(
            "`{}` does not match; fetching it again",
            crate::text::printable(&file.relative)
        ));
        refetch.state.forget(file);
        let _ = std::fs::remove_file(&file.local);
    }
    // The second fetch is quiet: its progress would restart the bars the user just watched.
    let quiet: Arc<dyn Reporter> = Arc::new(Silent::quiet());
    let (client, bucket, state) = (refetch.client, refetch.bucket, refetch.state);
    let second =
        download::download_all(client, bucket, &again, state, refetch.options, &quiet).await?;
    let still_bad = mismatches(&again, manifest, &second.digests).await?;
    if still_bad.is_empty() {
        return Ok(verification);
    }
    let named: Vec<String> = still_bad
        .iter()
        .map(|n| crate::text::printable(n))
        .collect();
    Err(UserError::failed(format!(
        "checksum mismatch after a second fetch: {}",
        named.join(", ")
    ))
    .with_hint("the object in S3 differs from what was registered; publish the version again")
    .into())
}

/// Files whose bytes differ from the manifest (or, without one, from their single-part ETag).
/// A digest taken during the download is used as is; the other files (complete before this run,
/// or whose digest could not follow) are read back by the verification engine.
async fn mismatches(
    files: &[RemoteFile],
    manifest: Option<&Manifest>,
    digests: &std::collections::BTreeMap<String, String>,
) -> anyhow::Result<Vec<String>> {
    let mut bad = Vec::new();
    let mut unhashed = Vec::new();
    for file in files {
        let expected = expected_of(file, manifest);
        match (digests.get(&file.relative), &expected) {
            (Some(digest), Expected::Blake3(hex) | Expected::Sha256(hex) | Expected::Md5(hex))
                if digest == hex => {}
            (Some(_), Expected::Blake3(_) | Expected::Sha256(_) | Expected::Md5(_)) => {
                bad.push(file.relative.clone())
            }
            _ => unhashed.push(FileCheck {
                name: file.relative.clone(),
                path: file.local.clone(),
                size: file.size,
                expected,
            }),
        }
    }
    let problems = tokio::task::spawn_blocking(move || verify::check(&unhashed)).await?;
    bad.extend(problems.into_iter().map(|p| p.name));
    Ok(bad)
}

/// What a downloaded file should be: its manifest BLAKE3 (or sha256 in an older manifest; a file
/// the manifest lacks can match nothing), else the MD5 of a single-part ETag, else its size.
fn expected_of(file: &RemoteFile, manifest: Option<&Manifest>) -> Expected {
    match manifest {
        Some(m) => {
            let entry = m.entry(&file.relative);
            match (entry.and_then(|e| e.blake3.clone()), m.has_blake3()) {
                (Some(hex), true) => Expected::Blake3(hex),
                _ => Expected::Sha256(entry.map_or_else(String::new, |e| e.sha256.clone())),
            }
        }
        None => match file.single_part_etag() {
            Some(etag) => Expected::Md5(etag.to_string()),
            None => Expected::SizeOnly,
        },
    }
}

/// A promoted copy is the same as the registered one: every file has its size and (with a
/// manifest) its sha256, or (without) its single-part ETag, and nothing else is in the folder
/// production reads. Re-hashing costs a read of the copy, and makes "already promoted" a verified
/// statement, not a remembered one; a copy with a foreign file is replaced like a damaged one.
async fn existing_copy_matches(
    dest: &Destination,
    files: &[RemoteFile],
    manifest: Option<&Manifest>,
) -> anyhow::Result<bool> {
    let checks: Vec<FileCheck> = files
        .iter()
        .map(|f| FileCheck {
            name: f.relative.clone(),
            path: dest.manifest_root.join(&f.relative),
            size: f.size,
            expected: expected_of(f, manifest),
        })
        .collect();
    let listed: Vec<String> = files.iter().map(|f| f.relative.clone()).collect();
    let (root, scope) = (dest.manifest_root.clone(), dest.target.clone());
    Ok(tokio::task::spawn_blocking(move || {
        verify::check(&checks).is_empty()
            && verify::unexpected_entries(&root, &scope, listed.iter().map(String::as_str))
                .is_empty()
    })
    .await?)
}

/// `--require-fit`: size the published model (headers only) and refuse one that will not start.
async fn require_fit(
    args: &PromoteArgs,
    s3: &aws_sdk_s3::Client,
    binaries: &s3::S3Location,
    reporter: &dyn Reporter,
) -> anyhow::Result<()> {
    let gpu = args.gpu.as_deref().unwrap_or_default();
    let model = crate::sizing::remote::load_from(s3, binaries).await?;
    let estimate = crate::sizing::verdict::verdict_for(
        &model,
        gpu,
        args.max_model_len,
        args.tensor_parallel_size,
    )
    .map_err(UserError::usage)?;
    if estimate.fits() {
        reporter.note(&format!(
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
