//! Multipart uploads: completion assembles the named parts and gets the S3
//! ETag (MD5 of the concatenated binary part MD5s, `-N`); every rejection has
//! its own error (EntityTooSmall, InvalidPartOrder, InvalidPart, NoSuchUpload,
//! part numbers outside 1..=10,000); abort and complete leave no part files on
//! any drive; uploads and parts are listed.

mod common;

use common::*;
use md5::{Digest, Md5};
use store::api::{
    CompletePart, ListUploadsParams, MultipartStore, ObjectStore, PartInfo, PutOptions, StoreError,
};
use store::Store;

const BUCKET: &str = "multipart";
const MIN_PART: usize = 5 * MIB;

async fn open(drives: &TestDrives) -> Store {
    let store = drives.open().await;
    create_bucket(&store, BUCKET).await;
    store
}

async fn start(store: &Store, key: &str) -> String {
    store
        .create_multipart(BUCKET, key, Default::default(), None)
        .await
        .expect("create multipart")
        .upload_id
}

async fn upload_part(
    store: &Store,
    key: &str,
    upload_id: &str,
    number: u32,
    data: &[u8],
) -> Result<PartInfo, StoreError> {
    let opts = PutOptions {
        size: Some(data.len() as u64),
        ..Default::default()
    };
    store
        .put_part(
            BUCKET,
            key,
            upload_id,
            number,
            body(data.to_vec(), 64 * KIB),
            opts,
        )
        .await
}

fn complete_list(parts: &[&PartInfo]) -> Vec<CompletePart> {
    parts
        .iter()
        .map(|p| CompletePart {
            number: p.number,
            etag: p.etag.clone(),
        })
        .collect()
}

fn multipart_etag(parts: &[&[u8]]) -> String {
    let mut concatenated = Vec::new();
    for part in parts {
        concatenated.extend_from_slice(&Md5::digest(part));
    }
    format!(
        "{}-{}",
        hex::encode(Md5::digest(&concatenated)),
        parts.len()
    )
}

/// Files under the drives whose path mentions the upload id (part files,
/// upload records).
fn files_of_upload(drives: &TestDrives, upload_id: &str) -> Vec<std::path::PathBuf> {
    drives
        .drives
        .iter()
        .flat_map(|d| files_under(d))
        .filter(|f| f.to_string_lossy().contains(upload_id))
        .collect()
}

#[test]
fn complete_assembles_parts_with_the_s3_multipart_etag() {
    runtime().block_on(async {
        let drives = TestDrives::new(4);
        let store = open(&drives).await;
        let key = "big/assembled.bin";
        let upload_id = start(&store, key).await;

        let part1 = random_bytes(1, MIN_PART);
        let part2_first = random_bytes(2, MIN_PART + 1);
        let part2 = random_bytes(22, MIN_PART + 3);
        let part3 = random_bytes(3, 1234);
        // Out of order, and part 2 replaced by a second upload.
        let p3 = upload_part(&store, key, &upload_id, 3, &part3)
            .await
            .expect("part 3");
        let _ = upload_part(&store, key, &upload_id, 2, &part2_first)
            .await
            .expect("part 2");
        let p1 = upload_part(&store, key, &upload_id, 1, &part1)
            .await
            .expect("part 1");
        let p2 = upload_part(&store, key, &upload_id, 2, &part2)
            .await
            .expect("part 2 again");
        assert_eq!(p1.etag, md5_hex(&part1), "part ETag is the part's MD5");
        assert_eq!(p2.etag, md5_hex(&part2));
        assert_eq!((p1.number, p1.size), (1, MIN_PART as u64));
        assert_eq!((p3.number, p3.size), (3, 1234));

        let listed = store
            .list_parts(BUCKET, key, &upload_id, None, 1000)
            .await
            .expect("list parts");
        let numbers: Vec<(u32, u64, String)> = listed
            .parts
            .iter()
            .map(|p| (p.number, p.size, p.etag.clone()))
            .collect();
        assert_eq!(
            numbers,
            vec![
                (1, part1.len() as u64, p1.etag.clone()),
                (2, part2.len() as u64, p2.etag.clone()),
                (3, part3.len() as u64, p3.etag.clone()),
            ]
        );

        // Quoted ETags are accepted too.
        let mut parts = complete_list(&[&p1, &p2, &p3]);
        parts[1].etag = format!("\"{}\"", parts[1].etag);
        let info = store
            .complete_multipart(BUCKET, key, &upload_id, parts)
            .await
            .expect("complete");
        let expected_etag = multipart_etag(&[&part1, &part2, &part3]);
        assert_eq!(info.etag, expected_etag);
        assert_eq!(info.parts_count, 3);
        let whole: Vec<u8> = [part1.as_slice(), &part2, &part3].concat();
        assert_eq!(info.size, whole.len() as u64);

        let head = store.head_object(BUCKET, key).await.expect("head");
        assert_eq!(head.etag, expected_etag);
        assert_eq!(head.size, whole.len() as u64);
        let read = get(&store, BUCKET, key).await.expect("get");
        assert_same_bytes(&read, &whole, "completed object");

        // Ranges inside and across part boundaries.
        for (first, last) in [
            (MIN_PART as u64 - 3, MIN_PART as u64 + 3),
            (0, 0),
            (whole.len() as u64 - 1300, whole.len() as u64 - 1),
        ] {
            let (_, bytes) = get_range(
                &store,
                BUCKET,
                key,
                store::api::ByteRange::FromTo {
                    first,
                    last: Some(last),
                },
            )
            .await
            .expect("range");
            assert_same_bytes(&bytes, &whole[first as usize..=last as usize], "range");
        }

        // The upload is gone: not listed, and no part files remain.
        let uploads = store
            .list_uploads(
                BUCKET,
                ListUploadsParams {
                    max_uploads: 1000,
                    ..Default::default()
                },
            )
            .await
            .expect("list uploads");
        assert!(uploads.uploads.is_empty(), "completed upload still listed");
        let again = store
            .complete_multipart(BUCKET, key, &upload_id, complete_list(&[&p1, &p2, &p3]))
            .await;
        assert!(
            matches!(again, Err(StoreError::NoSuchUpload(_))),
            "completing twice: {again:?}"
        );
        let leftovers = files_of_upload(&drives, &upload_id);
        assert!(
            leftovers.is_empty(),
            "files of a completed upload remain: {leftovers:?}"
        );

        // Survives a restart.
        drop(store);
        let store = drives.open().await;
        let read = get(&store, BUCKET, key).await.expect("get after reopen");
        assert_same_bytes(&read, &whole, "completed object after reopen");
    });
}

#[test]
fn complete_may_skip_part_numbers_and_drops_unused_parts() {
    runtime().block_on(async {
        let drives = TestDrives::new(4);
        let store = open(&drives).await;
        let key = "gaps";
        let upload_id = start(&store, key).await;
        let part1 = random_bytes(11, MIN_PART);
        let part2 = random_bytes(12, 10);
        let part5 = random_bytes(15, 77);
        let p1 = upload_part(&store, key, &upload_id, 1, &part1)
            .await
            .unwrap();
        let _p2 = upload_part(&store, key, &upload_id, 2, &part2)
            .await
            .unwrap();
        let p5 = upload_part(&store, key, &upload_id, 5, &part5)
            .await
            .unwrap();
        let info = store
            .complete_multipart(BUCKET, key, &upload_id, complete_list(&[&p1, &p5]))
            .await
            .expect("complete with a gap");
        assert_eq!(info.etag, multipart_etag(&[&part1, &part5]));
        let read = get(&store, BUCKET, key).await.unwrap();
        assert_same_bytes(
            &read,
            &[part1.as_slice(), &part5].concat(),
            "object with a gap",
        );
        assert!(files_of_upload(&drives, &upload_id).is_empty());
    });
}

#[test]
fn single_small_part_completes() {
    runtime().block_on(async {
        let drives = TestDrives::new(4);
        let store = open(&drives).await;
        let upload_id = start(&store, "one").await;
        let data = random_bytes(5, 3);
        let p1 = upload_part(&store, "one", &upload_id, 1, &data)
            .await
            .unwrap();
        let info = store
            .complete_multipart(BUCKET, "one", &upload_id, complete_list(&[&p1]))
            .await
            .expect("a single last part may be small");
        assert_eq!(info.etag, multipart_etag(&[&data]));
        assert_eq!(get(&store, BUCKET, "one").await.unwrap(), data);
    });
}

#[test]
fn every_rejection_has_its_own_error() {
    runtime().block_on(async {
        let drives = TestDrives::new(4);
        let store = open(&drives).await;
        let key = "rejections";
        let upload_id = start(&store, key).await;
        let big = random_bytes(21, MIN_PART);
        let small = random_bytes(22, MIN_PART - 1);
        let tail = random_bytes(23, 100);
        let p1 = upload_part(&store, key, &upload_id, 1, &small).await.unwrap();
        let p2 = upload_part(&store, key, &upload_id, 2, &big).await.unwrap();
        let p3 = upload_part(&store, key, &upload_id, 3, &tail).await.unwrap();

        // A part other than the last below 5 MiB.
        let outcome = store
            .complete_multipart(BUCKET, key, &upload_id, complete_list(&[&p1, &p2, &p3]))
            .await;
        assert!(
            matches!(outcome, Err(StoreError::EntityTooSmall { part: 1, size }) if size == small.len() as u64),
            "too-small part: {outcome:?}"
        );

        // Wrong order and duplicates.
        // (Every part but the last is large, so only the order is wrong.)
        let outcome = store
            .complete_multipart(BUCKET, key, &upload_id, complete_list(&[&p2, &p1]))
            .await;
        assert!(matches!(outcome, Err(StoreError::InvalidPartOrder)), "descending: {outcome:?}");
        let outcome = store
            .complete_multipart(BUCKET, key, &upload_id, complete_list(&[&p2, &p2, &p3]))
            .await;
        assert!(matches!(outcome, Err(StoreError::InvalidPartOrder)), "duplicate: {outcome:?}");

        // Wrong ETag, and a part that was never uploaded.
        let mut wrong = complete_list(&[&p2, &p3]);
        wrong[1].etag = md5_hex(b"something else");
        let outcome = store.complete_multipart(BUCKET, key, &upload_id, wrong).await;
        assert!(matches!(outcome, Err(StoreError::InvalidPart(3))), "wrong ETag: {outcome:?}");
        let mut missing = complete_list(&[&p2]);
        missing.push(CompletePart { number: 7, etag: p3.etag.clone() });
        let outcome = store.complete_multipart(BUCKET, key, &upload_id, missing).await;
        assert!(matches!(outcome, Err(StoreError::InvalidPart(7))), "missing part: {outcome:?}");

        // No parts at all.
        let outcome = store.complete_multipart(BUCKET, key, &upload_id, vec![]).await;
        assert!(outcome.is_err(), "completing with no parts must fail: {outcome:?}");

        // Part numbers outside 1..=10,000.
        for number in [0u32, 10_001, u32::MAX] {
            let outcome = upload_part(&store, key, &upload_id, number, b"x").await;
            assert!(
                matches!(outcome, Err(StoreError::InvalidArgument(_))),
                "part number {number}: {outcome:?}"
            );
        }
        // More than 10,000 parts named in the completion.
        let too_many: Vec<CompletePart> = (1..=10_001)
            .map(|number| CompletePart { number, etag: p2.etag.clone() })
            .collect();
        let outcome = store.complete_multipart(BUCKET, key, &upload_id, too_many).await;
        assert!(
            matches!(outcome, Err(StoreError::InvalidArgument(_) | StoreError::InvalidPart(_))),
            "10,001 parts: {outcome:?}"
        );

        // The upload survived all the failed completions and still completes.
        let info = store
            .complete_multipart(BUCKET, key, &upload_id, complete_list(&[&p2, &p3]))
            .await
            .expect("valid completion after rejections");
        assert_eq!(info.etag, multipart_etag(&[&big, &tail]));
        assert!(files_of_upload(&drives, &upload_id).is_empty());
    });
}

#[test]
fn unknown_upload_is_no_such_upload_everywhere() {
    runtime().block_on(async {
        let drives = TestDrives::new(4);
        let store = open(&drives).await;
        let real = start(&store, "k").await;
        for bogus in [
            "no-such-upload",
            "00000000-0000-0000-0000-000000000000",
            "../../etc",
        ] {
            let outcome = upload_part(&store, "k", bogus, 1, b"data").await;
            assert!(
                matches!(outcome, Err(StoreError::NoSuchUpload(_))),
                "put_part {bogus}: {outcome:?}"
            );
            let outcome = store.list_parts(BUCKET, "k", bogus, None, 100).await;
            assert!(
                matches!(outcome, Err(StoreError::NoSuchUpload(_))),
                "list_parts {bogus}: {outcome:?}"
            );
            let outcome = store
                .complete_multipart(
                    BUCKET,
                    "k",
                    bogus,
                    vec![CompletePart {
                        number: 1,
                        etag: md5_hex(b"data"),
                    }],
                )
                .await;
            assert!(
                matches!(outcome, Err(StoreError::NoSuchUpload(_))),
                "complete {bogus}: {outcome:?}"
            );
            let outcome = store.abort_multipart(BUCKET, "k", bogus).await;
            assert!(
                matches!(outcome, Err(StoreError::NoSuchUpload(_))),
                "abort {bogus}: {outcome:?}"
            );
        }
        // A real upload id under another key is not that key's upload.
        let outcome = upload_part(&store, "other-key", &real, 1, b"data").await;
        assert!(
            matches!(outcome, Err(StoreError::NoSuchUpload(_))),
            "upload id used with the wrong key: {outcome:?}"
        );
    });
}

#[test]
fn abort_frees_parts_on_every_drive() {
    runtime().block_on(async {
        let drives = TestDrives::new(4);
        let store = open(&drives).await;
        let before = drives.all_files();
        let key = "aborted";
        let upload_id = start(&store, key).await;
        for number in 1..=3u32 {
            let data = random_bytes(number as u64, 300 * KIB + number as usize);
            upload_part(&store, key, &upload_id, number, &data)
                .await
                .unwrap();
        }
        assert!(
            drives.all_files().len() > before.len(),
            "uploading parts wrote no files?"
        );
        store
            .abort_multipart(BUCKET, key, &upload_id)
            .await
            .expect("abort");

        let after = drives.all_files();
        let leaked: Vec<_> = after.difference(&before).collect();
        assert!(leaked.is_empty(), "files left after abort: {leaked:?}");
        let outcome = upload_part(&store, key, &upload_id, 4, b"late").await;
        assert!(
            matches!(outcome, Err(StoreError::NoSuchUpload(_))),
            "part after abort: {outcome:?}"
        );
        let uploads = store
            .list_uploads(
                BUCKET,
                ListUploadsParams {
                    max_uploads: 1000,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert!(uploads.uploads.is_empty(), "aborted upload still listed");
        let outcome = store.abort_multipart(BUCKET, key, &upload_id).await;
        assert!(
            matches!(outcome, Err(StoreError::NoSuchUpload(_))),
            "second abort: {outcome:?}"
        );
        let outcome = store.head_object(BUCKET, key).await;
        assert!(
            matches!(outcome, Err(StoreError::NoSuchKey { .. })),
            "aborted upload made an object"
        );
    });
}

#[test]
fn uploads_and_parts_are_listed_with_pagination() {
    runtime().block_on(async {
        let drives = TestDrives::new(4);
        let store = open(&drives).await;
        let mut ids = Vec::new();
        for key in ["a/one", "a/two", "b/three", "a/two"] {
            ids.push((key.to_string(), start(&store, key).await));
        }
        let page = store
            .list_uploads(
                BUCKET,
                ListUploadsParams {
                    max_uploads: 1000,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        let mut listed: Vec<(String, String)> = page
            .uploads
            .iter()
            .map(|u| (u.key.clone(), u.upload_id.clone()))
            .collect();
        let keys: Vec<&str> = listed.iter().map(|(k, _)| k.as_str()).collect();
        let mut sorted_keys = keys.clone();
        sorted_keys.sort();
        assert_eq!(keys, sorted_keys, "uploads are listed in key order");
        listed.sort();
        let mut expected = ids.clone();
        expected.sort();
        assert_eq!(listed, expected);
        assert!(page.uploads.iter().all(|u| u.bucket == BUCKET));

        let page = store
            .list_uploads(
                BUCKET,
                ListUploadsParams {
                    prefix: "a/".into(),
                    max_uploads: 1000,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(page.uploads.len(), 3, "prefix filter");
        assert!(page.uploads.iter().all(|u| u.key.starts_with("a/")));

        // Pagination over uploads.
        let mut seen = Vec::new();
        let mut params = ListUploadsParams {
            max_uploads: 1,
            ..Default::default()
        };
        for _ in 0..10 {
            let page = store.list_uploads(BUCKET, params.clone()).await.unwrap();
            assert!(page.uploads.len() <= 1);
            seen.extend(
                page.uploads
                    .iter()
                    .map(|u| (u.key.clone(), u.upload_id.clone())),
            );
            if !page.is_truncated {
                break;
            }
            params.key_marker = page.next_key_marker.clone();
            params.upload_id_marker = page.next_upload_id_marker.clone();
        }
        seen.sort();
        assert_eq!(seen, expected, "paging one upload at a time sees each once");

        // Parts pagination.
        let (key, upload_id) = &ids[0];
        for number in [1u32, 2, 3, 4, 10] {
            upload_part(
                &store,
                key,
                upload_id,
                number,
                &random_bytes(number as u64, 10),
            )
            .await
            .unwrap();
        }
        let mut marker = None;
        let mut numbers = Vec::new();
        for _ in 0..10 {
            let page = store
                .list_parts(BUCKET, key, upload_id, marker, 2)
                .await
                .unwrap();
            assert!(page.parts.len() <= 2);
            numbers.extend(page.parts.iter().map(|p| p.number));
            if !page.is_truncated {
                break;
            }
            marker = page.next_part_number_marker;
        }
        assert_eq!(numbers, vec![1, 2, 3, 4, 10]);
    });
}

#[test]
fn completing_over_an_existing_object_replaces_it() {
    runtime().block_on(async {
        let drives = TestDrives::new(4);
        let store = open(&drives).await;
        let old = random_bytes(99, 2 * MIB);
        put(&store, BUCKET, "replaced", &old).await.unwrap();
        let upload_id = start(&store, "replaced").await;
        let new = random_bytes(100, 1000);
        let p1 = upload_part(&store, "replaced", &upload_id, 1, &new)
            .await
            .unwrap();
        // Until completion the old object is what readers see.
        assert_eq!(get(&store, BUCKET, "replaced").await.unwrap(), old);
        store
            .complete_multipart(BUCKET, "replaced", &upload_id, complete_list(&[&p1]))
            .await
            .unwrap();
        assert_eq!(get(&store, BUCKET, "replaced").await.unwrap(), new);
    });
}
