//! The registry's model of a version, in one place: what llmops calls things in MLflow
//! ([`names`]), which version a reference means ([`reference`]), which runs it came from
//! ([`lineage`]), where its bytes are ([`locate`], [`binaries`]), which layout serves it
//! ([`served_as`]) and what it should contain ([`read_manifest`]). Commands ask these questions;
//! none re-derives the answers. The REST calls themselves are `mlflow::client`'s.

pub mod gates;
pub mod lineage;
pub mod names;
pub mod provenance;
pub mod reference;

use crate::env;
use crate::exit::UserError;
use crate::manifest::{MANIFEST_ARTIFACT, Manifest};
use crate::mlflow::client::{MlflowClient, ModelVersion};
use crate::mlflow::proxied_artifact_path;
use crate::progress::Reporter;
use crate::s3::S3Location;
use crate::text::printable;
use lineage::{Lineage, ParentSource};
use names::{tag, value};
pub use reference::{ModelRef, ResolveError};

/// Where the binaries are in the parent run: `<parent artifacts>/model/`.
pub const MODEL_ARTIFACT_DIR: &str = "model";

/// The version a reference points at now, or a usage error that says it does not exist.
pub async fn resolve_version(
    client: &MlflowClient,
    reference: &ModelRef,
) -> anyhow::Result<ModelVersion> {
    reference
        .resolve(client)
        .await
        .map_err(|error| match error {
            ResolveError::NotFound(r) => anyhow::Error::new(not_found(&r)),
            ResolveError::Mlflow(e) => e.into(),
        })
}

/// The one "not found" message, with where to look.
pub fn not_found(reference: &ModelRef) -> UserError {
    UserError::usage(format!(
        "`{reference}` does not exist in the model registry"
    ))
    .with_hint(format!(
        "check the name, version or alias with `llmops status {}` or in the MLflow UI",
        reference.name
    ))
}

/// A version, the runs it came from, and the S3 location of its parent run's artifacts.
pub struct Located {
    pub version: ModelVersion,
    pub lineage: Lineage,
    /// The parent run's artifact root in S3 (`…/<exp>/<run>/artifacts`).
    pub artifacts: S3Location,
}

impl Located {
    /// The binaries: `<artifacts>/model/`.
    pub fn binaries(&self) -> S3Location {
        binaries(&self.artifacts)
    }

    pub fn parent_run_id(&self) -> &str {
        &self.lineage.parent.info.run_id
    }
}

/// `<artifacts>/model/`, where a parent run keeps the binaries.
pub fn binaries(artifacts: &S3Location) -> S3Location {
    artifacts.join(MODEL_ARTIFACT_DIR)
}

/// Resolves `reference` to its version, lineage and S3 location; says (through `reporter`) when
/// the parent was found by a fallback rather than the child's model context.
pub async fn locate(
    client: &MlflowClient,
    reference: &ModelRef,
    artifacts_destination: Option<&str>,
    reporter: &dyn Reporter,
) -> anyhow::Result<Located> {
    let version = resolve_version(client, reference).await?;
    let lineage = lineage::resolve(client, &version).await?;
    if !matches!(
        lineage.parent_source,
        ParentSource::ModelContext | ParentSource::LoggedModelContext
    ) {
        reporter.note(&format!(
            "parent run {} found from {}",
            lineage.parent.info.run_id, lineage.parent_source
        ));
    }
    let artifacts = artifact_location(
        &lineage.parent.info.artifact_uri,
        &lineage.parent.info.run_id,
        artifacts_destination,
    )?;
    Ok(Located {
        version,
        lineage,
        artifacts,
    })
}

/// A run's artifact URI as an S3 location: `s3://…` as is; `mlflow-artifacts:/…` under the
/// server's artifacts destination.
pub fn artifact_location(
    artifact_uri: &str,
    run_id: &str,
    artifacts_destination: Option<&str>,
) -> anyhow::Result<S3Location> {
    if artifact_uri.starts_with("s3://") {
        return Ok(S3Location::parse(artifact_uri).map_err(UserError::failed)?);
    }
    let Some(relative) = proxied_artifact_path(artifact_uri) else {
        return Err(UserError::failed(format!(
            "run {run_id} stores artifacts at `{}`, which is neither s3:// nor mlflow-artifacts:/",
            printable(artifact_uri)
        ))
        .into());
    };
    let destination = artifacts_destination_or_env(artifacts_destination)?;
    Ok(S3Location::parse(&destination)
        .map_err(UserError::usage)?
        .join(&relative))
}

/// The MLflow server's artifact store, for `mlflow-artifacts:/` URIs: the flag, then
/// `LLMOPS_ARTIFACTS_DESTINATION`, then `MLFLOW_S3_BUCKET` (the reference notebooks' variable).
pub fn artifacts_destination_or_env(flag: Option<&str>) -> Result<String, UserError> {
    let non_empty = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    flag.map(str::to_string)
        .or_else(|| non_empty(env::LLMOPS_ARTIFACTS_DESTINATION))
        .or_else(|| {
            non_empty(env::MLFLOW_S3_BUCKET)
                .map(|b| if b.starts_with("s3://") { b } else { format!("s3://{b}") })
        })
        .ok_or_else(|| {
            UserError::usage("the artifacts are behind the MLflow artifact proxy, and llmops reads them from S3 directly")
                .with_hint("pass `--artifacts-destination s3://BUCKET/PREFIX` (the server's --artifacts-destination), or set LLMOPS_ARTIFACTS_DESTINATION or MLFLOW_S3_BUCKET")
        })
}

/// Which layout serves a version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Served {
    /// `<root>/llm-models/<parent-run-id>/`.
    Llm,
    /// `<repo>/<model>/<number>/` with `<repo>/<model>/config.pbtxt`.
    Triton { model: String, number: String },
}

/// The layout a version was registered for, from its tags; Triton coordinates are checked before
/// they become paths.
pub fn served_as(version: &ModelVersion) -> anyhow::Result<Served> {
    if version.tag(tag::TARGET) != Some(value::TARGET_TRITON) {
        return Ok(Served::Llm);
    }
    let (Some(model), Some(number)) = (
        version.tag(tag::TRITON_MODEL_NAME),
        version.tag(tag::TRITON_MODEL_VERSION),
    ) else {
        return Err(UserError::failed(format!(
            "{}/{} is tagged for Triton but has no {} and {} tags",
            version.name,
            version.version,
            tag::TRITON_MODEL_NAME,
            tag::TRITON_MODEL_VERSION
        ))
        .into());
    };
    crate::layout::triton::validate_model_name(model).map_err(UserError::failed)?;
    if !crate::layout::triton::is_version_name(number) {
        return Err(UserError::failed(format!(
            "`{}` is not a Triton version number",
            printable(number)
        ))
        .into());
    }
    Ok(Served::Triton {
        model: model.to_string(),
        number: number.to_string(),
    })
}

/// The manifest `register` logged to the parent run, read through the tracking server.
pub async fn read_manifest(client: &MlflowClient, lineage: &Lineage) -> anyhow::Result<Manifest> {
    find_manifest(client, lineage).await?.ok_or_else(|| {
        UserError::usage(format!(
            "the parent run has no `{MANIFEST_ARTIFACT}`: this version was not registered by llmops"
        ))
        .with_hint("`llmops adopt` computes and records a manifest for it")
        .into()
    })
}

/// The parent run's manifest, or `None` when it has none (a version registered by another tool).
pub async fn find_manifest(
    client: &MlflowClient,
    lineage: &Lineage,
) -> anyhow::Result<Option<Manifest>> {
    let base = &lineage.parent_artifact_path;
    let (folder, file) = MANIFEST_ARTIFACT
        .rsplit_once('/')
        .expect("the manifest lives in a folder");
    // List first: fetching a missing artifact answers 500, which would be retried for minutes.
    let listed = client.list_artifacts(&format!("{base}/{folder}")).await?;
    if !listed
        .iter()
        .any(|f| f.path.rsplit('/').next() == Some(file))
    {
        return Ok(None);
    }
    let bytes = client
        .download_artifact(&format!("{base}/{MANIFEST_ARTIFACT}"))
        .await?;
    Ok(Some(Manifest::from_untrusted(&bytes)?))
}

/// The chain of trust: the manifest digest recorded on the version when it was registered → the
/// manifest found now → every file. A manifest that is not the registered one is refused; a
/// version whose manifest cannot be anchored (none recorded, or none found) is refused unless
/// the user accepts the weaker check with `--allow-unverified`.
pub fn check_manifest_chain(
    version: &ModelVersion,
    manifest: Option<&Manifest>,
    allow_unverified: bool,
) -> Result<Anchored, UserError> {
    let recorded = version.tag(tag::MANIFEST_DIGEST);
    let who = format!("{}/{}", version.name, version.version);
    let unverified = |message: String| {
        if allow_unverified {
            Ok(Anchored::Unverified)
        } else {
            Err(UserError::failed(message).with_hint(
                "pass --allow-unverified to go on with the weaker check; the audit tags will say so",
            ))
        }
    };
    match (recorded, manifest) {
        (Some(recorded), Some(found)) if found.digest() == recorded => Ok(Anchored::Registered),
        (Some(recorded), Some(found)) => Err(UserError::failed(format!(
            "the manifest in the parent run of {who} (sha256 {}) is not the one registered ({} {recorded}): the binaries may have been altered since",
            found.digest(),
            tag::MANIFEST_DIGEST
        ))
        .with_hint("nothing was downloaded; publish the version again from its dev copy, or register it anew")),
        (Some(recorded), None) => unverified(format!(
            "{who} was registered with a manifest (sha256 {recorded}), but the parent run no longer has `{MANIFEST_ARTIFACT}`: only sizes and ETags could be checked"
        )),
        (None, Some(_)) => unverified(format!(
            "{who} records no {}, so its manifest cannot be trusted",
            tag::MANIFEST_DIGEST
        )),
        (None, None) => unverified(format!(
            "{who} has no llmops manifest (registered by another tool): its files can be checked by size and single-part ETag only"
        )),
    }
}

/// Where the manifest a prod copy is checked against came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ManifestFrom {
    /// Logged to the parent run by `register` or `adopt`, anchored by the version's digest.
    Registry,
    /// Computed by `promote` from the bytes it promoted: the version has no manifest of its own.
    Promote,
}

/// The yardstick for a version's prod copy: the registered manifest (only one anchored to the
/// registration counts); for a version registered without any, `computed`, the one promote
/// recorded in the prod state from the bytes it promoted.
pub async fn manifest_for_prod(
    client: &MlflowClient,
    version: &ModelVersion,
    lineage: &Lineage,
    computed: Option<Manifest>,
) -> anyhow::Result<(Manifest, ManifestFrom)> {
    let found = find_manifest(client, lineage).await?;
    let recorded = version.tag(tag::MANIFEST_DIGEST);
    if let (None, None, Some(computed)) = (&found, recorded, computed) {
        return Ok((computed, ManifestFrom::Promote));
    }
    check_manifest_chain(version, found.as_ref(), false)?;
    let manifest = found.ok_or_else(|| UserError::failed("no manifest anchors this version"))?;
    Ok((manifest, ManifestFrom::Registry))
}

/// How far the chain of trust reaches for a version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchored {
    /// The manifest is the one recorded at registration.
    Registered,
    /// Accepted with `--allow-unverified`: no registered manifest vouches for the files.
    Unverified,
}

/// The parent run id a version records (set by `register`), without asking the server for runs.
pub fn recorded_parent(version: &ModelVersion) -> Option<&str> {
    version.tag(tag::PARENT_RUN_ID)
}

/// Whether `publish` (or `register --publish`) completed for this version.
pub fn is_published(version: &ModelVersion) -> bool {
    version.tag(tag::PUBLISHED) == Some("true")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::ManifestEntry;

    fn version(digest: Option<&str>) -> ModelVersion {
        let tags = digest
            .map(|d| serde_json::json!([{ "key": tag::MANIFEST_DIGEST, "value": d }]))
            .unwrap_or_else(|| serde_json::json!([]));
        serde_json::from_value(serde_json::json!({ "name": "m", "version": "3", "tags": tags }))
            .unwrap()
    }

    fn manifest(sha: char) -> Manifest {
        Manifest::new(vec![ManifestEntry {
            path: "w.safetensors".into(),
            size: 1,
            sha256: sha.to_string().repeat(64),
            blake3: None,
        }])
    }

    #[test]
    fn the_chain_holds_only_from_the_registered_digest() {
        let registered = manifest('a');
        let digest = registered.digest();
        let v = version(Some(&digest));
        assert_eq!(
            check_manifest_chain(&v, Some(&registered), false).unwrap(),
            Anchored::Registered
        );
        // A manifest rewritten to match altered bytes breaks the chain, flag or not.
        for allow in [false, true] {
            let error = check_manifest_chain(&v, Some(&manifest('b')), allow).unwrap_err();
            assert!(
                error.message.contains("is not the one registered"),
                "{}",
                error.message
            );
        }
        // A missing or unanchored manifest needs --allow-unverified.
        for (v, m) in [
            (&v, None),
            (&version(None), Some(&registered)),
            (&version(None), None),
        ] {
            let error = check_manifest_chain(v, m, false).unwrap_err();
            assert!(error.hint.unwrap().contains("--allow-unverified"));
            assert_eq!(
                check_manifest_chain(v, m, true).unwrap(),
                Anchored::Unverified
            );
        }
    }
}
