//! Hostile names: invalid bucket names are `InvalidBucketName`; hostile keys
//! (path traversal, absolute paths, backslashes, NUL, over-long segments and
//! keys, empty segments, trailing slashes, keys that are prefixes of other
//! keys) either store and read back exactly under their own name or fail with
//! a clear error — never a panic, never a file outside the drive folders, and
//! never a file in another bucket.

mod common;

use std::collections::BTreeMap;
use std::path::{Component, PathBuf};

use common::*;
use store::api::{Catalog, ListParams, MultipartStore, ObjectStore, StoreError};
use store::Store;

const ATTACK: &str = "attack";
const VICTIM: &str = "victim";

#[test]
fn invalid_bucket_names_are_rejected() {
    runtime().block_on(async {
        let drives = TestDrives::new(4);
        let store = drives.open().await;
        let long = "a".repeat(64);
        let invalid = [
            "",
            "a",
            "ab",
            &long,
            "UPPER",
            "Mixed-case",
            "under_score",
            "-leading",
            "trailing-",
            ".leading",
            "trailing.",
            "double..dot",
            "192.168.10.1",
            "a b",
            "a/b",
            "../up",
            "..",
            ".",
            "with\0nul",
            "back\\slash",
            "émoji😀",
            "a\nb",
        ];
        let before = drives.all_files();
        for name in invalid {
            let outcome = store.create_bucket(name).await;
            assert!(
                matches!(outcome, Err(StoreError::InvalidBucketName(_))),
                "create_bucket({name:?}): {outcome:?}"
            );
            let outcome = put(&store, name, "key", b"x").await;
            assert!(
                matches!(
                    outcome,
                    Err(StoreError::InvalidBucketName(_) | StoreError::NoSuchBucket(_))
                ),
                "put into {name:?}: {outcome:?}"
            );
            let outcome = store.head_bucket(name).await;
            assert!(
                matches!(
                    outcome,
                    Err(StoreError::InvalidBucketName(_) | StoreError::NoSuchBucket(_))
                ),
                "head_bucket({name:?}): {outcome:?}"
            );
        }
        assert_eq!(drives.all_files(), before, "rejected buckets wrote files");

        for name in ["abc", &"b".repeat(63), "my.bucket-1", "0numeric", "a-b.c-d"] {
            store
                .create_bucket(name)
                .await
                .unwrap_or_else(|e| panic!("valid bucket name {name:?} rejected: {e}"));
            store.head_bucket(name).await.expect("head valid bucket");
        }
        let outcome = store.create_bucket("abc").await;
        assert!(
            matches!(outcome, Err(StoreError::BucketAlreadyExists(_))),
            "{outcome:?}"
        );
    });
}

fn hostile_keys() -> Vec<String> {
    let mut keys: Vec<String> = [
        "../x",
        "../victim/stolen",
        "../../escaped",
        "../../../../../../../../tmp/minnow-escape",
        "/abs",
        "/etc/passwd",
        "a/../../b",
        "a/../b",
        "a/./b",
        "./x",
        ".",
        "..",
        "x/.",
        "x/..",
        "\\",
        "a\\..\\..\\b",
        "..\\victim\\stolen",
        "\0",
        "a\0b",
        "a//b",
        "a/b",
        "//",
        "dir/",
        "dir",
        "dir/file",
        "dir/file/deeper",
        "p",
        "p/q",
        "p/q/r",
        "~",
        "$HOME",
        "%2e%2e/x",
        "a\nb",
        " ",
        "ключ/😀",
        "\u{202e}reversed",
        "xl.meta",
        "part.1",
        "format.json",
        ".minio.sys/format.json",
        ".minnow.sys/format.json",
        ".tmp",
        "",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    keys.push("s".repeat(256));
    keys.push(format!("{}/tail", "s".repeat(300)));
    keys.push(format!("{}.ext", "n".repeat(251)));
    keys.push("k".repeat(1024));
    keys.push("k".repeat(1025));
    keys.push(format!("{}/{}", "d".repeat(511), "e".repeat(512)));
    keys.push("a/".repeat(512));
    keys
}

fn acceptable_rejection(error: &StoreError) -> bool {
    matches!(
        error,
        StoreError::InvalidKey(_) | StoreError::KeyTooLong | StoreError::InvalidArgument(_)
    )
}

/// Files that must never appear: anything under the temporary root that is
/// not inside a drive folder, anything under the victim bucket's folder, and
/// anything at the top of a drive (outside every bucket and system folder).
fn misplaced_files(drives: &TestDrives, new_files: &[PathBuf]) -> Vec<PathBuf> {
    new_files
        .iter()
        .filter(|relative| {
            let absolute = drives.root.path().join(relative);
            let Some(drive) = drives.drives.iter().find(|d| absolute.starts_with(d)) else {
                return true;
            };
            let inside: Vec<Component> =
                absolute.strip_prefix(drive).unwrap().components().collect();
            let top = inside
                .first()
                .map(|c| c.as_os_str().to_string_lossy().to_string())
                .unwrap_or_default();
            inside.len() < 2 || top == VICTIM
        })
        .cloned()
        .collect()
}

#[test]
fn hostile_keys_store_exactly_or_fail_clearly_and_stay_inside_their_bucket() {
    runtime().block_on(async {
        let drives = TestDrives::new(4);
        let store = drives.open().await;
        create_bucket(&store, ATTACK).await;
        create_bucket(&store, VICTIM).await;
        let before = drives.all_files();

        let mut stored: BTreeMap<String, Vec<u8>> = BTreeMap::new();
        let mut rejected = Vec::new();
        for (i, key) in hostile_keys().into_iter().enumerate() {
            // Big enough for some keys to be multi-shard, small for others.
            let data = random_bytes(i as u64, if i % 3 == 0 { 200 * KIB } else { 17 + i });
            match put(&store, ATTACK, &key, &data).await {
                Ok(info) => {
                    assert_eq!(info.key, key);
                    stored.insert(key, data);
                }
                Err(e) if acceptable_rejection(&e) => rejected.push((key, e.to_string())),
                Err(e) => panic!("put {key:?}: unclear error {e:?}"),
            }
        }
        let too_long = "k".repeat(1025);
        assert!(
            !stored.contains_key(&too_long),
            "a 1025-byte key must be rejected (S3 limit is 1024 bytes)"
        );
        assert!(
            stored.contains_key(&"k".repeat(1024)),
            "a 1024-byte key is valid: {rejected:?}"
        );
        assert!(!stored.contains_key(""), "the empty key must be rejected");

        // Every accepted key reads back its own bytes, after all the others
        // were written (no two keys share a file).
        for (key, data) in &stored {
            let read = get(&store, ATTACK, key)
                .await
                .unwrap_or_else(|e| panic!("get {key:?}: {e}"));
            assert_same_bytes(&read, data, &format!("key {key:?}"));
            let head = store.head_object(ATTACK, key).await.expect("head");
            assert_eq!(head.size, data.len() as u64, "head {key:?}");
        }
        // Rejected keys are not readable either.
        for (key, _) in &rejected {
            let outcome = get(&store, ATTACK, key).await;
            assert!(outcome.is_err(), "rejected key {key:?} is readable");
        }

        // Listing shows exactly the accepted keys, in byte order.
        let mut listed = Vec::new();
        let mut start_after = None;
        for _ in 0..100 {
            let page = store
                .list_objects(
                    ATTACK,
                    ListParams {
                        max_keys: 1000,
                        start_after: start_after.clone(),
                        ..Default::default()
                    },
                )
                .await
                .expect("list");
            listed.extend(page.objects.iter().map(|o| o.key.clone()));
            if !page.is_truncated {
                break;
            }
            start_after = page.next_marker.clone();
        }
        let expected: Vec<String> = stored.keys().cloned().collect();
        if listed != expected {
            let missing: Vec<&String> = expected.iter().filter(|k| !listed.contains(k)).collect();
            let extra: Vec<&String> = listed.iter().filter(|k| !expected.contains(k)).collect();
            panic!(
                "listing of hostile keys differs: missing {missing:?}, unexpected {extra:?}, \
                 {} listed vs {} stored (order or duplicates if both are empty)",
                listed.len(),
                expected.len()
            );
        }

        // The victim bucket saw nothing.
        let victim = store
            .list_objects(
                VICTIM,
                ListParams {
                    max_keys: 1000,
                    ..Default::default()
                },
            )
            .await
            .expect("list victim");
        assert!(
            victim.objects.is_empty() && victim.common_prefixes.is_empty(),
            "{victim:?}"
        );
        let outcome = get(&store, VICTIM, "stolen").await;
        assert!(
            matches!(outcome, Err(StoreError::NoSuchKey { .. })),
            "{outcome:?}"
        );

        // Multipart uploads with hostile keys go through the same checks.
        for key in ["../../mp-escape", "a/../../mp", "/mp-abs"] {
            match store
                .create_multipart(ATTACK, key, Default::default(), None)
                .await
            {
                Ok(upload) => {
                    store
                        .abort_multipart(ATTACK, key, &upload.upload_id)
                        .await
                        .expect("abort");
                }
                Err(e) => assert!(acceptable_rejection(&e), "create_multipart {key:?}: {e:?}"),
            }
        }

        let after = drives.all_files();
        let new_files: Vec<PathBuf> = after.difference(&before).cloned().collect();
        let misplaced = misplaced_files(&drives, &new_files);
        assert!(
            misplaced.is_empty(),
            "files written outside the attack bucket: {misplaced:?}"
        );

        // Deleting every accepted key removes its data again.
        for key in stored.keys() {
            store.delete_object(ATTACK, key).await.expect("delete");
            let outcome = store.head_object(ATTACK, key).await;
            assert!(
                matches!(outcome, Err(StoreError::NoSuchKey { .. })),
                "after delete {key:?}: {outcome:?}"
            );
        }
        let remaining = store
            .list_objects(
                ATTACK,
                ListParams {
                    max_keys: 1000,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert!(remaining.objects.is_empty(), "{remaining:?}");
        drop(store);

        // Restarting over these drives works and sees the same (empty) bucket.
        let store: Store = drives.open().await;
        store
            .head_bucket(ATTACK)
            .await
            .expect("bucket survives restart");
    });
}

#[test]
fn hostile_system_blob_and_upload_names_are_rejected() {
    runtime().block_on(async {
        let drives = TestDrives::new(4);
        let store = drives.open().await;
        let before = drives.all_files();
        for name in ["../escape", "/abs", "a/b", "", "..", "\0", "a\\b"] {
            let outcome = store
                .put_system_blob(name, Some(bytes::Bytes::from_static(b"x")))
                .await;
            assert!(outcome.is_err(), "system blob {name:?} accepted");
        }
        let new_files: Vec<PathBuf> = drives.all_files().difference(&before).cloned().collect();
        assert!(
            new_files.is_empty(),
            "rejected system blobs wrote {new_files:?}"
        );
    });
}
