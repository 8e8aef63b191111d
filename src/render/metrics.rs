//! The root `metrics` file in the Prometheus text format (version 0.0.4),
//! as two pure steps: each service's series, taken with its tree (once per
//! generation), and the file, which groups every service's series under
//! one `HELP`/`TYPE` header per metric family, as the format wants.
//!
//! Status words are one series per word, 1 for the current one and 0 for
//! the others (the kube-state-metrics convention): every series exists
//! from the first scrape on, so `svcfs_resource_status{status="down"} == 1`
//! alerts without gaps when a status changes, and `sum by (status)` counts
//! resources per word. A single series carrying the word as a label would
//! vanish and reappear under another label set at each change, which
//! Prometheus sees as one series going stale and a new one starting.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::SystemTime;

use crate::model::actions::DURATION_BUCKETS;
use crate::model::usage::COUNTERS;
use crate::model::{ActionStats, LiveView, Rid, ServiceSnapshot, Status};

/// The media type of the text format version this renders.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4";

const WORDS: [Status; 4] = [
    Status::Up,
    Status::Down,
    Status::Warn,
    Status::NotApplicable,
];

/// A metric family: name, type, help.
struct Family(&'static str, &'static str, &'static str);

const FAMILIES: [Family; 8] = [
    Family(
        "svcfs_service_status",
        "gauge",
        "Overall status of a service (its status file): 1 for the current status word, 0 for the others.",
    ),
    Family(
        "svcfs_service_avail_status",
        "gauge",
        "Availability status of a service (its avail file): 1 for the current status word, 0 for the others.",
    ),
    Family(
        "svcfs_resource_status",
        "gauge",
        "Status of a resource: 1 for the current status word, 0 for the others.",
    ),
    Family(
        "svcfs_resource_last_change_timestamp_seconds",
        "gauge",
        "When the status of a resource last changed, as seen by svcfs (Unix time).",
    ),
    Family(
        "svcfs_resource_restarts_total",
        "counter",
        "Restarts of a resource by svcfs since the daemon started.",
    ),
    Family(
        "svcfs_resource_failures_total",
        "counter",
        "Failures of a resource recorded since the last clear.",
    ),
    Family(
        "svcfs_actions_total",
        "counter",
        "Actions on a service since the daemon started, by verb and result (ok, failed, refused).",
    ),
    Family(
        "svcfs_action_duration_seconds",
        "histogram",
        "Duration of the actions that ran, by verb.",
    ),
];

/// What one service's series say, kept with its tree (once per
/// generation) and written out only when the file is read: the text of a
/// thousand idle services, labels repeated on every line, would be most
/// of an idle daemon's memory.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceMetrics {
    service: String,
    overall: Status,
    avail: Status,
    resources: Vec<ResourceSeries>,
    actions: Arc<ActionStats>,
}

/// The series of one resource.
#[derive(Debug, Clone, PartialEq)]
struct ResourceSeries {
    rid: Rid,
    status: Status,
    /// When its status last changed (the mtime of its `status` file).
    changed: Option<SystemTime>,
    restarts: u64,
    failures: u64,
}

/// The series of `snapshot`; `changed` gives when a resource's status
/// last changed (the mtime of its `status` file).
pub fn service_metrics(
    snapshot: &ServiceSnapshot,
    changed: impl Fn(&str) -> Option<SystemTime>,
) -> ServiceMetrics {
    ServiceMetrics {
        service: snapshot.name.clone(),
        overall: snapshot.overall,
        avail: snapshot.avail,
        resources: snapshot
            .resources
            .iter()
            .map(|resource| ResourceSeries {
                rid: resource.rid.clone(),
                status: resource.state.status,
                changed: changed(resource.rid.as_str()),
                restarts: resource.restarts,
                failures: resource.failures.count,
            })
            .collect(),
        actions: Arc::clone(&snapshot.actions),
    }
}

impl ServiceMetrics {
    /// This service's lines of family `index` (see [`FAMILIES`]).
    fn write_family(&self, index: usize, out: &mut String) {
        let name = FAMILIES[index].0;
        let service = escape(&self.service);
        let resource_labels = |r: &ResourceSeries| {
            format!(
                "service=\"{service}\",rid=\"{}\",type=\"{}\"",
                escape(r.rid.as_str()),
                escape(r.rid.type_name())
            )
        };
        match index {
            0 => words(out, name, &format!("service=\"{service}\""), self.overall),
            1 => words(out, name, &format!("service=\"{service}\""), self.avail),
            2 => {
                for r in &self.resources {
                    words(out, name, &resource_labels(r), r.status);
                }
            }
            3 => {
                for r in &self.resources {
                    if let Some(time) = r.changed {
                        let seconds = time
                            .duration_since(SystemTime::UNIX_EPOCH)
                            .map_or(0.0, |d| d.as_secs_f64());
                        let _ = writeln!(out, "{name}{{{}}} {seconds:.3}", resource_labels(r));
                    }
                }
            }
            4 | 5 => {
                for r in &self.resources {
                    let count = if index == 4 { r.restarts } else { r.failures };
                    let _ = writeln!(out, "{name}{{{}}} {count}", resource_labels(r));
                }
            }
            6 => {
                for ((verb, outcome), count) in &self.actions.counts {
                    let _ = writeln!(
                        out,
                        "{name}{{service=\"{service}\",verb=\"{verb}\",result=\"{}\"}} {count}",
                        outcome.as_str()
                    );
                }
            }
            _ => {
                for (verb, d) in &self.actions.durations {
                    let labels = format!("service=\"{service}\",verb=\"{verb}\"");
                    let mut cumulative = 0;
                    for (bound, n) in DURATION_BUCKETS.iter().zip(d.buckets) {
                        cumulative += n;
                        let _ =
                            writeln!(out, "{name}_bucket{{{labels},le=\"{bound}\"}} {cumulative}");
                    }
                    let _ = writeln!(out, "{name}_bucket{{{labels},le=\"+Inf\"}} {}", d.count);
                    let _ = writeln!(out, "{name}_sum{{{labels}}} {}", d.sum);
                    let _ = writeln!(out, "{name}_count{{{labels}}} {}", d.count);
                }
            }
        }
    }
}

/// One line per status word of family `name`.
fn words(out: &mut String, name: &str, labels: &str, current: Status) {
    for word in WORDS {
        let _ = writeln!(
            out,
            "{name}{{{labels},status=\"{}\"}} {}",
            word.as_str(),
            u8::from(word == current)
        );
    }
}

/// The `metrics` file: every family's header, then its series from each
/// service in order.
pub fn metrics_text(services: &[Arc<ServiceMetrics>]) -> String {
    let mut out = String::new();
    for (index, Family(name, kind, help)) in FAMILIES.iter().enumerate() {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} {kind}");
        for service in services {
            service.write_family(index, &mut out);
        }
    }
    out
}

/// The resource use of one resource, for [`usage_text`].
pub struct UsageSeries<'a> {
    /// Its service.
    pub service: &'a str,
    /// Its rid.
    pub rid: &'a str,
    /// Where its counters are read.
    pub view: &'a dyn LiveView,
}

/// The series of resource use, read now from each resource's view: one
/// family per kind of resource and counter, named
/// `svcfs_<type>_<cAdvisor suffix>` (`svcfs_container_memory_usage_bytes`),
/// each with the families' header once; a resource whose counter is not
/// known (it does not run) and a limit that is not set have no sample.
pub fn usage_text(resources: &[UsageSeries<'_>]) -> String {
    let type_of = |r: &UsageSeries<'_>| r.rid.split('#').next().unwrap_or(r.rid).to_string();
    let mut types: Vec<String> = Vec::new();
    for r in resources {
        let t = type_of(r);
        if !types.contains(&t) {
            types.push(t);
        }
    }
    let mut out = String::new();
    for kind in &types {
        let of_kind: Vec<&UsageSeries<'_>> =
            resources.iter().filter(|r| type_of(r) == *kind).collect();
        for counter in COUNTERS {
            let samples: Vec<(&UsageSeries<'_>, String)> = of_kind
                .iter()
                .filter_map(|r| Some((*r, counter.sample(r.view.usage(counter)?)?)))
                .collect();
            if samples.is_empty() {
                continue;
            }
            let name = format!("svcfs_{}_{}", escape_name(kind), counter.metric());
            let help = counter.help().trim_end_matches('.');
            let _ = writeln!(out, "# HELP {name} {help} ({kind} resources).");
            let _ = writeln!(out, "# TYPE {name} {}", counter.metric_type());
            for (r, value) in samples {
                let _ = writeln!(
                    out,
                    "{name}{{service=\"{}\",rid=\"{}\"}} {value}",
                    escape(r.service),
                    escape(r.rid)
                );
            }
        }
    }
    out
}

/// A resource type as part of a metric name (`[a-zA-Z0-9_]`).
fn escape_name(kind: &str) -> String {
    kind.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

/// A label value as the text format quotes it.
fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::snapshot::snapshot_of;
    use crate::model::usage::Amount;
    use crate::model::{ActionStats, Outcome};
    use std::time::Duration;

    const FILE: &str = "[container#1]\nrun_image = a\n[fs#1]\ndev = /d\nmnt = /m\n";

    fn at(seconds: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_millis(seconds * 1000 + 250)
    }

    fn render(snapshot: &ServiceSnapshot) -> String {
        metrics_text(&[Arc::new(service_metrics(snapshot, |_| Some(at(1700))))])
    }

    #[test]
    fn restarts_and_failures_come_from_the_ledger() {
        let mut s = snapshot_of("app", FILE, &[("container#1", Status::Up)]);
        s.resources[0].restarts = 3;
        s.resources[0].failures.count = 2;
        let rid = s.resources[0].rid.to_string();
        let text = render(&s);
        let kind = if rid == "container#1" {
            "container"
        } else {
            "fs"
        };
        for line in [
            format!(
                "svcfs_resource_restarts_total{{service=\"app\",rid=\"{rid}\",type=\"{kind}\"}} 3"
            ),
            format!(
                "svcfs_resource_failures_total{{service=\"app\",rid=\"{rid}\",type=\"{kind}\"}} 2"
            ),
        ] {
            assert!(text.lines().any(|l| l == line), "{line} not in\n{text}");
        }
    }

    #[test]
    fn every_status_word_is_a_series_with_the_current_one_at_1() {
        let s = snapshot_of(
            "app",
            FILE,
            &[("container#1", Status::Up), ("fs#1", Status::Down)],
        );
        let text = render(&s);
        for line in [
            "svcfs_resource_status{service=\"app\",rid=\"container#1\",type=\"container\",status=\"up\"} 1",
            "svcfs_resource_status{service=\"app\",rid=\"container#1\",type=\"container\",status=\"down\"} 0",
            "svcfs_resource_status{service=\"app\",rid=\"fs#1\",type=\"fs\",status=\"down\"} 1",
            "svcfs_resource_status{service=\"app\",rid=\"fs#1\",type=\"fs\",status=\"n/a\"} 0",
            "svcfs_service_status{service=\"app\",status=\"warn\"} 1",
            "svcfs_service_avail_status{service=\"app\",status=\"up\"} 0",
            "svcfs_resource_last_change_timestamp_seconds{service=\"app\",rid=\"fs#1\",type=\"fs\"} 1700.250",
            "svcfs_resource_restarts_total{service=\"app\",rid=\"fs#1\",type=\"fs\"} 0",
            "svcfs_resource_failures_total{service=\"app\",rid=\"container#1\",type=\"container\"} 0",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} not in\n{text}");
        }
        let ones = text
            .lines()
            .filter(|l| l.starts_with("svcfs_resource_status{") && l.ends_with(" 1"))
            .count();
        assert_eq!(ones, 2);
    }

    #[test]
    fn each_family_has_one_header_and_its_series_together() {
        let a = service_metrics(&snapshot_of("a", FILE, &[]), |_| None);
        let b = service_metrics(&snapshot_of("b", FILE, &[]), |_| None);
        let text = metrics_text(&[Arc::new(a), Arc::new(b)]);
        for Family(name, kind, _) in &FAMILIES {
            let types: Vec<usize> = text
                .lines()
                .enumerate()
                .filter(|(_, l)| *l == format!("# TYPE {name} {kind}"))
                .map(|(i, _)| i)
                .collect();
            assert_eq!(types.len(), 1, "{name}");
            assert_eq!(text.matches(&format!("# HELP {name} ")).count(), 1);
        }
        // Family by family, each service's series in order.
        let statuses: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("svcfs_resource_status{"))
            .collect();
        assert!(statuses[..8].iter().all(|l| l.contains("service=\"a\"")));
        assert!(statuses[8..].iter().all(|l| l.contains("service=\"b\"")));
        // No time known: no timestamp series.
        assert!(!text.contains("svcfs_resource_last_change_timestamp_seconds{"));
    }

    #[test]
    fn actions_are_counted_and_their_durations_bucketed() {
        let mut s = snapshot_of("app", FILE, &[]);
        let mut stats = ActionStats::default();
        stats.record("start", Outcome::Ok, Some(Duration::from_millis(700)));
        stats.record("start", Outcome::Ok, Some(Duration::from_secs(3)));
        stats.record("start", Outcome::Refused, None);
        s.actions = Arc::new(stats);
        let text = render(&s);
        for line in [
            "svcfs_actions_total{service=\"app\",verb=\"start\",result=\"ok\"} 2",
            "svcfs_actions_total{service=\"app\",verb=\"start\",result=\"refused\"} 1",
            "svcfs_action_duration_seconds_bucket{service=\"app\",verb=\"start\",le=\"0.5\"} 0",
            "svcfs_action_duration_seconds_bucket{service=\"app\",verb=\"start\",le=\"1\"} 1",
            "svcfs_action_duration_seconds_bucket{service=\"app\",verb=\"start\",le=\"5\"} 2",
            "svcfs_action_duration_seconds_bucket{service=\"app\",verb=\"start\",le=\"+Inf\"} 2",
            "svcfs_action_duration_seconds_sum{service=\"app\",verb=\"start\"} 3.7",
            "svcfs_action_duration_seconds_count{service=\"app\",verb=\"start\"} 2",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} not in\n{text}");
        }
        assert!(!text.contains("result=\"failed\""));
    }

    /// A view with fixed counters (`None`: not running).
    struct Fixed(Option<u64>);

    impl LiveView for Fixed {
        fn has_usage(&self) -> bool {
            true
        }
        fn usage(&self, counter: crate::model::usage::Counter) -> Option<Amount> {
            use crate::model::usage::Counter;
            let n = self.0?;
            Some(match counter {
                Counter::MemoryLimit if n == 0 => Amount::Unlimited,
                Counter::Cpu => Amount::Value(n * 1_000_000_000),
                _ => Amount::Value(n),
            })
        }
    }

    #[test]
    fn resource_use_is_one_family_per_counter_with_cadvisor_names() {
        let (busy, idle, stopped) = (Fixed(Some(3)), Fixed(Some(0)), Fixed(None));
        let series = [
            UsageSeries {
                service: "a",
                rid: "container#1",
                view: &busy,
            },
            UsageSeries {
                service: "b",
                rid: "container#1",
                view: &idle,
            },
            UsageSeries {
                service: "b",
                rid: "container#2",
                view: &stopped,
            },
        ];
        let text = usage_text(&series);
        for line in [
            "# TYPE svcfs_container_cpu_usage_seconds_total counter",
            "svcfs_container_cpu_usage_seconds_total{service=\"a\",rid=\"container#1\"} 3.000000000",
            "svcfs_container_memory_usage_bytes{service=\"b\",rid=\"container#1\"} 0",
            "# TYPE svcfs_container_spec_memory_limit_bytes gauge",
            "svcfs_container_spec_memory_limit_bytes{service=\"a\",rid=\"container#1\"} 3",
            "svcfs_container_processes{service=\"a\",rid=\"container#1\"} 3",
            "svcfs_container_fs_writes_bytes_total{service=\"b\",rid=\"container#1\"} 0",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} not in\n{text}");
        }
        // No limit, not running: no sample.
        assert!(!text.contains("spec_memory_limit_bytes{service=\"b\""));
        assert!(!text.contains("container#2"));
        assert_eq!(text.matches("# HELP ").count(), 6);
        assert_eq!(usage_text(&series[2..]), "");
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }

    #[test]
    fn no_service_is_headers_only() {
        let text = metrics_text(&[]);
        assert_eq!(text.lines().count(), FAMILIES.len() * 2);
        assert!(text.lines().all(|l| l.starts_with("# ")));
    }
}
