//! Human-readable tables and the JSON results file.

use std::path::Path;

use serde::Serialize;

use crate::load::RunResult;
use crate::sizes::format_size;

/// Other programs using more than this many cores make a cell's ratio suspect.
pub const NOISY_OTHER_CORES: f64 = 0.5;

/// Prints one run as a small table: totals, then one line per op kind.
pub fn print_run(r: &RunResult) {
    println!(
        "{} {} {} c={}: {:.1} MiB/s, {:.1} ops/s over {:.2}s ({} ok, {} errors)",
        r.target,
        r.mode.name(),
        r.size,
        r.concurrency,
        r.mib_per_s,
        r.ops_per_s,
        r.wall_secs,
        r.ok_ops,
        r.errors
    );
    println!(
        "  {:<10} {:>9} {:>7} {:>10} {:>10} {:>9} {:>9} {:>9} {:>9}",
        "op", "ok", "errors", "MiB/s", "ops/s", "p50 ms", "p90 ms", "p99 ms", "max ms"
    );
    for o in &r.ops {
        println!(
            "  {:<10} {:>9} {:>7} {:>10.1} {:>10.1} {:>9.2} {:>9.2} {:>9.2} {:>9.2}",
            o.op, o.ok, o.errors, o.mib_per_s, o.ops_per_s, o.p50_ms, o.p90_ms, o.p99_ms, o.max_ms
        );
        if o.items > 0 {
            println!(
                "  {:<10} {:.0} keys listed/s",
                "",
                o.items as f64 / r.wall_secs
            );
        }
    }
    for (code, n) in &r.error_codes {
        println!("  error {code}: {n}");
    }
    let mut cpu = format!(
        "  client CPU {:.2}s = {:.2} cores of wall {:.2}s",
        r.client_cpu_secs, r.client_cpu_cores, r.wall_secs
    );
    if let (Some(s), Some(c)) = (r.server_cpu_secs, r.server_cpu_cores) {
        cpu.push_str(&format!("; server CPU {s:.2}s = {c:.2} cores"));
    }
    if let Some(rss) = r.server_peak_rss_bytes {
        cpu.push_str(&format!("; server peak RSS {}", format_mib(rss)));
    }
    if let Some(o) = r.other_cpu_cores {
        if r.server_cpu_secs.is_some() {
            cpu.push_str(&format!("; other programs {o:.2} cores"));
        } else {
            // No server pid given: a local server counts as "the rest".
            cpu.push_str(&format!("; rest of the machine {o:.2} cores"));
        }
    }
    println!("{cpu}");
}

pub fn format_mib(bytes: u64) -> String {
    format!("{:.0} MiB", bytes as f64 / (1 << 20) as f64)
}

/// The figure a cell is judged by: MiB/s for objects ≥ 1 MiB, ops/s below.
pub fn headline(r: &RunResult) -> (f64, &'static str) {
    if r.size_bytes >= 1 << 20 {
        (r.mib_per_s, "MiB/s")
    } else {
        (r.ops_per_s, "ops/s")
    }
}

/// Writes any serializable results as pretty JSON, creating parent folders.
pub fn write_json(path: &Path, value: &impl Serialize) -> std::io::Result<()> {
    if let Some(parent) = path.parent() {
        if !parent.as_os_str().is_empty() {
            std::fs::create_dir_all(parent)?;
        }
    }
    let text = serde_json::to_string_pretty(value).map_err(std::io::Error::other)?;
    std::fs::write(path, text)
}

/// A run next to its baseline run.
#[derive(Debug, Clone, Serialize)]
pub struct Compared {
    pub run: RunResult,
    pub baseline: Option<RunResult>,
    /// `run / baseline` of the headline figure (MiB/s or ops/s).
    pub ratio: Option<f64>,
}

impl Compared {
    pub fn new(run: RunResult, baseline: Option<RunResult>) -> Self {
        let ratio = baseline.as_ref().and_then(|b| {
            let (base, _) = headline(b);
            (base > 0.0).then(|| headline(&run).0 / base)
        });
        Self {
            run,
            baseline,
            ratio,
        }
    }
}

/// The matrix summary: one row per (size, concurrency, mode).
pub fn print_summary(rows: &[Compared]) {
    println!();
    println!(
        "{:<8} {:>3} {:<6} {:>11} {:>11} {:>12} {:>7} {:>8} {:>8} {:>6} {:>6} {:>8} {:>7} {:>6}",
        "size",
        "c",
        "mode",
        "measured",
        "baseline",
        "(which)",
        "ratio",
        "p50 ms",
        "p99 ms",
        "cliCPU",
        "srvCPU",
        "srvRSS",
        "errors",
        "othCPU"
    );
    for c in rows {
        let r = &c.run;
        let (value, unit) = headline(r);
        let base = c
            .baseline
            .as_ref()
            .map(|b| format!("{:.1}", headline(b).0))
            .unwrap_or_else(|| "-".into());
        let which = c
            .baseline
            .as_ref()
            .map(|b| b.target.clone())
            .unwrap_or_else(|| "-".into());
        let ratio = c
            .ratio
            .map(|x| format!("{x:.2}x"))
            .unwrap_or_else(|| "-".into());
        let (p50, p99) = match r.main_op() {
            Some(o) => (o.p50_ms, o.p99_ms),
            None => r
                .ops
                .iter()
                .find(|o| o.op == "GET")
                .map(|o| (o.p50_ms, o.p99_ms))
                .unwrap_or((0.0, 0.0)),
        };
        let other = [Some(r), c.baseline.as_ref()]
            .into_iter()
            .flatten()
            .filter_map(|x| x.other_cpu_cores)
            .fold(None, |m: Option<f64>, x| Some(m.map_or(x, |m| m.max(x))));
        let noisy = other.is_some_and(|o| o > NOISY_OTHER_CORES);
        println!(
            "{:<8} {:>3} {:<6} {:>11} {:>11} {:>12} {:>7} {:>8.2} {:>8.2} {:>6.2} {:>6} {:>8} {:>7} {:>6}",
            format_size(r.size_bytes).replace(' ', ""),
            r.concurrency,
            r.mode.name(),
            format!("{value:.1} {}", if unit == "MiB/s" { "M/s" } else { "op/s" }),
            base,
            which,
            ratio,
            p50,
            p99,
            r.client_cpu_cores,
            r.server_cpu_cores
                .map(|x| format!("{x:.2}"))
                .unwrap_or_else(|| "-".into()),
            r.server_peak_rss_bytes
                .map(format_mib)
                .unwrap_or_else(|| "-".into()),
            r.errors,
            other
                .map(|o| format!("{o:.2}{}", if noisy { "!" } else { "" }))
                .unwrap_or_else(|| "-".into())
        );
    }
    println!(
        "(M/s = MiB/s; cliCPU/srvCPU = cores busy on average; srvRSS = peak server VmRSS in the cell;"
    );
    println!(
        " othCPU = cores other programs used during the cell or its baseline, whichever is more; '!' = over {NOISY_OTHER_CORES} cores: distrust that ratio)"
    );
}
