//! minnow's store embedded in a program, no HTTP: open four drive folders,
//! write and read an object, lose a drive, and read it again.
//!
//! Run with `cargo run -p store --example embedded`.

use std::path::PathBuf;

use bytes::Bytes;
use futures::StreamExt;
use store::api::{ByteStream, Catalog, Maintenance, ObjectStore, PutOptions, StoreError};
use store::{Store, StoreConfig};

fn body(data: Vec<u8>) -> ByteStream {
    let chunks: Vec<Result<Bytes, StoreError>> = data
        .chunks(64 * 1024)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    Box::pin(futures::stream::iter(chunks))
}

async fn read(store: &Store, bucket: &str, key: &str) -> Result<Vec<u8>, StoreError> {
    let mut reader = store.get_object(bucket, key, None).await?;
    let mut data = Vec::new();
    while let Some(chunk) = reader.body.next().await {
        data.extend_from_slice(&chunk?);
    }
    Ok(data)
}

#[tokio::main]
async fn main() -> Result<(), StoreError> {
    let dir = tempfile::tempdir()?;
    let drives: Vec<PathBuf> = (1..=4)
        .map(|i| dir.path().join(format!("drive{i}")))
        .collect();
    for drive in &drives {
        std::fs::create_dir_all(drive)?;
    }
    println!("drives: {}", dir.path().join("drive{1...4}").display());

    let store = Store::open(StoreConfig::new(drives.clone())).await?;
    let (data_shards, parity) = store.erasure_layout();
    println!("opened: erasure coding {data_shards}+{parity}");

    store.create_bucket("photos").await?;
    // 3 MiB of varied bytes: several erasure blocks.
    let content: Vec<u8> = (0..3 * 1024 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let opts = PutOptions {
        size: Some(content.len() as u64),
        ..Default::default()
    };
    let info = store
        .put_object("photos", "2024/beach.jpg", body(content.clone()), opts)
        .await?;
    println!(
        "put photos/2024/beach.jpg: {} bytes, ETag {}",
        info.size, info.etag
    );

    let back = read(&store, "photos", "2024/beach.jpg").await?;
    println!("get: {} bytes, identical: {}", back.len(), back == content);

    std::fs::remove_dir_all(&drives[1])?;
    println!("removed drive folder {}", drives[1].display());
    let back = read(&store, "photos", "2024/beach.jpg").await?;
    println!(
        "get with one drive gone: {} bytes, identical: {}",
        back.len(),
        back == content
    );

    // A restart with the drive replaced by an empty folder, then a heal.
    drop(store);
    std::fs::create_dir_all(&drives[1])?;
    let store = Store::open(StoreConfig::new(drives.clone())).await?;
    for status in store.drive_status().await {
        println!(
            "drive {} {}: online {}, fresh {}",
            status.index, status.path, status.online, status.fresh
        );
    }
    let report = store.heal(None, "").await?;
    println!(
        "heal: {} scanned, {} healed, {} bytes rebuilt",
        report.objects_scanned, report.objects_healed, report.bytes_rebuilt
    );

    store.delete_object("photos", "2024/beach.jpg").await?;
    let gone = matches!(
        store.head_object("photos", "2024/beach.jpg").await,
        Err(StoreError::NoSuchKey { .. })
    );
    println!("deleted: {gone}");
    Ok(())
}
