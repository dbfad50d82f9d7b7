//! What the scanner learned in its last cycle, for people: when the cycle
//! ran, and per bucket and rule which objects fall due next. Built while
//! the objects are examined anyway (no extra listing), in bounded memory:
//! the soonest [`SOONEST_PER_RULE`] objects and a count per coming midnight
//! for [`FORECAST_DAYS`] midnights, per rule.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::eval::DayLength;

/// Objects listed by name per rule (the soonest due).
pub const SOONEST_PER_RULE: usize = 5;
/// Coming midnights counted per rule; later expiries are only summed. Eight,
/// so that objects written today under a 7-day rule (due at the eighth
/// midnight from now, S3 rounds up) are counted by day.
pub const FORECAST_DAYS: usize = 8;

/// The scanner's last completed cycle and what it foresaw.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScannerReport {
    /// When the last completed cycle started and ended (`None` before one
    /// finished in this process).
    pub last_cycle: Option<CycleTimes>,
    /// Per bucket and rule, in bucket then rule order: objects not yet due
    /// as of the last cycle. Rules that matched no pending object are absent.
    pub rules: Vec<RuleForecast>,
}

/// When a cycle ran (by the scanner's clock).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CycleTimes {
    /// Start of the pass (of the part this process ran, for a resumed one).
    pub started: SystemTime,
    /// End of the pass.
    pub ended: SystemTime,
    /// Wall time it took.
    pub duration: Duration,
}

/// The coming expiries of one rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleForecast {
    /// The bucket.
    pub bucket: String,
    /// The rule ID that expires these objects.
    pub rule_id: String,
    /// The soonest due, soonest first (at most [`SOONEST_PER_RULE`]).
    pub soonest: Vec<UpcomingExpiry>,
    /// For each of the next [`FORECAST_DAYS`] day boundaries ("midnight"
    /// UTC), how many objects fall due at it (since the one before).
    pub per_day: Vec<DayCount>,
    /// Objects due after the last day counted.
    pub later: u64,
    /// All objects this rule will expire (the per-day counts plus `later`).
    pub objects: u64,
}

/// One object and when it expires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpcomingExpiry {
    /// The object key.
    pub key: String,
    /// When the rule expires it.
    pub at: SystemTime,
}

/// Objects falling due at one day boundary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayCount {
    /// The boundary (midnight UTC of a real day).
    pub due_by: SystemTime,
    /// Objects expiring after the previous boundary and by this one.
    pub objects: u64,
}

#[derive(Debug, Default)]
struct RuleTally {
    soonest: Vec<UpcomingExpiry>,
    per_day: [u64; FORECAST_DAYS],
    later: u64,
}

/// The forecast being built during one cycle.
#[derive(Debug)]
pub(crate) struct Forecast {
    day: DayLength,
    /// Index (in days since the epoch) of the first boundary after the
    /// cycle started.
    first_boundary: u64,
    rules: BTreeMap<(String, String), RuleTally>,
}

impl Forecast {
    pub(crate) fn new(now: SystemTime, day: DayLength) -> Self {
        let secs = now
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        Self {
            day,
            first_boundary: secs / day.as_secs() + 1,
            rules: BTreeMap::new(),
        }
    }

    /// Counts an object that `rule_id` will expire at `at` (in the future).
    pub(crate) fn add(&mut self, bucket: &str, rule_id: &str, key: &str, at: SystemTime) {
        let tally = self
            .rules
            .entry((bucket.to_string(), rule_id.to_string()))
            .or_default();
        let secs = at
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        // The boundary at or after `at` (a Days rule's expiry is one already).
        let boundary = secs.div_ceil(self.day.as_secs());
        match boundary
            .checked_sub(self.first_boundary)
            .and_then(|i| usize::try_from(i).ok())
        {
            Some(i) if i < FORECAST_DAYS => tally.per_day[i] += 1,
            Some(_) => tally.later += 1,
            // Before the first boundary: due before the next midnight.
            None => tally.per_day[0] += 1,
        }
        let keeps = tally.soonest.len() < SOONEST_PER_RULE
            || tally
                .soonest
                .last()
                .is_some_and(|last| (at, key) < (last.at, last.key.as_str()));
        if keeps {
            tally.soonest.push(UpcomingExpiry {
                key: key.to_string(),
                at,
            });
            tally
                .soonest
                .sort_by(|a, b| (a.at, &a.key).cmp(&(b.at, &b.key)));
            tally.soonest.truncate(SOONEST_PER_RULE);
        }
    }

    pub(crate) fn finish(self) -> Vec<RuleForecast> {
        let day = self.day.as_secs();
        let first = self.first_boundary;
        self.rules
            .into_iter()
            .map(|((bucket, rule_id), tally)| {
                let per_day: Vec<DayCount> = (0..FORECAST_DAYS)
                    .map(|i| DayCount {
                        due_by: UNIX_EPOCH
                            + Duration::from_secs((first + i as u64).saturating_mul(day)),
                        objects: tally.per_day[i],
                    })
                    .collect();
                let objects = tally.per_day.iter().sum::<u64>() + tally.later;
                RuleForecast {
                    bucket,
                    rule_id,
                    soonest: tally.soonest,
                    per_day,
                    later: tally.later,
                    objects,
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: u64 = 86_400;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn counts_per_coming_midnight_and_keeps_only_the_soonest_five() {
        // Cycle at day 100, 10:00; first boundary is day 101 00:00.
        let mut forecast = Forecast::new(at(100 * DAY + 36_000), DayLength::default());
        for i in 0..10u64 {
            // Two objects per boundary, days 101..=105, added latest first.
            let boundary = 105 - i / 2;
            forecast.add("b", "temp", &format!("k{i}"), at(boundary * DAY));
        }
        forecast.add("b", "temp", "far", at(200 * DAY));
        forecast.add("b", "other", "x", at(108 * DAY));
        let rules = forecast.finish();
        assert_eq!(rules.len(), 2, "one forecast per rule: {rules:?}");
        let other = &rules[0];
        assert_eq!((other.rule_id.as_str(), other.objects), ("other", 1));
        assert_eq!(
            other.per_day[7].objects, 1,
            "day 108 is the 8th boundary: a 7-day rule's object written on day 100"
        );
        let temp = &rules[1];
        assert_eq!(temp.objects, 11);
        assert_eq!(temp.later, 1);
        let counts: Vec<u64> = temp.per_day.iter().map(|d| d.objects).collect();
        assert_eq!(counts, [2, 2, 2, 2, 2, 0, 0, 0]);
        assert_eq!(temp.per_day[0].due_by, at(101 * DAY));
        assert_eq!(temp.soonest.len(), SOONEST_PER_RULE);
        let keys: Vec<&str> = temp.soonest.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(keys, ["k8", "k9", "k6", "k7", "k4"]);
        assert!(temp.soonest.windows(2).all(|w| w[0].at <= w[1].at));
    }
}
