//! The S3 side of a promote: what is under the version's `model/` prefix, the manifest beside it,
//! and the plan (which files, where each lands in the work folder). With a manifest the plan is
//! the manifest, and downloads start with the first page of the listing while the rest streams in;
//! the whole listing is checked against it before anything is published. Without one (or for a
//! dry run) the listing is the plan, read whole first.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::exit::UserError;
use crate::layout::destination::Destination;
use crate::manifest::{MANIFEST_ARTIFACT, Manifest};
use crate::progress::Reporter;
use crate::registry::Located;
use crate::s3::{S3Location, local_path_for_key};
use crate::transfer::download::{
    self, DownloadOptions, DownloadSummary, RemoteFile, ResumeState, describe_sdk_error,
};
use crate::transfer::listing::{ListedObject, Listing};

pub(super) struct Source<'a> {
    listing: Listing<'a>,
    /// What the listing returned so far (all of it unless streaming).
    listed: Vec<RemoteFile>,
    pub manifest: Option<Manifest>,
    /// The plan: the files that will be in production.
    pub files: Vec<RemoteFile>,
    streaming: bool,
    pub bucket: String,
    /// Where the files are downloaded, inside the destination's work folder.
    pub files_root: PathBuf,
}

impl<'a> Source<'a> {
    /// Lists the first page (an empty listing means the binaries were never published) and reads
    /// the manifest. Nothing is written.
    pub async fn open(
        s3: &'a aws_sdk_s3::Client,
        located: &Located,
        binaries: &'a S3Location,
        dest: &Destination,
        dry_run: bool,
    ) -> anyhow::Result<Source<'a>> {
        let files_root = dest.work.join("files");
        let mut listing = Listing::new(s3, binaries);
        let mut listed = first_files(&mut listing, &files_root).await?;
        if listed.is_empty() {
            return Ok(Source {
                listing,
                listed: Vec::new(),
                manifest: None,
                files: Vec::new(),
                streaming: false,
                bucket: binaries.bucket.clone(),
                files_root,
            });
        }
        let manifest = fetch_manifest(s3, &located.artifacts).await?;
        let streaming = manifest.is_some() && !dry_run;
        if !streaming {
            for object in listing.all().await? {
                listed.extend(remote_file(binaries, &files_root, object)?);
            }
            listed.sort_by(|a, b| a.relative.cmp(&b.relative));
        }
        let files = match &manifest {
            Some(manifest) if streaming => planned_from_manifest(manifest, binaries, &files_root)?,
            _ => listed.clone(),
        };
        if let (Some(manifest), false) = (&manifest, streaming) {
            check_listing_against_manifest(&listed, manifest)?;
        }
        Ok(Source {
            listing,
            listed,
            manifest,
            files,
            streaming,
            bucket: binaries.bucket.clone(),
            files_root,
        })
    }

    /// Downloads the plan; returns every listed file (the whole listing, checked against the
    /// manifest) and what the download did.
    pub async fn download(
        &mut self,
        s3: &aws_sdk_s3::Client,
        state: &ResumeState,
        options: DownloadOptions,
        reporter: &Arc<dyn Reporter>,
    ) -> anyhow::Result<(Vec<RemoteFile>, DownloadSummary)> {
        let total = (self.files.iter().map(|f| f.size).sum(), self.files.len());
        let bucket = self.bucket.clone();
        if !self.streaming {
            let summary =
                download::download_all(s3, &bucket, &self.listed, state, options, reporter).await?;
            return Ok((self.listed.clone(), summary));
        }
        let manifest = self.manifest.as_ref().expect("streaming needs a manifest");
        let (sender, incoming) = tokio::sync::mpsc::channel(1024);
        let (listing, first, root) = (&mut self.listing, &self.listed, &self.files_root);
        let feed = async move {
            let sender = sender;
            // Only what the manifest plans is fetched; the rest fails the check below.
            let planned = |file: &RemoteFile| manifest.entry(&file.relative).is_some();
            let mut all = first.clone();
            for file in all.iter().filter(|f| planned(f)) {
                sender.send(file.clone()).await?;
            }
            while let Some(page) = listing.next_page().await? {
                let location = listing.location().clone();
                for object in page {
                    if let Some(file) = remote_file(&location, root, object)? {
                        if planned(&file) {
                            sender.send(file.clone()).await?;
                        }
                        all.push(file);
                    }
                }
            }
            drop(sender);
            all.sort_by(|a, b| a.relative.cmp(&b.relative));
            check_listing_against_manifest(&all, manifest)?;
            anyhow::Ok(all)
        };
        let download = async {
            let summary =
                download::download_stream(s3, &bucket, incoming, total, state, options, reporter)
                    .await?;
            anyhow::Ok(summary)
        };
        tokio::try_join!(feed, download)
    }
}

/// A listed object as a file to download under `root`; `None` for folder markers. A hostile key
/// fails here, before anything is written.
fn remote_file(
    location: &S3Location,
    root: &Path,
    object: ListedObject,
) -> anyhow::Result<Option<RemoteFile>> {
    let Some(local) = local_path_for_key(root, &location.prefix, &object.key)
        .map_err(|e| UserError::failed(e.to_string()))?
    else {
        return Ok(None);
    };
    let relative = local
        .strip_prefix(root)
        .expect("inside the root")
        .to_string_lossy()
        .into_owned();
    Ok(Some(RemoteFile {
        key: object.key,
        relative,
        size: object.size,
        etag: object.etag,
        local,
    }))
}

/// Pages until one has a file (or the listing ends): an empty result means no objects.
async fn first_files(listing: &mut Listing<'_>, root: &Path) -> anyhow::Result<Vec<RemoteFile>> {
    while let Some(page) = listing.next_page().await? {
        let location = listing.location().clone();
        let mut files = Vec::new();
        for object in page {
            files.extend(remote_file(&location, root, object)?);
        }
        if !files.is_empty() {
            return Ok(files);
        }
    }
    Ok(Vec::new())
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

/// `llmops/manifest.json` beside the binaries, or `None` when the version has none.
async fn fetch_manifest(
    client: &aws_sdk_s3::Client,
    artifacts: &S3Location,
) -> anyhow::Result<Option<Manifest>> {
    let key = artifacts.join(MANIFEST_ARTIFACT).prefix;
    let bucket = &artifacts.bucket;
    match client.get_object().bucket(bucket).key(&key).send().await {
        Ok(object) => {
            let bytes = object
                .body
                .collect()
                .await
                .map_err(|e| anyhow::anyhow!("reading s3://{bucket}/{key}: {e}"))?
                .into_bytes();
            Ok(Some(Manifest::from_untrusted(&bytes)?))
        }
        Err(error) => {
            let text = describe_sdk_error(&error);
            if text.contains("NoSuchKey") || text.contains("Not Found") || text.contains("NotFound")
            {
                Ok(None)
            } else {
                Err(UserError::failed(format!("cannot read s3://{bucket}/{key}: {text}")).into())
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
                crate::text::printable(&file.relative)
            ));
        }
    }
    if problems.is_empty() {
        return Ok(());
    }
    Err(UserError::failed(format!(
        "the published binaries do not match the manifest: {}",
        problems.join(", ")
    ))
    .with_hint("publish the version again (`llmops publish`), or register it anew")
    .into())
}
