//! The manifest of objects already in S3, computed from their bytes as they stream past: nothing is
//! written to disk. `adopt` uses it for versions registered by other tools.

use futures_util::{StreamExt, TryStreamExt};

use crate::exit::UserError;
use crate::manifest::{EntryHasher, Manifest, ManifestEntry};
use crate::progress::Reporter;
use crate::s3::{S3Location, relative_key};
use crate::transfer::download::describe_sdk_error;
use crate::transfer::listing::{ListedObject, Listing};

/// Objects hashed at once: each is one GET; the hashing, not the link, is the bottleneck here.
const CONCURRENCY: usize = 4;
/// A body that sends nothing for this long is given up on.
const STALL_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// Lists `location` and hashes every object under it (sha256 and BLAKE3), refusing keys that
/// could not be local paths and objects whose length differs from the listing.
pub async fn manifest_of(
    s3: &aws_sdk_s3::Client,
    location: &S3Location,
    reporter: &dyn Reporter,
) -> anyhow::Result<Manifest> {
    let listed = Listing::new(s3, location).all().await?;
    let mut objects = Vec::new();
    for object in listed {
        if let Some(relative) = relative_key(&location.prefix, &object.key)
            .map_err(|e| UserError::failed(e.to_string()))?
        {
            objects.push((relative.to_string(), object));
        }
    }
    reporter.start(
        "hashing",
        objects.iter().map(|(_, o)| o.size).sum(),
        objects.len(),
    );
    let entries: Vec<ManifestEntry> = futures_util::stream::iter(objects.iter())
        .map(|(relative, object)| hash_object(s3, &location.bucket, relative, object, reporter))
        .buffer_unordered(CONCURRENCY)
        .try_collect()
        .await?;
    reporter.finish();
    Ok(Manifest::new(entries))
}

async fn hash_object(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    relative: &str,
    object: &ListedObject,
    reporter: &dyn Reporter,
) -> anyhow::Result<ManifestEntry> {
    let progress = reporter.file(relative, object.size);
    let response = s3
        .get_object()
        .bucket(bucket)
        .key(&object.key)
        .send()
        .await
        .map_err(|e| {
            UserError::failed(format!(
                "cannot read s3://{bucket}/{}: {}",
                crate::text::printable(&object.key),
                describe_sdk_error(&e)
            ))
        })?;
    let mut body = response.body;
    let mut hasher = EntryHasher::default();
    let mut size = 0u64;
    let cut_short = |why: String| {
        UserError::failed(format!(
            "reading s3://{bucket}/{} was cut short: {why}",
            crate::text::printable(&object.key)
        ))
    };
    loop {
        let next = tokio::time::timeout(STALL_TIMEOUT, body.try_next())
            .await
            .map_err(|_| cut_short(format!("no byte for {} s", STALL_TIMEOUT.as_secs())))?;
        let Some(chunk) = next.map_err(|e| cut_short(e.to_string()))? else {
            break;
        };
        size += chunk.len() as u64;
        if size > object.size {
            break;
        }
        hasher.update(&chunk);
        progress.advance(chunk.len() as u64);
    }
    if size != object.size {
        return Err(UserError::failed(format!(
            "s3://{bucket}/{} changed while it was read: the listing says {} bytes, the object had {size}",
            crate::text::printable(&object.key),
            object.size
        ))
        .with_hint("run the command again once nothing is writing to the model's prefix")
        .into());
    }
    progress.done();
    Ok(hasher.finish(relative, size))
}
