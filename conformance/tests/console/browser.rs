//! The console as people see it: headless Chromium (the Debian package,
//! driven by its chromedriver over WebDriver) walks the pages of a console
//! in front of the real `minnow` binary, at a 375 px wide phone size, and
//! saves a screenshot of each page to `target/console-screenshots/`.
//!
//! Chromium missing is a failure (CI installs it, see `.ci/run`) unless
//! `MINNOW_SKIP_BROWSER=1`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{self, http, start};
use conformance::{ServerOptions, TEST_ROOT_PASSWORD, TEST_ROOT_USER};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

/// A 16×16 blue PNG.
const PNG: &[u8] = &[
    137, 80, 78, 71, 13, 10, 26, 10, 0, 0, 0, 13, 73, 72, 68, 82, 0, 0, 0, 16, 0, 0, 0, 16, 8, 2,
    0, 0, 0, 144, 145, 104, 54, 0, 0, 0, 22, 73, 68, 65, 84, 120, 218, 99, 144, 171, 56, 65, 18,
    98, 24, 213, 48, 170, 97, 248, 106, 0, 0, 104, 105, 94, 16, 137, 141, 128, 206, 0, 0, 0, 0, 73,
    69, 78, 68, 174, 66, 96, 130,
];

/// Waits for pages and background work; generous for a loaded 2-core CI box.
const WAIT: Duration = Duration::from_secs(60);

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

struct Driver {
    child: Child,
    url: String,
    _profile: tempfile::TempDir,
    profile: PathBuf,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One browser at a time: the browser tests share one test binary, and
/// several Chromiums at once on a 2-core machine starve each other past
/// the tests' deadlines.
static ONE_BROWSER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Starts chromedriver on a free port and waits until it answers.
async fn chromedriver() -> Driver {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let child = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let profile = tempfile::tempdir().expect("profile folder");
    let driver = Driver {
        child,
        url: format!("http://127.0.0.1:{port}"),
        profile: profile.path().to_path_buf(),
        _profile: profile,
    };
    let deadline = Instant::now() + WAIT;
    loop {
        if let Ok(response) = http().get(format!("{}/status", driver.url)).send().await {
            if response.status().is_success() {
                return driver;
            }
        }
        assert!(Instant::now() < deadline, "chromedriver did not answer");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn browser(driver: &Driver) -> Client {
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": CHROMIUM,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--window-size=500,900",
                format!("--user-data-dir={}", driver.profile.display()),
            ],
            // A phone-sized viewport (headless windows are at least 500 px wide).
            "mobileEmulation": {
                "deviceMetrics": { "width": 375, "height": 812, "pixelRatio": 1.0 },
            },
        }),
    );
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(capabilities)
        .connect(&driver.url)
        .await
        .expect("a Chromium session")
}

fn screenshot_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/console-screenshots");
    std::fs::create_dir_all(&dir).expect("screenshot folder");
    dir
}

async fn shot(browser: &Client, name: &str) {
    let png = browser.screenshot().await.expect("screenshot");
    std::fs::write(screenshot_dir().join(format!("{name}.png")), png).expect("save screenshot");
}

async fn wait_css(browser: &Client, css: &str) -> fantoccini::elements::Element {
    browser
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no {css} within {WAIT:?}: {e}"))
}

/// Polls a JS expression until it is true.
async fn wait_true(browser: &Client, what: &str, expression: &str) {
    let deadline = Instant::now() + WAIT;
    loop {
        let value = browser
            .execute(&format!("return !!({expression});"), vec![])
            .await
            .expect("script runs");
        if value == json!(true) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: `{expression}` stayed false"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn text_of(browser: &Client, css: &str) -> String {
    wait_css(browser, css).await.text().await.expect("text")
}

async fn fill(browser: &Client, css: &str, text: &str) {
    let field = wait_css(browser, css).await;
    field.clear().await.expect("clear");
    field.send_keys(text).await.expect("type");
}

async fn click(browser: &Client, css: &str) {
    wait_css(browser, css).await.click().await.expect("click");
}

async fn sign_in(browser: &Client, console: &str, access_key: &str, secret_key: &str) {
    browser.goto(&format!("{console}/#/login")).await.unwrap();
    fill(browser, "#login-access", access_key).await;
    fill(browser, "#login-secret", secret_key).await;
    click(browser, "#login-submit").await;
    wait_css(browser, "#buckets-table").await;
}

async fn sign_out(browser: &Client) {
    click(browser, "#signout").await;
    wait_css(browser, "#login-access").await;
}

/// The page fits a phone: nothing forces a horizontal scroll.
async fn fits_375(browser: &Client, page: &str) {
    let width = browser
        .execute("return window.innerWidth;", vec![])
        .await
        .expect("script runs");
    assert_eq!(width, json!(375), "the viewport is a 375 px phone");
    wait_true(
        browser,
        &format!("{page} fits 375 px"),
        "document.scrollingElement.scrollWidth <= window.innerWidth",
    )
    .await;
}

/// Whether the element matching `css` is absent or not displayed.
async fn not_shown(browser: &Client, css: &str) -> bool {
    match browser.find(Locator::Css(css)).await {
        Ok(element) => !element.is_displayed().await.expect("displayed?"),
        Err(_) => true,
    }
}

/// An anonymous CORS preflight against the S3 port: the
/// Access-Control-Allow-Origin it answers with, if any.
async fn preflight(endpoint: &str, bucket: &str, origin: &str) -> Option<String> {
    let response = http()
        .request(
            reqwest::Method::OPTIONS,
            format!("{endpoint}/{bucket}/img/pixel.png"),
        )
        .header("origin", origin)
        .header("access-control-request-method", "GET")
        .send()
        .await
        .expect("S3 port reachable");
    response
        .headers()
        .get("access-control-allow-origin")
        .map(|v| v.to_str().unwrap_or("").to_string())
}

fn chromium_present() -> bool {
    if Path::new(CHROMIUM).exists() && Path::new(CHROMEDRIVER).exists() {
        return true;
    }
    if std::env::var("MINNOW_SKIP_BROWSER").as_deref() == Ok("1") {
        eprintln!("console::browser: Chromium absent and MINNOW_SKIP_BROWSER=1: skipped");
        return false;
    }
    panic!(
        "the browser test needs {CHROMIUM} and {CHROMEDRIVER}: `apt-get install -y chromium \
         chromium-driver` (.ci/run does), or set MINNOW_SKIP_BROWSER=1 to skip it"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn walk_every_page_in_headless_chromium() {
    if !chromium_present() {
        return;
    }
    let _one_browser = ONE_BROWSER.lock().await;
    let options = ServerOptions {
        args: vec!["--cdn-host".into(), "localhost".into()],
        ..ServerOptions::default()
    };
    // The CDN path of the same server answers to Host `localhost`.
    let stack = start(options, |c| {
        c.cdn_url = Some(c.s3_endpoint.replace("127.0.0.1", "localhost"));
    })
    .await
    .unwrap();
    let console = stack.console.clone();
    let s3 = stack.server.s3_client();
    let driver = chromedriver().await;
    let browser = browser(&driver).await;
    let result = walk(&browser, &console, &stack).await;
    if result.is_err() {
        shot(&browser, "failure").await;
    }
    let _ = browser.close().await;
    result.unwrap();
    // The readonly user's upload did not reach the store.
    assert!(s3
        .head_object()
        .bucket(BUCKET)
        .key("img/refused.png")
        .send()
        .await
        .is_err());
}

const BUCKET: &str = "console-walk";

async fn walk(browser: &Client, console: &str, stack: &common::Stack) -> Result<(), String> {
    // Sign in as root; the bucket list is the first page.
    sign_in(browser, console, TEST_ROOT_USER, TEST_ROOT_PASSWORD).await;
    shot(browser, "01-buckets-empty").await;

    // Create a bucket.
    fill(browser, "#new-bucket-name", BUCKET).await;
    click(browser, "#create-bucket").await;
    wait_css(browser, &format!("tr[data-bucket='{BUCKET}']")).await;
    fits_375(browser, "buckets").await;
    shot(browser, "02-buckets").await;

    // Upload a PNG by the file input into img/.
    let folder = tempfile::tempdir().unwrap();
    let png_path = folder.path().join("pixel.png");
    std::fs::write(&png_path, PNG).unwrap();
    browser
        .goto(&format!("{console}/#/browse/{BUCKET}/img%2F"))
        .await
        .unwrap();
    wait_css(browser, "#drop-zone").await;
    wait_css(browser, "#file-input")
        .await
        .send_keys(&png_path.display().to_string())
        .await
        .unwrap();
    let row = "tr.object-row[data-key='img/pixel.png']";
    wait_css(browser, row).await;
    // Its thumbnail is the image itself, proxied through the console.
    wait_true(
        browser,
        "thumbnail",
        &format!("(() => {{ const i = document.querySelector(\"{row} img.thumb\"); return i && i.complete && i.naturalWidth === 16; }})()"),
    )
    .await;
    fits_375(browser, "object browser").await;
    shot(browser, "03-objects").await;

    // Details: size, type, ETag, expiry, CDN URL, preview.
    click(browser, &format!("{row} a.object-link")).await;
    let size = text_of(browser, "#detail-size").await;
    if !size.contains(&format!("({} bytes)", PNG.len())) {
        return Err(format!("detail size {size:?}"));
    }
    let kind = text_of(browser, "#detail-type").await;
    if kind != "image/png" {
        return Err(format!("detail type {kind:?}"));
    }
    let etag = text_of(browser, "#detail-etag").await;
    if etag.len() != 32 {
        return Err(format!("detail etag {etag:?}"));
    }
    wait_true(
        browser,
        "preview",
        "document.querySelector('#preview').complete && document.querySelector('#preview').naturalWidth === 16",
    )
    .await;
    let cdn_url = wait_css(browser, "#detail-cdn")
        .await
        .attr("href")
        .await
        .unwrap()
        .unwrap_or_default();
    fits_375(browser, "details").await;
    shot(browser, "04-details").await;

    // The bucket is private: anonymous reads fail, on the S3 port and the CDN path.
    let direct = format!("{}/{BUCKET}/img/pixel.png", stack.server.endpoint());
    for url in [&direct, &cdn_url] {
        let status = http().get(url).send().await.unwrap().status().as_u16();
        if status != 403 {
            return Err(format!("private object answered {status} at {url}"));
        }
    }

    // Download access on img/, then the CDN URL and the S3 endpoint serve it anonymously.
    browser
        .goto(&format!("{console}/#/settings/{BUCKET}"))
        .await
        .unwrap();
    wait_css(browser, "#access-current").await;
    click(browser, "#access-kind option[value='download']").await;
    fill(browser, "#access-prefix", "img/").await;
    click(browser, "#access-save").await;
    wait_true(
        browser,
        "download access saved",
        "document.querySelector('#access-current').textContent.includes('download on img/')",
    )
    .await;
    for url in [&direct, &cdn_url] {
        let response = http().get(url).send().await.unwrap();
        let status = response.status().as_u16();
        let body = response.bytes().await.unwrap();
        if status != 200 || body.as_ref() != PNG {
            return Err(format!(
                "anonymous read of {url}: {status}, {} bytes",
                body.len()
            ));
        }
    }

    // The 7-day temp/ rule from the form (its defaults), then listed.
    click(browser, "#rule-add").await;
    wait_true(
        browser,
        "rule listed",
        "[...document.querySelectorAll('#rules-table tr.rule-row')].some(r => r.textContent.includes('temp/') && r.textContent.includes('7 days'))",
    )
    .await;
    fits_375(browser, "settings").await;
    shot(browser, "05-settings").await;

    // CORS: a rule from the form, then a browser on that origin may read.
    const ORIGIN: &str = "https://app.example";
    let endpoint = stack.server.endpoint();
    if let Some(allowed) = preflight(endpoint, BUCKET, ORIGIN).await {
        return Err(format!("preflight allowed {allowed:?} before any rule"));
    }
    fill(browser, "#cors-origins", ORIGIN).await;
    fill(browser, "#cors-headers", "*").await;
    fill(browser, "#cors-max-age", "600").await;
    click(browser, "#cors-add").await;
    wait_true(
        browser,
        "CORS rule listed",
        "[...document.querySelectorAll('#cors-table tr.cors-row')].some(r => r.textContent.includes('https://app.example') && r.textContent.includes('GET') && r.textContent.includes('600 s'))",
    )
    .await;
    let allowed = preflight(endpoint, BUCKET, ORIGIN).await;
    if allowed.as_deref() != Some(ORIGIN) {
        return Err(format!("preflight from {ORIGIN} answered {allowed:?}"));
    }
    if let Some(other) = preflight(endpoint, BUCKET, "https://evil.example").await {
        return Err(format!("another origin was allowed: {other:?}"));
    }
    fits_375(browser, "settings with CORS").await;
    shot(browser, "05b-settings-cors").await;
    // Deleting the rule takes the access away again.
    click(
        browser,
        "#cors-table tr.cors-row[data-index='0'] button.danger",
    )
    .await;
    wait_true(
        browser,
        "CORS rule deleted",
        "document.querySelectorAll('#cors-table tr.cors-row').length === 0",
    )
    .await;
    if let Some(allowed) = preflight(endpoint, BUCKET, ORIGIN).await {
        return Err(format!("preflight allowed {allowed:?} after the delete"));
    }

    // Identity: a readwrite user and a readonly user, secrets shown once.
    browser
        .goto(&format!("{console}/#/identity"))
        .await
        .unwrap();
    let mut secrets = Vec::new();
    for (user, policy) in [("alice", "readwrite"), ("viewer", "readonly")] {
        wait_css(browser, &format!("#user-policy option[value='{policy}']")).await;
        fill(browser, "#user-access", user).await;
        click(browser, &format!("#user-policy option[value='{policy}']")).await;
        click(browser, "#user-add").await;
        wait_css(browser, &format!("tr.user-row[data-user='{user}']")).await;
        let secret = text_of(browser, "#user-secret-value").await;
        if secret.len() < 40 {
            return Err(format!("secret for {user}: {secret:?}"));
        }
        let row = text_of(browser, &format!("tr.user-row[data-user='{user}']")).await;
        if !row.contains(policy) {
            return Err(format!("{user} row lacks {policy}: {row:?}"));
        }
        secrets.push(secret);
    }
    fits_375(browser, "identity").await;
    shot(browser, "06-identity").await;

    // Health: four drives online.
    browser.goto(&format!("{console}/#/health")).await.unwrap();
    wait_true(
        browser,
        "drives listed",
        "document.querySelectorAll('#drives-table tr.drive-row[data-state=online]').length === 4",
    )
    .await;
    // Charts of the server's own metrics appear from the second sample on.
    for chart in ["#chart-requests", "#chart-bytes", "#chart-latency"] {
        wait_css(browser, &format!("{chart} polyline")).await;
    }
    fits_375(browser, "health").await;
    shot(browser, "07-health").await;

    // Sign out, sign in as the readwrite user: the Identity pages are refused.
    sign_out(browser).await;
    sign_in(browser, console, "alice", &secrets[0]).await;
    let nav = wait_css(browser, "#nav-identity").await;
    if nav.is_displayed().await.unwrap() {
        return Err("Identity offered to a readwrite user".into());
    }
    browser
        .goto(&format!("{console}/#/identity"))
        .await
        .unwrap();
    wait_true(
        browser,
        "identity refused",
        "!document.querySelector('#error').hidden && document.querySelector('#error').textContent.startsWith('Access denied')",
    )
    .await;
    shot(browser, "08-identity-refused").await;

    // The readonly user sees no write controls, and the server refuses a
    // crafted upload through the console API with a clear message.
    sign_out(browser).await;
    sign_in(browser, console, "viewer", &secrets[1]).await;
    // MinIO's readonly policy has no ListAllMyBuckets: the list stays empty.
    wait_css(browser, "#main[data-rights='loaded']").await;
    for css in ["#create-bucket-form", "#buckets-table button.danger"] {
        if !not_shown(browser, css).await {
            return Err(format!("readonly buckets page shows {css}"));
        }
    }
    fits_375(browser, "readonly buckets").await;
    shot(browser, "09-readonly-buckets").await;
    browser
        .goto(&format!("{console}/#/browse/{BUCKET}/img%2F"))
        .await
        .unwrap();
    wait_css(browser, "#objects-table").await;
    wait_css(browser, "#main[data-rights='loaded']").await;
    for css in [
        "#file-input",
        "#drop-zone",
        "#delete-selected",
        "tr.object-row button.danger",
    ] {
        if !not_shown(browser, css).await {
            return Err(format!("readonly object browser shows {css}"));
        }
    }
    shot(browser, "10-readonly-objects").await;
    let crafted = browser
        .execute_async(
            "const done = arguments[arguments.length - 1];
             fetch('/api/buckets/console-walk/object?key=img%2Frefused.png', {
               method: 'PUT', headers: { 'x-csrf-token': session.csrfToken, 'content-type': 'image/png' },
               body: 'not really a png' })
             .then(async r => done({ status: r.status, body: await r.json() }))
             .catch(e => done({ status: 0, body: String(e) }));",
            vec![],
        )
        .await
        .expect("crafted PUT runs");
    let message = crafted["body"]["error"].as_str().unwrap_or("");
    if crafted["status"] != json!(403) || !message.starts_with("Access denied") {
        return Err(format!("crafted PUT answered {crafted}"));
    }
    browser
        .goto(&format!("{console}/#/settings/{BUCKET}"))
        .await
        .unwrap();
    wait_css(browser, "#cors-table").await;
    wait_css(browser, "#main[data-rights='loaded']").await;
    for css in [
        "#access-form",
        "#rule-form",
        "#rule-import-row",
        "#cors-form",
    ] {
        if !not_shown(browser, css).await {
            return Err(format!("readonly settings page shows {css}"));
        }
    }
    fits_375(browser, "readonly settings").await;
    shot(browser, "11-readonly-settings").await;
    Ok(())
}

/// The Health page follows a drive that leaves and comes back while it is
/// open: the drive shows offline within the probe interval (the page
/// re-reads admin info every 5 s, which probes the drives), then online
/// again, and the heal that fills it shows its progress to completion.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_page_follows_a_drive_that_leaves_and_returns() {
    if !chromium_present() {
        return;
    }
    let _one_browser = ONE_BROWSER.lock().await;
    let stack = start(ServerOptions::default(), |_| {}).await.unwrap();
    let s3 = stack.server.s3_client();
    let bucket = "console-heal";
    s3.create_bucket().bucket(bucket).send().await.unwrap();
    let put = |key: String| {
        let s3 = s3.clone();
        async move {
            s3.put_object()
                .bucket(bucket)
                .key(&key)
                .body(vec![7u8; 100_000].into())
                .send()
                .await
                .unwrap_or_else(|e| panic!("put {key}: {e:?}"));
        }
    };
    for i in 0..10 {
        put(format!("before/{i}")).await;
    }
    let driver = chromedriver().await;
    let browser = browser(&driver).await;
    let result = heal_walk(&browser, &stack, put).await;
    if result.is_err() {
        shot(&browser, "heal-failure").await;
    }
    let _ = browser.close().await;
    result.unwrap();
}

async fn heal_walk<F, Fut>(browser: &Client, stack: &common::Stack, put: F) -> Result<(), String>
where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let console = &stack.console;
    sign_in(browser, console, TEST_ROOT_USER, TEST_ROOT_PASSWORD).await;
    browser.goto(&format!("{console}/#/health")).await.unwrap();
    wait_true(
        browser,
        "four drives online",
        "document.querySelectorAll('#drives-table tr.drive-row[data-state=online]').length === 4",
    )
    .await;
    wait_css(browser, "#heal-state[data-state=complete]").await;
    wait_css(browser, "#scanner-cycles").await;
    fits_375(browser, "health").await;
    shot(browser, "12-health-whole").await;

    // The drive's folder goes away (as when a disk is pulled).
    let drive = stack.server.drives()[3].clone();
    let away = drive.with_extension("away");
    std::fs::rename(&drive, &away).unwrap();
    wait_true(
        browser,
        "drive shown offline",
        "document.querySelectorAll('#drives-table tr.drive-row[data-state=offline]').length === 1",
    )
    .await;
    wait_css(browser, "#heal-state[data-state=waiting]").await;
    let state = text_of(browser, "#health-state").await;
    if state != "degraded" {
        return Err(format!("server state with a drive away: {state:?}"));
    }
    shot(browser, "13-health-drive-offline").await;

    // Writes while it is away are what the heal has to bring it.
    for i in 0..10 {
        put(format!("during/{i}")).await;
    }
    // Anything a write recreated at the old path is not the drive.
    if drive.exists() {
        std::fs::remove_dir_all(&drive).unwrap();
    }
    std::fs::rename(&away, &drive).unwrap();
    wait_true(
        browser,
        "drive back online",
        "document.querySelectorAll('#drives-table tr.drive-row[data-state=online]').length === 4",
    )
    .await;
    wait_css(browser, "#heal-state[data-state=complete]").await;
    wait_true(
        browser,
        "heal visited the objects",
        "Number(document.querySelector('#heal-objects').dataset.done) > 0 && document.querySelector('#heal-eta').textContent === 'done'",
    )
    .await;
    let objects = text_of(browser, "#heal-objects").await;
    if !objects.contains("0 left") {
        return Err(format!("heal objects after completion: {objects:?}"));
    }
    fits_375(browser, "health after heal").await;
    shot(browser, "14-health-healed").await;
    Ok(())
}

/// Sends a root-signed admin API request (JSON body).
async fn admin_as_root(server: &conformance::TestServer, method: &str, path: &str, body: &str) {
    let response = conformance::raw_http::send_signed(
        server,
        method,
        &format!("/minnow/admin/v1/{path}"),
        &[("content-type", "application/json")],
        body.as_bytes().to_vec(),
        conformance::PayloadSigning::Sha256,
    )
    .await
    .unwrap();
    assert!(
        response.status < 300,
        "{method} {path}: {} {}",
        response.status,
        String::from_utf8_lossy(&response.body)
    );
}

const PREFIX_BUCKET: &str = "console-prefix";
/// May list and read the bucket, and write under `uploads/` only.
const UPLOADS_ONLY: &str = r#"{"Version":"2012-10-17","Statement":[
  {"Effect":"Allow","Action":["s3:ListBucket","s3:GetBucketLocation"],"Resource":["arn:aws:s3:::console-prefix"]},
  {"Effect":"Allow","Action":["s3:GetObject"],"Resource":["arn:aws:s3:::console-prefix/*"]},
  {"Effect":"Allow","Action":["s3:PutObject","s3:DeleteObject"],"Resource":["arn:aws:s3:::console-prefix/uploads/*"]}]}"#;

/// Two things the console shows per place rather than per server: the
/// Health page lists the lifecycle scanner's next expiries per rule (after
/// one cycle over a bucket with a 7-day `temp/` rule), and a user whose
/// policy allows PutObject under `uploads/` only gets the upload controls
/// inside that prefix, not at the bucket root, where a crafted upload is
/// still refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn next_expiries_and_prefix_write_rights_in_headless_chromium() {
    if !chromium_present() {
        return;
    }
    let _one_browser = ONE_BROWSER.lock().await;
    // A real day (S3's dates), scanner cycles a short pause apart.
    let options = ServerOptions {
        env: vec![("MINNOW_LIFECYCLE_SCAN_PAUSE".into(), "0.2".into())],
        ..ServerOptions::default()
    };
    let stack = start(options, |_| {}).await.unwrap();
    let s3 = stack.server.s3_client();
    s3.create_bucket()
        .bucket(PREFIX_BUCKET)
        .send()
        .await
        .unwrap();
    let root = common::sign_in(&stack.console, TEST_ROOT_USER, TEST_ROOT_PASSWORD)
        .await
        .unwrap();
    let (status, body) = root
        .call(
            reqwest::Method::POST,
            &format!("/api/buckets/{PREFIX_BUCKET}/lifecycle"),
            Some(json!({ "prefix": "temp/", "days": 7 })),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let rule_id = body["rules"][0]["id"].as_str().unwrap().to_string();
    for key in ["temp/report.csv", "temp/draft.txt", "keep/notes.txt"] {
        s3.put_object()
            .bucket(PREFIX_BUCKET)
            .key(key)
            .body(b"a week to live".to_vec().into())
            .send()
            .await
            .unwrap();
    }
    admin_as_root(&stack.server, "PUT", "policies/uploads-only", UPLOADS_ONLY).await;
    let secret = "uploader-secret-long-enough";
    admin_as_root(
        &stack.server,
        "PUT",
        "users/uploader",
        &json!({ "secretKey": secret }).to_string(),
    )
    .await;
    admin_as_root(
        &stack.server,
        "PUT",
        "users/uploader/policies/uploads-only",
        "",
    )
    .await;

    let driver = chromedriver().await;
    let browser = browser(&driver).await;
    let result = prefix_walk(&browser, &stack, &rule_id, secret).await;
    if result.is_err() {
        shot(&browser, "prefix-failure").await;
    }
    let _ = browser.close().await;
    result.unwrap();
    // The crafted upload outside the prefix did not reach the store; the
    // one inside did.
    assert!(s3
        .head_object()
        .bucket(PREFIX_BUCKET)
        .key("outside.txt")
        .send()
        .await
        .is_err());
    s3.head_object()
        .bucket(PREFIX_BUCKET)
        .key("uploads/pixel.png")
        .send()
        .await
        .expect("the upload inside the prefix is stored");
}

async fn prefix_walk(
    browser: &Client,
    stack: &common::Stack,
    rule_id: &str,
    secret: &str,
) -> Result<(), String> {
    let console = &stack.console;
    sign_in(browser, console, TEST_ROOT_USER, TEST_ROOT_PASSWORD).await;
    browser.goto(&format!("{console}/#/health")).await.unwrap();
    // The page refreshes every 5 s; a cycle after the puts lists the rule.
    let rule = format!(".forecast-rule[data-bucket='{PREFIX_BUCKET}'][data-rule='{rule_id}']");
    wait_true(
        browser,
        "next expiries listed",
        &format!("document.querySelectorAll(\"{rule} ol.forecast-soonest li\").length === 2"),
    )
    .await;
    let listed = text_of(browser, &format!("{rule} ol.forecast-soonest")).await;
    // Midnight UTC after last-modified + 7 days; the page shows the date.
    let due = |days: i64| {
        let at = time::OffsetDateTime::now_utc() + time::Duration::days(days);
        format!(
            "{:04}-{:02}-{:02}",
            at.year(),
            u8::from(at.month()),
            at.day()
        )
    };
    if !listed.contains("temp/draft.txt") || !listed.contains("temp/report.csv") {
        return Err(format!("next expiries lack the temp/ objects: {listed:?}"));
    }
    if listed.contains("keep/") {
        return Err(format!("an object outside the rule is listed: {listed:?}"));
    }
    // Written today (or, across midnight, yesterday): due 8 midnights on.
    if !(listed.contains(&due(8)) || listed.contains(&due(7))) {
        return Err(format!(
            "expiry date is not a week on ({}): {listed:?}",
            due(8)
        ));
    }
    wait_css(browser, &format!("{rule} svg.forecast-chart rect.due-bar")).await;
    let last = text_of(browser, "#scanner-last-cycle").await;
    if !last.starts_with("Last cycle ended ") {
        return Err(format!("last cycle line: {last:?}"));
    }
    browser
        .execute(
            "document.querySelector('#lifecycle-forecast').scrollIntoView();",
            vec![],
        )
        .await
        .expect("script runs");
    fits_375(browser, "health with next expiries").await;
    shot(browser, "15-health-next-expiries").await;

    // The prefix-limited user: upload controls inside uploads/ only.
    sign_out(browser).await;
    sign_in(browser, console, "uploader", secret).await;
    browser
        .goto(&format!("{console}/#/browse/{PREFIX_BUCKET}/uploads%2F"))
        .await
        .unwrap();
    wait_true(
        browser,
        "uploads/ page with its rights",
        "(() => { const d = document.querySelector('#drop-zone'); return d && d.textContent.includes('uploads/') && document.querySelector('#main').dataset.rights === 'loaded'; })()",
    )
    .await;
    if not_shown(browser, "#drop-zone").await {
        return Err("no upload controls inside uploads/".into());
    }
    let folder = tempfile::tempdir().unwrap();
    let png_path = folder.path().join("pixel.png");
    std::fs::write(&png_path, PNG).unwrap();
    wait_css(browser, "#file-input")
        .await
        .send_keys(&png_path.display().to_string())
        .await
        .unwrap();
    wait_css(browser, "tr.object-row[data-key='uploads/pixel.png']").await;
    fits_375(browser, "prefix user inside uploads/").await;
    shot(browser, "16-prefix-user-inside").await;

    browser
        .goto(&format!("{console}/#/browse/{PREFIX_BUCKET}/"))
        .await
        .unwrap();
    wait_true(
        browser,
        "bucket root page with its rights",
        "(() => { const d = document.querySelector('#drop-zone'); return d && d.textContent.includes('the bucket root') && document.querySelector('#main').dataset.rights === 'loaded'; })()",
    )
    .await;
    for css in ["#drop-zone", "#file-input"] {
        if !not_shown(browser, css).await {
            return Err(format!(
                "the bucket root shows {css} to a user limited to uploads/"
            ));
        }
    }
    wait_css(browser, "tr a[href$='uploads%2F']").await;
    shot(browser, "17-prefix-user-root").await;
    let crafted = browser
        .execute_async(
            "const done = arguments[arguments.length - 1];
             fetch('/api/buckets/console-prefix/object?key=outside.txt', {
               method: 'PUT', headers: { 'x-csrf-token': session.csrfToken, 'content-type': 'text/plain' },
               body: 'outside the prefix' })
             .then(async r => done({ status: r.status, body: await r.json() }))
             .catch(e => done({ status: 0, body: String(e) }));",
            vec![],
        )
        .await
        .expect("crafted PUT runs");
    let message = crafted["body"]["error"].as_str().unwrap_or("");
    if crafted["status"] != json!(403) || !message.starts_with("Access denied") {
        return Err(format!("crafted PUT outside the prefix answered {crafted}"));
    }

    // The details page of an object the user may delete offers Delete:
    // judged for that key, not for the whole bucket.
    browser
        .goto(&format!(
            "{console}/#/object/{PREFIX_BUCKET}/uploads%2Fpixel.png"
        ))
        .await
        .unwrap();
    wait_true(
        browser,
        "a Delete button on the details of uploads/pixel.png",
        "(() => document.querySelector('#main').dataset.rights === 'loaded' && [...document.querySelectorAll('#main button.danger')].some(b => b.textContent === 'Delete' && !b.hidden))()",
    )
    .await;
    Ok(())
}
