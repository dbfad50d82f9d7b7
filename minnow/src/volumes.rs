//! Drive arguments as MinIO takes them: plain paths or ellipsis patterns
//! (`/data{1...4}`, `/mnt/disk{01...16}/data`, `/srv{a...d}/vol{1...2}`),
//! expanded into the ordered drive list. Ranges are decimal (zero-padded
//! when the start is), else hexadecimal like MinIO's, else single letters.

/// More drives than this from one pattern is surely a typo.
const MAX_DRIVES: usize = 4096;

/// Why a drive argument could not be expanded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VolumeError {
    #[error("{0}: unbalanced braces in ellipsis pattern")]
    Unbalanced(String),
    #[error("{arg}: invalid range {{{range}}}")]
    InvalidRange { arg: String, range: String },
    #[error("{0}: expands to more than {MAX_DRIVES} drives")]
    TooMany(String),
    #[error("{0}: remote drives (distributed mode) are not supported; give local folders")]
    Remote(String),
    #[error("empty drive argument")]
    Empty,
}

/// Expands every argument (each may hold patterns), in order.
pub fn expand_all<I, T>(args: I) -> Result<Vec<String>, VolumeError>
where
    I: IntoIterator<Item = T>,
    T: AsRef<str>,
{
    let mut drives = Vec::new();
    for arg in args {
        drives.extend(expand(arg.as_ref())?);
        if drives.len() > MAX_DRIVES {
            return Err(VolumeError::TooMany(arg.as_ref().to_string()));
        }
    }
    Ok(drives)
}

/// `MINIO_VOLUMES`: drive arguments separated by whitespace.
pub fn split_env(value: &str) -> Vec<String> {
    value.split_whitespace().map(str::to_string).collect()
}

/// Expands one argument; the leftmost range varies slowest.
pub fn expand(arg: &str) -> Result<Vec<String>, VolumeError> {
    if arg.trim().is_empty() {
        return Err(VolumeError::Empty);
    }
    if arg.starts_with("http://") || arg.starts_with("https://") {
        return Err(VolumeError::Remote(arg.to_string()));
    }
    let mut results = vec![String::new()];
    let mut rest = arg;
    while let Some(open) = rest.find('{') {
        let close = rest[open..]
            .find('}')
            .map(|i| open + i)
            .ok_or_else(|| VolumeError::Unbalanced(arg.to_string()))?;
        let inner = &rest[open + 1..close];
        if inner.contains('{') {
            return Err(VolumeError::Unbalanced(arg.to_string()));
        }
        let literal = &rest[..open];
        if !inner.contains("...") {
            // Braces without an ellipsis are part of the path, as in MinIO.
            append(&mut results, &[rest[..=close].to_string()]);
            rest = &rest[close + 1..];
            continue;
        }
        append(&mut results, &[literal.to_string()]);
        let range = expand_range(inner).ok_or_else(|| VolumeError::InvalidRange {
            arg: arg.to_string(),
            range: inner.to_string(),
        })?;
        if results.len().saturating_mul(range.len()) > MAX_DRIVES {
            return Err(VolumeError::TooMany(arg.to_string()));
        }
        append(&mut results, &range);
        rest = &rest[close + 1..];
    }
    if rest.contains('}') {
        return Err(VolumeError::Unbalanced(arg.to_string()));
    }
    append(&mut results, &[rest.to_string()]);
    Ok(results)
}

/// Every prefix followed by every suffix (prefix-major order).
fn append(prefixes: &mut Vec<String>, suffixes: &[String]) {
    *prefixes = prefixes
        .iter()
        .flat_map(|prefix| {
            suffixes
                .iter()
                .map(move |suffix| format!("{prefix}{suffix}"))
        })
        .collect();
}

fn expand_range(inner: &str) -> Option<Vec<String>> {
    let (start, end) = inner.split_once("...")?;
    if start.is_empty() || end.is_empty() || end.contains("...") {
        return None;
    }
    let padded_width = if start.len() > 1 && start.starts_with('0') {
        start.len()
    } else {
        0
    };
    if let (Ok(first), Ok(last)) = (start.parse::<u64>(), end.parse::<u64>()) {
        return numeric(first, last, |n| format!("{n:0padded_width$}"));
    }
    if let (Ok(first), Ok(last)) = (u64::from_str_radix(start, 16), u64::from_str_radix(end, 16)) {
        return numeric(first, last, |n| format!("{n:0padded_width$x}"));
    }
    let (mut s, mut e) = (start.chars(), end.chars());
    if let (Some(first), None, Some(last), None) = (s.next(), s.next(), e.next(), e.next()) {
        let same_case = (first.is_ascii_lowercase() && last.is_ascii_lowercase())
            || (first.is_ascii_uppercase() && last.is_ascii_uppercase());
        if same_case && first <= last {
            return Some((first..=last).map(String::from).collect());
        }
    }
    None
}

fn numeric(first: u64, last: u64, render: impl Fn(u64) -> String) -> Option<Vec<String>> {
    if first > last || last - first >= MAX_DRIVES as u64 {
        return None;
    }
    Some((first..=last).map(render).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_path_is_itself() {
        assert_eq!(expand("/data").unwrap(), vec!["/data"]);
    }

    #[test]
    fn numeric_range_expands_in_order() {
        assert_eq!(
            expand("/data{1...4}").unwrap(),
            vec!["/data1", "/data2", "/data3", "/data4"]
        );
    }

    #[test]
    fn zero_padded_range_keeps_its_width() {
        let drives = expand("/mnt/disk{01...12}/data").unwrap();
        assert_eq!(drives.len(), 12);
        assert_eq!(drives[0], "/mnt/disk01/data");
        assert_eq!(drives[11], "/mnt/disk12/data");
    }

    #[test]
    fn letter_and_hex_ranges_expand() {
        assert_eq!(
            expand("/srv/{a...d}").unwrap(),
            vec!["/srv/a", "/srv/b", "/srv/c", "/srv/d"]
        );
        assert_eq!(
            expand("/x{8...b}").unwrap(),
            vec!["/x8", "/x9", "/xa", "/xb"]
        );
        assert_eq!(
            expand("/x{w...z}").unwrap(),
            vec!["/xw", "/xx", "/xy", "/xz"]
        );
    }

    #[test]
    fn multiple_ranges_form_a_product_leftmost_slowest() {
        assert_eq!(
            expand("/mnt{1...2}/disk{a...b}").unwrap(),
            vec!["/mnt1/diska", "/mnt1/diskb", "/mnt2/diska", "/mnt2/diskb"]
        );
    }

    #[test]
    fn several_arguments_concatenate() {
        assert_eq!(
            expand_all(["/a{1...2}", "/b"]).unwrap(),
            vec!["/a1", "/a2", "/b"]
        );
    }

    #[test]
    fn braces_without_ellipsis_are_literal() {
        assert_eq!(expand("/data{x}/d").unwrap(), vec!["/data{x}/d"]);
    }

    #[test]
    fn bad_patterns_are_refused() {
        assert!(matches!(
            expand("/data{1...4"),
            Err(VolumeError::Unbalanced(_))
        ));
        assert!(matches!(
            expand("/data1...4}"),
            Err(VolumeError::Unbalanced(_))
        ));
        assert!(matches!(
            expand("/data{4...1}"),
            Err(VolumeError::InvalidRange { .. })
        ));
        assert!(matches!(
            expand("/data{1...}"),
            Err(VolumeError::InvalidRange { .. })
        ));
        assert!(matches!(
            expand("/data{a...Z}"),
            Err(VolumeError::InvalidRange { .. })
        ));
        assert!(matches!(
            expand("/d{1...100000}"),
            Err(VolumeError::InvalidRange { .. })
        ));
        assert!(matches!(
            expand("/d{1...100}/e{1...100}"),
            Err(VolumeError::TooMany(_))
        ));
        assert!(matches!(
            expand("http://host{1...4}/data"),
            Err(VolumeError::Remote(_))
        ));
        assert_eq!(expand(""), Err(VolumeError::Empty));
    }

    #[test]
    fn minio_volumes_splits_on_whitespace() {
        assert_eq!(
            split_env(" /data{1...2}  /extra\n"),
            vec!["/data{1...2}", "/extra"]
        );
    }
}
