//! What healing adds to the picture: the failure ledger of a resource
//! (how many times it failed, its last error and when, kept until a
//! `clear` like Pacemaker's fail-count), its restart counters, and why a
//! service is frozen.

use std::time::SystemTime;

use crate::clock::rfc3339_utc;

/// The last failure of a resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastFailure {
    /// What failed, as the log said it.
    pub error: String,
    /// When.
    pub time: SystemTime,
}

/// A resource's failures since the last `clear`: failed actions, and the
/// resource going down (or unhealthy) without a ctl stop.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FailureLedger {
    /// How many.
    pub count: u64,
    /// The last one.
    pub last: Option<LastFailure>,
}

impl FailureLedger {
    /// Count one more failure.
    pub fn record(&mut self, error: impl Into<String>, time: SystemTime) {
        self.count += 1;
        self.last = Some(LastFailure {
            error: error.into(),
            time,
        });
    }

    /// The `failures` file: the count, then the last error and its time.
    pub fn render(&self) -> String {
        match &self.last {
            None => format!("{}\n", self.count),
            Some(last) => format!(
                "{}\n{}\n{}\n",
                self.count,
                // One line each, whatever the driver's message held.
                last.error.replace('\n', " "),
                rfc3339_utc(last.time)
            ),
        }
    }
}

/// What the engine's healing knows of one resource, as reads show it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Healing {
    /// Failures since the last `clear`.
    pub failures: FailureLedger,
    /// Restarts svcfs made since the daemon started.
    pub restarts: u64,
    /// Set when the restart tries ran out while the resource is not up:
    /// it then shows `warn` with this message.
    pub gave_up: Option<String>,
}

/// Why a service is frozen (nothing acts on it automatically).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Frozen {
    /// Frozen through `ctl` (or by `monitor_action = freezestop`), and why.
    pub ctl: Option<String>,
    /// Processes holding `<svc>/hold` open for writing.
    pub holders: Vec<u32>,
}

impl Frozen {
    /// Whether anything freezes the service.
    pub fn is_frozen(&self) -> bool {
        self.ctl.is_some() || !self.holders.is_empty()
    }

    /// Why, on one line (empty when not frozen).
    pub fn reasons(&self) -> Vec<String> {
        let mut reasons: Vec<String> = self.ctl.iter().cloned().collect();
        if !self.holders.is_empty() {
            let pids: Vec<String> = self.holders.iter().map(u32::to_string).collect();
            reasons.push(format!("hold open by pid {}", pids.join(", ")));
        }
        reasons
    }

    /// The `frozen` file: `no`, or `yes` then one reason a line.
    pub fn render(&self) -> String {
        if !self.is_frozen() {
            return "no\n".to_string();
        }
        let mut out = String::from("yes\n");
        for reason in self.reasons() {
            out.push_str(&reason);
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn an_empty_ledger_is_zero() {
        assert_eq!(FailureLedger::default().render(), "0\n");
    }

    #[test]
    fn the_ledger_shows_the_count_then_the_last_error_and_its_time() {
        let mut ledger = FailureLedger::default();
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_608_000);
        ledger.record("start failed: boom", t);
        ledger.record("went down\nwithout a ctl stop", t + Duration::from_secs(1));
        assert_eq!(
            ledger.render(),
            "2\nwent down without a ctl stop\n2026-11-25T12:00:01Z\n"
        );
    }

    #[test]
    fn frozen_says_no_or_yes_and_why() {
        assert_eq!(Frozen::default().render(), "no\n");
        let frozen = Frozen {
            ctl: Some("frozen through ctl".into()),
            holders: vec![12, 34],
        };
        assert_eq!(
            frozen.render(),
            "yes\nfrozen through ctl\nhold open by pid 12, 34\n"
        );
        let held = Frozen {
            ctl: None,
            holders: vec![7],
        };
        assert!(held.is_frozen());
    }
}
