//! The engine-level benchmark (feature `engine`): `store::Store` opened
//! in-process on four temporary folders, PUT and GET of 4 KiB, 1 MiB and
//! 64 MiB objects, each next to the same bytes (data + parity shards) written
//! and read straight to and from four folders by plain file I/O — no HTTP, so
//! the ratio is the engine's own overhead.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use store::api::{ByteStream, Catalog, ListParams, ObjectStore, PutOptions, StoreError};
use store::{Store, StoreConfig};

use crate::load::{self, LoadSpec, Mode, Observe, Target};
use crate::payload::Payload;
use crate::rawdisk::{Layout, RawDisk};
use crate::report::{self, Compared};
use crate::s3client::OpError;
use crate::sizes::{format_size, SizeSpec};

const BUCKET: &str = "engine-bench";

/// The store, opened in this process.
pub struct EngineTarget {
    store: Store,
}

fn store_error(e: &StoreError) -> OpError {
    let debug = format!("{e:?}");
    let name = debug
        .split(|c: char| !c.is_alphanumeric())
        .next()
        .unwrap_or("StoreError");
    OpError::new(name)
}

impl EngineTarget {
    pub async fn open(drives: Vec<PathBuf>) -> Result<Self, StoreError> {
        Ok(Self {
            store: Store::open(StoreConfig::new(drives)).await?,
        })
    }

    pub async fn put(
        &self,
        bucket: &str,
        key: &str,
        size: u64,
        payload: &Payload,
        seed: u64,
    ) -> Result<u64, OpError> {
        let body: ByteStream = Box::pin(futures::stream::iter(
            payload.chunks(seed, size).map(Ok::<_, StoreError>),
        ));
        let opts = PutOptions {
            size: Some(size),
            ..Default::default()
        };
        self.store
            .put_object(bucket, key, body, opts)
            .await
            .map(|info| info.size)
            .map_err(|e| store_error(&e))
    }

    pub async fn get(&self, bucket: &str, key: &str) -> Result<u64, OpError> {
        let mut reader = self
            .store
            .get_object(bucket, key, None)
            .await
            .map_err(|e| store_error(&e))?;
        let mut total = 0u64;
        while let Some(chunk) = reader.body.next().await {
            total += chunk.map_err(|e| store_error(&e))?.len() as u64;
        }
        Ok(total)
    }

    pub async fn head(&self, bucket: &str, key: &str) -> Result<u64, OpError> {
        self.store
            .head_object(bucket, key)
            .await
            .map(|_| 0)
            .map_err(|e| store_error(&e))
    }

    pub async fn delete(&self, bucket: &str, key: &str) -> Result<u64, OpError> {
        self.store
            .delete_object(bucket, key)
            .await
            .map(|_| 0)
            .map_err(|e| store_error(&e))
    }

    pub async fn list(&self, bucket: &str, prefix: &str) -> Result<u64, OpError> {
        let mut keys = 0u64;
        let mut start_after = None;
        loop {
            let params = ListParams {
                prefix: prefix.to_string(),
                delimiter: None,
                start_after: start_after.clone(),
                max_keys: 1000,
            };
            let page = self
                .store
                .list_objects(bucket, params)
                .await
                .map_err(|e| store_error(&e))?;
            keys += page.objects.len() as u64;
            if !page.is_truncated || page.next_marker.is_none() {
                return Ok(keys);
            }
            start_after = page.next_marker;
        }
    }

    pub async fn create_bucket(&self, bucket: &str) -> Result<(), OpError> {
        match self.store.create_bucket(bucket).await {
            Ok(()) | Err(StoreError::BucketAlreadyExists(_)) => Ok(()),
            Err(e) => Err(store_error(&e)),
        }
    }
}

/// Runs engine vs raw-disk PUT and GET for 4 KiB, 1 MiB and 64 MiB objects.
pub async fn run_engine_bench(
    concurrency: usize,
    cell: Duration,
    work_dir: &Path,
    json: &Path,
) -> anyhow::Result<()> {
    std::fs::create_dir_all(work_dir)?;
    let mut rows = Vec::new();
    println!(
        "engine benchmark: store::Store in-process vs plain file I/O, c={concurrency}, {} s cells",
        cell.as_secs_f64()
    );
    for size in [4u64 << 10, 1 << 20, 64 << 20] {
        println!("\n=== {} ===", format_size(size));
        let dir = tempfile::Builder::new()
            .prefix("minnow-engine-bench")
            .tempdir_in(work_dir)?;
        let drives = |name: &str| -> Vec<PathBuf> {
            (1..=4)
                .map(|i| dir.path().join(name).join(format!("d{i}")))
                .collect()
        };
        for d in drives("engine") {
            std::fs::create_dir_all(d)?;
        }
        let engine = Target::Engine(Arc::new(
            EngineTarget::open(drives("engine"))
                .await
                .map_err(|e| anyhow::anyhow!("opening the store: {e}"))?,
        ));
        let raw = Target::Raw(RawDisk::new(&drives("raw"), Layout::EC_2_2)?);
        engine
            .worker()
            .create_bucket(BUCKET)
            .await
            .map_err(|e| anyhow::anyhow!("create bucket: {e}"))?;
        let payload = Payload::new(size);
        let objects = ((1u64 << 30) / size).clamp(concurrency as u64, 256) as usize;
        let spec = |mode| LoadSpec {
            mode,
            sizes: SizeSpec::fixed(size),
            concurrency,
            duration: cell,
            ops: None,
            bucket: BUCKET.into(),
            prefix: mode_name(mode).to_string(),
            objects,
            part_size: 5 << 20,
        };
        let none = Arc::new(Vec::new());
        let put = spec(Mode::Put);
        let (e, _) = load::run(
            &engine,
            "engine",
            &put,
            &payload,
            none.clone(),
            Observe::default(),
        )
        .await;
        report::print_run(&e);
        let (r, _) = load::run(&raw, "raw-disk", &put, &payload, none, Observe::default()).await;
        report::print_run(&r);
        rows.push(Compared::new(e, Some(r)));

        let get = spec(Mode::Get);
        let pool = Arc::new(load::pool_objects(&get));
        load::prepare(&engine, BUCKET, &pool, concurrency, &payload)
            .await
            .map_err(|e| anyhow::anyhow!("engine pool: {e}"))?;
        load::prepare(&raw, BUCKET, &pool, concurrency, &payload)
            .await
            .map_err(|e| anyhow::anyhow!("raw pool: {e}"))?;
        let (e, _) = load::run(
            &engine,
            "engine",
            &get,
            &payload,
            pool.clone(),
            Observe::default(),
        )
        .await;
        report::print_run(&e);
        let (r, _) = load::run(&raw, "raw-disk", &get, &payload, pool, Observe::default()).await;
        report::print_run(&r);
        rows.push(Compared::new(e, Some(r)));
    }
    report::print_summary(&rows);
    report::write_json(json, &rows)?;
    println!("results: {}", json.display());
    Ok(())
}

fn mode_name(mode: Mode) -> &'static str {
    match mode {
        Mode::Put => "put",
        Mode::Get => "get",
        Mode::Mixed => "mixed",
        Mode::List => "list",
        Mode::ListPage => "list-page",
        Mode::Multipart => "multipart",
    }
}
