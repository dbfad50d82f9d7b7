//! Erasure coding seen from a client: with EC 2+2 over four drive folders, objects (inline,
//! multi-block, multipart) read back byte-exact after one and then two drives are wiped, and
//! after bit flips in every file one drive holds for the bucket.

use std::path::Path;

use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use conformance::{pattern_bytes, unique_bucket, TestServer};

use crate::common::{create_bucket, put_bytes};

/// Writes a mix of object shapes and returns (key, content) pairs.
async fn write_objects(client: &aws_sdk_s3::Client, bucket: &str) -> Vec<(String, Vec<u8>)> {
    let mut objects = Vec::new();
    for (index, size) in [1usize, 1000, 100 * 1024, 300 * 1024, 5 * 1024 * 1024 + 7]
        .iter()
        .enumerate()
    {
        let key = format!("single/{index}");
        let data = pattern_bytes(*size, 700 + index as u64);
        put_bytes(client, bucket, &key, &data).await;
        objects.push((key, data));
    }
    let key = "multipart/object".to_string();
    let parts = [
        pattern_bytes(5 * 1024 * 1024, 710),
        pattern_bytes(333_333, 711),
    ];
    let upload_id = client
        .create_multipart_upload()
        .bucket(bucket)
        .key(&key)
        .send()
        .await
        .unwrap()
        .upload_id()
        .unwrap()
        .to_string();
    let mut completed = Vec::new();
    for (index, data) in parts.iter().enumerate() {
        let number = index as i32 + 1;
        let output = client
            .upload_part()
            .bucket(bucket)
            .key(&key)
            .upload_id(&upload_id)
            .part_number(number)
            .body(data.clone().into())
            .send()
            .await
            .unwrap();
        completed.push(
            CompletedPart::builder()
                .part_number(number)
                .set_e_tag(output.e_tag().map(str::to_string))
                .set_checksum_crc32(output.checksum_crc32().map(str::to_string))
                .build(),
        );
    }
    client
        .complete_multipart_upload()
        .bucket(bucket)
        .key(&key)
        .upload_id(&upload_id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .set_parts(Some(completed))
                .build(),
        )
        .send()
        .await
        .unwrap();
    objects.push((key, parts.concat()));
    objects
}

async fn assert_all_readable(
    server: &TestServer,
    bucket: &str,
    objects: &[(String, Vec<u8>)],
    when: &str,
) {
    let client = server.s3_client();
    for (key, data) in objects {
        let result = client.get_object().bucket(bucket).key(key).send().await;
        let output = result.unwrap_or_else(|e| {
            panic!(
                "{when}: GET {key}: {e:?}\nserver log:\n{}",
                server.log_tail(2000)
            )
        });
        let body = output.body.collect().await.expect("body").into_bytes();
        assert!(
            body.as_ref() == data.as_slice(),
            "{when}: {key} differs ({} bytes)",
            body.len()
        );
        // A range inside the object, too.
        if data.len() > 10 {
            let (start, end) = (data.len() / 3, data.len() / 2);
            let ranged = client
                .get_object()
                .bucket(bucket)
                .key(key)
                .range(format!("bytes={start}-{end}"))
                .send()
                .await
                .unwrap_or_else(|e| panic!("{when}: ranged GET {key}: {e:?}"));
            let body = ranged.body.collect().await.unwrap().into_bytes();
            assert!(
                body.as_ref() == &data[start..=end],
                "{when}: range of {key} differs"
            );
        }
    }
}

fn wipe_drive(drive: &Path) {
    for entry in std::fs::read_dir(drive).expect("reading drive").flatten() {
        let path = entry.path();
        if path.is_dir() {
            std::fs::remove_dir_all(&path).unwrap();
        } else {
            std::fs::remove_file(&path).unwrap();
        }
    }
}

/// Flips one byte in the middle of every file under `dir` whose path mentions `marker`.
fn flip_bytes_under(dir: &Path, marker: &str) -> usize {
    let mut flipped = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(current) = stack.pop() {
        for entry in std::fs::read_dir(&current).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.to_string_lossy().contains(marker) {
                let mut bytes = std::fs::read(&path).unwrap();
                if bytes.is_empty() {
                    continue;
                }
                let middle = bytes.len() / 2;
                bytes[middle] ^= 0x5a;
                std::fs::write(&path, bytes).unwrap();
                flipped += 1;
            }
        }
    }
    flipped
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_survive_one_then_two_wiped_drives() {
    let mut server = TestServer::start().expect("starting server");
    if server.is_external() {
        eprintln!("external endpoint: cannot reach its drives; skipped");
        return;
    }
    let bucket = unique_bucket("drive-loss");
    let objects = {
        let client = server.s3_client();
        create_bucket(&client, &bucket).await;
        write_objects(&client, &bucket).await
    };
    let drives = server.drives().to_vec();

    server.stop().expect("stop");
    wipe_drive(&drives[3]);
    server.restart().expect("restart with drive 4 wiped");
    assert_all_readable(&server, &bucket, &objects, "drive 4 wiped").await;

    server.stop().expect("stop");
    wipe_drive(&drives[2]);
    server.restart().expect("restart with drives 3 and 4 wiped");
    assert_all_readable(&server, &bucket, &objects, "drives 3 and 4 wiped").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bitrot_on_one_drive_is_invisible_to_readers() {
    let mut server = TestServer::start().expect("starting server");
    if server.is_external() {
        eprintln!("external endpoint: cannot reach its drives; skipped");
        return;
    }
    let bucket = unique_bucket("bitrot");
    let objects = {
        let client = server.s3_client();
        create_bucket(&client, &bucket).await;
        write_objects(&client, &bucket).await
    };
    let drives = server.drives().to_vec();
    server.stop().expect("stop");
    let flipped = flip_bytes_under(&drives[0], &bucket);
    // At least one file per object; erasure-coded objects have several.
    assert!(
        flipped >= objects.len(),
        "only {flipped} files of {bucket} on drive 1 to corrupt"
    );
    eprintln!("bitrot: flipped a byte in {flipped} files on drive 1");
    server.restart().expect("restart");
    assert_all_readable(&server, &bucket, &objects, "bitrot on drive 1").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_offline_drive_keeps_reads_and_writes_working() {
    let mut server = TestServer::start().expect("starting server");
    if server.is_external() {
        eprintln!("external endpoint: cannot reach its drives; skipped");
        return;
    }
    let bucket = unique_bucket("drive-offline");
    let mut objects = {
        let client = server.s3_client();
        create_bucket(&client, &bucket).await;
        write_objects(&client, &bucket).await
    };
    let drives = server.drives().to_vec();

    // The drive's folder becomes a plain file: unusable, as when a disk is gone.
    server.stop().expect("stop");
    std::fs::remove_dir_all(&drives[3]).unwrap();
    std::fs::write(&drives[3], b"not a drive").unwrap();
    server.restart().expect("restart with drive 4 offline");
    assert_all_readable(&server, &bucket, &objects, "drive 4 offline").await;
    {
        let client = server.s3_client();
        for (index, size) in [2000usize, 2 * 1024 * 1024 + 1].iter().enumerate() {
            let key = format!("written-while-offline/{index}");
            let data = pattern_bytes(*size, 720 + index as u64);
            put_bytes(&client, &bucket, &key, &data).await;
            objects.push((key, data));
        }
    }
    assert_all_readable(&server, &bucket, &objects, "drive 4 offline, after writes").await;

    // The drive comes back empty: everything, old and new, still reads.
    server.stop().expect("stop");
    std::fs::remove_file(&drives[3]).unwrap();
    std::fs::create_dir(&drives[3]).unwrap();
    server.restart().expect("restart with drive 4 back, empty");
    assert_all_readable(&server, &bucket, &objects, "drive 4 back, empty").await;
}
