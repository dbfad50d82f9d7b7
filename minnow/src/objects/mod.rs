//! The object commands (`alias`, `ls`, `stat`, `cat`, `cp`, `rm`, `mirror`,
//! `du`, `find`, `import`), modelled
//! on `mc`: paths are `ALIAS/bucket/key` for a server named with
//! `minnow alias set` (or `MINNOW_ALIAS_<NAME>`) and anything else is a
//! local path. Any S3 endpoint works (SigV4, path style). Bodies move in
//! bounded parts so a large file is never held in memory whole.

/// `println!` for the object commands: a reader that went away
/// (`minnow ls -r A/b | head`) ends the command quietly with status 141,
/// as SIGPIPE ends `ls` (128 + 13), where `println!` panics. SIGPIPE
/// itself stays ignored: a server closing a connection must be an error
/// of that request, not the silent end of the process.
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::objects::write_line(format_args!($($arg)*))
    };
}

/// Text for a terminal: control characters (a key's newline, or the
/// escape sequences a hostile key could use to rewrite the screen) shown
/// escaped, `\n` or `\u{1b}`, so one object is one line and the terminal
/// only shows. `--json` lines need nothing: JSON escapes them itself.
pub(crate) fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return text.into();
    }
    let mut shown = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c.is_control() {
            shown.extend(c.escape_default());
        } else {
            shown.push(c);
        }
    }
    shown.into()
}

/// Writes one line to stdout for [`out!`], made [`printable`].
pub(crate) fn write_line(args: std::fmt::Arguments<'_>) {
    use std::io::Write as _;
    let text = args.to_string();
    let mut stdout = std::io::stdout().lock();
    let written = stdout
        .write_all(printable(&text).as_bytes())
        .and_then(|()| stdout.write_all(b"\n"));
    if let Err(error) = written {
        if error.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(141);
        }
        eprintln!("error: writing to stdout: {error}");
        std::process::exit(1);
    }
}

pub mod alias;
pub mod attr;
mod buffers;
pub mod cp;
pub mod du;
mod file_upload;
pub mod import;
pub mod ls;
pub mod mirror;
pub mod progress;
pub mod rm;
pub mod s3;
pub mod uploads;

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use minnow::client::{Client, ClientConfig};

/// Largest body sent or fetched in one request; bigger objects move as
/// multipart uploads and ranged reads of this size.
pub const PART_SIZE: u64 = 16 * 1024 * 1024;
/// Parts of one object in flight at once.
pub const PART_PARALLELISM: usize = 4;

/// A server an alias names, ready to call.
#[derive(Debug, Clone)]
pub struct Server {
    pub alias: String,
    pub client: Client,
    /// URL and access key: two aliases with the same identity can copy
    /// server-side.
    pub identity: (String, String),
}

/// `ALIAS/bucket/key` resolved.
#[derive(Debug, Clone)]
pub struct Remote {
    /// Shared: a recursive copy holds thousands of these.
    pub server: Arc<Server>,
    /// Empty for the alias itself.
    pub bucket: String,
    /// Empty for a whole bucket; may end with `/` for a folder.
    pub key: String,
}

impl Remote {
    /// The path as the user would type it.
    pub fn display(&self) -> String {
        let mut text = self.server.alias.clone();
        if !self.bucket.is_empty() {
            text.push('/');
            text.push_str(&self.bucket);
            if !self.key.is_empty() {
                text.push('/');
                text.push_str(&self.key);
            }
        }
        text
    }

    pub fn with_key(&self, key: String) -> Remote {
        Remote {
            server: self.server.clone(),
            bucket: self.bucket.clone(),
            key,
        }
    }
}

/// Where a command argument points.
#[derive(Debug, Clone)]
pub enum Location {
    Local(PathBuf),
    Remote(Remote),
}

/// Resolves a command argument: `ALIAS/...` when ALIAS is a known alias,
/// a local path otherwise (and always for `/...`, `./...` and `../...`).
pub fn locate(arg: &str) -> anyhow::Result<Location> {
    if arg.starts_with('/') || arg.starts_with('.') || arg.is_empty() {
        return Ok(Location::Local(PathBuf::from(arg)));
    }
    let (first, rest) = arg.split_once('/').unwrap_or((arg, ""));
    let aliases = alias::all()?;
    let Some(found) = aliases.get(first) else {
        return Ok(Location::Local(PathBuf::from(arg)));
    };
    let client = Client::new(ClientConfig {
        endpoint: found.url.clone(),
        access_key: found.access_key.clone(),
        secret_key: found.secret_key.clone(),
        timeout: std::time::Duration::from_secs(300),
        insecure: found.insecure,
    })
    .with_context(|| format!("alias `{first}`"))?;
    let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
    Ok(Location::Remote(Remote {
        server: Arc::new(Server {
            alias: first.to_string(),
            client,
            identity: (found.url.clone(), found.access_key.clone()),
        }),
        bucket: bucket.to_string(),
        key: key.to_string(),
    }))
}

/// Like [`locate`] but the argument must name a server path.
pub fn locate_remote(arg: &str) -> anyhow::Result<Remote> {
    match locate(arg)? {
        Location::Remote(remote) => Ok(remote),
        Location::Local(_) => {
            anyhow::bail!("`{arg}` does not start with a known alias (see `minnow alias list`)")
        }
    }
}

/// Whether `key` is inside the folder-like prefix `prefix`: `a/b` holds
/// `a/b/c` and `a/b` itself but not `a/bc`, so `rm -r a/b` never touches
/// a sibling that merely shares the letters.
pub fn under_prefix(key: &str, prefix: &str) -> bool {
    if prefix.is_empty() || prefix.ends_with('/') {
        return key.starts_with(prefix);
    }
    key == prefix
        || key
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// Sizes as `mc` prints them: `1.5KiB`.
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes}B")
    } else {
        format!("{value:.1}{}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_match_whole_folder_names() {
        assert!(under_prefix("a/b/c", "a/b"));
        assert!(under_prefix("a/b", "a/b"));
        assert!(!under_prefix("a/bc", "a/b"));
        assert!(under_prefix("a/bc", ""));
        assert!(under_prefix("a/b/c", "a/b/"));
    }

    #[test]
    fn control_characters_print_escaped() {
        assert_eq!(printable("a b/ü"), "a b/ü");
        assert_eq!(printable("a\nb\u{1b}[2J"), "a\\nb\\u{1b}[2J");
    }

    #[test]
    fn sizes_read_like_mc() {
        assert_eq!(human_size(12), "12B");
        assert_eq!(human_size(1536), "1.5KiB");
        assert_eq!(human_size(200 * 1024 * 1024), "200.0MiB");
    }
}
