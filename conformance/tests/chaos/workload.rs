//! The clients of the campaign: writers, overwriters, deleters, copiers, multipart uploaders,
//! bucket creators and readers over a small key space (so operations collide), each recording
//! its outcome in the shared [`Model`]; and the reads the checks share.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use aws_sdk_s3::config::retry::RetryConfig;
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use aws_sdk_s3::Client;
use conformance::TestServer;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::Rng;

use crate::model::{Content, Model, Observed, Verdict};

/// Longer than any request takes on a loaded machine; a request past it counts as a stall and
/// its key is never touched again (the server may still apply it late).
pub const OP_TIMEOUT: Duration = Duration::from_secs(60);
/// Keys per bucket: few enough that overwrites, deletes and copies collide often.
const KEYS_PER_BUCKET: usize = 16;
/// Buckets the campaign may create while it runs (besides the ones made at the start).
const MAX_BUCKETS: usize = 6;
const FIVE_MIB: usize = 5 * 1024 * 1024;

/// Counters the campaign prints at the end.
#[derive(Default)]
pub struct Stats {
    /// Operation → (acknowledged, unknown outcome, refused for sure).
    pub ops: BTreeMap<&'static str, [u64; 3]>,
    /// Fault kind → count (drive faults count drives; bit flips also count files).
    pub faults: BTreeMap<&'static str, u64>,
    pub reads_under_load: u64,
    pub object_checks: u64,
    pub listing_checks: u64,
    pub bucket_checks: u64,
    pub temporary_checks: u64,
    pub stalls: u64,
    pub violations: Vec<String>,
    pub ambiguous: Vec<String>,
}

impl Stats {
    fn op(&mut self, name: &'static str, outcome: usize) {
        self.ops.entry(name).or_default()[outcome] += 1;
    }

    pub fn fault(&mut self, kind: &'static str, count: u64) {
        *self.faults.entry(kind).or_default() += count;
    }
}

const ACKED: usize = 0;
const UNKNOWN: usize = 1;
const REFUSED: usize = 2;

struct OpenUpload {
    bucket: String,
    key: String,
    upload_id: String,
    content: usize,
    parts: Vec<CompletedPart>,
}

/// State the clients and the driver share.
pub struct Shared {
    pub model: Mutex<Model>,
    /// Replaced after every restart (the endpoint may move to another port).
    pub client: RwLock<Client>,
    /// The same without the SDK's retries: a request cut by a kill stays an unknown outcome
    /// instead of being retried against the restarted server.
    no_retry: RwLock<Client>,
    pub stats: Mutex<Stats>,
    pub stop: AtomicBool,
    /// Multipart uploads with acknowledged parts, left open to be completed in a later round.
    open_uploads: Mutex<Vec<OpenUpload>>,
    /// Prefix of violations found by clients: the round and its fault.
    pub context: Mutex<String>,
}

impl Shared {
    pub fn new(server: &TestServer) -> Shared {
        Shared {
            model: Mutex::new(Model::default()),
            client: RwLock::new(server.s3_client()),
            no_retry: RwLock::new(without_retries(&server.s3_client())),
            stats: Mutex::new(Stats::default()),
            stop: AtomicBool::new(false),
            open_uploads: Mutex::new(Vec::new()),
            context: Mutex::new(String::new()),
        }
    }

    /// Points the clients at `server` (after a restart).
    pub fn connect(&self, server: &TestServer) {
        *self.client.write().unwrap() = server.s3_client();
        *self.no_retry.write().unwrap() = without_retries(&server.s3_client());
    }

    fn client(&self) -> Client {
        self.client.read().unwrap().clone()
    }

    /// Half the requests go without retries.
    fn any_client(&self, rng: &mut StdRng) -> Client {
        if rng.gen_bool(0.5) {
            self.no_retry.read().unwrap().clone()
        } else {
            self.client()
        }
    }

    pub fn report(&self, verdict: Verdict) {
        let context = self.context.lock().unwrap().clone();
        let mut stats = self.stats.lock().unwrap();
        match verdict {
            Verdict::Ok => {}
            Verdict::Ambiguous(message) => stats.ambiguous.push(format!("{context}: {message}")),
            Verdict::Violation(message) => stats.violations.push(format!("{context}: {message}")),
        }
    }
}

/// The key names of a bucket: flat ones and nested ones.
pub fn key_name(index: usize) -> String {
    if index % 4 == 3 {
        format!("nested/{index:02}/object")
    } else {
        format!("k{index:02}")
    }
}

/// Object sizes from empty through inline-small to several erasure blocks.
pub fn pick_size(rng: &mut StdRng) -> usize {
    match rng.gen_range(0..100) {
        0..=4 => 0,
        5..=34 => rng.gen_range(1..4096),
        35..=64 => rng.gen_range(4096..128 * 1024),
        65..=89 => rng.gen_range(128 * 1024..1024 * 1024),
        _ => rng.gen_range(1024 * 1024..4 * 1024 * 1024),
    }
}

/// One client: random operations until told to stop.
pub async fn client_loop(shared: Arc<Shared>, mut rng: StdRng) {
    while !shared.stop.load(Ordering::Relaxed) {
        let buckets = shared.model.lock().unwrap().acknowledged_buckets();
        let Some(bucket) = buckets.choose(&mut rng).cloned() else {
            return;
        };
        let roll = rng.gen_range(0..100);
        let went_wrong = match roll {
            0..=27 => put(&shared, &mut rng, &bucket).await,
            28..=37 => delete(&shared, &mut rng, &bucket).await,
            38..=47 => copy(&shared, &mut rng, &bucket).await,
            48..=55 => multipart(&shared, &mut rng, &bucket).await,
            56 => create_bucket(&shared, buckets.len()).await,
            57..=59 => complete_open_upload(&shared, &mut rng).await,
            _ => read(&shared, &mut rng, &bucket).await,
        };
        if went_wrong {
            // The server is probably restarting: do not spin on refused connections.
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// Claims a random key of `bucket` nobody else is using.
fn claim_key(shared: &Shared, rng: &mut StdRng, bucket: &str) -> Option<String> {
    for _ in 0..8 {
        let key = key_name(rng.gen_range(0..KEYS_PER_BUCKET));
        if shared.model.lock().unwrap().claim(bucket, &key) {
            return Some(key);
        }
    }
    None
}

/// Ends an operation on `key`: a stalled request keeps its key claimed for good.
fn finish(shared: &Shared, bucket: &str, key: &str, stalled: bool) {
    if stalled {
        shared.stats.lock().unwrap().stalls += 1;
    } else {
        shared.model.lock().unwrap().release(bucket, key);
    }
}

fn without_retries(client: &Client) -> Client {
    let config = client
        .config()
        .to_builder()
        .retry_config(RetryConfig::disabled())
        .build();
    Client::from_conf(config)
}

fn new_content(shared: &Shared, segments: Vec<(u64, usize)>) -> (usize, Content) {
    let content = Content { segments };
    let id = shared.model.lock().unwrap().add_content(content.clone());
    (id, content)
}

async fn put(shared: &Shared, rng: &mut StdRng, bucket: &str) -> bool {
    let Some(key) = claim_key(shared, rng, bucket) else {
        return false;
    };
    let size = pick_size(rng);
    let (id, content) = new_content(shared, vec![(rng.gen(), size)]);
    let request = shared
        .any_client(rng)
        .put_object()
        .bucket(bucket)
        .key(&key)
        .body(ByteStream::from(content.bytes()))
        .send();
    let result = tokio::time::timeout(OP_TIMEOUT, request).await;
    let acked = matches!(result, Ok(Ok(_)));
    shared
        .model
        .lock()
        .unwrap()
        .record_write(bucket, &key, Some(id), acked);
    shared
        .stats
        .lock()
        .unwrap()
        .op("put", if acked { ACKED } else { UNKNOWN });
    finish(shared, bucket, &key, result.is_err());
    !acked
}

async fn delete(shared: &Shared, rng: &mut StdRng, bucket: &str) -> bool {
    let Some(key) = claim_key(shared, rng, bucket) else {
        return false;
    };
    let request = shared
        .any_client(rng)
        .delete_object()
        .bucket(bucket)
        .key(&key)
        .send();
    let result = tokio::time::timeout(OP_TIMEOUT, request).await;
    let acked = matches!(result, Ok(Ok(_)));
    shared
        .model
        .lock()
        .unwrap()
        .record_write(bucket, &key, None, acked);
    shared
        .stats
        .lock()
        .unwrap()
        .op("delete", if acked { ACKED } else { UNKNOWN });
    finish(shared, bucket, &key, result.is_err());
    !acked
}

async fn copy(shared: &Shared, rng: &mut StdRng, bucket: &str) -> bool {
    let Some(source) = claim_key(shared, rng, bucket) else {
        return false;
    };
    let Some(destination) = claim_key(shared, rng, bucket) else {
        finish(shared, bucket, &source, false);
        return false;
    };
    let request = shared
        .any_client(rng)
        .copy_object()
        .bucket(bucket)
        .key(&destination)
        .copy_source(format!("{bucket}/{source}"))
        .send();
    let result = tokio::time::timeout(OP_TIMEOUT, request).await;
    let stalled = result.is_err();
    let went_wrong = match result {
        Ok(Ok(_)) => {
            let verdict =
                shared
                    .model
                    .lock()
                    .unwrap()
                    .record_copy(bucket, &source, &destination, true);
            shared.report(verdict);
            shared.stats.lock().unwrap().op("copy", ACKED);
            false
        }
        Ok(Err(error))
            if error
                .as_service_error()
                .is_some_and(|e| e.code() == Some("NoSuchKey")) =>
        {
            // A definite answer: the source is absent, which it must be allowed to be.
            let verdict =
                shared
                    .model
                    .lock()
                    .unwrap()
                    .judge(bucket, &source, &Observed::Absent, false);
            shared.report(verdict);
            shared.stats.lock().unwrap().op("copy", REFUSED);
            false
        }
        _ => {
            let verdict =
                shared
                    .model
                    .lock()
                    .unwrap()
                    .record_copy(bucket, &source, &destination, false);
            shared.report(verdict);
            shared.stats.lock().unwrap().op("copy", UNKNOWN);
            true
        }
    };
    finish(shared, bucket, &source, stalled);
    finish(shared, bucket, &destination, stalled);
    went_wrong
}

async fn multipart(shared: &Shared, rng: &mut StdRng, bucket: &str) -> bool {
    let Some(key) = claim_key(shared, rng, bucket) else {
        return false;
    };
    // Mostly one small part (the last part may be any size); sometimes a 5 MiB part and a tail.
    let segments = if rng.gen_bool(0.3) {
        vec![
            (rng.gen(), FIVE_MIB),
            (rng.gen(), rng.gen_range(1..200_000)),
        ]
    } else {
        vec![(rng.gen(), pick_size(rng).max(1))]
    };
    let abandon = rng.gen_bool(0.1);
    let (id, content) = new_content(shared, segments);
    let client = shared.any_client(rng);
    let uploaded = tokio::time::timeout(OP_TIMEOUT, async {
        let upload_id = client
            .create_multipart_upload()
            .bucket(bucket)
            .key(&key)
            .send()
            .await
            .ok()?
            .upload_id()?
            .to_string();
        let mut completed = Vec::new();
        for (index, (seed, len)) in content.segments.iter().enumerate() {
            let number = index as i32 + 1;
            let output = client
                .upload_part()
                .bucket(bucket)
                .key(&key)
                .upload_id(&upload_id)
                .part_number(number)
                .body(ByteStream::from(conformance::pattern_bytes(*len, *seed)))
                .send()
                .await;
            let Ok(output) = output else {
                let _ = client
                    .abort_multipart_upload()
                    .bucket(bucket)
                    .key(&key)
                    .upload_id(&upload_id)
                    .send()
                    .await;
                return None;
            };
            completed.push(
                CompletedPart::builder()
                    .part_number(number)
                    .set_e_tag(output.e_tag().map(str::to_string))
                    .set_checksum_crc32(output.checksum_crc32().map(str::to_string))
                    .build(),
            );
        }
        Some((upload_id, completed))
    })
    .await;
    let (upload_id, completed) = match uploaded {
        Ok(Some(uploaded)) => uploaded,
        // The object is untouched until CompleteMultipartUpload.
        Ok(None) => {
            shared.stats.lock().unwrap().op("multipart", REFUSED);
            finish(shared, bucket, &key, false);
            return true;
        }
        Err(_) => {
            finish(shared, bucket, &key, true);
            return true;
        }
    };
    if abandon {
        // Left open for a later round to complete: an upload whose creation and parts were
        // acknowledged must survive the faults in between, and must not become an object
        // before it is completed.
        shared.open_uploads.lock().unwrap().push(OpenUpload {
            bucket: bucket.to_string(),
            key: key.clone(),
            upload_id,
            content: id,
            parts: completed,
        });
        shared
            .stats
            .lock()
            .unwrap()
            .op("multipart-left-open", ACKED);
        finish(shared, bucket, &key, false);
        return false;
    }
    let request = client
        .complete_multipart_upload()
        .bucket(bucket)
        .key(&key)
        .upload_id(upload_id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .set_parts(Some(completed))
                .build(),
        )
        .send();
    let result = tokio::time::timeout(OP_TIMEOUT, request).await;
    let acked = matches!(result, Ok(Ok(_)));
    shared
        .model
        .lock()
        .unwrap()
        .record_write(bucket, &key, Some(id), acked);
    shared
        .stats
        .lock()
        .unwrap()
        .op("multipart", if acked { ACKED } else { UNKNOWN });
    finish(shared, bucket, &key, result.is_err());
    !acked
}

/// Completes an upload a client left open in an earlier round, without SDK retries: a retry
/// of a completion that went through would answer `NoSuchUpload`, which here means an
/// acknowledged upload was lost.
async fn complete_open_upload(shared: &Shared, rng: &mut StdRng) -> bool {
    let upload = {
        let mut open = shared.open_uploads.lock().unwrap();
        if open.is_empty() {
            return false;
        }
        let index = rng.gen_range(0..open.len());
        let upload = open.swap_remove(index);
        if !shared
            .model
            .lock()
            .unwrap()
            .claim(&upload.bucket, &upload.key)
        {
            open.push(upload);
            return false;
        }
        upload
    };
    let client = shared.no_retry.read().unwrap().clone();
    let request = client
        .complete_multipart_upload()
        .bucket(&upload.bucket)
        .key(&upload.key)
        .upload_id(&upload.upload_id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .set_parts(Some(upload.parts.clone()))
                .build(),
        )
        .send();
    let result = tokio::time::timeout(OP_TIMEOUT, request).await;
    let acked = matches!(result, Ok(Ok(_)));
    if let Ok(Err(error)) = &result {
        if error
            .as_service_error()
            .is_some_and(|e| e.code() == Some("NoSuchUpload"))
        {
            shared.report(Verdict::Violation(format!(
                "{}/{}: open upload {} with acknowledged parts is gone",
                upload.bucket, upload.key, upload.upload_id
            )));
        }
    }
    shared.model.lock().unwrap().record_write(
        &upload.bucket,
        &upload.key,
        Some(upload.content),
        acked,
    );
    shared.stats.lock().unwrap().op(
        "multipart-completed-later",
        if acked { ACKED } else { UNKNOWN },
    );
    finish(shared, &upload.bucket, &upload.key, result.is_err());
    !acked
}

async fn create_bucket(shared: &Shared, existing: usize) -> bool {
    let name = {
        let mut model = shared.model.lock().unwrap();
        let name = format!("chaos-{existing}");
        if existing >= MAX_BUCKETS || model.is_known_bucket(&name) {
            return false;
        }
        model.record_bucket(&name, false);
        name
    };
    let request = shared.client().create_bucket().bucket(&name).send();
    let result = tokio::time::timeout(OP_TIMEOUT, request).await;
    // A retry of a create that went through answers "already owned by you".
    let acked = match &result {
        Ok(Ok(_)) => true,
        Ok(Err(error)) => error
            .as_service_error()
            .is_some_and(|e| e.code() == Some("BucketAlreadyOwnedByYou")),
        Err(_) => false,
    };
    shared.model.lock().unwrap().record_bucket(&name, acked);
    shared
        .stats
        .lock()
        .unwrap()
        .op("create-bucket", if acked { ACKED } else { UNKNOWN });
    !acked
}

async fn read(shared: &Shared, rng: &mut StdRng, bucket: &str) -> bool {
    let Some(key) = claim_key(shared, rng, bucket) else {
        return false;
    };
    let observed = read_object(&shared.any_client(rng), bucket, &key).await;
    let went_wrong = matches!(observed, Observed::Error(_));
    let verdict = judge_read(shared, bucket, &key, &observed, false);
    shared.report(verdict);
    shared.stats.lock().unwrap().reads_under_load += 1;
    finish(shared, bucket, &key, false);
    went_wrong
}

/// Judges a read; bytes that fail the checksum the server sent with them are never fine.
pub fn judge_read(
    shared: &Shared,
    bucket: &str,
    key: &str,
    observed: &Observed,
    quiescent: bool,
) -> Verdict {
    if let Observed::Error(message) = observed {
        if message.to_ascii_lowercase().contains("checksum mismatch") {
            return Verdict::Violation(format!(
                "{bucket}/{key}: served bytes that fail their own checksum: {message}"
            ));
        }
    }
    shared
        .model
        .lock()
        .unwrap()
        .judge(bucket, key, observed, quiescent)
}

/// GET of a whole object: its bytes, absent (`NoSuchKey`), or the error.
pub async fn read_object(client: &Client, bucket: &str, key: &str) -> Observed {
    let request = async {
        match client.get_object().bucket(bucket).key(key).send().await {
            Ok(output) => match output.body.collect().await {
                Ok(body) => Observed::Bytes(body.into_bytes().to_vec()),
                Err(error) => {
                    Observed::Error(format!("reading the body: {}", DisplayErrorContext(&error)))
                }
            },
            Err(error) if error.as_service_error().is_some_and(|e| e.is_no_such_key()) => {
                Observed::Absent
            }
            Err(error) => Observed::Error(summarize(&error)),
        }
    };
    tokio::time::timeout(OP_TIMEOUT, request)
        .await
        .unwrap_or_else(|_| Observed::Error(format!("no answer within {OP_TIMEOUT:?}")))
}

/// An SDK error in one line: status and S3 code of an answer, or what kept it from arriving.
pub fn summarize<E, R>(error: &aws_sdk_s3::error::SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match error.as_service_error() {
        Some(service) => format!(
            "{} {}",
            service.code().unwrap_or("(no code)"),
            service.message().unwrap_or_default()
        ),
        None => {
            let mut text = DisplayErrorContext(error).to_string();
            text.truncate(300);
            text
        }
    }
}
