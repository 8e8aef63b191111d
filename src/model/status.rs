//! Status words, the state of one resource, and OpenSVC's aggregation rules.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use serde::Serialize;

/// A resource or service status word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Status {
    /// Running / mounted / configured.
    #[serde(rename = "up")]
    Up,
    /// Stopped or absent.
    #[serde(rename = "down")]
    Down,
    /// Something needs the operator's attention.
    #[serde(rename = "warn")]
    Warn,
    /// Not applicable (disabled resource, nothing to aggregate).
    #[serde(rename = "n/a")]
    NotApplicable,
}

impl Status {
    /// The word shown in files and the overview.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Up => "up",
            Status::Down => "down",
            Status::Warn => "warn",
            Status::NotApplicable => "n/a",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl FromStr for Status {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "up" => Ok(Status::Up),
            "down" => Ok(Status::Down),
            "warn" => Ok(Status::Warn),
            "n/a" => Ok(Status::NotApplicable),
            other => Err(format!("unknown status {other:?}")),
        }
    }
}

/// OpenSVC's aggregation: `n/a` is neutral, any `warn` wins, all `up` is up,
/// all `down` is down, a mix of up and down is `warn`; nothing is `n/a`.
pub fn aggregate(statuses: impl IntoIterator<Item = Status>) -> Status {
    let (mut up, mut down) = (false, false);
    for status in statuses {
        match status {
            Status::Warn => return Status::Warn,
            Status::Up => up = true,
            Status::Down => down = true,
            Status::NotApplicable => {}
        }
    }
    match (up, down) {
        (true, true) => Status::Warn,
        (true, false) => Status::Up,
        (false, true) => Status::Down,
        (false, false) => Status::NotApplicable,
    }
}

/// What a driver reports about one resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceState {
    /// The status word.
    pub status: Status,
    /// The label of the overview line (`2d4b80bdec71@busybox:latest`).
    pub label: String,
    /// Explanations shown as `# message` lines.
    pub messages: Vec<String>,
    /// It runs but its own check fails (a container's healthcheck says
    /// unhealthy): `restart` applies as to a resource that went down.
    pub unhealthy: bool,
    /// Its backend did not answer the check (a timeout, a request cut
    /// short): the state says so, and the backend is probed until it
    /// answers, then the check is made again.
    pub unanswered: bool,
    /// Files its driver shows in the resource's directory beyond the
    /// standard ones (an app's `info`), by name, with their content: what
    /// the driver last learnt, so that no read ever asks it.
    pub files: Vec<(&'static str, Arc<str>)>,
}

impl ResourceState {
    /// A state with no messages.
    pub fn new(status: Status, label: impl Into<String>) -> Self {
        ResourceState {
            status,
            label: label.into(),
            messages: Vec::new(),
            unhealthy: false,
            unanswered: false,
            files: Vec::new(),
        }
    }

    /// Add an explanation.
    pub fn with_message(mut self, message: impl Into<String>) -> Self {
        self.messages.push(message.into());
        self
    }
}

/// The four flag columns of an overview line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Flags {
    /// `M`: `monitor = true`, its going down makes the service warn.
    pub monitored: bool,
    /// `D`: skipped by actions.
    pub disabled: bool,
    /// `O`: failures do not fail the service.
    pub optional: bool,
    /// `S`: not stopped with the service (a kept network); its up or down
    /// does not count in avail.
    pub standby: bool,
}

impl fmt::Display for Flags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let flag = |on: bool, c: char| if on { c } else { '.' };
        write!(
            f,
            "{}{}{}{}",
            flag(self.monitored, 'M'),
            flag(self.disabled, 'D'),
            flag(self.optional, 'O'),
            flag(self.standby, 'S')
        )
    }
}

#[cfg(test)]
mod tests {
    use super::Status::*;
    use super::*;

    #[test]
    fn aggregate_follows_opensvc_rules() {
        assert_eq!(aggregate([Up, Up]), Up);
        assert_eq!(aggregate([Down, Down]), Down);
        assert_eq!(aggregate([Up, Down]), Warn);
        assert_eq!(aggregate([Up, Warn, Up]), Warn);
        assert_eq!(aggregate([Down, Warn]), Warn);
        assert_eq!(aggregate([Up, NotApplicable]), Up);
        assert_eq!(aggregate([NotApplicable, Down]), Down);
        assert_eq!(aggregate([NotApplicable]), NotApplicable);
        assert_eq!(aggregate([]), NotApplicable);
    }

    #[test]
    fn aggregate_ignores_order() {
        // A property over all short sequences: the result depends only on
        // which words are present.
        let words = [Up, Down, Warn, NotApplicable];
        for a in words {
            for b in words {
                for c in words {
                    assert_eq!(aggregate([a, b, c]), aggregate([c, b, a]));
                    assert_eq!(aggregate([a, b, c]), aggregate([b, c, a]));
                }
            }
        }
    }

    #[test]
    fn status_words_round_trip() {
        for s in [Up, Down, Warn, NotApplicable] {
            assert_eq!(s.as_str().parse::<Status>(), Ok(s));
        }
        assert!("running".parse::<Status>().is_err());
    }

    #[test]
    fn status_pads_like_a_string() {
        assert_eq!(format!("{:<9}|", Up), "up       |");
    }

    #[test]
    fn flags_render_in_their_columns() {
        assert_eq!(Flags::default().to_string(), "....");
        let f = Flags {
            monitored: false,
            disabled: true,
            optional: true,
            standby: false,
        };
        assert_eq!(f.to_string(), ".DO.");
        let f = Flags {
            standby: true,
            ..Flags::default()
        };
        assert_eq!(f.to_string(), "...S");
    }

    proptest::proptest! {
        /// Against a model that counts instead of scanning: n/a is
        /// neutral, any warn or a mix of up and down is warn.
        #[test]
        fn aggregate_agrees_with_a_counting_model(
            picks in proptest::collection::vec(0usize..4, 0..12),
            rotate in 0usize..12,
        ) {
            let words = [Up, Down, Warn, NotApplicable];
            let mut statuses: Vec<Status> = picks.iter().map(|&i| words[i]).collect();
            let count = |w: Status| statuses.iter().filter(|&&s| s == w).count();
            let (up, down, warn) = (count(Up), count(Down), count(Warn));
            let expected = if warn > 0 || (up > 0 && down > 0) {
                Warn
            } else if up > 0 {
                Up
            } else if down > 0 {
                Down
            } else {
                NotApplicable
            };
            proptest::prop_assert_eq!(aggregate(statuses.iter().copied()), expected);
            if !statuses.is_empty() {
                let n = rotate % statuses.len();
                statuses.rotate_left(n);
                proptest::prop_assert_eq!(aggregate(statuses), expected);
            }
        }
    }
}
