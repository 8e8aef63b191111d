//! What the actions of a service came to, counted for the `metrics` file:
//! how many of each verb ended in each way, and how long those that ran
//! took (a histogram, so rates and quantiles aggregate across services).

use std::collections::BTreeMap;
use std::time::Duration;

/// Upper bounds of the duration buckets, in seconds: from a container
/// restart (well under a second) to a slow private daemon or volume group
/// (minutes).
pub const DURATION_BUCKETS: [f64; 10] = [0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0];

/// How an action ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Outcome {
    /// It ran and succeeded.
    Ok,
    /// It ran and failed.
    Failed,
    /// It was refused before running (busy, another node, bad rid).
    Refused,
}

impl Outcome {
    /// The `result` label.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Failed => "failed",
            Outcome::Refused => "refused",
        }
    }
}

/// The durations of one verb's actions that ran.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Durations {
    /// How many fell at or under each bound of [`DURATION_BUCKETS`] and
    /// above the previous one (not cumulative).
    pub buckets: [u64; DURATION_BUCKETS.len()],
    /// Seconds, all of them.
    pub sum: f64,
    /// How many ran.
    pub count: u64,
}

/// Counts of a service's actions since the daemon started.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ActionStats {
    /// By verb and outcome.
    pub counts: BTreeMap<(&'static str, Outcome), u64>,
    /// By verb, the actions that ran.
    pub durations: BTreeMap<&'static str, Durations>,
}

impl ActionStats {
    /// One action of `verb` ended as `outcome`, after `took` if it ran.
    pub fn record(&mut self, verb: &'static str, outcome: Outcome, took: Option<Duration>) {
        *self.counts.entry((verb, outcome)).or_default() += 1;
        let Some(took) = took else {
            return;
        };
        let seconds = took.as_secs_f64();
        let durations = self.durations.entry(verb).or_default();
        if let Some(i) = DURATION_BUCKETS.iter().position(|b| seconds <= *b) {
            durations.buckets[i] += 1;
        }
        durations.sum += seconds;
        durations.count += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_counts_and_buckets() {
        let mut stats = ActionStats::default();
        stats.record("start", Outcome::Ok, Some(Duration::from_millis(300)));
        stats.record("start", Outcome::Failed, Some(Duration::from_secs(1000)));
        stats.record("start", Outcome::Refused, None);
        stats.record("stop", Outcome::Ok, Some(Duration::from_millis(100)));
        assert_eq!(stats.counts[&("start", Outcome::Ok)], 1);
        assert_eq!(stats.counts[&("start", Outcome::Refused)], 1);
        let start = &stats.durations["start"];
        assert_eq!(start.count, 2);
        assert_eq!(start.buckets[1], 1);
        // Beyond the last bound: only in +Inf, that is in count.
        assert_eq!(start.buckets.iter().sum::<u64>(), 1);
        assert!((start.sum - 1000.3).abs() < 1e-9);
        assert_eq!(stats.durations["stop"].buckets[0], 1);
    }
}
