//! `cp --attr` (headers and user metadata given to copies, as `mc cp
//! --attr` does) and the progress bar of `cp` and `mirror`, which shows
//! rate and ETA on a terminal and stays out of pipes.

use std::process::Command;

use aws_sdk_s3::operation::head_object::HeadObjectOutput;

use super::{bucket_on, path_str, second_server, shared_server, Cli, Run, CLI_TIMEOUT};
use conformance::{minnow_binary, pattern_bytes, TestServer};

fn head(server: &TestServer, bucket: &str, key: &str) -> HeadObjectOutput {
    let client = server.s3_client();
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime
        .block_on(client.head_object().bucket(bucket).key(key).send())
        .unwrap_or_else(|e| panic!("HEAD {bucket}/{key}: {e:?}"))
}

fn meta<'a>(head: &'a HeadObjectOutput, name: &str) -> Option<&'a str> {
    head.metadata()
        .and_then(|m| m.get(name))
        .map(String::as_str)
}

/// Uploads, same-server copies (CopyObject with REPLACE) and copies to
/// another server (a multipart upload, 17 MiB) all carry `--attr`, over
/// what the source has: names given replace, others stay.
#[test]
fn cp_attr_sets_headers_and_metadata_on_uploads_and_on_copies() {
    let server = shared_server();
    let other = second_server();
    let cli = Cli::new().with_alias("s", server).with_alias("t", other);
    let bucket = bucket_on(server, "attr");
    let remote_bucket = bucket_on(other, "attr-dst");
    let dir = tempfile::tempdir().unwrap();
    let content = pattern_bytes(17 * 1024 * 1024 + 5, 3);
    let photo = dir.path().join("photo.jpg");
    std::fs::write(&photo, &content).unwrap();

    cli.run(&[
        "cp",
        "--attr",
        "Cache-Control=public, max-age=31536000, immutable;owner=ops",
        path_str(&photo),
        &format!("s/{bucket}/p.jpg"),
    ])
    .ok();
    let uploaded = head(server, &bucket, "p.jpg");
    assert_eq!(
        uploaded.content_type(),
        Some("image/jpeg"),
        "guessed from the name"
    );
    assert_eq!(
        uploaded.cache_control(),
        Some("public, max-age=31536000, immutable")
    );
    assert_eq!(meta(&uploaded, "owner"), Some("ops"));
    assert!(
        uploaded.e_tag().is_some_and(|e| e.ends_with("-2\"")),
        "17 MiB goes as two parts: {:?}",
        uploaded.e_tag()
    );

    cli.run(&[
        "cp",
        "--attr",
        "Content-Type=image/webp;owner=web",
        &format!("s/{bucket}/p.jpg"),
        &format!("s/{bucket}/q.jpg"),
    ])
    .ok();
    let copied = head(server, &bucket, "q.jpg");
    assert_eq!(copied.content_type(), Some("image/webp"));
    assert_eq!(
        copied.cache_control(),
        Some("public, max-age=31536000, immutable"),
        "a header --attr does not name comes from the source"
    );
    assert_eq!(meta(&copied, "owner"), Some("web"));

    cli.run(&[
        "cp",
        "--attr",
        "x-amz-meta-team=t;Content-Disposition=attachment",
        &format!("s/{bucket}/p.jpg"),
        &format!("t/{remote_bucket}/r.jpg"),
    ])
    .ok();
    let moved = head(other, &remote_bucket, "r.jpg");
    assert_eq!(moved.content_type(), Some("image/jpeg"));
    assert_eq!(moved.content_disposition(), Some("attachment"));
    assert_eq!(meta(&moved, "owner"), Some("ops"));
    assert_eq!(meta(&moved, "team"), Some("t"));
    let down = dir.path().join("down.jpg");
    cli.run(&["cp", &format!("t/{remote_bucket}/r.jpg"), path_str(&down)])
        .ok();
    assert!(std::fs::read(&down).unwrap() == content, "bytes differ");
}

/// A value with CR/LF would add headers of its own to the request: it is
/// refused before anything is sent, as is `--attr` for a local target.
#[test]
fn cp_attr_that_would_smuggle_a_header_is_refused_and_stores_nothing() {
    let server = shared_server();
    let cli = Cli::new().with_alias("s", server);
    let bucket = bucket_on(server, "attr-bad");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a.txt");
    std::fs::write(&file, b"hello").unwrap();

    cli.run(&[
        "cp",
        "--attr",
        "owner=a\r\nx-amz-acl: public-read",
        path_str(&file),
        &format!("s/{bucket}/a.txt"),
    ])
    .fails_with("control character");
    cli.run(&["stat", &format!("s/{bucket}/a.txt")])
        .fails_with("a.txt");
    cli.run(&["cp", path_str(&file), &format!("s/{bucket}/a.txt")])
        .ok();
    cli.run(&[
        "cp",
        "--attr",
        "owner=x",
        &format!("s/{bucket}/a.txt"),
        path_str(&dir.path().join("b.txt")),
    ])
    .fails_with("--attr");
    assert!(!dir.path().join("b.txt").exists());
}

/// `cli` run under a pseudo-terminal (util-linux `script`): what a person
/// at a terminal sees, stdout and stderr together.
fn on_a_terminal(cli: &Cli, args: &[&str]) -> Run {
    let line = std::iter::once(path_str(&minnow_binary()).to_string())
        .chain(args.iter().map(|a| format!("'{a}'")))
        .collect::<Vec<_>>()
        .join(" ");
    let mut command = Command::new("script");
    command
        .args(["-qfec", &line, "/dev/null"])
        .env("XDG_CONFIG_HOME", cli.config.path())
        .env("TERM", "xterm");
    for (name, value) in &cli.env {
        command.env(name, value);
    }
    let finished = conformance::process::run_bounded(command, None, CLI_TIMEOUT);
    Run {
        code: finished.code,
        stdout: finished.stdout,
        stderr: finished.stderr,
    }
}

/// A bar shows bytes, rate and ETA while a large copy runs at a terminal;
/// piped output (scripts, logs) gets no bar, and neither does `--quiet`.
#[test]
fn cp_and_mirror_show_rate_and_eta_on_a_terminal_and_not_in_pipes() {
    let server = shared_server();
    let cli = Cli::new().with_alias("s", server);
    let bucket = bucket_on(server, "progress");
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("tree");
    std::fs::create_dir(&tree).unwrap();
    std::fs::write(tree.join("big.bin"), pattern_bytes(40 * 1024 * 1024, 9)).unwrap();

    for args in [
        vec!["cp", path_str(&tree.join("big.bin")), "s/BUCKET/cp.bin"],
        vec!["mirror", path_str(&tree), "s/BUCKET/mirrored"],
    ] {
        let args: Vec<String> = args.iter().map(|a| a.replace("BUCKET", &bucket)).collect();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let seen = on_a_terminal(&cli, &args).ok();
        let screen = seen.text();
        assert!(
            screen.contains("ETA") && screen.contains("/s"),
            "{args:?} at a terminal shows no rate and ETA: {screen:?}"
        );
        let piped = cli.run(&args).ok();
        assert!(
            !piped.stderr.contains("ETA") && !piped.text().contains("ETA"),
            "{args:?} drew a bar into a pipe: {:?}",
            piped.stderr
        );
        let mut quiet = args.clone();
        quiet.insert(1, "--quiet");
        let quiet_screen = on_a_terminal(&cli, &quiet).ok().text();
        assert!(
            !quiet_screen.contains("ETA"),
            "{quiet:?} drew a bar: {quiet_screen:?}"
        );
    }
}
