//! The vocabulary of resource use: the counters a resource that runs
//! processes may show (CPU time, memory and its limit, processes, block
//! I/O), each with its one-value file name, its unit, and its series in
//! `metrics` (named with cAdvisor's suffixes, so that dashboards built
//! for `container_cpu_usage_seconds_total` read svcfs's series alike).
//! Pure: where the values come from is the reader's (`crate::cgroup`).

/// One counter of resource use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Counter {
    /// CPU time used, user and system, in nanoseconds (shown in seconds).
    Cpu,
    /// Memory in use (the cgroup's usage: page cache included), bytes.
    Memory,
    /// The memory limit, bytes, or none.
    MemoryLimit,
    /// Processes in the cgroup.
    Processes,
    /// Bytes read from block devices.
    IoRead,
    /// Bytes written to block devices.
    IoWrite,
}

/// Every counter, in listing order.
pub const COUNTERS: [Counter; 6] = [
    Counter::Cpu,
    Counter::Memory,
    Counter::MemoryLimit,
    Counter::Processes,
    Counter::IoRead,
    Counter::IoWrite,
];

/// The summary file of every counter, one `name value` line each (like
/// cgroupfs's `memory.stat`).
pub const STATS_FILE: &str = "stats";

/// A counter's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Amount {
    /// In the counter's base unit (nanoseconds for CPU time).
    Value(u64),
    /// No limit (a limit only).
    Unlimited,
}

impl Counter {
    /// Its one-value file.
    pub fn file(self) -> &'static str {
        match self {
            Counter::Cpu => "cpu",
            Counter::Memory => "memory",
            Counter::MemoryLimit => "memory_limit",
            Counter::Processes => "processes",
            Counter::IoRead => "io_read",
            Counter::IoWrite => "io_write",
        }
    }

    /// The counter whose file is `name`.
    pub fn from_file(name: &str) -> Option<Counter> {
        COUNTERS.into_iter().find(|c| c.file() == name)
    }

    /// The unit its file is in, as the manual says it.
    pub fn unit(self) -> &'static str {
        match self {
            Counter::Cpu => "seconds",
            Counter::Memory | Counter::MemoryLimit | Counter::IoRead | Counter::IoWrite => "bytes",
            Counter::Processes => "count",
        }
    }

    /// Its series' name after `svcfs_<type>_` (cAdvisor's suffix).
    pub fn metric(self) -> &'static str {
        match self {
            Counter::Cpu => "cpu_usage_seconds_total",
            Counter::Memory => "memory_usage_bytes",
            Counter::MemoryLimit => "spec_memory_limit_bytes",
            Counter::Processes => "processes",
            Counter::IoRead => "fs_reads_bytes_total",
            Counter::IoWrite => "fs_writes_bytes_total",
        }
    }

    /// Its series' Prometheus type.
    pub fn metric_type(self) -> &'static str {
        match self {
            Counter::Cpu | Counter::IoRead | Counter::IoWrite => "counter",
            Counter::Memory | Counter::MemoryLimit | Counter::Processes => "gauge",
        }
    }

    /// Its series' help text, after the kind of resource.
    pub fn help(self) -> &'static str {
        match self {
            Counter::Cpu => "CPU time used (user and system), from its cgroup.",
            Counter::Memory => "Memory in use (page cache included), from its cgroup.",
            Counter::MemoryLimit => "Memory limit, from its cgroup (absent when unlimited).",
            Counter::Processes => "Processes in its cgroup.",
            Counter::IoRead => "Bytes read from block devices, from its cgroup.",
            Counter::IoWrite => "Bytes written to block devices, from its cgroup.",
        }
    }

    /// `amount` as the one-value file shows it: seconds with nine
    /// decimals for CPU time, integers otherwise, `max` for no limit
    /// (cgroup v2's word).
    pub fn render(self, amount: Amount) -> String {
        match (self, amount) {
            (_, Amount::Unlimited) => "max".to_string(),
            (Counter::Cpu, Amount::Value(ns)) => seconds(ns),
            (_, Amount::Value(n)) => n.to_string(),
        }
    }

    /// `amount` as a sample of its series; `None` for no limit (the
    /// series is left out, as cAdvisor does).
    pub fn sample(self, amount: Amount) -> Option<String> {
        match amount {
            Amount::Unlimited => None,
            Amount::Value(_) => Some(self.render(amount)),
        }
    }
}

/// Nanoseconds as seconds, exactly.
fn seconds(ns: u64) -> String {
    format!("{}.{:09}", ns / 1_000_000_000, ns % 1_000_000_000)
}

/// The sum of the amounts of several resources (a service's file): any
/// unlimited limit makes the sum unlimited; `None` when none has one.
pub fn sum(amounts: impl IntoIterator<Item = Option<Amount>>) -> Option<Amount> {
    amounts
        .into_iter()
        .flatten()
        .fold(None, |total, amount| match (total, amount) {
            (None, a) => Some(a),
            (Some(Amount::Unlimited), _) | (_, Amount::Unlimited) => Some(Amount::Unlimited),
            (Some(Amount::Value(a)), Amount::Value(b)) => Some(Amount::Value(a.saturating_add(b))),
        })
}

/// The one-value file of `counter` for `amount`: the value and a
/// newline, or nothing when it is not known (the resource does not run).
pub fn one_value(counter: Counter, amount: Option<Amount>) -> Vec<u8> {
    match amount {
        Some(amount) => format!("{}\n", counter.render(amount)).into_bytes(),
        None => Vec::new(),
    }
}

/// The `stats` file: `name value` per known counter.
pub fn stats(amount: impl Fn(Counter) -> Option<Amount>) -> Vec<u8> {
    let mut out = String::new();
    for counter in COUNTERS {
        if let Some(value) = amount(counter) {
            out.push_str(counter.file());
            out.push(' ');
            out.push_str(&counter.render(value));
            out.push('\n');
        }
    }
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_in_base_units_with_cpu_time_in_exact_seconds() {
        assert_eq!(
            Counter::Cpu.render(Amount::Value(25_614_492)),
            "0.025614492"
        );
        assert_eq!(
            Counter::Cpu.render(Amount::Value(3_000_000_001)),
            "3.000000001"
        );
        assert_eq!(Counter::Memory.render(Amount::Value(1_306_624)), "1306624");
        assert_eq!(Counter::MemoryLimit.render(Amount::Unlimited), "max");
        assert_eq!(Counter::MemoryLimit.sample(Amount::Unlimited), None);
        assert_eq!(
            one_value(Counter::Processes, Some(Amount::Value(2))),
            b"2\n"
        );
        assert_eq!(one_value(Counter::Processes, None), b"");
    }

    #[test]
    fn files_and_series_have_one_name_each() {
        for c in COUNTERS {
            assert_eq!(Counter::from_file(c.file()), Some(c));
            assert!(c.help().ends_with('.'));
            // Counters end in _total, as the exposition format wants.
            assert_eq!(c.metric_type() == "counter", c.metric().ends_with("_total"));
        }
        assert_eq!(Counter::from_file(STATS_FILE), None);
    }

    #[test]
    fn sums_skip_the_unknown_and_a_missing_limit_wins() {
        let v = |n| Some(Amount::Value(n));
        assert_eq!(sum([v(1), None, v(2)]), v(3));
        assert_eq!(sum([None, None]), None);
        assert_eq!(
            sum([v(1), Some(Amount::Unlimited)]),
            Some(Amount::Unlimited)
        );
        assert_eq!(sum([v(u64::MAX), v(1)]), v(u64::MAX));
    }

    #[test]
    fn stats_lists_the_known_counters_in_order() {
        let text = stats(|c| match c {
            Counter::Cpu => Some(Amount::Value(1_500_000_000)),
            Counter::MemoryLimit => Some(Amount::Unlimited),
            _ => None,
        });
        assert_eq!(
            String::from_utf8(text).unwrap(),
            "cpu 1.500000000\nmemory_limit max\n"
        );
    }
}
