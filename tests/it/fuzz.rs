//! Property tests over the parsers that take untrusted input: the settings file, model
//! references, the manifest and the S3 key mapper. None may panic, and what each accepts must
//! keep its promise (a reference that prints back the same, paths that stay inside the root).

use std::path::{Component, Path};

use proptest::prelude::*;

use llmops::manifest::Manifest;
use llmops::registry::ModelRef;

/// Text with the characters that break parsers: quotes, slashes, `@`, `:`, control and
/// bidirectional characters, non-ASCII.
fn nasty_text() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            Just('/'),
            Just('@'),
            Just(':'),
            Just('.'),
            Just('\\'),
            Just('\''),
            Just('"'),
            Just('\0'),
            Just('\n'),
            Just('\u{202e}'),
            Just('é'),
            proptest::char::range('a', 'z'),
            proptest::char::range('0', '9'),
            any::<char>(),
        ],
        0..40,
    )
    .prop_map(|chars| chars.into_iter().collect())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn model_references_never_panic_and_print_back(text in nasty_text(), version in proptest::option::of(nasty_text())) {
        let with_prefix = format!("models:/{text}");
        for candidate in [text.as_str(), with_prefix.as_str()] {
            if let Ok(reference) = ModelRef::parse(candidate, version.as_deref()) {
                let printed = reference.to_string();
                prop_assert_eq!(ModelRef::parse(&printed, None).unwrap(), reference);
            }
        }
    }

    #[test]
    fn manifests_never_panic_and_keep_paths_plain(path in nasty_text(), size in any::<u64>(), sha in "[0-9a-fA-F]{0,70}") {
        let text = serde_json::json!({
            "schema_version": 1,
            "files": [{ "path": path, "size": size, "sha256": sha }],
        })
        .to_string();
        if let Ok(manifest) = Manifest::from_untrusted(text.as_bytes()) {
            for entry in &manifest.files {
                prop_assert!(llmops::safe_path::problem(&entry.path).is_none());
                let joined = Path::new("/root").join(&entry.path);
                prop_assert!(joined.strip_prefix("/root").unwrap().components().all(|c| matches!(c, Component::Normal(_))));
            }
        }
        let _ = Manifest::from_untrusted(path.as_bytes());
    }

    #[test]
    fn keys_become_paths_inside_the_root(key in nasty_text(), prefix in "[a-z/]{0,12}") {
        let root = Path::new("/prod/stage");
        let key = format!("{prefix}{key}");
        if let Ok(Some(path)) = llmops::s3::local_path_for_key(root, &prefix, &key) {
            let below = path.strip_prefix(root).unwrap();
            prop_assert!(below.components().all(|c| matches!(c, Component::Normal(_))), "{:?}", path);
        }
    }

    #[test]
    fn settings_files_never_panic(text in nasty_text(), key in prop_oneof![Just("tracking_uri"), Just("gpu"), Just("token"), Just("concurrency"), Just("x")]) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("llmops.toml");
        for content in [text.clone(), format!("{key} = {text:?}"), format!("{key} = \"{text}\"")] {
            std::fs::write(&path, &content).unwrap();
            if let Ok(values) = llmops::config::read(&path) {
                for value in values.values() {
                    prop_assert!(!value.chars().any(char::is_control), "{:?}", value);
                }
            }
        }
    }
}
