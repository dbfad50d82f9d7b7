//! How the scanner paces itself so expiry work never crowds out client
//! requests: a token bucket for its operations-per-second budget, and a
//! [`Pacer`] that rests in proportion to what each expensive store call cost
//! (a slow delete means a busy machine, so the scanner backs off further).

use std::time::Duration;

use tokio::time::Instant;

/// Hands out one token per operation at `rate` per second, with a burst of a
/// tenth of a second's worth (at least one), so work is spread evenly.
#[derive(Debug)]
pub(crate) struct TokenBucket {
    /// Tokens per second; `None` means unthrottled.
    rate: Option<f64>,
    capacity: f64,
    tokens: f64,
    refilled_at: Instant,
}

impl TokenBucket {
    /// `ops_per_sec == 0` disables throttling.
    pub fn new(ops_per_sec: u32) -> Self {
        let rate = (ops_per_sec > 0).then_some(f64::from(ops_per_sec));
        let capacity = (f64::from(ops_per_sec) / 10.0).max(1.0);
        Self {
            rate,
            capacity,
            tokens: capacity,
            refilled_at: Instant::now(),
        }
    }

    /// Waits until one token is available and takes it.
    ///
    /// # Cancel safety
    /// Cancel safe: a cancelled wait takes no token.
    pub async fn acquire(&mut self) {
        let Some(rate) = self.rate else {
            return;
        };
        self.refill(rate);
        if self.tokens < 1.0 {
            let wait = (1.0 - self.tokens) / rate;
            tokio::time::sleep(Duration::from_secs_f64(wait)).await;
            self.refill(rate);
        }
        // Sleep granularity can leave us a hair short; the debt is repaid by
        // the next refill, keeping the long-run rate exact.
        self.tokens -= 1.0;
    }

    fn refill(&mut self, rate: f64) {
        let now = Instant::now();
        let elapsed = now.duration_since(self.refilled_at).as_secs_f64();
        self.refilled_at = now;
        self.tokens = (self.tokens + elapsed * rate).min(self.capacity);
    }
}

/// Rests `factor` times as long as an expensive step took (capped), so the
/// scanner's share of the drives and CPU stays at most `1 / (1 + factor)` of
/// its wall time whatever the step costs, and shrinks as the machine slows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Pacer {
    factor: u32,
    max_pause: Duration,
}

impl Pacer {
    /// `factor == 0` turns pacing off.
    pub fn new(factor: u32, max_pause: Duration) -> Self {
        Self { factor, max_pause }
    }

    /// The rest owed after a step that took `took`.
    pub fn pause_after(&self, took: Duration) -> Duration {
        if self.factor == 0 {
            return Duration::ZERO;
        }
        took.saturating_mul(self.factor).min(self.max_pause)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pacer_rests_factor_times_the_step_up_to_the_cap() {
        let pacer = Pacer::new(3, Duration::from_millis(500));
        assert_eq!(
            pacer.pause_after(Duration::from_millis(4)),
            Duration::from_millis(12)
        );
        assert_eq!(
            pacer.pause_after(Duration::from_micros(250)),
            Duration::from_micros(750)
        );
        assert_eq!(pacer.pause_after(Duration::ZERO), Duration::ZERO);
        // A stalled step (e.g. a 2 s fsync) rests only the cap.
        assert_eq!(
            pacer.pause_after(Duration::from_secs(2)),
            Duration::from_millis(500)
        );
        assert_eq!(pacer.pause_after(Duration::MAX), Duration::from_millis(500));
    }

    #[test]
    fn pacer_with_factor_zero_never_rests() {
        let pacer = Pacer::new(0, Duration::from_secs(1));
        assert_eq!(pacer.pause_after(Duration::from_secs(5)), Duration::ZERO);
    }

    #[tokio::test]
    async fn budget_of_200_ops_per_sec_spreads_60_ops_over_about_a_quarter_second() {
        let mut bucket = TokenBucket::new(200);
        let start = std::time::Instant::now();
        for _ in 0..60 {
            bucket.acquire().await;
        }
        let elapsed = start.elapsed();
        // 20 tokens of burst, 40 more at 200/s = 0.2 s.
        assert!(elapsed >= Duration::from_millis(180), "{elapsed:?}");
        assert!(elapsed < Duration::from_secs(2), "{elapsed:?}");
    }

    #[tokio::test]
    async fn zero_budget_means_unthrottled() {
        let mut bucket = TokenBucket::new(0);
        let start = std::time::Instant::now();
        for _ in 0..100_000 {
            bucket.acquire().await;
        }
        assert!(start.elapsed() < Duration::from_secs(1));
    }
}
