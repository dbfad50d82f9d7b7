//! The object CLI against what an outsider or a hostile server can hand
//! it: keys that would climb out of a download folder (served by moto,
//! which stores them where minnow may refuse), listings cut short under
//! `mirror --remove`, prefixes that share letters, secrets that must not
//! show, and local sources that are not plain files.

use std::io::BufRead as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::mirror::{start_moto, Moto};
use super::{bucket_on, path_str, shared_server, Cli, Run};
use conformance::minnow_binary;

/// Puts `keys` into a new moto bucket, each holding `data-KEY`.
fn seed_moto(moto: &Moto, bucket: &str, keys: &[String]) {
    const SCRIPT: &str = r#"
import json, sys, boto3
s3 = boto3.client("s3", endpoint_url=sys.argv[1], aws_access_key_id="x",
                  aws_secret_access_key="x", region_name="us-east-1")
s3.create_bucket(Bucket=sys.argv[2])
for key in json.load(sys.stdin):
    body = b"" if key == "empty/" else b"data-" + key.encode()
    s3.put_object(Bucket=sys.argv[2], Key=key, Body=body)
"#;
    let mut child = Command::new("python3")
        .args(["-c", SCRIPT, &moto.url, bucket])
        .stdin(Stdio::piped())
        .spawn()
        .expect("python3");
    serde_json::to_writer(child.stdin.take().unwrap(), keys).unwrap();
    assert!(child.wait().unwrap().success(), "seeding moto");
}

fn with_moto(cli: Cli, moto: &Moto) -> Cli {
    let mut cli = cli;
    cli.env.push((
        "MINNOW_ALIAS_M".into(),
        moto.url.replacen("http://", "http://x:x@", 1),
    ));
    cli
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(files_under(&path));
        } else {
            files.push(path);
        }
    }
    files
}

/// Guards the download-folder rule: whatever keys a source holds, `cp -r`
/// and `mirror` write nothing outside the folder named, refuse each bad
/// key with its own error line, copy the rest (a 250-byte name included,
/// whose temporary name must still fit) and exit non-zero.
#[test]
fn keys_from_another_server_never_land_outside_the_target_folder() {
    let moto = start_moto();
    let cli = with_moto(Cli::new(), &moto);
    let refused = [
        "../x",
        "a/../../x",
        "up/../../x",
        "/abs",
        "a//b",
        "./a",
        "a/./b",
        "..",
        "x/..",
        // A "folder" holding bytes: no file can have its name.
        "dir/",
    ];
    let long = "M".repeat(250);
    let too_long = "L".repeat(300);
    let fine = [long.as_str(), "back\\slash", "q\"uote", "ok.txt"];
    let mut keys: Vec<String> = refused.iter().map(|k| k.to_string()).collect();
    keys.extend(fine.iter().map(|k| k.to_string()));
    // `empty/` is a plain folder marker: nothing to write, nothing to say.
    keys.extend(["empty/", "a", "a/b", &too_long].map(String::from));
    seed_moto(&moto, "hostile", &keys);

    let listed = cli.run(&["ls", "-r", "--json", "M/hostile"]).ok();
    assert_eq!(listed.json_lines().len(), keys.len(), "{}", listed.text());

    let top = tempfile::tempdir().unwrap();
    let deep = top.path().join("l1").join("l2");
    std::fs::create_dir_all(&deep).unwrap();
    let cp_target = deep.join("cp");
    std::fs::create_dir(&cp_target).unwrap();
    let runs: Vec<(&str, Run)> = vec![
        (
            "cp",
            cli.run(&[
                "cp",
                "-r",
                "--json",
                "M/hostile/",
                &format!("{}/", path_str(&cp_target)),
            ]),
        ),
        (
            "mirror",
            cli.run(&[
                "mirror",
                "--json",
                "M/hostile",
                path_str(&deep.join("mirror")),
            ]),
        ),
    ];
    assert_eq!(names_in(top.path()), ["l1"]);
    assert_eq!(names_in(&top.path().join("l1")), ["l2"]);
    assert_eq!(names_in(&deep), ["cp", "mirror"]);
    assert!(!Path::new("/abs").exists());
    for (name, run) in runs {
        let target = deep.join(name);
        assert!(
            matches!(run.code, Some(c) if c != 0),
            "{name}: refused keys must fail the run\n{}",
            run.stderr
        );
        let lines = run.json_lines();
        for key in refused {
            assert!(
                run.stderr.contains(&format!("{key:?}")),
                "{name}: no error line for {key:?} in\n{}",
                run.stderr
            );
            // `--json` readers see the failure too (cp: error, mirror: failed).
            assert!(
                lines.iter().any(|l| l["status"] != "copied"
                    && l["status"] != "success"
                    && l["source"] == format!("M/hostile/{key}").as_str()),
                "{name}: no JSON failure line for {key:?} in\n{}",
                run.text()
            );
        }
        assert!(run.stderr.contains(&too_long), "{name}: {}", run.stderr);
        for key in fine {
            let got = std::fs::read(target.join(key))
                .unwrap_or_else(|e| panic!("{name}: {key:?}: {e}\n{}", run.stderr));
            assert_eq!(got, format!("data-{key}").into_bytes(), "{name}: {key:?}");
        }
        // `a` and `a/b` cannot both be: one arrives, the other fails.
        assert!(
            target.join("a").is_file() != target.join("a/b").is_file(),
            "{name}: exactly one of a and a/b"
        );
        let files = files_under(&target);
        assert_eq!(files.len(), fine.len() + 1, "{name}: {files:?}");
    }
}

/// A tiny S3 stand-in whose listing breaks in the way `mode` says: a
/// page marked truncated without a continuation token, a second page
/// that errors, a dropped connection, or a token that repeats forever.
/// No real server misbehaves on demand; this is the fault, not a mock of
/// a part under test.
struct BrokenLister {
    child: std::process::Child,
    port: u16,
}

impl Drop for BrokenLister {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn broken_lister(mode: &str) -> BrokenLister {
    const SCRIPT: &str = r#"
import http.server, socket, sys
mode = sys.argv[1]
PAGE = ('<ListBucketResult><Name>src</Name><IsTruncated>true</IsTruncated>{}'
        '<Contents><Key>keep.txt</Key><Size>4</Size><ETag>"x"</ETag>'
        '<LastModified>2020-01-01T00:00:00.000Z</LastModified></Contents>'
        '</ListBucketResult>')
TOKEN = '<NextContinuationToken>t1</NextContinuationToken>'
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def reply(self, code, body=b""):
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Content-Type", "application/xml")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
    def do_HEAD(self): self.reply(200)
    def do_GET(self):
        first = "continuation-token" not in self.path
        if first:
            self.reply(200, PAGE.format("" if mode == "no-token" else TOKEN).encode())
        elif mode == "loop":
            self.reply(200, PAGE.format(TOKEN).encode())
        elif mode == "error":
            self.reply(403, b"<Error><Code>AccessDenied</Code><Message>revoked</Message></Error>")
        else:
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
print(server.server_address[1], flush=True)
server.serve_forever()
"#;
    let mut child = Command::new("python3")
        .args(["-c", SCRIPT, mode])
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    BrokenLister {
        port: line.trim().parse().expect("the stand-in's port"),
        child,
    }
}

fn keys_of(cli: &Cli, path: &str) -> Vec<String> {
    let listed = cli.run(&["ls", "-r", "--json", path]).ok();
    let mut keys: Vec<String> = listed
        .json_lines()
        .iter()
        .map(|l| l["key"].as_str().unwrap().to_string())
        .collect();
    keys.sort();
    keys
}

/// Guards the `--remove` rule: only a complete source listing names
/// extras. A listing cut short in any way fails the run before anything
/// is removed.
#[test]
fn mirror_remove_never_acts_on_a_source_listing_cut_short() {
    let server = shared_server();
    let bucket = bucket_on(server, "cutshort");
    let seed = Cli::new().with_alias("s", server);
    let dir = tempfile::tempdir().unwrap();
    for name in ["keep.txt", "extra.txt"] {
        let file = dir.path().join(name);
        std::fs::write(&file, b"data").unwrap();
        seed.run(&["cp", path_str(&file), &format!("s/{bucket}/{name}")])
            .ok();
    }
    for mode in ["no-token", "error", "drop", "loop"] {
        let lister = broken_lister(mode);
        let mut cli = Cli::new().with_alias("s", server);
        cli.env.push((
            "MINNOW_ALIAS_F".into(),
            format!("http://a:b@127.0.0.1:{}", lister.port),
        ));
        // `ls` ends too, with an error, however the listing breaks.
        cli.run(&["ls", "-r", "F/src"]).fails_with("error");
        let run = cli.run(&["mirror", "--remove", "F/src", &format!("s/{bucket}")]);
        assert!(matches!(run.code, Some(c) if c != 0), "{mode}: {run:?}");
        assert_eq!(
            run.stderr.trim().lines().count(),
            1,
            "{mode}: {}",
            run.stderr
        );
        assert_eq!(
            keys_of(&cli, &format!("s/{bucket}")),
            ["extra.txt", "keep.txt"],
            "{mode}: the target lost objects"
        );
    }
}

/// Guards the empty-source rule: `mirror --remove` from a source that
/// holds nothing (an empty or missing folder, a missing bucket) or with
/// `--dry-run` removes nothing.
#[test]
fn mirror_remove_from_an_empty_or_missing_source_removes_nothing() {
    let server = shared_server();
    let bucket = bucket_on(server, "emptysrc");
    let cli = Cli::new().with_alias("s", server);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("f.txt");
    std::fs::write(&file, b"data").unwrap();
    for name in ["one.txt", "two.txt"] {
        cli.run(&["cp", path_str(&file), &format!("s/{bucket}/{name}")])
            .ok();
    }
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let target = format!("s/{bucket}");
    let missing_bucket = format!("s/{}", conformance::unique_bucket("nosuch"));
    let missing_dir = dir.path().join("missing");
    for source in [
        path_str(&empty),
        path_str(&missing_dir),
        missing_bucket.as_str(),
    ] {
        let run = cli.run(&["mirror", "--remove", source, &target]);
        assert_eq!(run.code, Some(2), "{source}: {}", run.stderr);
        assert_eq!(keys_of(&cli, &target), ["one.txt", "two.txt"], "{source}");
    }
    let one = dir.path().join("one");
    std::fs::create_dir(&one).unwrap();
    std::fs::write(one.join("one.txt"), b"data").unwrap();
    let dry = cli
        .run(&[
            "mirror",
            "--remove",
            "--dry-run",
            "--json",
            path_str(&one),
            &target,
        ])
        .ok();
    assert!(dry.text().contains("would-remove"), "{}", dry.text());
    assert_eq!(keys_of(&cli, &target), ["one.txt", "two.txt"]);
}

/// Guards whole-folder prefixes: `rm -r --force B/photos` removes the
/// object `photos` and everything in `photos/`, never `photos-old/...` or
/// `photosx` (which `mc`, listing the raw prefix, would remove); `du`,
/// `find` and `mirror` of `photos` see only `photos/`.
#[test]
fn a_prefix_never_reaches_siblings_that_share_its_letters() {
    let server = shared_server();
    let bucket = bucket_on(server, "photos");
    let cli = Cli::new().with_alias("s", server);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("f.jpg");
    std::fs::write(&file, b"12345").unwrap();
    for key in ["photos", "photos/a.jpg", "photos-old/b.jpg", "photosx"] {
        cli.run(&["cp", path_str(&file), &format!("s/{bucket}/{key}")])
            .ok();
    }
    let photos = format!("s/{bucket}/photos");
    let du = cli.run(&["du", "--json", &photos]).ok();
    assert_eq!(du.json_lines().last().unwrap()["objects"], 1);
    let found = cli.run(&["find", "--json", &photos]).ok();
    assert_eq!(found.json_lines().len(), 1, "{}", found.text());
    let down = dir.path().join("down");
    cli.run(&["mirror", "-q", &photos, path_str(&down)]).ok();
    assert_eq!(names_in(&down), ["a.jpg"]);

    // Several targets: a missing one fails the run but spares no other.
    let run = cli.run(&[
        "rm",
        &format!("s/{bucket}/no-such-object"),
        &format!("s/{bucket}/photosx"),
    ]);
    assert!(matches!(run.code, Some(c) if c != 0), "{run:?}");
    assert!(run.stderr.contains("no-such-object"), "{}", run.stderr);
    assert!(!keys_of(&cli, &format!("s/{bucket}")).contains(&"photosx".to_string()));
    cli.run(&["cp", path_str(&file), &format!("s/{bucket}/photosx")])
        .ok();
    cli.run(&["rm", "-r", "--force", "-q", &photos]).ok();
    // Nothing left to remove: a script learns that, as with a typo.
    cli.run(&["rm", "-r", "--force", &photos])
        .fails_with("nothing found");
    assert_eq!(
        keys_of(&cli, &format!("s/{bucket}")),
        ["photos-old/b.jpg", "photosx"]
    );
}

/// Guards the secrets rule: an alias's secret key shows in no output,
/// and the alias file is 0600 in a 0700 folder whatever the umask; a
/// folder every user may write is refused.
#[test]
fn secrets_never_show_and_the_alias_file_stays_private() {
    use std::os::unix::fs::PermissionsExt as _;
    const SECRET: &str = "Sup3rSecretKeyValue";
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let config = tempfile::tempdir().unwrap();
    let base = config.path().join("xdg");
    let shell = |script: &str, env: &[(&str, String)]| -> Run {
        let mut command = Command::new("sh");
        command
            .args(["-c", script, "sh"])
            .env("MINNOW", minnow_binary())
            .env("XDG_CONFIG_HOME", &base);
        for (k, v) in env {
            command.env(k, v);
        }
        let finished =
            conformance::process::run_bounded(command, None, std::time::Duration::from_secs(120));
        Run {
            code: finished.code,
            stdout: finished.stdout,
            stderr: finished.stderr,
        }
    };
    let endpoint = format!("http://127.0.0.1:{closed}");
    let set = shell(
        &format!("umask 000; exec \"$MINNOW\" alias set down {endpoint} AK {SECRET}"),
        &[],
    );
    assert_eq!(set.code, Some(0), "{}", set.stderr);
    let folder = base.join("minnow");
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&folder.join("aliases.json")), 0o600);
    assert_eq!(mode(&folder), 0o700, "umask 000 must not open the folder");

    // An older file with wider permissions is narrowed on the next write.
    std::fs::set_permissions(
        folder.join("aliases.json"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let env_url = format!("http://AK:{SECRET}@127.0.0.1:{closed}");
    let mut outputs = vec![
        shell(
            &format!("exec \"$MINNOW\" alias set other {endpoint} AK {SECRET}"),
            &[],
        ),
        shell("exec \"$MINNOW\" alias list", &[]),
        shell("exec \"$MINNOW\" alias list --json", &[]),
        shell("exec \"$MINNOW\" ls down/b", &[]),
        shell(
            "exec \"$MINNOW\" stat envdown/b/k",
            // Debug logs of every crate, too.
            &[
                ("MINNOW_ALIAS_ENVDOWN", env_url.clone()),
                ("RUST_LOG", "trace".to_string()),
            ],
        ),
        shell(
            "exec \"$MINNOW\" mirror --json envdown/b /tmp/never",
            &[("MINNOW_ALIAS_ENVDOWN", env_url.clone())],
        ),
        shell(
            "exec \"$MINNOW\" ls bad/b",
            &[("MINNOW_ALIAS_BAD", format!("htp:/AK:{SECRET}@"))],
        ),
        shell(
            "exec \"$MINNOW\" ls bad/b",
            &[("MINNOW_ALIAS_BAD", format!("http://AK:{SECRET}@bad host:1"))],
        ),
        shell(
            &format!(
                "exec \"$MINNOW\" alias set withcreds http://AK:{SECRET}@127.0.0.1:1 AK {SECRET}x"
            ),
            &[],
        ),
    ];
    assert_eq!(mode(&folder.join("aliases.json")), 0o600);
    assert_eq!(outputs[0].code, Some(0), "{}", outputs[0].stderr);
    for run in &outputs[3..] {
        assert!(matches!(run.code, Some(c) if c != 0), "{run:?}");
    }
    // A folder every user may write is refused, for reading and writing.
    std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(0o777)).unwrap();
    outputs.push(shell("exec \"$MINNOW\" alias list", &[]));
    outputs.push(shell(
        &format!("exec \"$MINNOW\" alias set third {endpoint} AK {SECRET}"),
        &[],
    ));
    for run in &outputs[outputs.len() - 2..] {
        assert!(matches!(run.code, Some(c) if c != 0), "{run:?}");
        assert!(
            run.stderr.contains("writable by every user"),
            "{}",
            run.stderr
        );
    }
    for run in &outputs {
        assert!(
            !run.text().contains(SECRET) && !run.stderr.contains(SECRET),
            "the secret shows in {run:?}"
        );
    }
}

/// Guards the odd-local-source rule: FIFOs (whose read would block
/// forever), broken and looping links and links to folders are skipped
/// with a note, links to files are followed, and a FIFO named alone is a
/// one-line error — never a hang.
#[test]
fn fifos_and_odd_links_in_a_source_never_hang_cp_or_mirror() {
    use std::os::unix::fs::symlink;
    let server = shared_server();
    let bucket = bucket_on(server, "oddfiles");
    let cli = Cli::new().with_alias("s", server);
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("tree");
    std::fs::create_dir_all(tree.join("sub")).unwrap();
    std::fs::write(tree.join("plain.txt"), b"plain").unwrap();
    std::fs::write(dir.path().join("outside.txt"), b"outside").unwrap();
    symlink(dir.path().join("outside.txt"), tree.join("to-file")).unwrap();
    symlink(dir.path().join("nowhere"), tree.join("dangling")).unwrap();
    symlink(tree.join("loop"), tree.join("loop")).unwrap();
    symlink(&tree, tree.join("sub").join("to-folder")).unwrap();
    let fifo = tree.join("pipe");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());

    let want = ["plain.txt", "to-file"];
    for (name, run) in [
        (
            "cp",
            cli.run(&[
                "cp",
                "-r",
                "-q",
                &format!("{}/", path_str(&tree)),
                &format!("s/{bucket}/cp/"),
            ]),
        ),
        (
            "mirror",
            cli.run(&[
                "mirror",
                "-q",
                path_str(&tree),
                &format!("s/{bucket}/mirror"),
            ]),
        ),
    ] {
        assert_eq!(run.code, Some(0), "{name}: {run:?}");
        for skipped in ["pipe", "dangling", "loop", "to-folder"] {
            assert!(
                run.stderr
                    .contains(&format!("{skipped}: not a regular file")),
                "{name}: no note for {skipped} in {}",
                run.stderr
            );
        }
        let keys: Vec<String> = keys_of(&cli, &format!("s/{bucket}/{name}/"))
            .into_iter()
            .map(|k| k.trim_start_matches(&format!("{name}/")).to_string())
            .collect();
        assert_eq!(keys, want, "{name}");
    }
    assert_eq!(
        cli.run(&["cat", &format!("s/{bucket}/cp/to-file")])
            .ok()
            .stdout,
        b"outside"
    );
    // A skipped entry is not a removed one: `--remove` keeps the copy of
    // a link that now dangles (a disk not mounted) and what is under a
    // skipped link to a folder, and removes only the true extra.
    for key in ["dangling", "sub/to-folder/x.txt", "gone.txt"] {
        cli.run(&[
            "cp",
            path_str(&dir.path().join("outside.txt")),
            &format!("s/{bucket}/mirror/{key}"),
        ])
        .ok();
    }
    cli.run(&[
        "mirror",
        "-q",
        "--remove",
        path_str(&tree),
        &format!("s/{bucket}/mirror"),
    ])
    .ok();
    assert_eq!(
        keys_of(&cli, &format!("s/{bucket}/mirror/")),
        [
            "mirror/dangling",
            "mirror/plain.txt",
            "mirror/sub/to-folder/x.txt",
            "mirror/to-file"
        ]
    );
    let alone = cli
        .run(&["cp", path_str(&fifo), &format!("s/{bucket}/pipe")])
        .fails_with("not a regular file");
    assert_eq!(alone.stderr.trim().lines().count(), 1, "{}", alone.stderr);
}

/// Guards the closed-reader rule: `minnow ls | head` (a reader that goes
/// away) ends the command with 141 as SIGPIPE ends `ls`, never a panic.
#[test]
fn a_reader_that_goes_away_ends_ls_cat_and_alias_list_without_a_panic() {
    let server = shared_server();
    let bucket = bucket_on(server, "pipe");
    let cli = Cli::new().with_alias("s", server);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("f.txt");
    std::fs::write(&file, b"some bytes\n").unwrap();
    cli.run(&["cp", path_str(&file), &format!("s/{bucket}/f.txt")])
        .ok();
    cli.run(&["alias", "set", "p", server.endpoint(), "ak", "sk"])
        .ok();
    let object = format!("s/{bucket}/f.txt");
    for args in [
        vec!["ls", "-r", object.as_str()],
        vec!["cat", object.as_str()],
        vec!["alias", "list"],
    ] {
        // The reader is gone before the command starts, so its first
        // write meets a closed pipe however fast it runs.
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let mut command = Command::new(minnow_binary());
        command
            .args(&args)
            .env("XDG_CONFIG_HOME", cli.config.path())
            .stdin(Stdio::null())
            .stdout(writer)
            .stderr(Stdio::piped());
        for (name, value) in &cli.env {
            command.env(name, value);
        }
        let out = command.spawn().unwrap().wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(141), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}

/// Guards the leftover rule: only a download's own temporary name counts
/// as a leftover, so a file or key that merely contains `.minnow-part-`
/// is mirrored both ways like any other and kept.
#[test]
fn names_that_look_like_temporaries_are_mirrored_and_kept() {
    let server = shared_server();
    let bucket = bucket_on(server, "lookalike");
    let cli = Cli::new().with_alias("s", server);
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("tree");
    std::fs::create_dir(&tree).unwrap();
    let name = "notes.minnow-part-2.txt";
    std::fs::write(tree.join(name), b"mine").unwrap();
    cli.run(&["mirror", "-q", path_str(&tree), &format!("s/{bucket}")])
        .ok();
    assert_eq!(keys_of(&cli, &format!("s/{bucket}")), [name]);
    let back = dir.path().join("back");
    for round in 0..2 {
        let run = cli
            .run(&["mirror", "--json", &format!("s/{bucket}"), path_str(&back)])
            .ok();
        let copied = run
            .json_lines()
            .iter()
            .filter(|l| l["status"] == "copied")
            .count();
        assert_eq!(copied, 1 - round, "round {round}: {}", run.text());
        assert_eq!(std::fs::read(back.join(name)).unwrap(), b"mine");
    }
}

/// Guards the terminal rule: a key with control characters (a newline,
/// escape sequences that would retitle or clear the terminal) prints
/// escaped in text output, one object per line, and exact in `--json`.
#[test]
fn keys_with_control_characters_print_escaped_and_round_trip_in_json() {
    let server = shared_server();
    let bucket = bucket_on(server, "ctrl");
    let cli = Cli::new().with_alias("s", server);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("f.txt");
    std::fs::write(&file, b"x").unwrap();
    let key = "t\u{1b}]0;pwned\u{7}/two\nlines\u{1b}[2J.txt";
    cli.run(&["cp", path_str(&file), &format!("s/{bucket}/{key}")])
        .ok();
    let clean = |run: &Run| {
        let text = run.text();
        assert!(
            !text.contains('\u{1b}') && !text.contains('\u{7}') && !run.stderr.contains('\u{1b}'),
            "raw control characters in {text:?} / {:?}",
            run.stderr
        );
        text.lines().count()
    };
    let listed = cli.run(&["ls", "-r", &format!("s/{bucket}")]).ok();
    assert_eq!(clean(&listed), 1, "{:?}", listed.text());
    let json = cli
        .run(&["ls", "-r", "--json", &format!("s/{bucket}")])
        .ok();
    assert_eq!(json.json_lines()[0]["key"], key);
    let down = dir.path().join("down");
    let mirrored = cli
        .run(&["mirror", &format!("s/{bucket}"), path_str(&down)])
        .ok();
    assert_eq!(clean(&mirrored), 1, "{:?}", mirrored.text());
    assert_eq!(std::fs::read(down.join(key)).unwrap(), b"x");
    let removed = cli
        .run(&["rm", "-r", "--force", &format!("s/{bucket}/")])
        .ok();
    assert_eq!(clean(&removed), 1, "{:?}", removed.text());
}
