//! The server's object cache seen from a client: a GET or HEAD never answers an object older
//! than the last write of its key acknowledged before the request was sent, nor a deleted one —
//! under concurrent overwrites, deletes and GETs of small (cached) objects, and after each kind
//! of write that changes a key already read: PUT, tagging, CopyObject, a completed multipart
//! upload, DeleteObject.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart, Tag, Tagging};
use aws_sdk_s3::Client;
use conformance::{unique_bucket, TestServer};

use crate::common::{assert_object_absent, create_bucket, get_bytes, put_bytes, shared_server};

static SERVER: OnceLock<TestServer> = OnceLock::new();

/// Every 8 bytes hold `seq`, so a stale body names the write it came from.
fn content(seq: u64, len: usize) -> Vec<u8> {
    seq.to_le_bytes()
        .iter()
        .copied()
        .cycle()
        .take(len)
        .collect()
}

/// One write of a key (one writer per key, so `seq` orders them).
struct Op {
    seq: u64,
    delete: bool,
    acked: Option<Instant>,
}

async fn read_seq(client: &Client, bucket: &str, key: &str) -> Option<u64> {
    match client.get_object().bucket(bucket).key(key).send().await {
        Ok(output) => {
            let bytes = output.body.collect().await.unwrap().into_bytes();
            let seq = u64::from_le_bytes(bytes[..8].try_into().unwrap());
            assert_eq!(bytes.len(), len_of(seq), "{key}: whole body of seq {seq}");
            assert!(
                bytes.chunks(8).all(|c| c == &bytes[..c.len()]),
                "{key}: a body mixing writes"
            );
            Some(seq)
        }
        Err(err) => {
            let status = err.raw_response().map(|r| r.status().as_u16());
            assert_eq!(status, Some(404), "GET {key}: {err:?}");
            None
        }
    }
}

/// Inline objects and shard-file objects both fit the cache's body limit.
fn len_of(seq: u64) -> usize {
    if seq.is_multiple_of(2) {
        5_000
    } else {
        300_000
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_get_older_than_an_acknowledged_write_under_concurrent_overwrites_and_deletes() {
    let server = shared_server(&SERVER);
    let client = server.s3_client();
    let bucket = unique_bucket("cache-races");
    create_bucket(&client, &bucket).await;
    const KEYS: usize = 4;
    let history: Arc<Vec<Mutex<Vec<Op>>>> =
        Arc::new((0..KEYS).map(|_| Mutex::new(Vec::new())).collect());
    let stop = Arc::new(AtomicBool::new(false));
    let mut writers = Vec::new();
    for key in 0..KEYS {
        let (client, bucket) = (client.clone(), bucket.clone());
        let (history, stop) = (history.clone(), stop.clone());
        writers.push(tokio::spawn(async move {
            let name = format!("k{key}");
            let mut seq = 0u64;
            while !stop.load(Ordering::Relaxed) {
                seq += 1;
                let delete = seq.is_multiple_of(4);
                history[key].lock().unwrap().push(Op {
                    seq,
                    delete,
                    acked: None,
                });
                if delete {
                    client
                        .delete_object()
                        .bucket(&bucket)
                        .key(&name)
                        .send()
                        .await
                        .unwrap();
                } else {
                    put_bytes(&client, &bucket, &name, &content(seq, len_of(seq))).await;
                }
                history[key].lock().unwrap().last_mut().unwrap().acked = Some(Instant::now());
            }
        }));
    }
    let mut readers = Vec::new();
    for reader in 0..4usize {
        let (client, bucket) = (client.clone(), bucket.clone());
        let (history, stop) = (history.clone(), stop.clone());
        readers.push(tokio::spawn(async move {
            let mut reads = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let key = (reads as usize + reader) % KEYS;
                let start = Instant::now();
                let seen = read_seq(&client, &bucket, &format!("k{key}")).await;
                let ops = history[key].lock().unwrap();
                let floor = ops
                    .iter()
                    .rfind(|op| op.acked.is_some_and(|acked| acked < start));
                let floor_seq = floor.map_or(0, |op| op.seq);
                match seen {
                    Some(seq) => assert!(
                        seq >= floor_seq,
                        "k{key}: GET answered seq {seq}, but seq {floor_seq} was acknowledged before it was sent"
                    ),
                    None => assert!(
                        floor.is_none_or(|op| op.delete)
                            || ops.iter().any(|op| op.delete && op.seq > floor_seq),
                        "k{key}: GET answered 404, but PUT seq {floor_seq} was acknowledged before it was sent"
                    ),
                }
                reads += 1;
            }
            reads
        }));
    }
    tokio::time::sleep(Duration::from_secs(4)).await;
    stop.store(true, Ordering::Relaxed);
    for writer in writers {
        writer.await.unwrap();
    }
    let mut reads = 0;
    for reader in readers {
        reads += reader.await.unwrap();
    }
    assert!(reads >= 20, "only {reads} GETs ran");
    for key in 0..KEYS {
        let last = {
            let ops = history[key].lock().unwrap();
            let op = ops.last().unwrap();
            (!op.delete).then_some(op.seq)
        };
        let name = format!("k{key}");
        assert_eq!(read_seq(&client, &bucket, &name).await, last, "{name}");
        assert_eq!(read_seq(&client, &bucket, &name).await, last, "{name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_kind_of_write_replaces_what_a_get_just_read() {
    let server = shared_server(&SERVER);
    let client = server.s3_client();
    let bucket = unique_bucket("cache-writes");
    create_bucket(&client, &bucket).await;
    put_bytes(&client, &bucket, "img", &content(1, 4096)).await;
    assert_eq!(get_bytes(&client, &bucket, "img").await, content(1, 4096));

    // Tagging rewrites the metadata: HEAD shows the new tag count.
    let tagging = Tagging::builder()
        .tag_set(Tag::builder().key("k").value("v").build().unwrap())
        .build()
        .unwrap();
    client
        .put_object_tagging()
        .bucket(&bucket)
        .key("img")
        .tagging(tagging)
        .send()
        .await
        .unwrap();
    let got = client
        .get_object()
        .bucket(&bucket)
        .key("img")
        .send()
        .await
        .unwrap();
    assert_eq!(got.tag_count(), Some(1), "GET after PutObjectTagging");

    // CopyObject onto the key.
    put_bytes(&client, &bucket, "src", &content(2, 6000)).await;
    client
        .copy_object()
        .bucket(&bucket)
        .key("img")
        .copy_source(format!("{bucket}/src"))
        .send()
        .await
        .unwrap();
    assert_eq!(get_bytes(&client, &bucket, "img").await, content(2, 6000));

    // A completed multipart upload onto the key.
    let upload = client
        .create_multipart_upload()
        .bucket(&bucket)
        .key("img")
        .send()
        .await
        .unwrap();
    let upload_id = upload.upload_id().unwrap();
    let part = client
        .upload_part()
        .bucket(&bucket)
        .key("img")
        .upload_id(upload_id)
        .part_number(1)
        .body(content(3, 7000).into())
        .send()
        .await
        .unwrap();
    client
        .complete_multipart_upload()
        .bucket(&bucket)
        .key("img")
        .upload_id(upload_id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .parts(
                    CompletedPart::builder()
                        .part_number(1)
                        .set_e_tag(part.e_tag().map(str::to_string))
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(get_bytes(&client, &bucket, "img").await, content(3, 7000));

    // A plain overwrite, then a delete.
    put_bytes(&client, &bucket, "img", &content(4, 100)).await;
    assert_eq!(get_bytes(&client, &bucket, "img").await, content(4, 100));
    client
        .delete_object()
        .bucket(&bucket)
        .key("img")
        .send()
        .await
        .unwrap();
    assert_object_absent(&client, &bucket, "img").await;
    assert!(client
        .get_object()
        .bucket(&bucket)
        .key("img")
        .send()
        .await
        .is_err());
}
