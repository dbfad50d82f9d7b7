//! A heal that reports completion has repaired bit rot: after flipping bytes in every object
//! file of two drives and a complete `minnow heal`, two *other* drives may be lost and every
//! object still reads back. This is the campaign's damage rule ("no more than `parity` damaged
//! drives without a completed heal in between") made deterministic.

use aws_sdk_s3::primitives::ByteStream;
use conformance::{pattern_bytes, TestServer};

use crate::faults::{full_heal, wipe_drive};
use crate::model::Observed;
use crate::workload::read_object;

const BUCKET: &str = "bitrot-heal";

/// Flips one byte in the middle of every file under the bucket's folder of `drive`.
fn flip_every_object_file(drive: &std::path::Path) -> usize {
    let mut flipped = 0;
    let mut stack = vec![drive.join(BUCKET)];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let mut bytes = std::fs::read(&path).unwrap();
            if bytes.is_empty() {
                continue;
            }
            let middle = bytes.len() / 2;
            bytes[middle] ^= 0x20;
            std::fs::write(&path, bytes).unwrap();
            flipped += 1;
        }
    }
    flipped
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_completed_heal_repairs_bit_rot_before_two_more_drives_go() {
    let mut server = TestServer::start().expect("starting server");
    if server.is_external() {
        eprintln!("external endpoint: needs the drive folders; skipped");
        return;
    }
    let sizes = [1usize, 100, 2260, 4000, 60_000, 200_000, 1_500_000];
    let objects: Vec<(String, Vec<u8>)> = sizes
        .iter()
        .enumerate()
        .map(|(index, size)| {
            (
                format!("object-{index}"),
                pattern_bytes(*size, 900 + index as u64),
            )
        })
        .collect();
    {
        let client = server.s3_client();
        client.create_bucket().bucket(BUCKET).send().await.unwrap();
        for (key, data) in &objects {
            client
                .put_object()
                .bucket(BUCKET)
                .key(key)
                .body(ByteStream::from(data.clone()))
                .send()
                .await
                .unwrap();
        }
    }
    let drives = server.drives().to_vec();

    server.stop().expect("stop");
    let flipped = flip_every_object_file(&drives[1]) + flip_every_object_file(&drives[3]);
    assert!(flipped >= 2 * objects.len(), "only {flipped} files flipped");
    server
        .restart()
        .expect("restart after bit rot on drives 2 and 4");
    let heal = tokio::task::block_in_place(|| full_heal(&server));
    assert!(heal.complete, "minnow heal after bit rot: {}", heal.output);

    server.stop().expect("stop");
    wipe_drive(&drives[1], false).unwrap();
    wipe_drive(&drives[2], false).unwrap();
    server.restart().expect("restart with drives 2 and 3 wiped");
    let client = server.s3_client();
    let mut failures = Vec::new();
    for (key, data) in &objects {
        match read_object(&client, BUCKET, key).await {
            Observed::Bytes(body) if body == *data => {}
            Observed::Bytes(body) => failures.push(format!("{key}: {} wrong bytes", body.len())),
            Observed::Absent => failures.push(format!("{key}: absent")),
            Observed::Error(error) => {
                failures.push(format!("{key} ({} bytes): {error}", data.len()))
            }
        }
    }
    assert!(
        failures.is_empty(),
        "after bit rot on drives 2 and 4, a complete heal ({}), then drives 2 and 3 wiped:\n{}",
        heal.output,
        failures.join("\n")
    );
}

/// Flips one byte in the middle of every file under `dir`.
fn flip_every_file_under(dir: &std::path::Path) -> usize {
    let mut flipped = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let mut bytes = std::fs::read(&path).unwrap();
            if bytes.is_empty() {
                continue;
            }
            let middle = bytes.len() / 2;
            bytes[middle] ^= 0x20;
            std::fs::write(&path, bytes).unwrap();
            flipped += 1;
        }
    }
    flipped
}

async fn multipart_parts(
    client: &aws_sdk_s3::Client,
    key: &str,
    parts: &[Vec<u8>],
) -> (String, Vec<aws_sdk_s3::types::CompletedPart>) {
    let upload_id = client
        .create_multipart_upload()
        .bucket(BUCKET)
        .key(key)
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
            .bucket(BUCKET)
            .key(key)
            .upload_id(&upload_id)
            .part_number(number)
            .body(ByteStream::from(data.clone()))
            .send()
            .await
            .unwrap();
        completed.push(
            aws_sdk_s3::types::CompletedPart::builder()
                .part_number(number)
                .set_e_tag(output.e_tag().map(str::to_string))
                .set_checksum_crc32(output.checksum_crc32().map(str::to_string))
                .build(),
        );
    }
    (upload_id, completed)
}

async fn complete(
    client: &aws_sdk_s3::Client,
    key: &str,
    upload_id: &str,
    parts: Vec<aws_sdk_s3::types::CompletedPart>,
) {
    client
        .complete_multipart_upload()
        .bucket(BUCKET)
        .key(key)
        .upload_id(upload_id)
        .multipart_upload(
            aws_sdk_s3::types::CompletedMultipartUpload::builder()
                .set_parts(Some(parts))
                .build(),
        )
        .send()
        .await
        .unwrap_or_else(|e| panic!("complete {key}: {e:?}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_over_bit_rot_are_whole_after_a_completed_heal() {
    let mut server = TestServer::start().expect("starting server");
    if server.is_external() {
        return;
    }
    let client = server.s3_client();
    client.create_bucket().bucket(BUCKET).send().await.unwrap();
    let old = pattern_bytes(3000, 1);
    for key in ["inline", "large", "nested/03/object"] {
        client
            .put_object()
            .bucket(BUCKET)
            .key(key)
            .body(ByteStream::from(pattern_bytes(1_500_000, 2)))
            .send()
            .await
            .unwrap();
    }
    client
        .put_object()
        .bucket(BUCKET)
        .key("inline")
        .body(ByteStream::from(old))
        .send()
        .await
        .unwrap();
    let open_parts = vec![pattern_bytes(5 * 1024 * 1024, 3), pattern_bytes(1000, 4)];
    let (open_id, open_completed) = multipart_parts(&client, "open", &open_parts).await;
    let drives = server.drives().to_vec();

    server.stop().expect("stop");
    let flipped = flip_every_file_under(&drives[0].join(BUCKET))
        + flip_every_file_under(&drives[0].join(".minnow.sys/multipart"));
    eprintln!("flipped {flipped} files on drive 1");
    server.restart().expect("restart");
    let client = server.s3_client();
    let mut expected: Vec<(String, Vec<u8>)> = Vec::new();
    for (key, data) in [
        ("inline", pattern_bytes(2500, 5)),
        ("large", pattern_bytes(2_000_000, 6)),
    ] {
        client
            .put_object()
            .bucket(BUCKET)
            .key(key)
            .body(ByteStream::from(data.clone()))
            .send()
            .await
            .unwrap();
        expected.push((key.to_string(), data));
    }
    let parts = vec![pattern_bytes(5 * 1024 * 1024, 7), pattern_bytes(77_777, 8)];
    let (id, completed) = multipart_parts(&client, "nested/03/object", &parts).await;
    complete(&client, "nested/03/object", &id, completed).await;
    expected.push(("nested/03/object".to_string(), parts.concat()));
    complete(&client, "open", &open_id, open_completed).await;
    expected.push(("open".to_string(), open_parts.concat()));

    let heal = tokio::task::block_in_place(|| full_heal(&server));
    assert!(heal.complete, "heal: {}", heal.output);
    server.stop().expect("stop");
    wipe_drive(&drives[2], false).unwrap();
    wipe_drive(&drives[3], false).unwrap();
    server.restart().expect("restart with drives 3 and 4 wiped");
    let client = server.s3_client();
    let mut failures = Vec::new();
    for (key, data) in &expected {
        match read_object(&client, BUCKET, key).await {
            Observed::Bytes(body) if body == *data => {}
            Observed::Bytes(body) => failures.push(format!("{key}: {} wrong bytes", body.len())),
            Observed::Absent => failures.push(format!("{key}: absent")),
            Observed::Error(error) => failures.push(format!("{key}: {error}")),
        }
    }
    assert!(
        failures.is_empty(),
        "writes made over bit rot on drive 1, a complete heal ({}), then drives 3 and 4 \
         wiped:\n{}\nserver log:\n{}",
        heal.output,
        failures.join("\n"),
        server.log_tail(3000)
    );
}
