//! The binary's configuration wiring: every flag fallback and environment
//! variable minnow reads (MinIO's `MINIO_*` names honoured beside `MINNOW_*`)
//! is resolved here into plain values for the libraries, which never read
//! the environment themselves. Each resolver takes the environment as a
//! function so tests can pass a map instead of mutating the process.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, bail, Context as _};
use lifecycle::{DayLength, ScannerConfig};
use s3_api::iam::RootCredentials;

use s3_api::handlers::audit::AuditSink;
use s3_api::handlers::idle_body::parse_idle_timeout;
use s3_api::handlers::metrics_auth::MetricsAuth;
use s3_api::handlers::ApiConfig;

use crate::volumes;

const DEFAULT_ROOT_USER: &str = "minioadmin";
const DEFAULT_ROOT_PASSWORD: &str = "minioadmin";
const DEFAULT_REGION: &str = "us-east-1";
pub(crate) const DEFAULT_DRIVE_COUNT: usize = 4;
/// Shortens the lifecycle day (seconds) so tests see "Days: 1" pass quickly.
const LIFECYCLE_DAY_ENV: &str = "MINNOW_LIFECYCLE_DAY_SECONDS";
/// The lifecycle scanner's operations-per-second budget (0 = unthrottled).
const LIFECYCLE_OPS_PER_SEC_ENV: &str = "MINNOW_LIFECYCLE_OPS_PER_SEC";
/// Seconds between the end of one lifecycle cycle and the next.
const LIFECYCLE_SCAN_PAUSE_ENV: &str = "MINNOW_LIFECYCLE_SCAN_PAUSE";

/// MinIO's `MINIO_CONFIG_ENV_FILE`: a file of `KEY=VALUE` lines read at start.
const CONFIG_ENV_FILE_VARS: [&str; 2] = ["MINNOW_CONFIG_ENV_FILE", "MINIO_CONFIG_ENV_FILE"];
/// `*_FILE` variables naming a file (a Docker secret) that holds the value of
/// the variable without the suffix.
const SECRET_FILE_VARS: [(&str, &str); 4] = [
    ("MINNOW_ROOT_USER_FILE", "MINNOW_ROOT_USER"),
    ("MINNOW_ROOT_PASSWORD_FILE", "MINNOW_ROOT_PASSWORD"),
    ("MINIO_ROOT_USER_FILE", "MINIO_ROOT_USER"),
    ("MINIO_ROOT_PASSWORD_FILE", "MINIO_ROOT_PASSWORD"),
];
/// How long a request waits for a slot under `MINIO_API_REQUESTS_MAX`.
const DEFAULT_REQUESTS_DEADLINE: Duration = Duration::from_secs(10);
/// Where a relative `*_FILE` name is looked up: Docker's secrets folder, as MinIO.
const DOCKER_SECRETS_DIR: &str = "/run/secrets";
/// Every `MINIO_*` variable the server acts on; any other one present is
/// logged once at start-up as ignored, so a setting carried over from a MinIO
/// deployment never silently does nothing.
const HONOURED_MINIO_VARS: &[&str] = &[
    "MINIO_ROOT_USER",
    "MINIO_ROOT_PASSWORD",
    "MINIO_ROOT_USER_FILE",
    "MINIO_ROOT_PASSWORD_FILE",
    "MINIO_ROOT_USER_OLD",
    "MINIO_ROOT_PASSWORD_OLD",
    "MINIO_ACCESS_KEY",
    "MINIO_SECRET_KEY",
    "MINIO_CONFIG_ENV_FILE",
    "MINIO_VOLUMES",
    "MINIO_REGION",
    "MINIO_SITE_REGION",
    "MINIO_DOMAIN",
    "MINIO_SERVER_URL",
    "MINIO_BROWSER",
    "MINIO_BROWSER_REDIRECT_URL",
    "MINIO_PROMETHEUS_AUTH_TYPE",
    "MINIO_STORAGE_CLASS_STANDARD",
    "MINIO_SHUTDOWN_TIMEOUT",
    "MINIO_API_REQUESTS_MAX",
    "MINIO_API_REQUESTS_DEADLINE",
];

/// The environment the server reads: the process's variables, then the
/// lines of `MINIO_CONFIG_ENV_FILE` over them (MinIO sets them into its
/// environment, so the file wins), then each `*_FILE` secret over the
/// variable it names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Environment {
    vars: BTreeMap<String, String>,
}

impl Environment {
    /// The process's environment with its files applied.
    pub(crate) fn from_process() -> anyhow::Result<Environment> {
        let vars = std::env::vars_os()
            .filter_map(|(name, value)| Some((name.into_string().ok()?, value.into_string().ok()?)))
            .collect();
        Environment::resolve(vars, &|path| std::fs::read_to_string(path))
    }

    /// Applies the config env file and the secret files to `vars`, reading
    /// files through `read` (tests pass a map).
    fn resolve(
        mut vars: BTreeMap<String, String>,
        read: &dyn Fn(&Path) -> std::io::Result<String>,
    ) -> anyhow::Result<Environment> {
        let non_empty = |vars: &BTreeMap<String, String>, name: &str| {
            vars.get(name).filter(|v| !v.trim().is_empty()).cloned()
        };
        if let Some((name, path)) = CONFIG_ENV_FILE_VARS
            .iter()
            .find_map(|name| non_empty(&vars, name).map(|path| (*name, path)))
        {
            let text = read(Path::new(&path))
                .with_context(|| format!("{name}={path}: cannot read the file"))?;
            for (key, value) in parse_env_file(&text).map_err(|e| anyhow!("{name}={path}: {e}"))? {
                vars.insert(key, value);
            }
        }
        for (file_var, target) in SECRET_FILE_VARS {
            let Some(name) = non_empty(&vars, file_var) else {
                continue;
            };
            let path = secret_path(&name);
            let value = read(&path)
                .with_context(|| format!("{file_var}={name}: cannot read {}", path.display()))?;
            let value = value.trim();
            if value.is_empty() {
                bail!("{file_var}={name}: {} is empty", path.display());
            }
            vars.insert(target.to_string(), value.to_string());
        }
        Ok(Environment { vars })
    }

    /// A non-empty variable.
    pub(crate) fn get(&self, name: &str) -> Option<String> {
        self.vars
            .get(name)
            .filter(|v| !v.trim().is_empty())
            .cloned()
    }

    /// The `MINIO_*` variables present that minnow does not act on.
    pub(crate) fn ignored_minio_vars(&self) -> Vec<&str> {
        self.vars
            .keys()
            .map(String::as_str)
            .filter(|name| name.starts_with("MINIO_") && !HONOURED_MINIO_VARS.contains(name))
            .collect()
    }
}

/// MinIO's request limit: `MINIO_API_REQUESTS_MAX` (unset or 0: no limit;
/// MinIO sizes it from memory, minnow's memory is bounded by the write
/// budget instead) and `MINIO_API_REQUESTS_DEADLINE` (10 s).
pub(crate) fn request_limit_from_env(
    env: &dyn Fn(&str) -> Option<String>,
) -> anyhow::Result<(Option<usize>, Duration)> {
    let max = match first_env(env, &["MINNOW_API_REQUESTS_MAX", "MINIO_API_REQUESTS_MAX"]) {
        None => None,
        Some((name, value)) => match value.trim().parse::<usize>() {
            Ok(0) => None,
            Ok(max) => Some(max),
            Err(_) => bail!("{name}={value:?}: expected a number of requests (0 = no limit)"),
        },
    };
    let deadline = match first_env(
        env,
        &[
            "MINNOW_API_REQUESTS_DEADLINE",
            "MINIO_API_REQUESTS_DEADLINE",
        ],
    ) {
        None => DEFAULT_REQUESTS_DEADLINE,
        Some((name, value)) => parse_duration(&value)
            .ok_or_else(|| anyhow!("{name}={value:?}: expected a duration such as 10s"))?,
    };
    Ok((max, deadline))
}

/// A duration as MinIO's flags take it: `5s`, `500ms`, `1m`, or bare seconds.
pub(crate) fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| !(c.is_ascii_digit() || c == '.')) {
        Some(at) => text.split_at(at),
        None => (text, "s"),
    };
    let value: f64 = number.parse().ok()?;
    let secs = match unit {
        "ms" => value / 1000.0,
        "s" => value,
        "m" => value * 60.0,
        _ => return None,
    };
    Duration::try_from_secs_f64(secs).ok()
}

/// `name` as given when absolute, else under Docker's secrets folder.
fn secret_path(name: &str) -> PathBuf {
    let path = Path::new(name.trim());
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        Path::new(DOCKER_SECRETS_DIR).join(path)
    }
}

/// `KEY=VALUE` lines as MinIO reads its config env file: blank lines and
/// `#` comments skipped, an optional `export ` prefix, the value's
/// surrounding quotes removed.
fn parse_env_file(text: &str) -> anyhow::Result<Vec<(String, String)>> {
    let mut pairs = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        let Some((key, value)) = line.split_once('=') else {
            bail!("line {}: expected KEY=VALUE", number + 1);
        };
        let key = key.trim();
        if key.is_empty() || key.contains(char::is_whitespace) {
            bail!("line {}: {key:?} is not a variable name", number + 1);
        }
        let value = value.trim();
        let value = ['"', '\'']
            .iter()
            .find_map(|q| value.strip_prefix(*q)?.strip_suffix(*q))
            .unwrap_or(value);
        pairs.push((key.to_string(), value.to_string()));
    }
    Ok(pairs)
}

/// The first of `names` that is set.
pub(crate) fn first_env(
    env: &dyn Fn(&str) -> Option<String>,
    names: &[&'static str],
) -> Option<(&'static str, String)> {
    names
        .iter()
        .find_map(|name| env(name).map(|value| (*name, value)))
}

/// Where a root credential came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Source {
    Flag,
    Env(&'static str),
    Default,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RootConfig {
    pub(crate) user: String,
    pub(crate) user_source: Source,
    pub(crate) password: String,
    pub(crate) password_source: Source,
}

/// Flag, else MINNOW_*, else MINIO_* (then MinIO's deprecated
/// `MINIO_ACCESS_KEY` / `MINIO_SECRET_KEY`), else `minioadmin`.
pub(crate) fn resolve_root(
    flag_user: Option<String>,
    flag_password: Option<String>,
    env: &dyn Fn(&str) -> Option<String>,
) -> RootConfig {
    let pick = |flag: Option<String>, names: &[&'static str], default: &str| match flag {
        Some(value) => (value, Source::Flag),
        None => match first_env(env, names) {
            Some((name, value)) => (value, Source::Env(name)),
            None => (default.to_string(), Source::Default),
        },
    };
    let (user, user_source) = pick(
        flag_user,
        &["MINNOW_ROOT_USER", "MINIO_ROOT_USER", "MINIO_ACCESS_KEY"],
        DEFAULT_ROOT_USER,
    );
    let (password, password_source) = pick(
        flag_password,
        &[
            "MINNOW_ROOT_PASSWORD",
            "MINIO_ROOT_PASSWORD",
            "MINIO_SECRET_KEY",
        ],
        DEFAULT_ROOT_PASSWORD,
    );
    RootConfig {
        user,
        user_source,
        password,
        password_source,
    }
}

/// `MINIO_STORAGE_CLASS_STANDARD=EC:N` (or MINNOW_…): the parity shard count.
pub(crate) fn parity_from_env(
    env: &dyn Fn(&str) -> Option<String>,
) -> anyhow::Result<Option<usize>> {
    let Some((name, value)) = first_env(
        env,
        &[
            "MINNOW_STORAGE_CLASS_STANDARD",
            "MINIO_STORAGE_CLASS_STANDARD",
        ],
    ) else {
        return Ok(None);
    };
    let value = value.trim();
    let parity = value
        .get(..3)
        .filter(|prefix| prefix.eq_ignore_ascii_case("EC:"))
        .and_then(|_| value[3..].trim().parse::<usize>().ok())
        .ok_or_else(|| anyhow!("{name}={value:?}: expected EC:N (N parity drives)"))?;
    Ok(Some(parity))
}

/// A whole number from `name` within `range` (`None` when unset); `what`
/// names the unit in the error ("a number of MiB", "a whole number").
fn number_in_range_from_env<N>(
    env: &dyn Fn(&str) -> Option<String>,
    name: &str,
    range: std::ops::RangeInclusive<N>,
    what: &str,
) -> anyhow::Result<Option<N>>
where
    N: std::str::FromStr + PartialOrd + std::fmt::Display,
{
    let Some(value) = env(name) else {
        return Ok(None);
    };
    match value.trim().parse::<N>() {
        Ok(n) if range.contains(&n) => Ok(Some(n)),
        _ => Err(anyhow!(
            "{name}={value:?}: expected {what} from {} to {}",
            range.start(),
            range.end()
        )),
    }
}

/// `MINNOW_WRITE_BUFFER_MIB=N`: the memory all uploads together may hold.
pub(crate) fn write_buffer_limit_from_env(
    env: &dyn Fn(&str) -> Option<String>,
) -> anyhow::Result<Option<usize>> {
    let mib = number_in_range_from_env(env, "MINNOW_WRITE_BUFFER_MIB", 4..=1 << 20, "a number of MiB")?;
    Ok(mib.map(|mib: usize| mib << 20))
}

/// `MINNOW_HEAL_TRANQUILITY=N`: while requests run, the background heal
/// rests after each object until they are quiet, at most N times as long as
/// the object took (at least 20 ms); it never rests while the server is
/// idle (0 = never rest, the fastest heal at the most cost to requests).
pub(crate) fn heal_tranquility_from_env(
    env: &dyn Fn(&str) -> Option<String>,
) -> anyhow::Result<Option<u32>> {
    number_in_range_from_env(env, "MINNOW_HEAL_TRANQUILITY", 0..=100, "a whole number")
}

/// `MINNOW_LIST_INDEX_MIB=N`: the memory bound of the listing index (`0`
/// turns it off: every listing walks the bucket's folders).
pub(crate) fn list_index_bytes_from_env(
    env: &dyn Fn(&str) -> Option<String>,
) -> anyhow::Result<Option<usize>> {
    let mib = number_in_range_from_env(env, "MINNOW_LIST_INDEX_MIB", 0..=1 << 20, "a number of MiB")?;
    Ok(mib.map(|mib: usize| mib << 20))
}

/// `MINNOW_CACHE_MIB=N`: the memory bound of the object cache (metadata of
/// recently read objects and the bytes of small ones; `0` turns it off).
pub(crate) fn cache_bytes_from_env(
    env: &dyn Fn(&str) -> Option<String>,
) -> anyhow::Result<Option<usize>> {
    let mib = number_in_range_from_env(env, "MINNOW_CACHE_MIB", 0..=1 << 20, "a number of MiB")?;
    Ok(mib.map(|mib: usize| mib << 20))
}

/// `MINIO_DRIVE_MAX_TIMEOUT` (or `MINNOW_DRIVE_MAX_TIMEOUT`): how long a
/// drive operation may take before the drive is taken offline for it, as a
/// Go-style duration (`30s`, `2m`, `500ms`) or plain seconds. `0` disables
/// the deadline; unset keeps the store's default (30 s, MinIO's).
pub(crate) fn drive_timeout_from_env(
    env: &dyn Fn(&str) -> Option<String>,
) -> anyhow::Result<Option<Option<Duration>>> {
    let Some((name, value)) = first_env(
        env,
        &["MINNOW_DRIVE_MAX_TIMEOUT", "MINIO_DRIVE_MAX_TIMEOUT"],
    ) else {
        return Ok(None);
    };
    let text = value.trim();
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit() && c != '.') {
        Some(at) => text.split_at(at),
        None => (text, "s"),
    };
    let scale = match unit {
        "ms" => 0.001,
        "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        _ => f64::NAN,
    };
    let seconds = number.parse::<f64>().map(|n| n * scale).unwrap_or(f64::NAN);
    if !seconds.is_finite() || !(0.0..=86_400.0).contains(&seconds) {
        return Err(anyhow!(
            "{name}={value:?}: expected a duration such as 30s, 2m or 500ms (0 disables it)"
        ));
    }
    Ok(Some(
        (seconds > 0.0).then(|| Duration::from_secs_f64(seconds)),
    ))
}

/// Drive arguments, else `MINNOW_VOLUMES` / `MINIO_VOLUMES`, else
/// ./data/drive1..4 (created). Returns the drives and whether they are the default.
pub(crate) fn resolve_drives(
    args: &[String],
    env: &dyn Fn(&str) -> Option<String>,
) -> anyhow::Result<(Vec<PathBuf>, bool)> {
    let specs = if !args.is_empty() {
        args.to_vec()
    } else if let Some((_, value)) = first_env(env, &["MINNOW_VOLUMES", "MINIO_VOLUMES"]) {
        volumes::split_env(&value)
    } else {
        let drives: Vec<PathBuf> = (1..=DEFAULT_DRIVE_COUNT)
            .map(|i| PathBuf::from("data").join(format!("drive{i}")))
            .collect();
        return Ok((drives, true));
    };
    let drives = volumes::expand_all(&specs)?;
    if drives.is_empty() {
        bail!("no drives given");
    }
    let mut seen = std::collections::HashSet::new();
    for drive in &drives {
        if !seen.insert(drive.as_str()) {
            bail!("drive {drive} is given more than once");
        }
    }
    Ok((drives.into_iter().map(PathBuf::from).collect(), false))
}

pub(crate) fn region_from_env(env: &dyn Fn(&str) -> Option<String>) -> String {
    first_env(env, &["MINNOW_REGION", "MINIO_REGION", "MINIO_SITE_REGION"])
        .map(|(_, region)| region.trim().to_string())
        .unwrap_or_else(|| DEFAULT_REGION.to_string())
}

pub(crate) fn domains_from_env(env: &dyn Fn(&str) -> Option<String>) -> Vec<String> {
    first_env(env, &["MINNOW_DOMAIN", "MINIO_DOMAIN"])
        .map(|(_, value)| {
            value
                .split(',')
                .map(|d| d.trim().to_ascii_lowercase())
                .filter(|d| !d.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

/// `MINNOW_LIFECYCLE_DAY_SECONDS` when set, else the real day of 86,400 s.
pub(crate) fn lifecycle_day_from_env(
    env: &dyn Fn(&str) -> Option<String>,
) -> anyhow::Result<DayLength> {
    let Some(text) = env(LIFECYCLE_DAY_ENV) else {
        return Ok(DayLength::default());
    };
    match text.trim().parse::<u64>() {
        Ok(secs) if secs > 0 => Ok(DayLength::from_secs(secs)),
        _ => Err(anyhow!(
            "invalid lifecycle argument: {LIFECYCLE_DAY_ENV} must be a positive number of \
             seconds, not {text:?}"
        )),
    }
}

/// The scanner's defaults for `day`, with the operator's budget
/// (`MINNOW_LIFECYCLE_OPS_PER_SEC`) and pause (`MINNOW_LIFECYCLE_SCAN_PAUSE`,
/// seconds with an optional `s`) applied; unset or blank ones leave the
/// default alone.
pub(crate) fn scanner_config_from_env(
    day: DayLength,
    env: &dyn Fn(&str) -> Option<String>,
) -> anyhow::Result<ScannerConfig> {
    let mut config = ScannerConfig::for_day(day);
    let set = |name: &str| env(name).filter(|v| !v.trim().is_empty());
    if let Some(text) = set(LIFECYCLE_OPS_PER_SEC_ENV) {
        config.ops_per_sec = text.trim().parse::<u32>().map_err(|_| {
            anyhow!(
                "invalid lifecycle argument: {LIFECYCLE_OPS_PER_SEC_ENV} must be a whole number \
                 of operations per second (0 = unthrottled), not {text:?}"
            )
        })?;
    }
    if let Some(text) = set(LIFECYCLE_SCAN_PAUSE_ENV) {
        let trimmed = text.trim();
        let number = trimmed.strip_suffix('s').unwrap_or(trimmed);
        config.pause_between_cycles = number
            .parse::<f64>()
            .ok()
            .and_then(|secs| Duration::try_from_secs_f64(secs).ok())
            .ok_or_else(|| {
                anyhow!(
                    "invalid lifecycle argument: {LIFECYCLE_SCAN_PAUSE_ENV} must be a \
                     non-negative number of seconds, not {text:?}"
                )
            })?;
    }
    Ok(config)
}

/// `--cdn-host` flags, else `MINNOW_CDN_HOSTS` (comma-separated); lower-cased,
/// without a trailing dot, blanks dropped.
pub(crate) fn cdn_hosts(flags: &[String], env: &dyn Fn(&str) -> Option<String>) -> Vec<String> {
    let hosts: Vec<String> = if flags.is_empty() {
        env("MINNOW_CDN_HOSTS")
            .map(|v| v.split(',').map(str::to_string).collect())
            .unwrap_or_default()
    } else {
        flags.to_vec()
    };
    hosts
        .iter()
        .map(|h| h.trim().trim_end_matches('.').to_ascii_lowercase())
        .filter(|h| !h.is_empty())
        .collect()
}

/// `--cdn-allow-origin`, else `MINNOW_CDN_ALLOW_ORIGIN`, else `*`.
pub(crate) fn cdn_allow_origin(
    flag: Option<String>,
    env: &dyn Fn(&str) -> Option<String>,
) -> String {
    flag.or_else(|| env("MINNOW_CDN_ALLOW_ORIGIN"))
        .unwrap_or_else(|| "*".to_string())
}

/// `MINNOW_SERVER_URL` / `MINIO_SERVER_URL`: the URL clients reach the server at.
pub(crate) fn public_url(env: &dyn Fn(&str) -> Option<String>) -> Option<String> {
    first_env(env, &["MINNOW_SERVER_URL", "MINIO_SERVER_URL"])
        .map(|(_, url)| url.trim().trim_end_matches('/').to_string())
}

/// The web console's settings from the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BrowserConfig {
    /// False when `MINNOW_BROWSER` / `MINIO_BROWSER` is `off`.
    pub(crate) enabled: bool,
    /// `MINNOW_BROWSER_REDIRECT_URL` / `MINIO_BROWSER_REDIRECT_URL`: the
    /// console's public URL (its cookie is `Secure` when this is https).
    pub(crate) redirect_url: Option<String>,
}

/// MinIO's `MINIO_BROWSER` (`on` by default) and `MINIO_BROWSER_REDIRECT_URL`.
pub(crate) fn browser(env: &dyn Fn(&str) -> Option<String>) -> BrowserConfig {
    let enabled = first_env(env, &["MINNOW_BROWSER", "MINIO_BROWSER"])
        .map(|(_, value)| !value.trim().eq_ignore_ascii_case("off"))
        .unwrap_or(true);
    let redirect_url = first_env(
        env,
        &["MINNOW_BROWSER_REDIRECT_URL", "MINIO_BROWSER_REDIRECT_URL"],
    )
    .map(|(_, url)| url.trim().trim_end_matches('/').to_string());
    BrowserConfig {
        enabled,
        redirect_url,
    }
}

/// The previous root credentials (`MINNOW_ROOT_USER_OLD` +
/// `MINNOW_ROOT_PASSWORD_OLD`, or MinIO's `MINIO_*_OLD`), set once to re-seal
/// every user secret after the root password changed.
pub(crate) fn old_root(env: &dyn Fn(&str) -> Option<String>) -> Option<RootCredentials> {
    match (
        first_env(env, &["MINNOW_ROOT_USER_OLD", "MINIO_ROOT_USER_OLD"]),
        first_env(
            env,
            &["MINNOW_ROOT_PASSWORD_OLD", "MINIO_ROOT_PASSWORD_OLD"],
        ),
    ) {
        (Some((_, access_key)), Some((_, secret_key))) => Some(RootCredentials {
            access_key,
            secret_key,
        }),
        _ => None,
    }
}

/// `MINNOW_AUDIT_LOG`: the file audit records go to (else stderr).
const AUDIT_LOG_ENV: &str = "MINNOW_AUDIT_LOG";
/// `MINNOW_AUDIT_LOG_ALL=on`: record every request, not only admin actions,
/// authentication failures and authorization denials.
const AUDIT_LOG_ALL_ENV: &str = "MINNOW_AUDIT_LOG_ALL";
/// `MINNOW_BODY_IDLE_TIMEOUT`: seconds (`30`, `30s`) or milliseconds (`500ms`).
const BODY_IDLE_TIMEOUT_ENV: &str = "MINNOW_BODY_IDLE_TIMEOUT";
/// The variables that make the metrics endpoints public (first one set wins).
const PROMETHEUS_AUTH_ENV: [&str; 2] =
    ["MINNOW_PROMETHEUS_AUTH_TYPE", "MINIO_PROMETHEUS_AUTH_TYPE"];

/// Applies the S3 API's security settings of the environment to `config`:
/// the audit log (a file or stderr, every request or only security events),
/// the body idle timeout and who may scrape metrics. A value that cannot be
/// used is refused with the variable's name rather than ignored.
pub(crate) fn security_settings(
    mut config: ApiConfig,
    env: &dyn Fn(&str) -> Option<String>,
) -> anyhow::Result<ApiConfig> {
    let all = env(AUDIT_LOG_ALL_ENV).is_some_and(|v| {
        matches!(
            v.trim().to_ascii_lowercase().as_str(),
            "on" | "true" | "1" | "yes" | "enable"
        )
    });
    let sink = match env(AUDIT_LOG_ENV) {
        Some(path) if !path.trim().is_empty() => {
            AuditSink::file(path.trim(), all).map_err(|e| {
                anyhow!(
                    "cannot open the audit log {} ({AUDIT_LOG_ENV}): {e}",
                    path.trim()
                )
            })?
        }
        _ => AuditSink::stderr(all),
    };
    config.audit = Some(Arc::new(sink));
    if let Some(value) = env(BODY_IDLE_TIMEOUT_ENV) {
        config.body_idle_timeout = parse_idle_timeout(&value).ok_or_else(|| {
            anyhow!(
                "{BODY_IDLE_TIMEOUT_ENV}={value:?} is not a positive duration such as 30, 30s or 500ms"
            )
        })?;
    }
    if let Some((name, value)) = first_env(env, &PROMETHEUS_AUTH_ENV) {
        config.metrics_auth = MetricsAuth::parse(&value)
            .ok_or_else(|| anyhow!("{name}={value:?} is not `public` or `jwt`"))?;
    }
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;
    use s3_api::handlers::audit::AuditDestination;
    use std::collections::HashMap;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn console_is_on_unless_browser_is_off_and_takes_the_redirect_url() {
        assert_eq!(
            browser(&env_of(&[])),
            BrowserConfig {
                enabled: true,
                redirect_url: None
            }
        );
        let off = browser(&env_of(&[
            ("MINIO_BROWSER", "OFF"),
            ("MINIO_BROWSER_REDIRECT_URL", "https://storage.example.com/"),
        ]));
        assert!(!off.enabled);
        assert_eq!(
            off.redirect_url.as_deref(),
            Some("https://storage.example.com")
        );
        assert!(browser(&env_of(&[("MINIO_BROWSER", "on")])).enabled);
    }

    fn files_of(files: &[(&str, &str)]) -> impl Fn(&Path) -> std::io::Result<String> {
        let map: HashMap<PathBuf, String> = files
            .iter()
            .map(|(k, v)| (PathBuf::from(k), v.to_string()))
            .collect();
        move |path| {
            map.get(path)
                .cloned()
                .ok_or_else(|| std::io::Error::from(std::io::ErrorKind::NotFound))
        }
    }

    fn vars_of(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn docker_secrets_fill_the_root_credentials() {
        let env = Environment::resolve(
            vars_of(&[
                ("MINIO_ROOT_USER", "from-env"),
                ("MINIO_ROOT_USER_FILE", "access_key"),
                ("MINIO_ROOT_PASSWORD_FILE", "/etc/minnow/secret"),
            ]),
            &files_of(&[
                ("/run/secrets/access_key", "alice\n"),
                ("/etc/minnow/secret", "  s3cr3t-pw \n"),
            ]),
        )
        .unwrap();
        let root = resolve_root(None, None, &|name| env.get(name));
        assert_eq!(root.user, "alice");
        assert_eq!(root.password, "s3cr3t-pw");
    }

    #[test]
    fn a_missing_or_empty_secret_file_is_an_error_naming_it() {
        let missing = Environment::resolve(
            vars_of(&[("MINIO_ROOT_PASSWORD_FILE", "nope")]),
            &files_of(&[]),
        )
        .unwrap_err();
        let message = format!("{missing:#}");
        assert!(message.contains("MINIO_ROOT_PASSWORD_FILE"), "{message}");
        assert!(message.contains("/run/secrets/nope"), "{message}");
        let empty = Environment::resolve(
            vars_of(&[("MINIO_ROOT_USER_FILE", "/s")]),
            &files_of(&[("/s", "\n")]),
        );
        assert!(empty.is_err());
    }

    #[test]
    fn config_env_file_lines_override_the_process_environment() {
        let file = "# MinIO settings\n\nexport MINIO_ROOT_USER=filed-user\nMINIO_ROOT_PASSWORD=\"pw with spaces\"\nMINIO_REGION='eu-west-1'\n";
        let env = Environment::resolve(
            vars_of(&[
                ("MINIO_CONFIG_ENV_FILE", "/etc/default/minio"),
                ("MINIO_ROOT_USER", "process-user"),
            ]),
            &files_of(&[("/etc/default/minio", file)]),
        )
        .unwrap();
        assert_eq!(env.get("MINIO_ROOT_USER").as_deref(), Some("filed-user"));
        assert_eq!(
            env.get("MINIO_ROOT_PASSWORD").as_deref(),
            Some("pw with spaces")
        );
        assert_eq!(region_from_env(&|name| env.get(name)), "eu-west-1");
        let bad = Environment::resolve(
            vars_of(&[("MINIO_CONFIG_ENV_FILE", "/f")]),
            &files_of(&[("/f", "MINIO_REGION=x\nnot a setting\n")]),
        )
        .unwrap_err();
        assert!(format!("{bad:#}").contains("line 2"), "{bad:#}");
    }

    #[test]
    fn only_minio_variables_minnow_ignores_are_reported() {
        let env = Environment::resolve(
            vars_of(&[
                ("MINIO_ROOT_USER", "alice"),
                ("MINIO_DOMAIN", "s3.example.com"),
                ("MINIO_API_REQUESTS_MAX", "1600"),
                ("MINIO_NOTIFY_WEBHOOK_ENABLE", "on"),
                ("MINIO_FOO", "1"),
                ("MINNOW_REGION", "x"),
                ("PATH", "/bin"),
            ]),
            &files_of(&[]),
        )
        .unwrap();
        assert_eq!(
            env.ignored_minio_vars(),
            vec!["MINIO_FOO", "MINIO_NOTIFY_WEBHOOK_ENABLE"]
        );
    }

    #[test]
    fn request_limit_comes_from_minio_variables() {
        assert_eq!(
            request_limit_from_env(&env_of(&[])).unwrap(),
            (None, Duration::from_secs(10))
        );
        let env = env_of(&[
            ("MINIO_API_REQUESTS_MAX", "64"),
            ("MINIO_API_REQUESTS_DEADLINE", "2s"),
        ]);
        assert_eq!(
            request_limit_from_env(&env).unwrap(),
            (Some(64), Duration::from_secs(2))
        );
        let unlimited = env_of(&[("MINIO_API_REQUESTS_MAX", "0")]);
        assert_eq!(request_limit_from_env(&unlimited).unwrap().0, None);
        for (name, bad) in [
            ("MINIO_API_REQUESTS_MAX", "many"),
            ("MINIO_API_REQUESTS_DEADLINE", "soon"),
        ] {
            let error = request_limit_from_env(&env_of(&[(name, bad)])).unwrap_err();
            assert!(error.to_string().contains(name), "{error}");
        }
    }

    #[test]
    fn durations_read_as_minio_flags_write_them() {
        assert_eq!(parse_duration("5s"), Some(Duration::from_secs(5)));
        assert_eq!(parse_duration("5"), Some(Duration::from_secs(5)));
        assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("1m"), Some(Duration::from_secs(60)));
        for bad in ["", "s", "5h", "-1s", "fast"] {
            assert_eq!(parse_duration(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn root_credentials_default_to_minioadmin() {
        let root = resolve_root(None, None, &env_of(&[]));
        assert_eq!(root.user, "minioadmin");
        assert_eq!(root.password, "minioadmin");
        assert_eq!(root.password_source, Source::Default);
    }

    #[test]
    fn minio_root_variables_are_honoured() {
        let env = env_of(&[
            ("MINIO_ROOT_USER", "alice"),
            ("MINIO_ROOT_PASSWORD", "s3cr3t-pw"),
        ]);
        let root = resolve_root(None, None, &env);
        assert_eq!(root.user, "alice");
        assert_eq!(root.password, "s3cr3t-pw");
        assert_eq!(root.password_source, Source::Env("MINIO_ROOT_PASSWORD"));
    }

    #[test]
    fn minnow_variables_win_over_minio_and_flags_win_over_both() {
        let env = env_of(&[
            ("MINIO_ROOT_USER", "minio-user"),
            ("MINNOW_ROOT_USER", "minnow-user"),
            ("MINIO_ROOT_PASSWORD", "minio-password"),
        ]);
        let root = resolve_root(None, Some("flag-password".into()), &env);
        assert_eq!(root.user, "minnow-user");
        assert_eq!(root.user_source, Source::Env("MINNOW_ROOT_USER"));
        assert_eq!(root.password, "flag-password");
        assert_eq!(root.password_source, Source::Flag);
    }

    #[test]
    fn storage_class_sets_parity() {
        assert_eq!(parity_from_env(&env_of(&[])).unwrap(), None);
        let env = env_of(&[("MINIO_STORAGE_CLASS_STANDARD", "EC:1")]);
        assert_eq!(parity_from_env(&env).unwrap(), Some(1));
        let env = env_of(&[("MINIO_STORAGE_CLASS_STANDARD", "RRS")]);
        assert!(parity_from_env(&env).is_err());
    }

    #[test]
    fn drive_timeout_comes_from_env_as_a_duration() {
        assert_eq!(drive_timeout_from_env(&env_of(&[])).unwrap(), None);
        for (text, expected) in [
            ("30s", Some(Duration::from_secs(30))),
            ("2m", Some(Duration::from_secs(120))),
            ("500ms", Some(Duration::from_millis(500))),
            ("7", Some(Duration::from_secs(7))),
            ("0", None),
        ] {
            let env = env_of(&[("MINIO_DRIVE_MAX_TIMEOUT", text)]);
            assert_eq!(
                drive_timeout_from_env(&env).unwrap(),
                Some(expected),
                "{text}"
            );
        }
        for bad in ["", "soon", "-1s", "3d", "1e9"] {
            let env = env_of(&[("MINIO_DRIVE_MAX_TIMEOUT", bad)]);
            assert!(drive_timeout_from_env(&env).is_err(), "{bad}");
        }
    }

    #[test]
    fn heal_tranquility_comes_from_env() {
        assert_eq!(heal_tranquility_from_env(&env_of(&[])).unwrap(), None);
        let env = env_of(&[("MINNOW_HEAL_TRANQUILITY", "3")]);
        assert_eq!(heal_tranquility_from_env(&env).unwrap(), Some(3));
        let env = env_of(&[("MINNOW_HEAL_TRANQUILITY", "0")]);
        assert_eq!(heal_tranquility_from_env(&env).unwrap(), Some(0));
        for bad in ["-1", "101", "fast", ""] {
            let env = env_of(&[("MINNOW_HEAL_TRANQUILITY", bad)]);
            assert!(heal_tranquility_from_env(&env).is_err(), "{bad}");
        }
    }

    #[test]
    fn write_buffer_limit_comes_from_env_in_mib() {
        assert_eq!(write_buffer_limit_from_env(&env_of(&[])).unwrap(), None);
        let env = env_of(&[("MINNOW_WRITE_BUFFER_MIB", "64")]);
        assert_eq!(write_buffer_limit_from_env(&env).unwrap(), Some(64 << 20));
        for bad in ["0", "3", "lots", "-1"] {
            let env = env_of(&[("MINNOW_WRITE_BUFFER_MIB", bad)]);
            assert!(write_buffer_limit_from_env(&env).is_err(), "{bad}");
        }
    }

    #[test]
    fn list_index_bound_comes_from_env_in_mib() {
        assert_eq!(list_index_bytes_from_env(&env_of(&[])).unwrap(), None);
        let env = env_of(&[("MINNOW_LIST_INDEX_MIB", "0")]);
        assert_eq!(list_index_bytes_from_env(&env).unwrap(), Some(0));
        let env = env_of(&[("MINNOW_LIST_INDEX_MIB", "64")]);
        assert_eq!(list_index_bytes_from_env(&env).unwrap(), Some(64 << 20));
        let env = env_of(&[("MINNOW_LIST_INDEX_MIB", "lots")]);
        assert!(list_index_bytes_from_env(&env).is_err());
        assert_eq!(cache_bytes_from_env(&env_of(&[])).unwrap(), None);
        let env = env_of(&[("MINNOW_CACHE_MIB", "0")]);
        assert_eq!(cache_bytes_from_env(&env).unwrap(), Some(0));
        let env = env_of(&[("MINNOW_CACHE_MIB", "16")]);
        assert_eq!(cache_bytes_from_env(&env).unwrap(), Some(16 << 20));
        let env = env_of(&[("MINNOW_CACHE_MIB", "-1")]);
        assert!(cache_bytes_from_env(&env).is_err());
    }

    #[test]
    fn drives_come_from_arguments_then_minio_volumes_then_default() {
        let env = env_of(&[("MINIO_VOLUMES", "/v{1...2}")]);
        let (drives, default) = resolve_drives(&["/a{1...4}".into()], &env).unwrap();
        assert_eq!(drives.len(), 4);
        assert!(!default);
        let (drives, _) = resolve_drives(&[], &env).unwrap();
        assert_eq!(drives, vec![PathBuf::from("/v1"), PathBuf::from("/v2")]);
        let (drives, default) = resolve_drives(&[], &env_of(&[])).unwrap();
        assert!(default);
        assert_eq!(drives[0], PathBuf::from("data/drive1"));
        assert_eq!(drives.len(), 4);
        assert!(resolve_drives(&["/x".into(), "/x".into()], &env_of(&[])).is_err());
    }

    #[test]
    fn region_and_domains_come_from_the_environment() {
        assert_eq!(region_from_env(&env_of(&[])), "us-east-1");
        assert_eq!(
            region_from_env(&env_of(&[("MINIO_REGION", "eu-west-1")])),
            "eu-west-1"
        );
        assert_eq!(
            domains_from_env(&env_of(&[("MINIO_DOMAIN", "s3.example.com, Other.org")])),
            vec!["s3.example.com", "other.org"]
        );
    }

    #[test]
    fn lifecycle_day_comes_from_the_environment_variable() {
        let day =
            |value: &'static str| lifecycle_day_from_env(&env_of(&[(LIFECYCLE_DAY_ENV, value)]));
        assert_eq!(day("1").unwrap(), DayLength::from_secs(1));
        assert!(day("zero").is_err());
        assert_eq!(
            lifecycle_day_from_env(&env_of(&[])).unwrap(),
            DayLength::default()
        );
    }

    #[test]
    fn operator_sets_budget_and_pause_through_the_environment() {
        let day = DayLength::default();
        let config = scanner_config_from_env(
            day,
            &env_of(&[
                (LIFECYCLE_OPS_PER_SEC_ENV, " 150 "),
                (LIFECYCLE_SCAN_PAUSE_ENV, "2.5"),
            ]),
        )
        .unwrap();
        assert_eq!(config.ops_per_sec, 150);
        assert_eq!(config.pause_between_cycles, Duration::from_millis(2500));
        assert_eq!(config.pace_factor, lifecycle::DEFAULT_PACE_FACTOR);

        let config = scanner_config_from_env(
            day,
            &env_of(&[
                (LIFECYCLE_OPS_PER_SEC_ENV, "0"),
                (LIFECYCLE_SCAN_PAUSE_ENV, "30s"),
            ]),
        )
        .unwrap();
        assert_eq!(config.ops_per_sec, 0);
        assert_eq!(config.pause_between_cycles, Duration::from_secs(30));
    }

    #[test]
    fn unset_or_blank_variables_keep_the_defaults() {
        let day = DayLength::from_secs(1);
        let defaults = ScannerConfig::for_day(day);
        assert_eq!(
            scanner_config_from_env(day, &env_of(&[])).unwrap(),
            defaults
        );
        let blank = env_of(&[
            (LIFECYCLE_OPS_PER_SEC_ENV, " "),
            (LIFECYCLE_SCAN_PAUSE_ENV, ""),
        ]);
        assert_eq!(scanner_config_from_env(day, &blank).unwrap(), defaults);
    }

    #[test]
    fn malformed_budget_or_pause_is_refused_with_the_variable_name() {
        for (name, value) in [
            (LIFECYCLE_OPS_PER_SEC_ENV, "-5"),
            (LIFECYCLE_OPS_PER_SEC_ENV, "fast"),
            (LIFECYCLE_OPS_PER_SEC_ENV, "1.5"),
            (LIFECYCLE_SCAN_PAUSE_ENV, "-1"),
            (LIFECYCLE_SCAN_PAUSE_ENV, "1m"),
            (LIFECYCLE_SCAN_PAUSE_ENV, "NaN"),
        ] {
            match scanner_config_from_env(DayLength::default(), &env_of(&[(name, value)])) {
                Err(error) => assert!(error.to_string().contains(name), "{error}"),
                Ok(config) => panic!("{name}={value:?} accepted: {config:?}"),
            }
        }
    }

    #[test]
    fn security_settings_come_from_the_environment_and_bad_ones_are_refused() {
        let defaults = security_settings(ApiConfig::default(), &env_of(&[])).unwrap();
        assert_eq!(defaults.body_idle_timeout, Duration::from_secs(30));
        assert_eq!(defaults.metrics_auth, MetricsAuth::Authenticated);
        let audit = defaults.audit.expect("an audit sink by default");
        assert_eq!(audit.destination(), &AuditDestination::Stderr);
        assert!(!audit.records_all_requests());

        let set = security_settings(
            ApiConfig::default(),
            &env_of(&[
                ("MINNOW_BODY_IDLE_TIMEOUT", "500ms"),
                ("MINIO_PROMETHEUS_AUTH_TYPE", "public"),
                ("MINNOW_AUDIT_LOG_ALL", "on"),
            ]),
        )
        .unwrap();
        assert_eq!(set.body_idle_timeout, Duration::from_millis(500));
        assert_eq!(set.metrics_auth, MetricsAuth::Public);
        assert!(set.audit.unwrap().records_all_requests());

        for bad in [
            &[("MINNOW_BODY_IDLE_TIMEOUT", "0")][..],
            &[("MINIO_PROMETHEUS_AUTH_TYPE", "open")][..],
            &[("MINNOW_AUDIT_LOG", "/nonexistent-dir/audit.log")][..],
        ] {
            let err = security_settings(ApiConfig::default(), &env_of(bad)).unwrap_err();
            assert!(err.to_string().contains(bad[0].0), "{bad:?}: {err}");
        }
    }
}
