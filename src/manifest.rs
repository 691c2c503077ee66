//! The manifest: every file of a model, its size and sha256, computed once while staging and logged
//! to the parent run as `llmops/manifest.json`. `publish` and `promote` check bytes against it.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub const MANIFEST_ARTIFACT: &str = "llmops/manifest.json";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestEntry {
    /// Relative path with `/` separators.
    pub path: String,
    pub size: u64,
    /// Lower-case hex.
    pub sha256: String,
    /// Lower-case hex BLAKE3: the same guarantee as sha256 at a fraction of the CPU, so promote
    /// checks it when every entry has one (manifests written before it have none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blake3: Option<String>,
}

/// The manifest's two digests of one file, taken in one pass over its bytes: sha256 (what every
/// manifest has) and BLAKE3 (what promote checks, at a fraction of the CPU).
#[derive(Default)]
pub struct EntryHasher {
    sha256: Sha256,
    blake3: blake3::Hasher,
}

impl EntryHasher {
    pub fn update(&mut self, data: &[u8]) {
        self.sha256.update(data);
        self.blake3.update(data);
    }

    /// The entry for `path`, `size` bytes long, whose bytes were all given to [`update`](Self::update).
    pub fn finish(self, path: &str, size: u64) -> ManifestEntry {
        ManifestEntry {
            path: path.to_string(),
            size,
            sha256: hex::encode(self.sha256.finalize()),
            blake3: Some(self.blake3.finalize().to_hex().to_string()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub schema_version: u32,
    pub files: Vec<ManifestEntry>,
}

impl Manifest {
    pub fn new(mut files: Vec<ManifestEntry>) -> Manifest {
        files.sort_by(|a, b| a.path.cmp(&b.path));
        Manifest {
            schema_version: 1,
            files,
        }
    }

    /// sha256 of the canonical JSON (sorted files, compact): one string that names the content.
    pub fn digest(&self) -> String {
        hex::encode(Sha256::digest(self.to_canonical_json()))
    }

    pub fn to_canonical_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a manifest always serialises")
    }

    /// Every listed path, relative and `/`-separated.
    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.files.iter().map(|f| f.path.as_str())
    }

    pub fn total_bytes(&self) -> u64 {
        self.files.iter().map(|f| f.size).sum()
    }

    /// Whether every file has a BLAKE3 digest, so the faster hash can check the whole model.
    pub fn has_blake3(&self) -> bool {
        self.files.iter().all(|f| f.blake3.is_some())
    }

    pub fn entry(&self, path: &str) -> Option<&ManifestEntry> {
        self.files.iter().find(|f| f.path == path)
    }

    /// A manifest from untrusted bytes (a run's artifact, an S3 object): its paths become local
    /// paths, so each must be a plain relative path, and each digest a sha256.
    pub fn from_untrusted(bytes: &[u8]) -> Result<Manifest, crate::exit::UserError> {
        use crate::exit::UserError;
        let manifest: Manifest = serde_json::from_slice(bytes).map_err(|e| {
            UserError::failed(format!("the parent run's manifest is not valid: {e}"))
        })?;
        for entry in &manifest.files {
            let plain = crate::safe_path::problem(&entry.path).is_none();
            let hex64 = |h: &str| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit());
            let digests = hex64(&entry.sha256) && entry.blake3.as_deref().is_none_or(hex64);
            if !plain || !digests {
                return Err(UserError::failed(format!(
                    "the manifest has an unsafe or malformed entry `{}`",
                    crate::text::printable(&entry.path)
                )));
            }
        }
        Ok(manifest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_ignores_order_and_changes_with_content() {
        let a = ManifestEntry {
            path: "a".into(),
            size: 1,
            sha256: "00".into(),
            blake3: None,
        };
        let b = ManifestEntry {
            path: "b".into(),
            size: 2,
            sha256: "11".into(),
            blake3: None,
        };
        let one = Manifest::new(vec![a.clone(), b.clone()]);
        let two = Manifest::new(vec![b.clone(), a.clone()]);
        assert_eq!(one.digest(), two.digest());
        let changed = Manifest::new(vec![a, ManifestEntry { size: 3, ..b }]);
        assert_ne!(one.digest(), changed.digest());
        assert_eq!(one.total_bytes(), 3);
    }

    #[test]
    fn untrusted_manifests_name_the_bad_entry() {
        let good = format!(
            r#"{{"schema_version":1,"files":[{{"path":"a/b","size":1,"sha256":"{}"}}]}}"#,
            "0".repeat(64)
        );
        assert!(Manifest::from_untrusted(good.as_bytes()).is_ok());
        for bad in ["../x", "a//b", "/abs", "a\\b", "a\\u0007b", ""] {
            let text = format!(
                r#"{{"schema_version":1,"files":[{{"path":"{bad}","size":1,"sha256":"{}"}}]}}"#,
                "0".repeat(64)
            );
            let error = Manifest::from_untrusted(text.as_bytes()).unwrap_err();
            assert!(
                error.message.contains("unsafe or malformed"),
                "{bad}: {}",
                error.message
            );
        }
        let short = r#"{"schema_version":1,"files":[{"path":"a","size":1,"sha256":"00"}]}"#;
        assert!(Manifest::from_untrusted(short.as_bytes()).is_err());
        assert!(
            Manifest::from_untrusted(b"not json")
                .unwrap_err()
                .message
                .contains("not valid")
        );
    }
}
