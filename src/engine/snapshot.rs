//! The construction of a service's snapshot (flags, n/a for disabled
//! resources, aggregation, messages) as a pure function of its
//! configuration, the last known resource states and the log.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::SystemTime;

use crate::config::{ServiceConfig, Severity};
use crate::model::{
    aggregate, ActionStats, Flags, Frozen, Healing, LiveRef, LogLines, ResourceSnapshot,
    ResourceState, ServiceSnapshot, Status,
};

/// What the engine knows beyond the configuration.
pub struct KnownStates<'a> {
    /// Last status of each resource, by rid.
    pub states: &'a HashMap<String, ResourceState>,
    /// Last failed action of each resource, by rid.
    pub failures: &'a HashMap<String, String>,
    /// The live view of each resource whose driver has one, by rid.
    pub live: &'a HashMap<String, LiveRef>,
    /// The log as of now.
    pub log: Arc<LogLines>,
    /// The docker daemon of the service's containers.
    pub docker_host: &'a str,
    /// Failure ledgers and restart counters, by rid.
    pub healing: &'a HashMap<String, Healing>,
    /// Service-level warnings of the monitor (a monitored resource down).
    pub alerts: &'a [String],
    /// Why the service is frozen.
    pub frozen: &'a Frozen,
    /// Why the service file's current content was not loaded (the last
    /// good configuration keeps serving), one message per problem; empty
    /// when the file in use is the one on disk.
    pub rejected_edit: &'a [String],
    /// The service's actions so far.
    pub actions: Arc<ActionStats>,
}

/// The state shown before a resource's first status check completes.
pub fn unknown_state() -> ResourceState {
    ResourceState::new(Status::Warn, "").with_message("status not checked yet")
}

/// Build the snapshot of a service.
pub fn build_snapshot(
    config: &ServiceConfig,
    known: &KnownStates<'_>,
    updated: SystemTime,
) -> ServiceSnapshot {
    // In display order: the tutorial's kind order (see `KindSchema`).
    let mut in_display_order: Vec<_> = config.resources.iter().collect();
    in_display_order.sort_by(|a, b| a.cmp_display(b));
    let resources: Vec<ResourceSnapshot> = in_display_order
        .into_iter()
        .map(|r| {
            let mut state = known
                .states
                .get(r.rid.as_str())
                .cloned()
                .unwrap_or_else(unknown_state);
            if r.common.disable {
                state.status = Status::NotApplicable;
            }
            if let Some(failure) = known.failures.get(r.rid.as_str()) {
                state.messages.push(failure.clone());
            }
            let healing = known.healing.get(r.rid.as_str());
            if let Some(gave_up) = healing.and_then(|h| h.gave_up.as_ref()) {
                if !r.common.disable && state.status != Status::Up {
                    state.status = Status::Warn;
                    state.messages.push(gave_up.clone());
                }
            }
            ResourceSnapshot {
                rid: r.rid.clone(),
                state,
                failures: healing.map(|h| h.failures.clone()).unwrap_or_default(),
                restarts: healing.map_or(0, |h| h.restarts),
                flags: Flags {
                    monitored: r.common.monitor,
                    disabled: r.common.disable,
                    optional: r.common.optional,
                    standby: r.kind.is_some_and(|k| k.standby),
                },
                keywords: Arc::clone(&r.keywords),
                verbs: r.kind.map_or(&[], |k| k.verbs),
                outside_actions: r.kind.is_some_and(|k| k.outside_actions),
                default_type: r
                    .kind
                    .and_then(|k| k.keyword("type"))
                    .and_then(|k| k.default),
                live: known.live.get(r.rid.as_str()).cloned(),
            }
        })
        .collect();

    // A standby resource (a kept network) is up or down whatever the
    // service is: only its warn counts.
    let counted = |optional: bool| {
        resources
            .iter()
            .filter(move |r| {
                !r.flags.disabled && !r.outside_actions && r.flags.optional == optional
            })
            .filter(|r| !r.flags.standby || r.state.status == Status::Warn)
            .map(|r| r.state.status)
    };
    let avail = aggregate(counted(false));
    let optional_warn = counted(true).any(|s| s == Status::Warn);
    // A resource outside the actions (a task) warns the service only when
    // its settings say so (`check = last_run`).
    let checked_warn = config.resources.iter().any(|r| {
        !r.common.disable
            && r.kind.is_some_and(|k| k.outside_actions)
            && r.spec.as_ref().is_ok_and(|spec| spec.warns_service())
            && resources
                .iter()
                .any(|s| s.rid == r.rid && s.state.status == Status::Warn)
    });
    // A failed action is a warning message, and warnings degrade overall.
    let failed = resources
        .iter()
        .any(|r| !r.flags.disabled && known.failures.contains_key(r.rid.as_str()));
    let mut overall = avail;
    let rejected = !known.rejected_edit.is_empty();
    // An error in the file dropped some of what it says (a section, a
    // line): what runs may not be what the operator wrote.
    let file_errors = config.has_errors();
    if optional_warn
        || checked_warn
        || failed
        || !known.alerts.is_empty()
        || rejected
        || file_errors
        || config.load_error.is_some()
    {
        overall = Status::Warn;
    }
    let avail = if config.load_error.is_some() {
        Status::Warn
    } else {
        avail
    };

    let mut messages: Vec<String> = config.load_error.iter().cloned().collect();
    messages.extend(known.rejected_edit.iter().cloned());
    messages.extend(
        config
            .problems
            .iter()
            .filter(|p| config.load_error.is_none() || p.severity == Severity::Warning)
            .map(|p| config.locate(p).to_string()),
    );
    messages.extend(known.alerts.iter().cloned());
    messages.dedup();

    ServiceSnapshot {
        name: config.name.clone(),
        overall,
        avail,
        resources,
        messages,
        config_text: config.text.as_str().into(),
        config_public: config.others_read,
        docker_host: known.docker_host.into(),
        log: Arc::clone(&known.log),
        actions: Arc::clone(&known.actions),
        updated,
        frozen: known.frozen.clone(),
        cluster: None,
    }
}

/// A snapshot from states and failures alone (no driver commands), for
/// the tests of the renderings too.
#[cfg(test)]
pub(crate) fn snapshot_with(
    config: &ServiceConfig,
    states: &HashMap<String, ResourceState>,
    failures: &HashMap<String, String>,
    updated: SystemTime,
) -> ServiceSnapshot {
    build_snapshot(
        config,
        &KnownStates {
            states,
            failures,
            live: &HashMap::new(),
            log: Arc::default(),
            docker_host: crate::docker::DEFAULT_DOCKER_HOST,
            healing: &HashMap::new(),
            alerts: &[],
            frozen: &Frozen::default(),
            rejected_edit: &[],
            actions: Arc::default(),
        },
        updated,
    )
}

/// A snapshot of service `name` from `text`, each listed rid in its
/// status with the label "label", for the tests of the renderings.
#[cfg(test)]
pub(crate) fn snapshot_of(name: &str, text: &str, states: &[(&str, Status)]) -> ServiceSnapshot {
    let config = crate::config::parse_service(
        &crate::drivers::registry::KINDS,
        name,
        std::path::Path::new(&format!("/etc/svcfs/{name}.env")),
        text,
    );
    let states: HashMap<String, ResourceState> = states
        .iter()
        .map(|(rid, s)| (rid.to_string(), ResourceState::new(*s, "label")))
        .collect();
    snapshot_with(&config, &states, &HashMap::new(), SystemTime::UNIX_EPOCH)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse_service;
    use std::path::Path;

    fn config(text: &str) -> ServiceConfig {
        parse_service(
            &crate::drivers::registry::KINDS,
            "svc",
            Path::new("/etc/svcfs/svc.env"),
            text,
        )
    }

    fn snapshot(text: &str, states: &[(&str, Status)]) -> ServiceSnapshot {
        snapshot_of("svc", text, states)
    }

    const TWO: &str = "[container#1]\nrun_image = a\n[container#2]\nrun_image = b\n";

    #[test]
    fn all_up_is_up() {
        let s = snapshot(
            TWO,
            &[("container#1", Status::Up), ("container#2", Status::Up)],
        );
        assert_eq!((s.avail, s.overall), (Status::Up, Status::Up));
    }

    #[test]
    fn one_down_makes_the_service_warn() {
        let s = snapshot(
            TWO,
            &[("container#1", Status::Down), ("container#2", Status::Up)],
        );
        assert_eq!((s.avail, s.overall), (Status::Warn, Status::Warn));
    }

    #[test]
    fn optional_resources_do_not_degrade_avail_but_warn_overall() {
        let text = "[container#1]\nrun_image = a\n[container#2]\nrun_image = b\noptional = true\n";
        let s = snapshot(
            text,
            &[("container#1", Status::Up), ("container#2", Status::Down)],
        );
        assert_eq!((s.avail, s.overall), (Status::Up, Status::Up));
        let s = snapshot(
            text,
            &[("container#1", Status::Up), ("container#2", Status::Warn)],
        );
        assert_eq!((s.avail, s.overall), (Status::Up, Status::Warn));
        assert_eq!(s.resource("container#2").unwrap().flags.to_string(), "..O.");
    }

    #[test]
    fn a_kept_network_s_up_or_down_does_not_count_in_avail_but_its_warn_does() {
        let text = "[network#1]\nname = app_default\n[container#1]\nrun_image = a\n";
        for (network, container, avail) in [
            (Status::Up, Status::Down, Status::Down),
            (Status::Down, Status::Up, Status::Up),
            (Status::Up, Status::Up, Status::Up),
            (Status::Warn, Status::Up, Status::Warn),
        ] {
            let s = snapshot(text, &[("network#1", network), ("container#1", container)]);
            assert_eq!(s.avail, avail, "{network} {container}");
            assert_eq!(s.resource("network#1").unwrap().flags.to_string(), "...S");
        }
    }

    #[test]
    fn disabled_resources_are_na_and_neutral() {
        let text = "[container#1]\nrun_image = a\n[container#2]\nrun_image = b\ndisable = true\n";
        let s = snapshot(
            text,
            &[("container#1", Status::Up), ("container#2", Status::Down)],
        );
        assert_eq!(s.avail, Status::Up);
        let c2 = s.resource("container#2").unwrap();
        assert_eq!(c2.state.status, Status::NotApplicable);
        assert_eq!(c2.flags.to_string(), ".D..");
    }

    #[test]
    fn unchecked_resources_say_so() {
        let s = snapshot(TWO, &[]);
        assert_eq!(s.avail, Status::Warn);
        assert_eq!(s.resources[0].state.messages, ["status not checked yet"]);
    }

    #[test]
    fn unparsable_file_is_warn_with_its_error_as_message() {
        let s = snapshot("[container#1\n", &[]);
        assert_eq!((s.avail, s.overall), (Status::Warn, Status::Warn));
        assert!(
            s.messages[0]
                .contains("svc.env:1: section header \"[container#1\" is missing its closing ']'"),
            "{:?}",
            s.messages
        );
    }

    #[test]
    fn a_file_error_that_drops_a_section_warns_overall() {
        let s = snapshot(
            "[container#1]\nrun_image = a\n[Container#1]\nrun_image = b\n",
            &[("container#1", Status::Down)],
        );
        assert_eq!((s.avail, s.overall), (Status::Down, Status::Warn));
        assert!(
            s.messages.iter().any(|m| m.starts_with("error: ")),
            "{:?}",
            s.messages
        );
    }

    #[test]
    fn a_rejected_edit_warns_overall_and_keeps_avail_and_resources() {
        let config = config("[container#1]\nrun_image = a\n");
        let states = HashMap::from([(
            "container#1".to_string(),
            ResourceState::new(Status::Up, "x"),
        )]);
        let rejected = ["error: /etc/svcfs/svc.env:3: [container#1] x: bad".to_string()];
        let s = build_snapshot(
            &config,
            &KnownStates {
                states: &states,
                failures: &HashMap::new(),
                live: &HashMap::new(),
                log: Arc::default(),
                docker_host: "h",
                healing: &HashMap::new(),
                alerts: &[],
                frozen: &Frozen::default(),
                rejected_edit: &rejected,
                actions: Arc::default(),
            },
            SystemTime::UNIX_EPOCH,
        );
        assert_eq!((s.avail, s.overall), (Status::Up, Status::Warn));
        assert_eq!(s.messages, rejected);
        assert_eq!(s.resources[0].state.status, Status::Up);
    }

    #[test]
    fn file_warnings_are_service_messages_without_degrading() {
        let s = snapshot(
            "[container#1]\nrun_image = a\nrun_imag = b\n",
            &[("container#1", Status::Up)],
        );
        assert_eq!(s.overall, Status::Up);
        assert!(
            s.messages[0].contains("did you mean run_image?"),
            "{:?}",
            s.messages
        );
    }

    #[test]
    fn resources_are_listed_in_display_order() {
        let text = "[ip#1]\nipname = a\nipdev = lo\n[container#1]\nrun_image = a\n[fs#1]\ndev = /d\nmnt = /m\n";
        let s = snapshot(text, &[]);
        let rids: Vec<_> = s.resources.iter().map(|r| r.rid.as_str()).collect();
        assert_eq!(rids, ["container#1", "fs#1", "ip#1"]);
    }

    #[test]
    fn failures_are_appended_to_messages() {
        let states = HashMap::from([(
            "container#1".to_string(),
            ResourceState::new(Status::Down, "x"),
        )]);
        let failures =
            HashMap::from([("container#1".to_string(), "start failed: boom".to_string())]);
        let s = snapshot_with(
            &config("[container#1]\nrun_image = a\n"),
            &states,
            &failures,
            SystemTime::UNIX_EPOCH,
        );
        assert_eq!(s.resources[0].state.messages, ["start failed: boom"]);
        assert_eq!((s.avail, s.overall), (Status::Down, Status::Warn));
    }
}
