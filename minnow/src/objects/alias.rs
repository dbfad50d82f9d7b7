//! `minnow alias set|list|remove`: named servers with their credentials,
//! like `mc alias`. Stored in `$XDG_CONFIG_HOME/minnow/aliases.json`
//! (else `~/.config/minnow/aliases.json`), mode 0600 because it holds
//! secrets; `MINNOW_ALIAS_<NAME>=http://AK:SK@host:port` in the
//! environment defines (and overrides) an alias for scripts, as
//! `MC_HOST_<NAME>` does for `mc`.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _};
use clap::{Args, Subcommand};
use percent_encoding::percent_decode_str;
use serde::{Deserialize, Serialize};

/// Prefix of the environment variables that define aliases.
pub const ENV_PREFIX: &str = "MINNOW_ALIAS_";

#[derive(Debug, Args)]
pub struct AliasArgs {
    /// Print machine-readable JSON lines.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: AliasCommand,
}

#[derive(Debug, Subcommand)]
pub enum AliasCommand {
    /// Add or replace an alias: NAME URL ACCESS_KEY SECRET_KEY.
    Set {
        name: String,
        url: String,
        access_key: String,
        secret_key: String,
        /// Accept any TLS certificate of this https:// server (self-signed).
        #[arg(long)]
        insecure: bool,
    },
    /// List aliases (secrets are not printed).
    #[command(alias = "ls")]
    List,
    /// Remove an alias.
    #[command(alias = "rm")]
    Remove { name: String },
}

/// One server and the credentials to sign for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Alias {
    pub url: String,
    pub access_key: String,
    pub secret_key: String,
    /// Accept any TLS certificate (`alias set --insecure`); aliases from
    /// the environment always verify (trust a CA with `SSL_CERT_FILE`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub insecure: bool,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct AliasFile {
    #[serde(default)]
    aliases: BTreeMap<String, Alias>,
}

/// Where aliases are stored.
fn config_path() -> anyhow::Result<PathBuf> {
    Ok(config_dir()?.join("aliases.json"))
}

/// The CLI's own config folder (`$XDG_CONFIG_HOME/minnow`).
pub fn config_dir() -> anyhow::Result<PathBuf> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|v| !v.is_empty())
                .map(|home| PathBuf::from(home).join(".config"))
        })
        .context("cannot find the config folder: set XDG_CONFIG_HOME or HOME")?;
    Ok(base.join("minnow"))
}

/// Refuses a config folder any user may write: another user could swap
/// the alias file for one pointing at their server (or plant a link where
/// the secrets are written), as `ssh` refuses such a `~/.ssh`.
fn check_private(dir: &Path) -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        if let Ok(meta) = std::fs::metadata(dir) {
            if meta.permissions().mode() & 0o002 != 0 {
                bail!(
                    "{} is writable by every user, who could replace the alias file: run `chmod 700 {}`",
                    dir.display(),
                    dir.display()
                );
            }
        }
    }
    Ok(())
}

fn load_file() -> anyhow::Result<AliasFile> {
    let path = config_path()?;
    if path.exists() {
        check_private(path.parent().context("alias file has no folder")?)?;
    }
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .with_context(|| format!("{} is not a valid alias file", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(AliasFile::default()),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

/// Writes the file through a temporary neighbour so a crash never leaves
/// half a file, created 0600 so the secrets are never readable by others.
fn save_file(file: &AliasFile) -> anyhow::Result<()> {
    let path = config_path()?;
    let dir = path.parent().context("alias file has no folder")?;
    let mut folder = std::fs::DirBuilder::new();
    folder.recursive(true);
    #[cfg(unix)]
    {
        // The user's alone whatever the umask (000 would give 0777).
        use std::os::unix::fs::DirBuilderExt as _;
        folder.mode(0o700);
    }
    folder
        .create(dir)
        .with_context(|| format!("creating {}", dir.display()))?;
    check_private(dir)?;
    let temp = dir.join(".aliases.json.tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut out = options
        .open(&temp)
        .with_context(|| format!("writing {}", temp.display()))?;
    #[cfg(unix)]
    {
        // A temp file left by an older run keeps its mode; force 0600.
        use std::os::unix::fs::PermissionsExt as _;
        out.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    out.write_all(&serde_json::to_vec_pretty(file)?)?;
    out.sync_all()?;
    std::fs::rename(&temp, &path).with_context(|| format!("replacing {}", path.display()))?;
    Ok(())
}

/// Reads `http://AK:SK@host:port` (credentials percent-encoded if needed).
pub fn parse_url_with_credentials(value: &str) -> anyhow::Result<Alias> {
    let (scheme, rest) = value
        .split_once("://")
        .context("expected http://ACCESS_KEY:SECRET_KEY@host:port")?;
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let (userinfo, host) = authority
        .rsplit_once('@')
        .context("expected credentials in the URL: http://ACCESS_KEY:SECRET_KEY@host:port")?;
    let (access, secret) = userinfo
        .split_once(':')
        .context("expected ACCESS_KEY:SECRET_KEY before the @")?;
    let decode = |s: &str| percent_decode_str(s).decode_utf8_lossy().into_owned();
    if host.is_empty() {
        bail!("the URL has no host");
    }
    let url = if path.is_empty() {
        format!("{scheme}://{host}")
    } else {
        format!("{scheme}://{host}/{path}")
    };
    Ok(Alias {
        url,
        access_key: decode(access),
        secret_key: decode(secret),
        insecure: false,
    })
}

/// Every alias: the file's, then the environment's on top.
pub fn all() -> anyhow::Result<BTreeMap<String, Alias>> {
    let mut aliases = load_file()?.aliases;
    for (name, value) in std::env::vars() {
        if let Some(alias) = name.strip_prefix(ENV_PREFIX) {
            let parsed = parse_url_with_credentials(&value)
                .with_context(|| format!("environment variable {name}"))?;
            aliases.insert(alias.to_string(), parsed);
        }
    }
    Ok(aliases)
}

/// An alias name is one path segment an S3 path can start with.
fn check_name(name: &str) -> anyhow::Result<()> {
    let ok = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
        && name != "."
        && name != "..";
    if !ok {
        bail!("invalid alias name {name:?}: use letters, digits, `-`, `_` and `.`");
    }
    Ok(())
}

/// Runs `minnow alias ...`.
pub fn run(args: AliasArgs) -> anyhow::Result<()> {
    match args.command {
        AliasCommand::Set {
            name,
            url,
            access_key,
            secret_key,
            insecure,
        } => {
            check_name(&name)?;
            // Credentials in the URL would be stored and listed as part of
            // it; never echo such a URL either.
            if url.contains('@') {
                bail!("the URL must not carry credentials: give them as ACCESS_KEY SECRET_KEY");
            }
            let uri: http::Uri = url
                .parse()
                .with_context(|| format!("invalid URL {url:?}"))?;
            if !matches!(uri.scheme_str(), Some("http" | "https")) || uri.authority().is_none() {
                bail!("invalid URL {url:?}: expected http://host:port");
            }
            let mut file = load_file()?;
            file.aliases.insert(
                name.clone(),
                Alias {
                    url: url.trim_end_matches('/').to_string(),
                    access_key,
                    secret_key,
                    insecure,
                },
            );
            save_file(&file)?;
            if args.json {
                out!("{}", serde_json::json!({"alias": name, "status": "set"}));
            } else {
                out!("Alias `{name}` set.");
            }
        }
        AliasCommand::List => {
            for (name, alias) in all()? {
                if args.json {
                    let line = serde_json::json!({
                        "alias": name,
                        "url": alias.url,
                        "accessKey": alias.access_key,
                    });
                    out!("{line}");
                } else {
                    out!("{name:<12} {} {}", alias.url, alias.access_key);
                }
            }
        }
        AliasCommand::Remove { name } => {
            let mut file = load_file()?;
            if file.aliases.remove(&name).is_none() {
                bail!("no such alias: {name}");
            }
            save_file(&file)?;
            if args.json {
                out!(
                    "{}",
                    serde_json::json!({"alias": name, "status": "removed"})
                );
            } else {
                out!("Alias `{name}` removed.");
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_urls_carry_percent_encoded_credentials() {
        let alias = parse_url_with_credentials("http://ak:s%2Fk%40x@127.0.0.1:9000").unwrap();
        assert_eq!(alias.url, "http://127.0.0.1:9000");
        assert_eq!(alias.access_key, "ak");
        assert_eq!(alias.secret_key, "s/k@x");
        assert!(parse_url_with_credentials("http://127.0.0.1:9000").is_err());
        assert!(parse_url_with_credentials("127.0.0.1:9000").is_err());
    }

    #[test]
    fn alias_names_are_single_segments() {
        assert!(check_name("prod-1").is_ok());
        assert!(check_name("a/b").is_err());
        assert!(check_name("..").is_err());
        assert!(check_name("").is_err());
    }
}
