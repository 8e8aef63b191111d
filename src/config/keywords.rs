//! The keyword table: every keyword svcfs understands, where it may appear,
//! what its value is, its default and its documentation. Validation, the
//! "did you mean" suggestions and the man page all come from this one table.

use crate::model::ResourceKind;

/// Where a keyword may appear.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The `[DEFAULT]` section.
    Default,
    /// Every resource section.
    AnyResource,
    /// Sections of one resource kind.
    Kind(ResourceKind),
}

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
    /// Where it may appear.
    pub scope: Scope,
    /// Its value's shape.
    pub value: ValueKind,
    /// Whether a resource is invalid without it.
    pub required: bool,
    /// The value used when it is absent.
    pub default: Option<&'static str>,
    /// One-line documentation.
    pub doc: &'static str,
}

const fn kw(
    name: &'static str,
    scope: Scope,
    value: ValueKind,
    required: bool,
    default: Option<&'static str>,
    doc: &'static str,
) -> Keyword {
    Keyword {
        name,
        scope,
        value,
        required,
        default,
        doc,
    }
}

use ResourceKind::{Container, Fs, Ip, Vg};
use Scope::{AnyResource, Default, Kind};
use ValueKind::{Bool, Choice, Duration, Int, List, Text, Words};

/// Every keyword svcfs understands.
#[rustfmt::skip]
pub const KEYWORDS: &[Keyword] = &[
    kw("nodes", Default, List, false, None,
       "Nodes allowed to run the service. When set, this node (--nodename) must be listed for any action to run."),
    kw("autostart_node", Default, List, false, None,
       "With `svcfs mount --autostart`, the service is started at mount time on this node."),
    kw("app", Default, Text, false, None, "Application code, shown in `config`."),
    kw("service_type", Default, Text, false, None, "Free text (PRD, DEV, ...), shown in `config`."),
    kw("comment", Default, Text, false, None, "Free text about the service."),
    kw("docker_data_dir", Default, Text, false, None,
       "Data root of the service's private docker daemon. Setting it adds the implicit `dockerd` resource; the service's containers then live in that daemon, reached at <var-dir>/<svc>/docker.sock."),
    kw("docker_daemon_args", Default, Words, false, None,
       "Extra arguments for the private docker daemon (shell words)."),
    kw("docker_exe", Default, Text, false, Some("dockerd"),
       "The dockerd executable started for the private daemon."),
    kw("disable", AnyResource, Bool, false, Some("false"),
       "Skip the resource in every action; its status is n/a."),
    kw("optional", AnyResource, Bool, false, Some("false"),
       "Failures of the resource do not fail the service, and its status does not degrade avail."),
    kw("tags", AnyResource, List, false, None, "Free tags, shown in `config`."),
    kw("subset", AnyResource, Text, false, None, "Subset name, shown in `config`."),
    kw("monitor_action", Default, Choice(&["none", "freezestop"]), false, Some("none"),
       "What a monitored resource going down (its restarts spent) does to the service: none (the service warns), freezestop (freeze the service, then stop it)."),
    kw("restart", AnyResource, Int, false, Some("0"),
       "Restarts svcfs tries when the resource goes down (or unhealthy) without a ctl stop; then it warns \"restart limit reached\"."),
    kw("restart_delay", AnyResource, Duration, false, Some("500ms"),
       "Wait before the first restart try; doubled at each next try, at most 30s."),
    kw("monitor", AnyResource, Bool, false, Some("false"),
       "The resource going down (its restarts spent) makes the service warn and triggers monitor_action; the M flag of the overview."),
    kw("comment", AnyResource, Text, false, None, "Free text about the resource."),
    kw("type", Kind(Container), Text, false, Some("docker"),
       "Container technology; only `docker` is supported."),
    kw("run_image", Kind(Container), Text, true, None,
       "Image to run: full id, short id (12 hex digits, as in the tutorial), or repo:tag."),
    kw("run_command", Kind(Container), Words, false, None,
       "Command and arguments of the container (shell words); the image's CMD when absent."),
    kw("run_args", Kind(Container), Words, false, None,
       "docker run options (shell words), translated to the Engine API; see svcfs.conf(5) for the list."),
    kw("start_timeout", Kind(Container), Duration, false, Some("60s"),
       "Bound on start: running, then operational (healthy when a health check is defined)."),
    kw("stop_timeout", Kind(Container), Duration, false, Some("10s"),
       "Grace period of docker stop before the container is killed."),
    kw("stop_wait", Kind(Container), Choice(&["auto", "timeout"]), false, Some("auto"),
       "auto: kill at once a container whose PID 1 has no handler for its stop signal (it would ignore it for the whole stop_timeout); timeout: always docker stop with the full stop_timeout."),
    kw("ipname", Kind(Ip), Text, true, None, "Host name (hosts file / DNS) or literal IPv4/IPv6 address."),
    kw("ipdev", Kind(Ip), Text, true, None, "Network device that carries the address."),
    kw("netmask", Kind(Ip), Text, false, None,
       "Prefix length (or dotted netmask); default: that of the device's existing addresses, else 24 (64 for IPv6)."),
    kw("vgname", Kind(Vg), Text, true, None, "LVM volume group name."),
    kw("dev", Kind(Fs), Text, true, None,
       "Block device, or a regular file attached to a loop device."),
    kw("mnt", Kind(Fs), Text, true, None, "Mount point, created when missing."),
    kw("type", Kind(Fs), Text, false, None, "Filesystem type (ext4, xfs, ...); mount guesses when absent."),
    kw("mnt_opt", Kind(Fs), Text, false, None, "Mount options (-o)."),
    kw("fsck", Kind(Fs), Bool, false, Some("true"),
       "Run `fsck -p` before mounting ext2/3/4 filesystems."),
    kw("kill_procs", Kind(Fs), Bool, false, Some("false"),
       "On stop, kill the processes that keep the filesystem busy instead of failing with EBUSY."),
];

/// Keywords valid in a section: `None` for `[DEFAULT]`, else the kind of the
/// resource (unknown kinds get the common resource keywords).
pub fn keywords_for(kind: Option<Option<ResourceKind>>) -> impl Iterator<Item = &'static Keyword> {
    KEYWORDS.iter().filter(move |k| match (kind, k.scope) {
        (None, Scope::Default) => true,
        (Some(_), Scope::AnyResource) => true,
        (Some(Some(kind)), Scope::Kind(k)) => kind == k,
        _ => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyword_names_are_unique_within_a_scope() {
        for (i, a) in KEYWORDS.iter().enumerate() {
            for b in &KEYWORDS[i + 1..] {
                assert!(
                    !(a.name == b.name && a.scope == b.scope),
                    "{} twice",
                    a.name
                );
            }
        }
    }

    #[test]
    fn fs_section_accepts_common_and_fs_keywords_only() {
        let names: Vec<_> = keywords_for(Some(Some(Fs))).map(|k| k.name).collect();
        assert!(names.contains(&"mnt_opt"));
        assert!(names.contains(&"optional"));
        assert!(!names.contains(&"run_image"));
        assert!(!names.contains(&"nodes"));
    }

    #[test]
    fn every_keyword_is_in_the_man_page() {
        let page = include_str!("../../man/svcfs.conf.5");
        for k in KEYWORDS {
            let entry = format!("\n.B {}\n", k.name);
            assert!(
                page.contains(&entry),
                "svcfs.conf(5) does not document {}",
                k.name
            );
        }
    }

    #[test]
    fn every_keyword_is_documented() {
        for k in KEYWORDS {
            assert!(k.doc.len() > 10, "{} lacks documentation", k.name);
        }
    }
}
