//! Listing what is under an S3 prefix, a page (up to 1,000 keys) at a time. It returns keys and
//! their sizes and ETags; turning a key into a path is the caller's business, through
//! `s3::relative_key` / `s3::local_path_for_key`, so a hostile key is refused where it would
//! become a path.

use crate::exit::UserError;
use crate::s3::{self, S3Location};
use crate::transfer::download::describe_sdk_error;

/// One object as the listing reports it.
#[derive(Debug, Clone)]
pub struct ListedObject {
    pub key: String,
    pub size: u64,
    pub etag: Option<String>,
}

/// The objects under `<location>/`, page by page.
pub struct Listing<'a> {
    client: &'a aws_sdk_s3::Client,
    location: &'a S3Location,
    continuation: Option<String>,
    finished: bool,
}

impl<'a> Listing<'a> {
    pub fn new(client: &'a aws_sdk_s3::Client, location: &'a S3Location) -> Listing<'a> {
        Listing {
            client,
            location,
            continuation: None,
            finished: false,
        }
    }

    pub fn location(&self) -> &S3Location {
        self.location
    }

    /// The next page; `None` once the listing is over.
    pub async fn next_page(&mut self) -> anyhow::Result<Option<Vec<ListedObject>>> {
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
            .map_err(|error| listing_error(location, &describe_sdk_error(&error)))?;
        self.continuation = page.next_continuation_token().map(str::to_string);
        self.finished = !page.is_truncated().unwrap_or(false) || self.continuation.is_none();
        let objects = page
            .contents()
            .iter()
            .map(|object| ListedObject {
                key: object.key().unwrap_or_default().to_string(),
                size: object.size().unwrap_or(0).max(0) as u64,
                etag: object.e_tag().map(|e| e.trim_matches('"').to_string()),
            })
            .collect();
        Ok(Some(objects))
    }

    /// Every remaining object.
    pub async fn all(&mut self) -> anyhow::Result<Vec<ListedObject>> {
        let mut objects = Vec::new();
        while let Some(page) = self.next_page().await? {
            objects.extend(page);
        }
        Ok(objects)
    }
}

fn listing_error(location: &S3Location, text: &str) -> UserError {
    let hint = if text.contains("NoSuchBucket") {
        "the bucket does not exist: check `--artifacts-destination` (or LLMOPS_ARTIFACTS_DESTINATION / MLFLOW_S3_BUCKET)".to_string()
    } else if text.contains("AccessDenied") {
        format!(
            "the credentials ({}) may not list {location}",
            s3::credential_source()
        )
    } else {
        "check the S3 endpoint and network".to_string()
    };
    UserError::failed(format!("cannot list {location}: {text}")).with_hint(hint)
}
