//! Object sizes: parsing `4KiB`-style sizes and weighted size distributions,
//! and printing sizes the way humans read them.

use rand::Rng;

/// Parses `4096`, `4k`, `4KiB`, `4KB`, `1MiB`, `64m`, `1GiB`. Units are binary
/// (KB and KiB both mean 1024), as warp and mc do.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let value: f64 = num
        .parse()
        .map_err(|_| format!("invalid size {text:?}: expected e.g. 4KiB, 1MiB, 64MiB"))?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        other => return Err(format!("invalid size unit {other:?} in {text:?}")),
    };
    Ok((value * mult as f64).round() as u64)
}

/// `4096` → `4 KiB`, `67108864` → `64 MiB`, `1500` → `1500 B`.
pub fn format_size(bytes: u64) -> String {
    const UNITS: [(u64, &str); 3] = [(1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")];
    for (mult, name) in UNITS {
        if bytes >= mult && bytes & (mult - 1) == 0 {
            return format!("{} {name}", bytes / mult);
        }
    }
    for (mult, name) in UNITS {
        if bytes >= mult {
            return format!("{:.1} {name}", bytes as f64 / mult as f64);
        }
    }
    format!("{bytes} B")
}

/// A weighted set of object sizes: `4KiB` (fixed) or `4KiB:70,1MiB:25,64MiB:5`.
#[derive(Debug, Clone, PartialEq)]
pub struct SizeSpec {
    choices: Vec<(u64, u32)>,
    total_weight: u32,
}

impl SizeSpec {
    pub fn fixed(size: u64) -> Self {
        Self {
            choices: vec![(size, 1)],
            total_weight: 1,
        }
    }

    pub fn parse(text: &str) -> Result<Self, String> {
        let mut choices = Vec::new();
        for item in text.split(',').filter(|s| !s.trim().is_empty()) {
            let (size, weight) = match item.split_once(':') {
                Some((s, w)) => (
                    parse_size(s)?,
                    w.trim()
                        .parse::<u32>()
                        .map_err(|_| format!("invalid weight in {item:?}"))?,
                ),
                None => (parse_size(item)?, 1),
            };
            if weight > 0 {
                choices.push((size, weight));
            }
        }
        if choices.is_empty() {
            return Err(format!("no sizes in {text:?}"));
        }
        let total_weight = choices.iter().map(|c| c.1).sum();
        Ok(Self {
            choices,
            total_weight,
        })
    }

    pub fn sample(&self, rng: &mut impl Rng) -> u64 {
        if self.choices.len() == 1 {
            return self.choices[0].0;
        }
        let mut pick = rng.gen_range(0..self.total_weight);
        for &(size, weight) in &self.choices {
            if pick < weight {
                return size;
            }
            pick -= weight;
        }
        self.choices[self.choices.len() - 1].0
    }

    pub fn max(&self) -> u64 {
        self.choices.iter().map(|c| c.0).max().unwrap_or(0)
    }

    /// Weighted mean size, for sizing preparation pools.
    pub fn mean(&self) -> f64 {
        self.choices
            .iter()
            .map(|&(s, w)| s as f64 * w as f64)
            .sum::<f64>()
            / self.total_weight as f64
    }

    pub fn label(&self) -> String {
        if self.choices.len() == 1 {
            return format_size(self.choices[0].0);
        }
        self.choices
            .iter()
            .map(|&(s, w)| format!("{}:{w}", format_size(s).replace(' ', "")))
            .collect::<Vec<_>>()
            .join(",")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_binary_units() {
        assert_eq!(parse_size("4KiB"), Ok(4096));
        assert_eq!(parse_size("4k"), Ok(4096));
        assert_eq!(parse_size("64MiB"), Ok(64 << 20));
        assert_eq!(parse_size("1GiB"), Ok(1 << 30));
        assert_eq!(parse_size("1000"), Ok(1000));
        assert!(parse_size("4XB").is_err());
    }

    #[test]
    fn sizes_print_back_readably() {
        assert_eq!(format_size(4096), "4 KiB");
        assert_eq!(format_size(64 << 20), "64 MiB");
        assert_eq!(format_size(1500), "1.5 KiB");
        assert_eq!(format_size(100), "100 B");
    }

    #[test]
    fn distribution_samples_only_listed_sizes() {
        let spec = SizeSpec::parse("4KiB:70,1MiB:30").unwrap();
        let mut rng = rand::thread_rng();
        for _ in 0..1000 {
            let s = spec.sample(&mut rng);
            assert!(s == 4096 || s == 1 << 20);
        }
        assert_eq!(spec.max(), 1 << 20);
        assert_eq!(spec.label(), "4KiB:70,1MiB:30");
    }
}
