//! `minnow du` (bytes and objects under a prefix, per folder down to
//! `--depth`) and `minnow find` (objects by name glob, size and age), like
//! `mc du` and `mc find`. Both read one recursive listing.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use anyhow::{bail, Context as _};
use clap::Args;

use super::{human_size, locate_remote, s3};

#[derive(Debug, Args)]
pub struct DuArgs {
    /// ALIAS/BUCKET[/PREFIX].
    pub target: String,
    /// Also total each folder this many levels below the prefix.
    #[arg(long, short, default_value_t = 0)]
    pub depth: usize,
    /// One JSON object per line.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct FindArgs {
    /// ALIAS/BUCKET[/PREFIX].
    pub target: String,
    /// Object names (the last key segment) matching this glob (`*`, `?`).
    #[arg(long)]
    pub name: Option<String>,
    /// Larger than this size (`10MiB`, `1.5G`, `4096`).
    #[arg(long, value_parser = parse_size)]
    pub larger: Option<u64>,
    /// Smaller than this size.
    #[arg(long, value_parser = parse_size)]
    pub smaller: Option<u64>,
    /// Last modified longer ago than this (`30s`, `10m`, `2h`, `7d`).
    #[arg(long, value_parser = parse_duration)]
    pub older_than: Option<Duration>,
    /// Last modified more recently than this.
    #[arg(long, value_parser = parse_duration)]
    pub newer_than: Option<Duration>,
    /// One JSON object per line.
    #[arg(long)]
    pub json: bool,
}

/// `10`, `10K`, `10KiB`, `1.5MB`, `2G`: binary multiples, as `mc`.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a size such as 10MiB"))?;
    let multiplier: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        "t" | "tb" | "tib" => 1 << 40,
        other => return Err(format!("unknown size unit `{other}`")),
    };
    Ok((number * multiplier as f64) as u64)
}

/// `30s`, `10m`, `2h`, `7d`, `1w`, or combinations such as `1d12h`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let mut total = 0u64;
    let mut number = String::new();
    for c in text.trim().chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let n: u64 = number
            .parse()
            .map_err(|_| format!("`{text}` is not a duration such as 7d or 2h"))?;
        number.clear();
        total += n * match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 604_800,
            _ => return Err(format!("unknown duration unit `{c}` in `{text}`")),
        };
    }
    if !number.is_empty() {
        return Err(format!("`{text}` needs a unit (s, m, h, d, w)"));
    }
    Ok(Duration::from_secs(total))
}

/// Shell-style glob with `*` and `?` over the whole text.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// Folder-like prefix: `a/b` lists `a/b/...`.
fn folder(key: &str) -> String {
    if key.is_empty() || key.ends_with('/') {
        key.to_string()
    } else {
        format!("{key}/")
    }
}

/// Runs `minnow du`.
pub async fn du(args: DuArgs) -> anyhow::Result<()> {
    let remote = locate_remote(&args.target)?;
    if remote.bucket.is_empty() {
        bail!("`{}` names no bucket", args.target);
    }
    let prefix = folder(&remote.key);
    let objects = s3::list_all(&remote.server.client, &remote.bucket, &prefix)
        .await
        .with_context(|| remote.display())?;
    // Folder (relative, up to `depth` segments) -> (bytes, objects).
    let mut totals: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    let mut all = (0u64, 0u64);
    for object in &objects {
        all.0 += object.size;
        all.1 += 1;
        let rel = &object.key[prefix.len()..];
        let segments: Vec<&str> = rel.split('/').collect();
        // The last segment is the object's own name, not a folder.
        for level in 1..=args.depth.min(segments.len().saturating_sub(1)) {
            let entry = totals.entry(segments[..level].join("/") + "/").or_default();
            entry.0 += object.size;
            entry.1 += 1;
        }
    }
    let shown = |rel: &str| remote.with_key(format!("{prefix}{rel}")).display();
    for (rel, (bytes, count)) in &totals {
        print_total(args.json, &shown(rel), *bytes, *count);
    }
    print_total(args.json, &shown(""), all.0, all.1);
    Ok(())
}

fn print_total(json: bool, path: &str, bytes: u64, objects: u64) {
    if json {
        out!(
            "{}",
            serde_json::json!({"prefix": path, "size": bytes, "objects": objects})
        );
    } else {
        out!("{:>9}\t{objects} objects\t{path}", human_size(bytes));
    }
}

/// Runs `minnow find`.
pub async fn find(args: FindArgs) -> anyhow::Result<()> {
    let remote = locate_remote(&args.target)?;
    if remote.bucket.is_empty() {
        bail!("`{}` names no bucket", args.target);
    }
    let prefix = folder(&remote.key);
    let objects = s3::list_all(&remote.server.client, &remote.bucket, &prefix)
        .await
        .with_context(|| remote.display())?;
    let now = SystemTime::now();
    for object in objects {
        let name = object.key.rsplit('/').next().unwrap_or(&object.key);
        if let Some(pattern) = &args.name {
            if !glob_match(pattern, name) {
                continue;
            }
        }
        if args.larger.is_some_and(|l| object.size <= l)
            || args.smaller.is_some_and(|s| object.size >= s)
        {
            continue;
        }
        if args.older_than.is_some() || args.newer_than.is_some() {
            let modified = iso_time(&object.last_modified)
                .with_context(|| format!("{}: unreadable date", object.key))?;
            let age = now.duration_since(modified).unwrap_or_default();
            if args.older_than.is_some_and(|d| age <= d)
                || args.newer_than.is_some_and(|d| age >= d)
            {
                continue;
            }
        }
        let path = remote.with_key(object.key.clone()).display();
        if args.json {
            out!(
                "{}",
                serde_json::json!({"key": path, "size": object.size, "lastModified": object.last_modified})
            );
        } else {
            out!("{path}");
        }
    }
    Ok(())
}

/// ListObjectsV2 and ListMultipartUploads dates (RFC 3339, e.g.
/// `2026-12-05T03:56:29.000Z`) as a time; `None` for anything else.
pub(super) fn iso_time(text: &str) -> Option<SystemTime> {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(SystemTime::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_whole_names() {
        assert!(glob_match("*.jpg", "a.jpg"));
        assert!(!glob_match("*.jpg", "a.jpg.txt"));
        assert!(glob_match("f?.txt", "f1.txt"));
        assert!(glob_match("*a*b*", "xxaYYb"));
        assert!(!glob_match("a", "ab"));
    }

    #[test]
    fn sizes_and_durations_parse_like_mc() {
        assert_eq!(parse_size("10MiB").unwrap(), 10 << 20);
        assert_eq!(parse_size("1.5k").unwrap(), 1536);
        assert_eq!(parse_size("4096").unwrap(), 4096);
        assert!(parse_size("10 parsecs").is_err());
        assert_eq!(parse_duration("1d12h").unwrap().as_secs(), 129_600);
        assert!(parse_duration("7").is_err());
    }

    #[test]
    fn listing_dates_read_as_utc() {
        let t = iso_time("1970-01-02T00:00:01.000Z").unwrap();
        assert_eq!(
            t.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs(),
            86_401
        );
        let t = iso_time("2024-03-01T12:00:00Z").unwrap();
        assert_eq!(
            t.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs(),
            1_709_294_400
        );
        let t = iso_time("2024-03-01T14:00:00.5+02:00").unwrap();
        assert_eq!(
            t.duration_since(SystemTime::UNIX_EPOCH)
                .unwrap()
                .as_millis(),
            1_709_294_400_500
        );
        assert_eq!(iso_time("2024-03-01"), None);
        assert_eq!(iso_time("2024-13-01T00:00:00Z"), None);
    }
}
