//! The typed form of one service file, and its construction from INI text
//! with every problem located and kept.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use ini::{Ini, ParseOption};

use super::keywords::{keywords_for, Keyword, ValueKind, KEYWORDS};
use super::problem::{Problem, Severity};
use super::run_args;
use super::text;
use super::values::{parse_bool, parse_duration, parse_list, parse_netmask};
use crate::model::{ResourceKind, Rid};

/// One service, as loaded from its file.
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    /// The service name: the file name without `.env` / `.conf`.
    pub name: String,
    /// The file it came from.
    pub path: PathBuf,
    /// The file's text as loaded (served as `config`).
    pub text: String,
    /// `[DEFAULT]` settings.
    pub defaults: ServiceDefaults,
    /// Resources, in start order (the implicit `dockerd` included).
    pub resources: Vec<ResourceConfig>,
    /// Everything wrong with the file, errors and warnings.
    pub problems: Vec<Problem>,
    /// Set when the file could not be read or parsed at all.
    pub load_error: Option<String>,
    /// The load error is a refusal to trust the file (see `trust`): it was
    /// not read, and actions on it fail with EACCES.
    pub untrusted: bool,
    /// Others may read the file itself: only then may they read the
    /// files of the tree that show its configuration.
    pub others_read: bool,
}

/// The `[DEFAULT]` section.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceDefaults {
    /// Nodes allowed to act; empty means any.
    pub nodes: Vec<String>,
    /// Nodes that start the service with `mount --autostart`.
    pub autostart_node: Vec<String>,
    /// Application code.
    pub app: Option<String>,
    /// Free text (PRD, DEV...).
    pub service_type: Option<String>,
    /// Data root of the private docker daemon.
    pub docker_data_dir: Option<PathBuf>,
    /// Extra private daemon arguments.
    pub docker_daemon_args: Vec<String>,
    /// Why `docker_daemon_args` could not be split into words.
    pub invalid_daemon_args: Option<String>,
    /// The dockerd executable.
    pub docker_exe: String,
    /// What a monitored resource going down does to the service.
    pub monitor_action: MonitorAction,
}

/// `monitor_action`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum MonitorAction {
    /// The service warns, nothing more.
    #[default]
    None,
    /// Freeze the service, then stop it.
    FreezeStop,
}

/// Keywords every resource accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommonOptions {
    /// Skipped by actions, status n/a.
    pub disable: bool,
    /// Failures do not fail the service.
    pub optional: bool,
    /// Free tags.
    pub tags: Vec<String>,
    /// Subset name.
    pub subset: Option<String>,
    /// Restart tries when the resource goes down without a ctl stop.
    pub restart: u32,
    /// Wait before the first try, doubled at each next one.
    pub restart_delay: Duration,
    /// Whether its going down makes the service warn (`M` flag).
    pub monitor: bool,
    /// Free text.
    pub comment: Option<String>,
}

/// The `restart_delay` of a resource that does not set it.
pub const DEFAULT_RESTART_DELAY: Duration = Duration::from_millis(500);

impl Default for CommonOptions {
    fn default() -> Self {
        CommonOptions {
            disable: false,
            optional: false,
            tags: Vec::new(),
            subset: None,
            restart: 0,
            restart_delay: DEFAULT_RESTART_DELAY,
            monitor: false,
            comment: None,
        }
    }
}

/// One resource section.
#[derive(Debug, Clone)]
pub struct ResourceConfig {
    /// Its id.
    pub rid: Rid,
    /// Common keywords.
    pub common: CommonOptions,
    /// The known keywords as written, in file order (one file each in the tree).
    pub keywords: Arc<[(&'static str, String)]>,
    /// The typed settings, or why the resource cannot be used.
    pub spec: Result<ResourceSpec, String>,
}

/// Typed settings per resource kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResourceSpec {
    /// A docker container.
    Container(ContainerSpec),
    /// An IP address.
    Ip(IpSpec),
    /// An LVM volume group.
    Vg(VgSpec),
    /// A filesystem.
    Fs(FsSpec),
    /// The private docker daemon.
    Dockerd(DockerdSpec),
}

/// `container#N` settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerSpec {
    /// Image id, short id or repo:tag.
    pub run_image: String,
    /// Command words (empty: the image's CMD).
    pub run_command: Vec<String>,
    /// docker run options, as written.
    pub run_args: String,
    /// Bound on start.
    pub start_timeout: Duration,
    /// docker stop grace period.
    pub stop_timeout: Duration,
    /// Whether stop may skip the grace period that PID 1 would ignore.
    pub stop_wait: StopWait,
}

/// `stop_wait`: what stop does when the container's PID 1 has no handler
/// for its stop signal (the kernel then drops the signal: PID 1 of a PID
/// namespace ignores what it does not handle).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum StopWait {
    /// Kill at once: waiting would only wait for the timeout.
    #[default]
    Auto,
    /// Always `docker stop` with the full `stop_timeout`.
    Timeout,
}

impl StopWait {
    fn parse(text: &str) -> Result<Self, String> {
        match text.trim() {
            "auto" => Ok(StopWait::Auto),
            "timeout" => Ok(StopWait::Timeout),
            other => Err(format!("invalid value {other:?} (use auto or timeout)")),
        }
    }
}

/// `ip#N` settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpSpec {
    /// Host name or literal address.
    pub ipname: String,
    /// Network device.
    pub ipdev: String,
    /// Prefix length or dotted mask, as written.
    pub netmask: Option<String>,
}

/// `vg#N` settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VgSpec {
    /// Volume group name.
    pub vgname: String,
}

/// `fs#N` settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FsSpec {
    /// Device or image file.
    pub dev: PathBuf,
    /// Mount point.
    pub mnt: PathBuf,
    /// Filesystem type.
    pub fs_type: Option<String>,
    /// Mount options.
    pub mnt_opt: Option<String>,
    /// Run fsck -p before mounting ext filesystems.
    pub fsck: bool,
    /// Kill processes holding the filesystem on stop.
    pub kill_procs: bool,
}

/// The implicit private docker daemon.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DockerdSpec {
    /// `--data-root`.
    pub data_dir: PathBuf,
    /// Extra arguments.
    pub args: Vec<String>,
    /// Executable.
    pub exe: String,
}

impl ServiceConfig {
    /// The resource with this id.
    pub fn resource(&self, rid: &str) -> Option<&ResourceConfig> {
        self.resources.iter().find(|r| r.rid.as_str() == rid)
    }

    /// Whether any problem is an error.
    pub fn has_errors(&self) -> bool {
        self.problems.iter().any(|p| p.severity == Severity::Error)
    }
}

impl ResourceConfig {
    /// The resource kind, when known.
    pub fn kind(&self) -> Option<ResourceKind> {
        self.rid.kind()
    }
}

/// Build a service from its file's text. Never fails: what cannot be used is
/// recorded as problems, and unusable resources carry the reason.
pub fn parse_service(name: &str, path: &Path, text: &str) -> ServiceConfig {
    let mut service = ServiceConfig {
        name: name.to_string(),
        path: path.to_path_buf(),
        text: text.to_string(),
        defaults: ServiceDefaults {
            docker_exe: "dockerd".to_string(),
            ..ServiceDefaults::default()
        },
        resources: Vec::new(),
        problems: Vec::new(),
        load_error: None,
        untrusted: false,
        others_read: false,
    };
    let options = ParseOption {
        enabled_quote: false,
        enabled_escape: false,
        ..ParseOption::default()
    };
    let (parsable, unparsable_lines) = match text::parsable(path, text) {
        Ok(parsable) => parsable,
        Err(fatal) => {
            service.load_error = Some(fatal.location_and_message());
            service.problems.push(fatal);
            return service;
        }
    };
    service.problems.extend(unparsable_lines);
    let ini = match Ini::load_from_str_opt(&parsable, options) {
        Ok(ini) => ini,
        Err(e) => {
            let message = format!(
                "cannot parse line {}: {}",
                e.line,
                friendly_parse_error(&e.msg)
            );
            service
                .problems
                .push(Problem::file(Severity::Error, path, message.clone()));
            service.load_error = Some(format!("{}: {message}", path.display()));
            return service;
        }
    };

    let mut parser = SectionParser {
        path,
        problems: &mut service.problems,
    };
    let mut seen = BTreeSet::new();
    for (section, properties) in ini.iter() {
        let entries: Vec<(String, String)> = properties
            .iter()
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        let Some(section) = section.map(str::trim) else {
            for (key, _) in &entries {
                parser.problem(
                    Severity::Warning,
                    None,
                    Some(key),
                    "keyword outside any section, ignored (put it under [DEFAULT] or a resource section)",
                );
            }
            continue;
        };
        if !seen.insert(section.to_string()) {
            let headers = text::header_lines(text, section);
            parser.problems.push(Problem {
                severity: Severity::Error,
                file: path.to_path_buf(),
                section: Some(section.to_string()),
                keyword: None,
                line: headers.get(1).copied(),
                message: format!(
                    "section appears again (first at line {}); this one is ignored",
                    headers.first().copied().unwrap_or(0)
                ),
            });
            continue;
        }
        if section.eq_ignore_ascii_case("default") {
            service.defaults = parser.defaults(section, &entries);
        } else if let Some(resource) = parser.resource(section, &entries) {
            service.resources.push(resource);
        }
    }

    if let Some(data_dir) = &service.defaults.docker_data_dir {
        service.resources.push(ResourceConfig {
            rid: Rid::dockerd(),
            common: CommonOptions::default(),
            keywords: [("docker_data_dir", data_dir.display().to_string())].into(),
            spec: match &service.defaults.invalid_daemon_args {
                Some(reason) => Err(reason.clone()),
                None => Ok(ResourceSpec::Dockerd(DockerdSpec {
                    data_dir: data_dir.clone(),
                    args: service.defaults.docker_daemon_args.clone(),
                    exe: service.defaults.docker_exe.clone(),
                })),
            },
        });
    }
    service.resources.sort_by(|a, b| a.rid.cmp_start(&b.rid));
    if service.resources.is_empty() && !service.has_errors() {
        service.problems.push(Problem::file(
            Severity::Warning,
            path,
            "the file defines no resource: the service has nothing to start or stop",
        ));
    }
    service
}

/// rust-ini's messages name its parser's internals; say what is wrong in
/// the file instead where we recognise the case.
fn friendly_parse_error(message: &str) -> String {
    if message.contains("Some(']')") {
        "a section header is missing its closing ']'".to_string()
    } else if message.contains("inline comment") {
        "comments must start a line (# or ;)".to_string()
    } else {
        message.to_string()
    }
}

/// Walks sections, recording problems against one file.
struct SectionParser<'a> {
    path: &'a Path,
    problems: &'a mut Vec<Problem>,
}

/// The values of one section, keyed by known keyword, last one winning.
struct Values<'a> {
    section: &'a str,
    entries: Vec<(&'static Keyword, String)>,
}

impl<'a> Values<'a> {
    fn raw(&self, name: &str) -> Option<&str> {
        self.entries
            .iter()
            .rev()
            .find(|(k, _)| k.name == name)
            .map(|(_, v)| v.as_str())
    }

    fn text(&self, name: &str) -> Option<String> {
        self.raw(name).filter(|v| !v.is_empty()).map(str::to_string)
    }

    fn required(&self, name: &str) -> Result<String, String> {
        self.text(name)
            .ok_or_else(|| format!("missing required keyword {name} in [{}]", self.section))
    }

    fn words(&self, name: &str) -> Result<Vec<String>, String> {
        match self.raw(name) {
            None => Ok(Vec::new()),
            Some(v) => shell_words::split(v)
                .map_err(|e| format!("{name}: cannot split {v:?} into words: {e}")),
        }
    }

    fn bool(&self, name: &str) -> Result<bool, String> {
        let default = default_of(name);
        parse_bool(self.raw(name).or(default).unwrap_or("false"))
            .map_err(|e| format!("{name}: {e}"))
    }

    fn duration(&self, name: &str) -> Result<Duration, String> {
        let value = self.raw(name).or(default_of(name)).unwrap_or("0");
        parse_duration(value).map_err(|e| format!("{name}: {e}"))
    }

    fn stop_wait(&self) -> Result<StopWait, String> {
        let value = self.raw("stop_wait").or(default_of("stop_wait"));
        value
            .map_or(Ok(StopWait::default()), StopWait::parse)
            .map_err(|e| format!("stop_wait: {e}"))
    }
}

fn default_of(name: &str) -> Option<&'static str> {
    KEYWORDS
        .iter()
        .find(|k| k.name == name)
        .and_then(|k| k.default)
}

impl SectionParser<'_> {
    fn problem(
        &mut self,
        severity: Severity,
        section: Option<&str>,
        keyword: Option<&str>,
        message: impl Into<String>,
    ) {
        self.problems.push(Problem {
            severity,
            file: self.path.to_path_buf(),
            section: section.map(str::to_string),
            keyword: keyword.map(str::to_string),
            line: None,
            message: message.into(),
        });
    }

    fn section_errors(&self, section: &str) -> usize {
        self.problems
            .iter()
            .filter(|p| p.severity == Severity::Error && p.section.as_deref() == Some(section))
            .count()
    }

    /// Sort a section's entries into known keywords; warn about the rest.
    fn known_values<'s>(
        &mut self,
        section: &'s str,
        kind: Option<Option<ResourceKind>>,
        entries: &[(String, String)],
    ) -> Values<'s> {
        let mut values = Values {
            section,
            entries: Vec::new(),
        };
        let mut seen = BTreeSet::new();
        for (key, value) in entries {
            let Some(keyword) = keywords_for(kind).find(|k| k.name == key) else {
                let hint = unknown_keyword_hint(key, kind);
                self.problem(
                    Severity::Warning,
                    Some(section),
                    Some(key),
                    format!("unknown keyword, ignored{hint}"),
                );
                continue;
            };
            if !seen.insert(key.clone()) {
                self.problem(
                    Severity::Warning,
                    Some(section),
                    Some(key),
                    "given twice; the last value is used",
                );
            }
            values.entries.push((keyword, value.clone()));
        }
        // Only the value in use is checked: an overridden one is ignored.
        for (index, (keyword, value)) in values.entries.iter().enumerate() {
            let overridden = values.entries[index + 1..]
                .iter()
                .any(|(k, _)| k.name == keyword.name);
            if overridden {
                continue;
            }
            if let Err(reason) = check_value_shape(keyword, value) {
                self.problem(Severity::Error, Some(section), Some(keyword.name), reason);
            }
        }
        values
    }

    fn defaults(&mut self, section: &str, entries: &[(String, String)]) -> ServiceDefaults {
        let values = self.known_values(section, None, entries);
        // An unsplittable value was reported by the shape check; the
        // private daemon is then invalid rather than started without it.
        let (docker_daemon_args, invalid_daemon_args) = match values.words("docker_daemon_args") {
            Ok(words) => (words, None),
            Err(reason) => (Vec::new(), Some(reason)),
        };
        ServiceDefaults {
            nodes: values.raw("nodes").map(parse_list).unwrap_or_default(),
            autostart_node: values
                .raw("autostart_node")
                .map(parse_list)
                .unwrap_or_default(),
            app: values.text("app"),
            service_type: values.text("service_type"),
            docker_data_dir: values.text("docker_data_dir").map(PathBuf::from),
            docker_daemon_args,
            invalid_daemon_args,
            docker_exe: values
                .text("docker_exe")
                .unwrap_or_else(|| "dockerd".to_string()),
            // A bad value was reported by the shape check.
            monitor_action: match values.raw("monitor_action").map(str::trim) {
                Some("freezestop") => MonitorAction::FreezeStop,
                _ => MonitorAction::None,
            },
        }
    }

    fn resource(&mut self, section: &str, entries: &[(String, String)]) -> Option<ResourceConfig> {
        let rid = match Rid::parse(section) {
            // Only the implicit dockerd goes without an index (and is
            // refused below as a section); `[container]` would clash with
            // `[container#0]` on the container name.
            Ok(rid) if rid.index().is_none() && rid.kind() != Some(ResourceKind::Dockerd) => {
                self.problem(
                    Severity::Error,
                    Some(section),
                    None,
                    format!(
                        "a resource section needs an index, like [{section}#1]; section ignored"
                    ),
                );
                return None;
            }
            Ok(rid) => rid,
            Err(reason) => {
                self.problem(
                    Severity::Error,
                    Some(section),
                    None,
                    format!("{reason}; section ignored"),
                );
                return None;
            }
        };
        let kind = rid.kind();
        let errors_before = self.section_errors(section);
        let values = self.known_values(section, Some(kind), entries);
        let keywords = values
            .entries
            .iter()
            .map(|(k, v)| (k.name, v.clone()))
            .collect();
        let common = common_options(&values);
        let spec = match kind {
            None => Err(format!(
                "unknown resource type {:?} (svcfs knows container, ip, vg, fs)",
                rid.type_name()
            )),
            Some(ResourceKind::Dockerd) => Err(
                "dockerd is implicit: set docker_data_dir in [DEFAULT] instead of a [dockerd] section".to_string(),
            ),
            Some(kind) => resource_spec(kind, &values),
        };
        let spec = common.as_ref().map_err(Clone::clone).and(spec);
        // A bad value was already reported against its keyword; report the
        // resource itself only when nothing in the section explains it.
        if let Err(reason) = &spec {
            if self.section_errors(section) == errors_before {
                self.problem(Severity::Error, Some(section), None, reason.clone());
            }
        }
        Some(ResourceConfig {
            rid,
            common: common.unwrap_or_default(),
            keywords,
            spec,
        })
    }
}

/// The keywords every resource accepts; an unparsable one makes the
/// resource invalid (a guessed `disable` or `optional` would act wrongly).
fn common_options(values: &Values<'_>) -> Result<CommonOptions, String> {
    let restart = match values.raw("restart") {
        None => 0,
        Some(v) => v
            .trim()
            .parse()
            .map_err(|_| format!("restart: invalid integer {v:?}"))?,
    };
    Ok(CommonOptions {
        disable: values.bool("disable")?,
        optional: values.bool("optional")?,
        tags: values.raw("tags").map(parse_list).unwrap_or_default(),
        subset: values.text("subset"),
        restart,
        restart_delay: values.duration("restart_delay")?,
        monitor: values.bool("monitor")?,
        comment: values.text("comment"),
    })
}

fn resource_spec(kind: ResourceKind, values: &Values<'_>) -> Result<ResourceSpec, String> {
    Ok(match kind {
        ResourceKind::Container => {
            let container_type = values.text("type").unwrap_or_else(|| "docker".to_string());
            if container_type != "docker" {
                return Err(format!(
                    "container type {container_type:?} is not supported (only docker)"
                ));
            }
            let run_args = values.raw("run_args").unwrap_or("").to_string();
            let run_args_error = |e| format!("run_args of [{}]: {e}", values.section);
            let parsed = run_args::parse(&run_args).map_err(run_args_error)?;
            // A seccomp profile is checked at load as well (svcfs.conf(5)):
            // the host's own file, cheap to read. An --env-file is only read
            // at create: it may live on a filesystem the same start mounts.
            parsed
                .check_seccomp_profiles(|path| std::fs::read(path))
                .map_err(run_args_error)?;
            let run_image = values.required("run_image")?;
            if run_image.contains(char::is_whitespace) {
                return Err(format!(
                    "run_image: {run_image:?} is not an image reference (no spaces; a comment must start its own line)"
                ));
            }
            ResourceSpec::Container(ContainerSpec {
                run_image,
                run_command: values.words("run_command")?,
                run_args,
                start_timeout: values.duration("start_timeout")?,
                stop_timeout: values.duration("stop_timeout")?,
                stop_wait: values.stop_wait()?,
            })
        }
        ResourceKind::Ip => {
            let ipname = values.required("ipname")?;
            let netmask = values.text("netmask");
            if let Some(mask) = &netmask {
                // A host name's family is known once resolved: a mask valid
                // for either family passes here.
                match ipname.parse::<std::net::IpAddr>() {
                    Ok(addr) => parse_netmask(mask, addr.is_ipv4()).map(drop)?,
                    Err(_) => parse_netmask(mask, true)
                        .or_else(|_| parse_netmask(mask, false))
                        .map(drop)?,
                }
            }
            ResourceSpec::Ip(IpSpec {
                ipname,
                ipdev: values.required("ipdev")?,
                netmask,
            })
        }
        ResourceKind::Vg => ResourceSpec::Vg(VgSpec {
            vgname: values.required("vgname")?,
        }),
        ResourceKind::Fs => ResourceSpec::Fs(FsSpec {
            dev: PathBuf::from(values.required("dev")?),
            mnt: PathBuf::from(values.required("mnt")?),
            fs_type: values.text("type"),
            mnt_opt: values.text("mnt_opt"),
            fsck: values.bool("fsck")?,
            kill_procs: values.bool("kill_procs")?,
        }),
        ResourceKind::Dockerd => unreachable!("dockerd sections are refused before"),
    })
}

/// Validate the shape of a value early, so `svcfs check` reports it.
fn check_value_shape(keyword: &Keyword, value: &str) -> Result<(), String> {
    match keyword.value {
        ValueKind::Bool => parse_bool(value).map(|_| ()),
        ValueKind::Duration => parse_duration(value).map(|_| ()),
        ValueKind::Int => value
            .trim()
            .parse::<u32>()
            .map(|_| ())
            .map_err(|_| format!("invalid integer {value:?}")),
        ValueKind::Words => shell_words::split(value)
            .map(|_| ())
            .map_err(|e| format!("cannot split {value:?} into words: {e}")),
        ValueKind::Choice(words) if words.contains(&value.trim()) => Ok(()),
        ValueKind::Choice(words) => Err(format!(
            "invalid value {:?} (use {})",
            value.trim(),
            words.join(" or ")
        )),
        ValueKind::Text | ValueKind::List => Ok(()),
    }
}

/// " (did you mean X?)" for a close keyword of this section, or a note that
/// the keyword belongs to another section type.
fn unknown_keyword_hint(key: &str, kind: Option<Option<ResourceKind>>) -> String {
    let elsewhere: BTreeSet<String> = KEYWORDS
        .iter()
        .filter(|k| k.name == key)
        .map(|k| match k.scope {
            super::Scope::Default => "[DEFAULT]".to_string(),
            super::Scope::AnyResource => "resource sections".to_string(),
            super::Scope::Kind(kind) => format!("{kind} sections"),
        })
        .collect();
    if !elsewhere.is_empty() {
        return format!(
            " ({key} belongs in {})",
            elsewhere.into_iter().collect::<Vec<_>>().join(" or ")
        );
    }
    keywords_for(kind)
        .map(|k| (strsim::damerau_levenshtein(key, k.name), k.name))
        .filter(|(distance, name)| *distance <= 2.max(name.len() / 4))
        .min()
        .map(|(_, name)| format!(" (did you mean {name}?)"))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TUTORIAL: &str = include_str!("../../tests/data/app.opensvc.com.env");

    fn parse(text: &str) -> ServiceConfig {
        parse_service("svc", Path::new("/etc/svcfs/svc.env"), text)
    }

    fn rids(service: &ServiceConfig) -> Vec<&str> {
        service.resources.iter().map(|r| r.rid.as_str()).collect()
    }

    #[test]
    fn a_bom_keeps_the_first_section_and_a_bare_line_keeps_the_next_keyword() {
        let service = parse(
            "\u{feff}[container#1]\nrun_image = busybox\nrun_image_typo\nrun_command = /bin/sh\n",
        );
        assert_eq!(rids(&service), ["container#1"]);
        let Ok(ResourceSpec::Container(spec)) = &service.resources[0].spec else {
            panic!("{:?}", service.resources[0].spec);
        };
        assert_eq!(spec.run_command, ["/bin/sh"]);
        assert_eq!(service.problems.len(), 1, "{:?}", service.problems);
        assert_eq!(
            service.problems[0].to_string(),
            "error: /etc/svcfs/svc.env:3: [container#1] \"run_image_typo\" is neither `keyword = value`, a [section] nor a comment; line ignored"
        );
    }

    #[test]
    fn tutorial_file_loads_verbatim() {
        let service = parse_service(
            "app.opensvc.com",
            Path::new("/etc/svcfs/app.opensvc.com.env"),
            TUTORIAL,
        );
        assert!(service.load_error.is_none());
        assert!(!service.has_errors(), "{:?}", service.problems);
        assert_eq!(
            rids(&service),
            [
                "ip#1",
                "vg#1",
                "fs#1",
                "fs#2",
                "dockerd",
                "container#1",
                "container#2",
                "container#3"
            ]
        );
        assert_eq!(service.defaults.nodes, ["deb1.opensvc.com"]);
        assert_eq!(service.defaults.autostart_node, ["deb1.opensvc.com"]);
        assert_eq!(service.defaults.docker_daemon_args, ["--ip", "37.59.71.25"]);
        let Ok(ResourceSpec::Container(c1)) = &service.resource("container#1").unwrap().spec else {
            panic!("container#1 should be valid");
        };
        assert_eq!(c1.run_image, "f66342b343ae");
        assert_eq!(c1.run_command, ["/bin/sh"]);
        assert_eq!(c1.stop_timeout, Duration::from_secs(10));
        assert_eq!(c1.start_timeout, Duration::from_secs(60));
        assert_eq!(c1.stop_wait, StopWait::Auto);
    }

    #[test]
    fn tutorial_mnt_opts_typo_warns_with_suggestion() {
        let service = parse(TUTORIAL);
        let warnings: Vec<String> = service.problems.iter().map(|p| p.to_string()).collect();
        assert_eq!(
            warnings,
            ["warning: /etc/svcfs/svc.env: [fs#2] mnt_opts: unknown keyword, ignored (did you mean mnt_opt?)"]
        );
        let Ok(ResourceSpec::Fs(fs2)) = &service.resource("fs#2").unwrap().spec else {
            panic!("fs#2 should stay valid");
        };
        assert_eq!(fs2.mnt_opt, None);
    }

    #[test]
    fn missing_required_keyword_makes_resource_invalid() {
        let service = parse("[container#1]\ntype = docker\nrun_command = /bin/sh\n");
        let reason = service
            .resource("container#1")
            .unwrap()
            .spec
            .as_ref()
            .unwrap_err();
        assert!(
            reason.contains("missing required keyword run_image"),
            "{reason}"
        );
        assert!(service.has_errors());
    }

    #[test]
    fn unknown_resource_type_is_kept_as_invalid() {
        let service = parse("[sync#1]\nsrc = a\n");
        let resource = service.resource("sync#1").unwrap();
        assert!(resource
            .spec
            .as_ref()
            .unwrap_err()
            .contains("unknown resource type \"sync\""));
    }

    #[test]
    fn bad_run_args_name_the_option_and_section() {
        let service = parse("[container#4]\nrun_image = busybox\nrun_args = --frobnicate 1\n");
        let reason = service
            .resource("container#4")
            .unwrap()
            .spec
            .as_ref()
            .unwrap_err();
        assert!(
            reason.contains("container#4") && reason.contains("--frobnicate"),
            "{reason}"
        );
    }

    #[test]
    fn env_file_is_not_read_at_load() {
        let service =
            parse("[container#1]\nrun_image = a\nrun_args = --env-file /nonexistent/app.env\n");
        assert!(service.resource("container#1").unwrap().spec.is_ok());
        assert!(!service.has_errors());
    }

    #[test]
    fn missing_seccomp_profile_is_an_error_at_load() {
        let service = parse(
            "[container#1]\nrun_image = a\nrun_args = --security-opt seccomp=/nonexistent/p.json\n",
        );
        let reason = service
            .resource("container#1")
            .unwrap()
            .spec
            .as_ref()
            .unwrap_err();
        assert!(
            reason.starts_with("run_args of [container#1]: option --security-opt")
                && reason.contains("cannot read seccomp profile /nonexistent/p.json"),
            "{reason}"
        );
        assert!(service.has_errors());
    }

    #[test]
    fn refused_run_args_are_invalid() {
        for args in ["--name foo", "--rm"] {
            let service = parse(&format!(
                "[container#1]\nrun_image = busybox\nrun_args = {args}\n"
            ));
            assert!(
                service.resource("container#1").unwrap().spec.is_err(),
                "{args}"
            );
        }
    }

    #[test]
    fn bad_duration_names_the_keyword() {
        let service = parse("[container#1]\nrun_image = busybox\nstop_timeout = soon\n");
        let p = service
            .problems
            .iter()
            .find(|p| p.keyword.as_deref() == Some("stop_timeout"))
            .unwrap();
        assert_eq!(p.severity, Severity::Error);
        assert!(service.resource("container#1").unwrap().spec.is_err());
    }

    #[test]
    fn stop_wait_is_read_and_a_bad_value_names_the_keyword() {
        let service = parse("[container#1]\nrun_image = busybox\nstop_wait = timeout\n");
        let Ok(ResourceSpec::Container(c1)) = &service.resource("container#1").unwrap().spec else {
            panic!("container#1 should be valid: {:?}", service.problems);
        };
        assert_eq!(c1.stop_wait, StopWait::Timeout);

        let service = parse("[container#1]\nrun_image = busybox\nstop_wait = never\n");
        let p = service
            .problems
            .iter()
            .find(|p| p.keyword.as_deref() == Some("stop_wait"))
            .unwrap();
        assert_eq!(p.severity, Severity::Error);
        assert!(p.message.contains("\"never\"") && p.message.contains("auto or timeout"));
        assert!(service.resource("container#1").unwrap().spec.is_err());
    }

    #[test]
    fn healing_keywords_are_read_with_their_defaults() {
        let service = parse(
            "[DEFAULT]\nmonitor_action = freezestop\n\
             [container#1]\nrun_image = busybox\nrestart = 3\nrestart_delay = 2s\nmonitor = true\n\
             [container#2]\nrun_image = busybox\n",
        );
        assert!(service.problems.is_empty(), "{:?}", service.problems);
        assert_eq!(service.defaults.monitor_action, MonitorAction::FreezeStop);
        let c1 = &service.resource("container#1").unwrap().common;
        assert_eq!(
            (c1.restart, c1.restart_delay, c1.monitor),
            (3, Duration::from_secs(2), true)
        );
        let c2 = &service.resource("container#2").unwrap().common;
        assert_eq!(
            (c2.restart, c2.restart_delay, c2.monitor),
            (0, DEFAULT_RESTART_DELAY, false)
        );
        assert_eq!(parse("").defaults.monitor_action, MonitorAction::None);
        let bad = parse("[DEFAULT]\nmonitor_action = reboot\n");
        assert!(bad.problems.iter().any(
            |p| p.keyword.as_deref() == Some("monitor_action") && p.severity == Severity::Error
        ));
    }

    #[test]
    fn keyword_of_another_section_type_says_where_it_belongs() {
        let service = parse("[ip#1]\nipname = a\nipdev = lo\nvgname = x\n");
        let p = &service.problems[0];
        assert_eq!(p.keyword.as_deref(), Some("vgname"));
        assert!(
            p.message.contains("belongs in vg sections"),
            "{}",
            p.message
        );
    }

    #[test]
    fn unparsable_file_records_a_load_error() {
        let service = parse("[DEFAULT\nnodes = a\n");
        assert!(service.load_error.is_some());
        assert!(service.resources.is_empty());
        assert!(service.has_errors());
    }

    #[test]
    fn duplicate_section_is_an_error_and_first_wins() {
        let service = parse("[ip#1]\nipname = a\nipdev = lo\n[ip#1]\nipname = b\nipdev = lo\n");
        assert!(service.has_errors());
        let Ok(ResourceSpec::Ip(ip)) = &service.resource("ip#1").unwrap().spec else {
            panic!()
        };
        assert_eq!(ip.ipname, "a");
    }

    #[test]
    fn unparsable_common_keyword_makes_the_resource_invalid_once() {
        let service = parse("[container#1]\nrun_image = busybox\ndisable = maybe\n");
        let reason = service
            .resource("container#1")
            .unwrap()
            .spec
            .as_ref()
            .unwrap_err();
        assert!(reason.contains("disable"), "{reason}");
        assert_eq!(service.problems.len(), 1, "{:?}", service.problems);
        assert_eq!(service.problems[0].keyword.as_deref(), Some("disable"));
    }

    #[test]
    fn unsplittable_daemon_args_make_the_private_daemon_invalid() {
        let service = parse("[DEFAULT]\ndocker_data_dir = /d\ndocker_daemon_args = --ip \"x\n");
        assert!(service.resource("dockerd").unwrap().spec.is_err());
    }

    #[test]
    fn disable_and_optional_are_read() {
        let service = parse("[container#1]\nrun_image = busybox\ndisable = yes\noptional = true\n");
        let common = &service.resource("container#1").unwrap().common;
        assert!(common.disable && common.optional);
    }

    #[test]
    fn dockerd_is_implicit_with_docker_data_dir() {
        let service =
            parse("[DEFAULT]\ndocker_data_dir = /srv/d\ndocker_daemon_args = --ip 127.0.0.1\n");
        let Ok(ResourceSpec::Dockerd(d)) = &service.resource("dockerd").unwrap().spec else {
            panic!()
        };
        assert_eq!(d.data_dir, PathBuf::from("/srv/d"));
        assert_eq!(d.args, ["--ip", "127.0.0.1"]);
        assert_eq!(d.exe, "dockerd");
    }

    #[test]
    fn resource_sections_need_an_index() {
        let service = parse("[container]\nrun_image = a\n[container#0]\nrun_image = b\n");
        assert_eq!(rids(&service), ["container#0"]);
        assert!(
            service.problems[0].message.contains("[container#1]"),
            "{:?}",
            service.problems
        );
        assert!(service.has_errors());
    }

    #[test]
    fn explicit_dockerd_section_is_refused() {
        let service = parse("[dockerd]\n");
        assert!(service.resource("dockerd").unwrap().spec.is_err());
    }
}
