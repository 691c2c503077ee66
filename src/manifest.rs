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

    pub fn total_bytes(&self) -> u64 {
        self.files.iter().map(|f| f.size).sum()
    }

    pub fn entry(&self, path: &str) -> Option<&ManifestEntry> {
        self.files.iter().find(|f| f.path == path)
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
        };
        let b = ManifestEntry {
            path: "b".into(),
            size: 2,
            sha256: "11".into(),
        };
        let one = Manifest::new(vec![a.clone(), b.clone()]);
        let two = Manifest::new(vec![b.clone(), a.clone()]);
        assert_eq!(one.digest(), two.digest());
        let changed = Manifest::new(vec![a, ManifestEntry { size: 3, ..b }]);
        assert_ne!(one.digest(), changed.digest());
        assert_eq!(one.total_bytes(), 3);
    }
}
