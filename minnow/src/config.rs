//! The binary's configuration wiring: every flag fallback and environment
//! variable minnow reads (MinIO's `MINIO_*` names honoured beside `MINNOW_*`)
//! is resolved here into plain values for the libraries, which never read
//! the environment themselves. Each resolver takes the environment as a
//! function so tests can pass a map instead of mutating the process.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{anyhow, bail};
use lifecycle::{DayLength, ScannerConfig};
use s3_api::iam::RootCredentials;

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

/// Reads a non-empty environment variable.
pub(crate) fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
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

/// Flag, else MINNOW_*, else MINIO_*, else `minioadmin`.
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
        &["MINNOW_ROOT_USER", "MINIO_ROOT_USER"],
        DEFAULT_ROOT_USER,
    );
    let (password, password_source) = pick(
        flag_password,
        &["MINNOW_ROOT_PASSWORD", "MINIO_ROOT_PASSWORD"],
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

/// `MINNOW_WRITE_BUFFER_MIB=N`: the memory all uploads together may hold.
pub(crate) fn write_buffer_limit_from_env(
    env: &dyn Fn(&str) -> Option<String>,
) -> anyhow::Result<Option<usize>> {
    let Some(value) = env("MINNOW_WRITE_BUFFER_MIB") else {
        return Ok(None);
    };
    match value.trim().parse::<usize>() {
        Ok(mib) if (4..=1 << 20).contains(&mib) => Ok(Some(mib << 20)),
        _ => Err(anyhow!(
            "MINNOW_WRITE_BUFFER_MIB={value:?}: expected a number of MiB from 4 to 1048576"
        )),
    }
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

#[cfg(test)]
mod tests {
    use super::*;
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
}
