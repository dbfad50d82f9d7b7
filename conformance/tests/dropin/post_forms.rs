//! Browser-form uploads (POST Object) from what people use: boto3's
//! `generate_presigned_post` posted with `requests`
//! (`conformance/clients/presigned_post.py`), minio-js `presignedPostPolicy`
//! posted with Node's fetch + FormData (`presigned_post.mjs`, minio-js
//! installed from npm under `target/node-clients`), and a real HTML form
//! submitted by headless Chromium, its redirect followed, the object then
//! read through the SDK.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use conformance::post_form::PostForm;
use conformance::{unique_bucket, TestServer};
use fantoccini::{ClientBuilder, Locator};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Waits for the browser and the driver; generous for a loaded 2-core box.
const WAIT: Duration = Duration::from_secs(60);

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

fn clients_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("clients")
}

/// Runs a client script and asserts it succeeded and printed each step.
fn run_client(command: &mut Command, server: &TestServer, steps: &[&str]) {
    let output = command.output().expect("run the client script");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}\nserver log:\n{}",
        String::from_utf8_lossy(&output.stderr),
        server.log_tail(4000)
    );
    for step in steps {
        assert!(stdout.contains(step), "missing {step:?} in:\n{stdout}");
    }
}

/// Whether `python3` can import boto3 and requests, installing them from
/// PyPI once if needed. False only when python3 itself is missing.
fn python_clients_available() -> bool {
    let imports = || {
        Command::new("python3")
            .args(["-c", "import boto3, requests"])
            .status()
    };
    match imports() {
        Err(_) => return false,
        Ok(status) if status.success() => return true,
        Ok(_) => {}
    }
    let installed = Command::new("python3")
        .args(["-m", "pip", "install", "--quiet", "boto3", "requests"])
        .status()
        .expect("run pip");
    assert!(installed.success(), "pip install boto3 requests failed");
    true
}

#[test]
fn boto3_presigned_post_uploads_with_requests() {
    if !python_clients_available() {
        eprintln!("python3 is missing; skipping the boto3 presigned POST checks");
        return;
    }
    let server = TestServer::start().unwrap();
    run_client(
        Command::new("python3")
            .arg(clients_dir().join("presigned_post.py"))
            .args([
                server.endpoint(),
                server.access_key(),
                server.secret_key(),
                &unique_bucket("py-post"),
            ]),
        &server,
        &[
            "ok   boto3 s3v4 presigned post answers 201",
            "ok   boto3 s3v4 presigned post stored",
            "ok   boto3 presigned post over content-length-range refused",
            "ok   boto3 presigned post over range left nothing",
            "ok   boto3 default (v2) presigned post stored",
            "ok   boto3 default (v2) presigned post with another key refused",
        ],
    );
}

/// `target/node-clients` with minio-js installed from npm (once).
fn minio_js() -> Option<PathBuf> {
    if Command::new("node").arg("--version").output().is_err() {
        return None;
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/node-clients");
    if !dir.join("node_modules/minio/package.json").exists() {
        std::fs::create_dir_all(&dir).expect("node client folder");
        let status = Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", "--silent", "minio@8"])
            .current_dir(&dir)
            .status()
            .expect("run npm");
        assert!(status.success(), "npm install minio failed");
    }
    Some(dir)
}

#[test]
fn minio_js_presigned_post_policy_uploads_with_fetch() {
    let Some(modules) = minio_js() else {
        eprintln!("node is missing; skipping the minio-js presigned POST checks");
        return;
    };
    let server = TestServer::start().unwrap();
    run_client(
        Command::new("node")
            .arg(clients_dir().join("presigned_post.mjs"))
            .arg(&modules)
            .args([
                server.endpoint(),
                server.access_key(),
                server.secret_key(),
                &unique_bucket("js-post"),
            ]),
        &server,
        &[
            "ok   minio-js presigned post answers 204",
            "ok   minio-js presigned post stored",
            "ok   minio-js presigned post metadata",
            "ok   minio-js presigned post over the size range refused",
            "ok   minio-js presigned post over the size range left nothing",
        ],
    );
}

struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// A one-page web site: `/` is the upload form, anything else the page
/// the upload redirects to.
async fn serve_pages(listener: tokio::net::TcpListener, form: String) {
    loop {
        let Ok((mut socket, _)) = listener.accept().await else {
            return;
        };
        let form = form.clone();
        tokio::spawn(async move {
            let mut head = Vec::new();
            let mut buf = [0u8; 4096];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                match socket.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => head.extend_from_slice(&buf[..n]),
                }
            }
            let request = String::from_utf8_lossy(&head);
            let path = request.split_whitespace().nth(1).unwrap_or("/");
            let page = if path == "/" {
                form
            } else {
                "<!doctype html><title>done</title><h1 id=\"done\">Uploaded</h1>".to_string()
            };
            let response = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{page}",
                page.len()
            );
            let _ = socket.write_all(response.as_bytes()).await;
            let _ = socket.shutdown().await;
        });
    }
}

fn chromium_present() -> bool {
    if Path::new(CHROMIUM).exists() && Path::new(CHROMEDRIVER).exists() {
        return true;
    }
    if std::env::var("MINNOW_SKIP_BROWSER").as_deref() == Ok("1") {
        eprintln!("post_forms: Chromium absent and MINNOW_SKIP_BROWSER=1: skipped");
        return false;
    }
    panic!(
        "the browser test needs {CHROMIUM} and {CHROMEDRIVER}: `apt-get install -y chromium \
         chromium-driver` (.ci/run does), or set MINNOW_SKIP_BROWSER=1 to skip it"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn html_form_in_headless_chromium_uploads_a_file() {
    if !chromium_present() {
        return;
    }
    let server = TestServer::start().unwrap();
    let s3 = server.s3_client();
    let bucket = unique_bucket("browser-post");
    s3.create_bucket().bucket(&bucket).send().await.unwrap();

    let site = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let site_url = format!("http://{}", site.local_addr().unwrap());
    let redirect = format!("{site_url}/done");
    let conditions = [
        format!(r#"{{"bucket":"{bucket}"}}"#),
        r#"["starts-with","$key","browser/"]"#.to_string(),
        r#"["eq","$Content-Type","text/plain"]"#.to_string(),
        format!(r#"["starts-with","$success_action_redirect","{site_url}/"]"#),
        r#"["content-length-range",1,1048576]"#.to_string(),
    ];
    let form = PostForm::v4(
        server.access_key(),
        server.secret_key(),
        600,
        &conditions,
        &[
            ("key", "browser/${filename}"),
            ("Content-Type", "text/plain"),
            ("success_action_redirect", &redirect),
        ],
    );
    let hidden: String = form
        .fields
        .iter()
        .map(|(name, value)| format!("<input type=\"hidden\" name=\"{name}\" value=\"{value}\">\n"))
        .collect();
    let page = format!(
        "<!doctype html><title>upload</title>\n<form id=\"upload\" action=\"{}/{bucket}\" method=\"post\" enctype=\"multipart/form-data\">\n{hidden}<input id=\"file\" type=\"file\" name=\"file\">\n<input id=\"send\" type=\"submit\" value=\"Upload\">\n</form>",
        server.endpoint()
    );
    let pages = tokio::spawn(serve_pages(site, page));

    let upload = tempfile::tempdir().unwrap();
    let file = upload.path().join("hello-browser.txt");
    let content = b"uploaded by a real browser form\n";
    std::fs::write(&file, content).unwrap();

    let port = free_port();
    let _driver = Driver(
        Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts"),
    );
    let driver_url = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let deadline = Instant::now() + WAIT;
    loop {
        if let Ok(response) = http.get(format!("{driver_url}/status")).send().await {
            if response.status().is_success() {
                break;
            }
        }
        assert!(Instant::now() < deadline, "chromedriver did not answer");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let profile = tempfile::tempdir().unwrap();
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": CHROMIUM,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage",
                format!("--user-data-dir={}", profile.path().display()),
            ],
        }),
    );
    let browser = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(capabilities)
        .connect(&driver_url)
        .await
        .expect("a Chromium session");

    let result = async {
        browser.goto(&format!("{site_url}/")).await?;
        let input = browser
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Id("file"))
            .await?;
        input.send_keys(&file.display().to_string()).await?;
        browser.find(Locator::Id("send")).await?.click().await?;
        browser
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Id("done"))
            .await?;
        browser.current_url().await
    }
    .await;
    let _ = browser.close().await;
    pages.abort();
    let landed = result.unwrap_or_else(|e| {
        panic!(
            "the browser upload failed: {e}\nserver log:\n{}",
            server.log_tail(4000)
        )
    });

    // S3's redirect names the bucket, the key and the quoted ETag.
    let query: Vec<(String, String)> = landed.query_pairs().into_owned().collect();
    let param = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(landed.path(), "/done", "{landed}");
    assert_eq!(param("bucket"), Some(bucket.as_str()), "{landed}");
    assert_eq!(param("key"), Some("browser/hello-browser.txt"), "{landed}");
    let object = s3
        .get_object()
        .bucket(&bucket)
        .key("browser/hello-browser.txt")
        .send()
        .await
        .expect("the uploaded object");
    assert_eq!(object.content_type(), Some("text/plain"));
    let etag = object.e_tag().unwrap_or_default().to_string();
    assert_eq!(param("etag"), Some(etag.as_str()), "{landed}");
    let body = object.body.collect().await.unwrap().into_bytes();
    assert_eq!(&body[..], content);
}
