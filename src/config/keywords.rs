//! Keywords: what a keyword declares (name, value shape, default, whether
//! required, documentation), and the tables of those of `[DEFAULT]` and of
//! every resource section. Each kind declares its own in its manifest
//! (`drivers::<kind>`); validation, the "did you mean" suggestions, `svcfs
//! check` and the man page's tables all come from these declarations.

/// The shape of a keyword's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    /// Free text.
    Text,
    /// `true` / `false`.
    Bool,
    /// A non-negative integer.
    Int,
    /// Seconds, or a number with a unit (`10s`, `2m`).
    Duration,
    /// Bytes, or a number with a binary unit as docker takes them
    /// (`64k`, `1m`, `2g`).
    Size,
    /// Shell words.
    Words,
    /// Names separated by spaces or commas.
    List,
    /// One of a fixed set of words.
    Choice(&'static [&'static str]),
}

/// One keyword of the service file format.
#[derive(Debug, Clone, Copy)]
pub struct Keyword {
    /// The name as written in the file.
    pub name: &'static str,
    /// Its value's shape.
    pub value: ValueKind,
    /// Whether a resource is invalid without it.
    pub required: bool,
    /// The value used when it is absent.
    pub default: Option<&'static str>,
    /// One-line documentation.
    pub doc: &'static str,
}

/// A keyword declaration, as the tables write them.
pub const fn kw(
    name: &'static str,
    value: ValueKind,
    required: bool,
    default: Option<&'static str>,
    doc: &'static str,
) -> Keyword {
    Keyword {
        name,
        value,
        required,
        default,
        doc,
    }
}

use ValueKind::{Bool, Choice, Duration, Int, List, Text, Words};

/// The keywords of `[DEFAULT]`: the service's own settings.
#[rustfmt::skip]
pub const DEFAULT_KEYWORDS: &[Keyword] = &[
    kw("nodes", List, false, None,
       "Nodes allowed to run the service. When set, this node (--nodename) must be listed for any action to run."),
    kw("autostart_node", List, false, None,
       "With `svcfs mount --autostart`, the service is started at mount time on this node."),
    kw("app", Text, false, None, "Application code, shown in `config`."),
    kw("service_type", Text, false, None, "Free text (PRD, DEV, ...), shown in `config`."),
    kw("comment", Text, false, None, "Free text about the service."),
    kw("docker_data_dir", Text, false, None,
       "Data root of the service's private docker daemon. Setting it adds the implicit `dockerd` resource; the service's containers then live in that daemon, reached at <var-dir>/<svc>/docker.sock."),
    kw("docker_daemon_args", Words, false, None,
       "Extra arguments for the private docker daemon (shell words)."),
    kw("docker_exe", Text, false, Some("dockerd"),
       "The dockerd executable started for the private daemon."),
    kw("monitor_action", Choice(&["none", "freezestop"]), false, Some("none"),
       "What a monitored resource going down (its restarts spent) does to the service: none (the service warns), freezestop (freeze the service, then stop it)."),
];

/// The keywords every resource section accepts, whatever its kind.
#[rustfmt::skip]
pub const RESOURCE_KEYWORDS: &[Keyword] = &[
    kw("disable", Bool, false, Some("false"),
       "Skip the resource in every action; its status is n/a."),
    kw("optional", Bool, false, Some("false"),
       "Failures of the resource do not fail the service, and its status does not degrade avail."),
    kw("tags", List, false, None, "Free tags, shown in `config`."),
    kw("subset", Text, false, None,
       "Subset name: in its kind's turn, the resources of a subset start after those outside any subset, subsets in name order; side by side when its [subset#NAME] section says parallel = true."),
    kw("restart", Int, false, Some("0"),
       "Restarts svcfs tries when the resource goes down (or unhealthy) without a ctl stop; then it warns \"restart limit reached\"."),
    kw("restart_delay", Duration, false, Some("500ms"),
       "Wait before the first restart try; doubled at each next try, at most 30s."),
    kw("monitor", Bool, false, Some("false"),
       "The resource going down (its restarts spent) makes the service warn and triggers monitor_action; the M flag of the overview."),
    kw("comment", Text, false, None, "Free text about the resource."),
];
/// The keywords of a `[subset#NAME]` section.
#[rustfmt::skip]
pub const SUBSET_KEYWORDS: &[Keyword] = &[
    kw("parallel", Bool, false, Some("false"),
       "The subset's members start (and stop) side by side, at most 8 at a time, in their kind's turn; a member that fails fails the action once the others ended."),
    kw("comment", Text, false, None, "Free text about the subset."),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyword_names_are_unique_within_a_table() {
        for table in [DEFAULT_KEYWORDS, RESOURCE_KEYWORDS, SUBSET_KEYWORDS] {
            for (i, a) in table.iter().enumerate() {
                assert!(
                    !table[i + 1..].iter().any(|b| b.name == a.name),
                    "{} twice",
                    a.name
                );
            }
        }
    }

    #[test]
    fn every_keyword_is_documented() {
        for k in DEFAULT_KEYWORDS.iter().chain(RESOURCE_KEYWORDS) {
            assert!(k.doc.len() > 10, "{} lacks documentation", k.name);
        }
    }
}
