//! What the console tests share: the real `minnow` binary (through
//! `conformance::TestServer`) with the console served in-process in front
//! of it, and a signed-in console session driven over HTTP.

#![allow(dead_code)]

use std::time::Duration;

use conformance::{ServerOptions, TestServer};
use minnow_console::{ConsoleConfig, CSRF_HEADER, SESSION_COOKIE};
use serde_json::{json, Value};
use tokio::sync::oneshot;

/// A running minnow plus a console in front of it.
pub struct Stack {
    pub server: TestServer,
    /// `http://127.0.0.1:port` of the console.
    pub console: String,
    stop: Option<oneshot::Sender<()>>,
}

impl Drop for Stack {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Starts minnow (spawned, never an external endpoint: the tests create
/// users) with `options` and a console configured by `tweak`.
pub async fn start(
    options: ServerOptions,
    tweak: impl FnOnce(&mut ConsoleConfig),
) -> anyhow::Result<Stack> {
    let server = tokio::task::spawn_blocking(move || TestServer::spawn(options)).await??;
    let mut config = ConsoleConfig::new(server.endpoint());
    tweak(&mut config);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let console = format!("http://{}", listener.local_addr()?);
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(async move {
        let shutdown = async {
            let _ = stopped.await;
        };
        if let Err(error) = minnow_console::serve(listener, config, shutdown).await {
            panic!("console failed: {error}");
        }
    });
    Ok(Stack {
        server,
        console,
        stop: Some(stop),
    })
}

pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(120))
        .build()
        .expect("reqwest client")
}

/// A browser's view of one console session: its cookie and CSRF token.
pub struct ConsoleSession {
    pub base: String,
    pub cookie: String,
    pub csrf: String,
    pub set_cookie: String,
    pub body: Value,
    http: reqwest::Client,
}

/// Signs in; the answer's status is returned when it is not 200.
pub async fn sign_in(
    base: &str,
    access_key: &str,
    secret_key: &str,
) -> Result<ConsoleSession, (u16, Value)> {
    let http = http();
    let response = http
        .post(format!("{base}/api/session"))
        .json(&json!({ "accessKey": access_key, "secretKey": secret_key }))
        .send()
        .await
        .expect("console reachable");
    let status = response.status().as_u16();
    let set_cookie = response
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    if status != 200 {
        return Err((status, body));
    }
    let cookie = set_cookie
        .split(';')
        .next()
        .expect("cookie pair")
        .trim()
        .to_string();
    assert!(
        cookie.starts_with(&format!("{SESSION_COOKIE}=")),
        "{set_cookie}"
    );
    Ok(ConsoleSession {
        base: base.to_string(),
        csrf: body["csrfToken"].as_str().expect("csrf token").to_string(),
        cookie,
        set_cookie,
        body,
        http,
    })
}

impl ConsoleSession {
    /// A request with the session cookie and, when `csrf`, the CSRF header.
    pub fn request(
        &self,
        method: reqwest::Method,
        path: &str,
        csrf: bool,
    ) -> reqwest::RequestBuilder {
        let mut builder = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header("cookie", &self.cookie);
        if csrf {
            builder = builder.header(CSRF_HEADER, &self.csrf);
        }
        builder
    }

    /// A JSON call with the CSRF token; returns status and document.
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut builder = self.request(method, path, true);
        if let Some(body) = body {
            builder = builder.json(&body);
        }
        let response = builder.send().await.expect("console reachable");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }
}
