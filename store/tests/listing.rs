//! Listing over a few thousand keys: byte order (not UTF-16 or locale order),
//! prefix filtering, delimiters (`/`, other single and multi-character ones)
//! rolling keys up into common prefixes, `start_after`, and `max_keys`
//! pagination where objects and common prefixes both count against the page.

mod common;

use std::collections::BTreeMap;

use common::*;
use futures::StreamExt;
use store::api::{ListPage, ListParams, ObjectStore, StoreError};
use store::Store;

const BUCKET: &str = "listing";

/// The key set: ~2,500 keys in nested "folders", plus keys with characters
/// that sort differently in byte order than in other orders.
fn keys() -> Vec<String> {
    let mut keys = Vec::new();
    for i in 0..900 {
        keys.push(format!("photos/2024/{i:04}.jpg"));
    }
    for i in 0..600 {
        keys.push(format!("photos/2025/{:02}/{i:04}.jpg", i % 12));
    }
    for i in 0..500 {
        keys.push(format!("docs/report-{i:03}"));
    }
    for i in 0..480 {
        keys.push(format!("k{i}"));
    }
    for special in [
        "photos/2024", // an object named like a folder, without the slash
        "photos/",     // a "folder marker" object equal to a prefix
        "docs::a::b",
        "docs::a::c",
        "docs::z",
        "sp ace",
        "plus+sign",
        "percent%20",
        "amp&er",
        "tab\tkey",
        "tilde~",
        "!bang",
        "UPPER",
        "lower",
        "ü-umlaut",
        "\u{FF61}-halfwidth", // EF BD A1: sorts before U+10000 in UTF-8
        "\u{10000}-linear-b", // F0 90 80 80: but before U+FF61 in UTF-16
        "😀/emoji-folder/x",
        "😀/emoji-folder/y",
        "a-b",
        "a/b",
        "a.b",
        "a0",
        "a",
        "dash-a-1",
        "dash-a-2",
        "dash-b-1",
    ] {
        keys.push(special.to_string());
    }
    keys
}

/// One entry of a listing: an object key or a common prefix.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Entry {
    Object(String),
    Prefix(String),
}

impl Entry {
    fn name(&self) -> &str {
        match self {
            Entry::Object(k) | Entry::Prefix(k) => k,
        }
    }
}

/// S3's listing semantics over a sorted key set, without pagination.
fn model(keys: &[String], prefix: &str, delimiter: Option<&str>) -> Vec<Entry> {
    let mut out: Vec<Entry> = Vec::new();
    for key in keys {
        let Some(rest) = key.strip_prefix(prefix) else {
            continue;
        };
        let entry = match delimiter
            .filter(|d| !d.is_empty())
            .and_then(|d| rest.find(d).map(|i| (i, d)))
        {
            Some((i, d)) => Entry::Prefix(format!("{prefix}{}", &rest[..i + d.len()])),
            None => Entry::Object(key.clone()),
        };
        if out.last() != Some(&entry) {
            out.push(entry);
        }
    }
    out
}

fn page_entries(page: &ListPage) -> Vec<Entry> {
    let mut entries: Vec<Entry> = page
        .objects
        .iter()
        .map(|o| Entry::Object(o.key.clone()))
        .chain(
            page.common_prefixes
                .iter()
                .map(|p| Entry::Prefix(p.clone())),
        )
        .collect();
    entries.sort_by(|a, b| a.name().cmp(b.name()));
    entries
}

/// Pages through a whole listing, checking each page's shape.
async fn list_all(
    store: &Store,
    prefix: &str,
    delimiter: Option<&str>,
    max_keys: usize,
) -> Vec<Entry> {
    let mut out: Vec<Entry> = Vec::new();
    let mut start_after: Option<String> = None;
    for round in 0.. {
        assert!(round < 10_000, "pagination does not end");
        let page = store
            .list_objects(
                BUCKET,
                ListParams {
                    prefix: prefix.to_string(),
                    delimiter: delimiter.map(String::from),
                    start_after: start_after.clone(),
                    max_keys,
                },
            )
            .await
            .expect("list");
        let entries = page_entries(&page);
        assert!(
            entries.len() <= max_keys.min(1000),
            "page of {} entries for max_keys {max_keys}",
            entries.len()
        );
        if page.is_truncated {
            assert!(!entries.is_empty(), "a truncated page must make progress");
            assert_eq!(
                page.next_marker.as_deref(),
                Some(entries.last().unwrap().name()),
                "next_marker is the last key or prefix returned"
            );
        }
        out.extend(entries);
        if !page.is_truncated {
            break;
        }
        start_after = page.next_marker.clone();
    }
    out
}

async fn populated_store(drives: &TestDrives) -> (Store, Vec<String>, BTreeMap<String, Vec<u8>>) {
    let store = drives.open().await;
    create_bucket(&store, BUCKET).await;
    let keys = keys();
    let contents: BTreeMap<String, Vec<u8>> = keys
        .iter()
        .enumerate()
        .map(|(i, k)| (k.clone(), random_bytes(i as u64, i % 7)))
        .collect();
    // Concurrent puts batch the drives' journal commits.
    futures::stream::iter(contents.iter())
        .map(|(key, data)| {
            let store = &store;
            async move {
                put(store, BUCKET, key, data)
                    .await
                    .unwrap_or_else(|e| panic!("put {key:?}: {e}"))
            }
        })
        .buffer_unordered(64)
        .collect::<Vec<_>>()
        .await;
    let mut sorted = keys;
    sorted.sort();
    (store, sorted, contents)
}

#[test]
fn listing_pages_prefixes_and_delimiters_match_s3_semantics() {
    runtime().block_on(async {
        let drives = TestDrives::new(4);
        let (store, keys, contents) = populated_store(&drives).await;
        assert!(keys.len() >= 2_500);

        // Whole bucket, byte order, every page size.
        let everything = model(&keys, "", None);
        assert_eq!(everything.len(), keys.len());
        for max_keys in [1000, 5000] {
            let listed = list_all(&store, "", None, max_keys).await;
            assert_eq!(listed, everything, "whole listing with max_keys {max_keys}");
        }

        // One full page returns sizes and ETags.
        let page = store
            .list_objects(
                BUCKET,
                ListParams {
                    max_keys: 1000,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(page.objects.len(), 1000);
        assert!(page.is_truncated);
        for object in &page.objects {
            let data = &contents[&object.key];
            assert_eq!(object.size, data.len() as u64, "size of {:?}", object.key);
            assert_eq!(object.etag, md5_hex(data), "etag of {:?}", object.key);
        }

        let cases: &[(&str, Option<&str>, usize)] = &[
            ("", Some("/"), 1000),
            ("", Some("/"), 7),
            ("photos/", Some("/"), 2),
            ("photos/2025/", Some("/"), 5),
            ("photos/2025/1", Some("/"), 1000),
            ("photos/2024/", None, 250),
            ("photos/2024/01", None, 7),
            ("photos/2024", Some("/"), 10),
            ("photos", Some("/"), 10),
            ("docs", Some("::"), 10),
            ("docs::", Some("::"), 1),
            ("", Some("-"), 400),
            ("dash-", Some("-"), 1),
            ("a", Some("/"), 1000),
            ("😀/", Some("/"), 1000),
            ("😀/emoji-folder/", Some("/"), 1),
            ("no-such-prefix/", Some("/"), 1000),
            ("k4", None, 9),
            ("", Some("photos/"), 1000),
        ];
        for &(prefix, delimiter, max_keys) in cases {
            let expected = model(&keys, prefix, delimiter);
            let listed = list_all(&store, prefix, delimiter, max_keys).await;
            assert_eq!(
                listed, expected,
                "prefix {prefix:?} delimiter {delimiter:?} max_keys {max_keys}"
            );
        }

        // Byte order: U+FF61 (EF BD A1) before U+10000 (F0 90 80 80).
        let listed = list_all(&store, "", Some("/"), 1000).await;
        let pos = |name: &str| {
            listed
                .iter()
                .position(|e| e.name().starts_with(name))
                .unwrap()
        };
        assert!(
            pos("\u{FF61}") < pos("\u{10000}"),
            "keys are in UTF-8 byte order"
        );
        assert!(
            pos("UPPER") < pos("a"),
            "upper case sorts before lower case"
        );
    });
}

#[test]
fn start_after_and_max_keys_edges() {
    runtime().block_on(async {
        let drives = TestDrives::new(4);
        let store = drives.open().await;
        create_bucket(&store, BUCKET).await;
        let keys: Vec<String> = (0..30)
            .map(|i| format!("f/{i:02}"))
            .chain(["g".into(), "h/1".into()])
            .collect();
        for key in &keys {
            put(&store, BUCKET, key, b"").await.unwrap();
        }
        let list = |start_after: Option<&str>, delimiter: Option<&str>, max_keys: usize| {
            let store = &store;
            let params = ListParams {
                prefix: String::new(),
                delimiter: delimiter.map(String::from),
                start_after: start_after.map(String::from),
                max_keys,
            };
            async move { store.list_objects(BUCKET, params).await.unwrap() }
        };

        // start_after is exclusive, and need not be an existing key.
        let page = list(Some("f/10"), None, 3).await;
        let names: Vec<&str> = page.objects.iter().map(|o| o.key.as_str()).collect();
        assert_eq!(names, ["f/11", "f/12", "f/13"]);
        assert!(page.is_truncated);
        let page = list(Some("f/105"), None, 2).await;
        let names: Vec<&str> = page.objects.iter().map(|o| o.key.as_str()).collect();
        assert_eq!(names, ["f/11", "f/12"]);

        // Past the last key: empty and not truncated.
        let page = list(Some("zzz"), None, 10).await;
        assert!(page.objects.is_empty() && page.common_prefixes.is_empty() && !page.is_truncated);

        // Exactly filling a page: S3 reports truncation only when more remain.
        let page = list(Some("f/29"), None, 2).await;
        let names: Vec<&str> = page.objects.iter().map(|o| o.key.as_str()).collect();
        assert_eq!(names, ["g", "h/1"]);
        assert!(!page.is_truncated, "nothing follows the last key");

        // A common prefix as start_after skips its whole group.
        let page = list(Some("f/"), Some("/"), 10).await;
        assert_eq!(page.common_prefixes, vec!["h/".to_string()]);
        let names: Vec<&str> = page.objects.iter().map(|o| o.key.as_str()).collect();
        assert_eq!(names, ["g"]);

        // max_keys above 1000 is capped, 0 returns nothing without looping.
        let page = list(None, None, 100_000).await;
        assert_eq!(page.objects.len(), keys.len());
        let page = list(None, None, 0).await;
        assert!(page.objects.is_empty() && page.common_prefixes.is_empty());

        // Deleted keys disappear; a missing bucket is NoSuchBucket.
        store.delete_object(BUCKET, "g").await.unwrap();
        let page = list(Some("f/29"), None, 10).await;
        let names: Vec<&str> = page.objects.iter().map(|o| o.key.as_str()).collect();
        assert_eq!(names, ["h/1"]);
        let outcome = store
            .list_objects(
                "no-such-bucket",
                ListParams {
                    max_keys: 10,
                    ..Default::default()
                },
            )
            .await;
        assert!(
            matches!(outcome, Err(StoreError::NoSuchBucket(_))),
            "{outcome:?}"
        );
    });
}
