//! What is in S3 is not what was registered: hostile keys, changed bytes, more keys than one listing
//! page, no llmops manifest.

use std::sync::atomic::Ordering;

use predicates::prelude::*;

use super::{
    json_of, model_folder, promote, published_copies, register_published,
    register_published_folder, s3, stack, walk,
};
use crate::common::{assert_same_tree, tree_digests};
use crate::fault_proxy::{Fault, FaultProxy};

/// Keys with `..`, absolute paths and empty segments under the run's prefix: refused, nothing
/// written outside (or inside) the destination.
#[test]
fn hostile_keys_are_refused() {
    let published = register_published("hostile");
    let prefix = format!("{}/model", published.root);
    for key in ["../../../../escaped.txt", "/etc/escaped.txt", "a//b.txt"] {
        let key = format!("{prefix}/{key}");
        s3(&format!(
            "s3.put_object(Bucket=b, Key={key:?}, Body=b'evil')"
        ));
        let outside = tempfile::tempdir().unwrap();
        let prod = outside.path().join("prod");
        std::fs::create_dir_all(&prod).unwrap();
        promote(&published.uri(), &prod)
            .assert()
            .code(1)
            .stderr(predicate::str::contains("refusing S3 key"));
        let written: Vec<_> = walk(outside.path())
            .into_iter()
            .filter(|p| p.ends_with("escaped.txt") || p.ends_with("b.txt"))
            .collect();
        assert!(written.is_empty(), "{key}: {written:?}");
        assert!(published_copies(&prod).is_empty(), "{key}");
        s3(&format!("s3.delete_object(Bucket=b, Key={key:?})"));
    }
}

/// The shard in S3 no longer has the registered bytes (same size, one byte flipped): the digest
/// taken while it downloads says so, it is fetched once more, and the promote fails naming it.
#[test]
fn changed_bytes_in_s3_are_fetched_again_then_refused() {
    let published = register_published("changed-bytes");
    s3(&format!(
        "k = {:?}\nbody = bytearray(s3.get_object(Bucket=b, Key=k)['Body'].read())\nbody[1_500_000] ^= 0xFF\ns3.put_object(Bucket=b, Key=k, Body=bytes(body))",
        format!("{}/model/extra-shard.safetensors", published.root)
    ));
    let prod = tempfile::tempdir().unwrap();
    promote(&published.uri(), prod.path())
        .args(["--part-size", "512KiB"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "`extra-shard.safetensors` does not match; fetching it again",
        ))
        .stderr(predicate::str::contains(
            "checksum mismatch after a second fetch: extra-shard.safetensors",
        ));
    let published_copies = published_copies(prod.path());
    assert!(
        published_copies.is_empty(),
        "a corrupt copy was published: {published_copies:?}"
    );
}

/// A model of more than one listing page (1,000 keys): downloads start from the first page while
/// the next is still being listed, and the whole model arrives and verifies.
#[test]
fn a_long_listing_streams_into_the_downloads() {
    // 1,000 more small files, registered and published with the model (more than one listing page).
    let model = model_folder();
    std::fs::create_dir_all(model.path().join("many")).unwrap();
    for i in 0..1000 {
        let path = model.path().join(format!("many/f{i:04}.txt"));
        std::fs::write(path, format!("file {i}\n")).unwrap();
    }
    let fixture_files = std::fs::read_dir(model.path()).unwrap().count() - 1;
    let published = register_published_folder("paged", model);
    let proxy = FaultProxy::start(
        stack().var("MOTO_URL"),
        Fault::DelayLaterListingPages { millis: 1500 },
    );
    let prod = tempfile::tempdir().unwrap();
    let report = json_of(
        &promote(&published.uri(), prod.path())
            .env("AWS_ENDPOINT_URL_S3", &proxy.url)
            .args(["--output", "json"])
            .output()
            .unwrap(),
    );
    assert_eq!(report["verified"], "blake3");
    assert_eq!(
        report["files"].as_u64().unwrap() as usize,
        fixture_files + 1000
    );
    let gets = proxy.gets_while_delayed.load(Ordering::SeqCst);
    assert!(
        gets > 0,
        "no object was fetched while the second listing page was pending"
    );
    let target = published.promoted_copy(prod.path());
    assert_eq!(
        std::fs::read_to_string(target.join("many/f0999.txt")).unwrap(),
        "file 999\n"
    );
    let copied = tree_digests(&target);
    assert_eq!(copied.len(), fixture_files + 1000);
    for (path, digest) in tree_digests(published.model.path()) {
        assert_eq!(copied.get(&path), Some(&digest), "{path}");
    }
}

/// A version registered by another tool has no llmops manifest: the promote says its check is
/// weaker, checks sizes and single-part ETags (MD5, taken while downloading), and the copy is whole.
#[test]
fn without_a_manifest_sizes_and_etags_are_checked() {
    let published = register_published("no-manifest");
    s3(&format!(
        "s3.delete_object(Bucket=b, Key={:?})",
        format!("{}/llmops/manifest.json", published.root)
    ));
    let prod = tempfile::tempdir().unwrap();
    // The version recorded a manifest at registration: without it, the weaker check is refused...
    promote(&published.uri(), prod.path())
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "no longer has `llmops/manifest.json`",
        ))
        .stderr(predicate::str::contains("--allow-unverified"));
    assert!(published_copies(prod.path()).is_empty());
    // ... unless the deployer asks for it, and the audit trail says so.
    let output = promote(&published.uri(), prod.path())
        .args([
            "--part-size",
            "512KiB",
            "--output",
            "json",
            "--allow-unverified",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("no llmops manifest in the parent run")
            && stderr.contains("checked by size and single-part ETag only"),
        "{stderr}"
    );
    let report = json_of(&output);
    assert_eq!(report["verified"], "size_and_etag");
    assert_same_tree(
        published.model.path(),
        &published.promoted_copy(prod.path()),
    );
}

/// An object that is not in the manifest makes the promote fail; once it is gone from S3, the next
/// promote publishes the registered files and nothing else (it was never fetched, and whatever an
/// earlier run left in the work folder is not moved into production).
#[test]
fn an_unplanned_object_never_reaches_production() {
    let published = register_published("leftover");
    let key = format!("{}/model/0000-evil.bin", published.root);
    s3(&format!(
        "s3.put_object(Bucket=b, Key={key:?}, Body=b'evil')"
    ));
    let prod = tempfile::tempdir().unwrap();
    promote(&published.uri(), prod.path())
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "`0000-evil.bin` is not in the manifest",
        ));
    // What an older or interrupted run might have left in the work folder.
    let work = prod.path().join(".llmops/partial").join(&published.parent);
    std::fs::create_dir_all(work.join("files")).unwrap();
    std::fs::write(work.join("files/0000-left-behind.bin"), b"stale").unwrap();
    s3(&format!("s3.delete_object(Bucket=b, Key={key:?})"));
    promote(&published.uri(), prod.path()).assert().code(0);
    let copy = published.promoted_copy(prod.path());
    assert_eq!(
        tree_digests(&copy),
        tree_digests(published.model.path()),
        "production holds exactly the registered files"
    );
}

/// A promote of a version without a manifest is interrupted, then a shard disappears from S3: the
/// next promote's plan is the new listing, and the shard fetched earlier is not published.
#[test]
fn a_file_fetched_before_it_left_the_listing_is_not_published() {
    let published = register_published("vanished");
    s3(&format!(
        "s3.delete_object(Bucket=b, Key={:?})",
        format!("{}/llmops/manifest.json", published.root)
    ));
    let prod = tempfile::tempdir().unwrap();
    // As if an earlier run had fetched the shard before being killed.
    let work = prod.path().join(".llmops/partial").join(&published.parent);
    std::fs::create_dir_all(work.join("files")).unwrap();
    std::fs::write(work.join("files/extra-shard.safetensors"), vec![0u8; 4096]).unwrap();
    s3(&format!(
        "s3.delete_object(Bucket=b, Key={:?})",
        format!("{}/model/extra-shard.safetensors", published.root)
    ));
    promote(&published.uri(), prod.path())
        .arg("--allow-unverified")
        .assert()
        .code(0);
    let copy = published.promoted_copy(prod.path());
    let mut expected = tree_digests(published.model.path());
    expected.remove("extra-shard.safetensors");
    assert_eq!(tree_digests(&copy), expected);
}

/// A shard altered in S3 and the manifest rewritten to match it: the manifest is not the one
/// recorded at registration, so promote refuses before downloading, `--allow-unverified` or not,
/// and `verify` of an earlier promoted copy refuses the rewritten manifest as a yardstick.
#[test]
fn a_rewritten_manifest_breaks_the_chain_of_trust() {
    let published = register_published("rewritten");
    let prod = tempfile::tempdir().unwrap();
    promote(&published.uri(), prod.path()).assert().code(0);
    let manifest_key = format!("{}/llmops/manifest.json", published.root);
    let shard_key = format!("{}/model/extra-shard.safetensors", published.root);
    s3(&format!(
        "import hashlib, json\n\
         body = bytearray(s3.get_object(Bucket=b, Key={shard_key:?})['Body'].read())\n\
         body[7] ^= 0xFF\n\
         s3.put_object(Bucket=b, Key={shard_key:?}, Body=bytes(body))\n\
         m = json.loads(s3.get_object(Bucket=b, Key={manifest_key:?})['Body'].read())\n\
         for f in m['files']:\n\
         \x20   if f['path'] == 'extra-shard.safetensors': f['sha256'] = hashlib.sha256(body).hexdigest()\n\
         s3.put_object(Bucket=b, Key={manifest_key:?}, Body=json.dumps(m, separators=(',', ':')).encode())"
    ));
    let other = tempfile::tempdir().unwrap();
    for extra in [&[][..], &["--allow-unverified"][..]] {
        promote(&published.uri(), other.path())
            .args(extra)
            .assert()
            .code(1)
            .stderr(predicate::str::contains("is not the one registered"));
        assert!(published_copies(other.path()).is_empty());
    }
    stack()
        .llmops()
        .args([
            "verify",
            &published.uri(),
            "--prod-root",
            prod.path().to_str().unwrap(),
        ])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("is not the one registered"));
}

/// A version registered before manifests carried BLAKE3 (its manifest has sha256 only, and its
/// recorded digest is that manifest's) is still promoted, checked by sha256.
#[test]
fn a_manifest_without_blake3_is_checked_by_sha256() {
    let published = register_published("sha256-only");
    let manifest_key = format!("{}/llmops/manifest.json", published.root);
    let digest = stack().s3_python(&format!(
        "import boto3, hashlib, json, os\n\
         s3 = boto3.client('s3')\n\
         b = os.environ['LLMOPS_STACK_BUCKET']\n\
         m = json.loads(s3.get_object(Bucket=b, Key={manifest_key:?})['Body'].read())\n\
         for f in m['files']: f.pop('blake3')\n\
         body = json.dumps(m, separators=(',', ':')).encode()\n\
         s3.put_object(Bucket=b, Key={manifest_key:?}, Body=body)\n\
         print(hashlib.sha256(body).hexdigest())"
    ));
    // What an older llmops recorded: the digest of that manifest.
    stack().python(
        &format!(
            "import json, os, urllib.request\n\
             body = json.dumps({{'name': {:?}, 'version': '1', 'key': 'llmops.manifest_digest', 'value': {:?}}}).encode()\n\
             request = urllib.request.Request(os.environ['MLFLOW_TRACKING_URI'] + '/api/2.0/mlflow/model-versions/set-tag', data=body, headers={{'Content-Type': 'application/json'}})\n\
             urllib.request.urlopen(request).read()",
            published.name,
            digest.trim()
        ),
        &[],
    );
    let prod = tempfile::tempdir().unwrap();
    let report = json_of(
        &promote(&published.uri(), prod.path())
            .args(["--output", "json"])
            .output()
            .unwrap(),
    );
    assert_eq!(report["verified"], "sha256");
    assert_eq!(
        tree_digests(&published.promoted_copy(prod.path())),
        tree_digests(published.model.path())
    );
}
