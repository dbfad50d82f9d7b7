//! Server metrics in Prometheus text format: requests by operation and
//! status, bytes in and out, a latency histogram per operation, drive state,
//! and counters other parts report (heal, lifecycle).
//!
//! Counters are lock-free on the hot path except the first sighting of an
//! (operation, status) pair, which takes a write lock once.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::RwLock;
use std::time::Duration;

/// Upper bounds of the latency buckets, in seconds.
const LATENCY_BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

#[derive(Default)]
struct Histogram {
    buckets: [AtomicU64; LATENCY_BUCKETS.len()],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

impl Histogram {
    fn observe(&self, d: Duration) {
        let secs = d.as_secs_f64();
        for (i, le) in LATENCY_BUCKETS.iter().enumerate() {
            if secs <= *le {
                self.buckets[i].fetch_add(1, Ordering::Relaxed);
            }
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_micros
            .fetch_add(d.as_micros() as u64, Ordering::Relaxed);
    }
}

/// A named gauge or counter reported by another component at render time.
#[derive(Debug, Clone, PartialEq)]
pub struct ExternalSample {
    pub name: String,
    pub help: String,
    /// `counter` or `gauge`.
    pub kind: &'static str,
    pub labels: Vec<(String, String)>,
    pub value: f64,
}

/// Request metrics of the whole server.
#[derive(Default)]
pub struct Metrics {
    requests: RwLock<BTreeMap<(String, u16), AtomicU64>>,
    latency: RwLock<BTreeMap<String, Histogram>>,
    bytes_in: AtomicU64,
    bytes_out: AtomicU64,
}

impl Metrics {
    /// Records one finished request.
    pub fn record(&self, operation: &str, status: u16, elapsed: Duration) {
        let key = (operation.to_string(), status);
        {
            let map = self.requests.read().expect("metrics lock");
            if let Some(c) = map.get(&key) {
                c.fetch_add(1, Ordering::Relaxed);
            } else {
                drop(map);
                self.requests
                    .write()
                    .expect("metrics lock")
                    .entry(key)
                    .or_default()
                    .fetch_add(1, Ordering::Relaxed);
            }
        }
        let map = self.latency.read().expect("metrics lock");
        if let Some(h) = map.get(operation) {
            h.observe(elapsed);
        } else {
            drop(map);
            self.latency
                .write()
                .expect("metrics lock")
                .entry(operation.to_string())
                .or_default()
                .observe(elapsed);
        }
    }

    /// Adds request body bytes received.
    pub fn add_bytes_in(&self, n: u64) {
        self.bytes_in.fetch_add(n, Ordering::Relaxed);
    }

    /// Adds response body bytes sent.
    pub fn add_bytes_out(&self, n: u64) {
        self.bytes_out.fetch_add(n, Ordering::Relaxed);
    }

    /// Total requests recorded (all operations and statuses).
    pub fn total_requests(&self) -> u64 {
        self.requests
            .read()
            .expect("metrics lock")
            .values()
            .map(|c| c.load(Ordering::Relaxed))
            .sum()
    }

    /// Renders everything, plus `external` samples, as Prometheus text.
    pub fn render(&self, external: &[ExternalSample]) -> String {
        let mut out = String::new();
        out.push_str("# HELP minnow_requests_total S3 requests by operation and status.\n");
        out.push_str("# TYPE minnow_requests_total counter\n");
        for ((op, status), c) in self.requests.read().expect("metrics lock").iter() {
            let _ = writeln!(
                out,
                "minnow_requests_total{{operation=\"{}\",status=\"{status}\"}} {}",
                escape(op),
                c.load(Ordering::Relaxed)
            );
        }
        out.push_str("# HELP minnow_request_duration_seconds S3 request latency.\n");
        out.push_str("# TYPE minnow_request_duration_seconds histogram\n");
        for (op, h) in self.latency.read().expect("metrics lock").iter() {
            let op = escape(op);
            for (i, le) in LATENCY_BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "minnow_request_duration_seconds_bucket{{operation=\"{op}\",le=\"{le}\"}} {}",
                    h.buckets[i].load(Ordering::Relaxed)
                );
            }
            let count = h.count.load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "minnow_request_duration_seconds_bucket{{operation=\"{op}\",le=\"+Inf\"}} {count}"
            );
            let _ = writeln!(
                out,
                "minnow_request_duration_seconds_sum{{operation=\"{op}\"}} {}",
                h.sum_micros.load(Ordering::Relaxed) as f64 / 1e6
            );
            let _ = writeln!(
                out,
                "minnow_request_duration_seconds_count{{operation=\"{op}\"}} {count}"
            );
        }
        out.push_str("# HELP minnow_rx_bytes_total Request body bytes received.\n");
        out.push_str("# TYPE minnow_rx_bytes_total counter\n");
        let _ = writeln!(
            out,
            "minnow_rx_bytes_total {}",
            self.bytes_in.load(Ordering::Relaxed)
        );
        out.push_str("# HELP minnow_tx_bytes_total Response body bytes sent.\n");
        out.push_str("# TYPE minnow_tx_bytes_total counter\n");
        let _ = writeln!(
            out,
            "minnow_tx_bytes_total {}",
            self.bytes_out.load(Ordering::Relaxed)
        );
        let mut seen = std::collections::HashSet::new();
        for s in external {
            if seen.insert(s.name.clone()) {
                let _ = writeln!(out, "# HELP {} {}", s.name, s.help);
                let _ = writeln!(out, "# TYPE {} {}", s.name, s.kind);
            }
            let labels = if s.labels.is_empty() {
                String::new()
            } else {
                let inner: Vec<String> = s
                    .labels
                    .iter()
                    .map(|(k, v)| format!("{k}=\"{}\"", escape(v)))
                    .collect();
                format!("{{{}}}", inner.join(","))
            };
            let _ = writeln!(out, "{}{} {}", s.name, labels, s.value);
        }
        out
    }
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_histograms_as_prometheus_text() {
        let m = Metrics::default();
        m.record("GetObject", 200, Duration::from_millis(3));
        m.record("GetObject", 200, Duration::from_millis(30));
        m.record("PutObject", 403, Duration::from_micros(200));
        m.add_bytes_in(10);
        m.add_bytes_out(20);
        let text = m.render(&[ExternalSample {
            name: "minnow_drive_online".into(),
            help: "1 when the drive is online.".into(),
            kind: "gauge",
            labels: vec![("drive".into(), "/d1".into())],
            value: 1.0,
        }]);
        assert!(text.contains("minnow_requests_total{operation=\"GetObject\",status=\"200\"} 2"));
        assert!(text.contains("minnow_requests_total{operation=\"PutObject\",status=\"403\"} 1"));
        assert!(text.contains(
            "minnow_request_duration_seconds_bucket{operation=\"GetObject\",le=\"0.005\"} 1"
        ));
        assert!(text.contains(
            "minnow_request_duration_seconds_bucket{operation=\"GetObject\",le=\"+Inf\"} 2"
        ));
        assert!(text.contains("minnow_rx_bytes_total 10"));
        assert!(text.contains("minnow_drive_online{drive=\"/d1\"} 1"));
        assert_eq!(m.total_requests(), 3);
        // Every non-comment line is `name{labels} value` with a numeric value.
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let value = line.rsplit(' ').next().unwrap();
            assert!(value.parse::<f64>().is_ok(), "bad sample line: {line}");
        }
    }
}
