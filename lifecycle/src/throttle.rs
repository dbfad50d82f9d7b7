//! A token bucket that keeps the scanner under its operations-per-second
//! budget, so expiry work never crowds out client requests.

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

#[cfg(test)]
mod tests {
    use super::*;

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
