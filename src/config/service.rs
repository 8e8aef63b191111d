//! The typed form of one service file, and its construction from INI text
//! with every problem located and kept.

use std::cmp::Ordering;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use ini::{Ini, ParseOption};

use super::keywords::{Keyword, ValueKind, DEFAULT_KEYWORDS, RESOURCE_KEYWORDS, SUBSET_KEYWORDS};
use super::kinds::{Catalog, KindSchema, Spec, Values};
use super::problem::{Problem, Severity};
use super::subsets::{parse_subset_name, SubsetConfig, SUBSET_PREFIX};
use super::text;
use super::values::{parse_bool, parse_duration, parse_list, parse_size};
use crate::model::Rid;

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
    /// The `[subset#…]` sections.
    pub subsets: Vec<SubsetConfig>,
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
    /// For a Compose project of the config directory: what the converter
    /// made of it (where each section comes from, the files it read);
    /// `path` is then the Compose file and `text` the service file made.
    pub compose: Option<Arc<super::compose::Converted>>,
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
    /// Its kind, when svcfs knows its type.
    pub kind: Option<&'static KindSchema>,
    /// Common keywords.
    pub common: CommonOptions,
    /// The known keywords as written, in file order (one file each in the tree).
    pub keywords: Arc<[(&'static str, String)]>,
    /// The typed settings, or why the resource cannot be used.
    pub spec: Result<Arc<dyn Spec>, String>,
}

impl ServiceConfig {
    /// The resource with this id.
    pub fn resource(&self, rid: &str) -> Option<&ResourceConfig> {
        self.resources.iter().find(|r| r.rid.as_str() == rid)
    }

    /// Whether `resource`'s subset starts and stops side by side.
    pub fn is_parallel(&self, resource: &ResourceConfig) -> bool {
        super::subsets::is_parallel(&self.subsets, resource)
    }

    /// A problem of this service with its line: in the service file, or,
    /// for a Compose project, at the Compose line its section comes from.
    pub fn locate(&self, problem: &Problem) -> Problem {
        match &self.compose {
            Some(converted) if problem.section.is_some() => converted.relocate(&self.path, problem),
            Some(_) => problem.clone(),
            None => problem.located(&self.text),
        }
    }

    /// Whether any problem is an error.
    pub fn has_errors(&self) -> bool {
        self.problems.iter().any(|p| p.severity == Severity::Error)
    }
}

impl ResourceConfig {
    /// Its place in start order: by its kind's rank (unknown kinds last),
    /// then outside any subset before the subsets in name order (om3's
    /// resource sets), then by type and numeric index (`container#2`
    /// before `container#10`); stop is the exact reverse.
    pub fn cmp_start(&self, other: &ResourceConfig) -> Ordering {
        let rank = |k: &KindSchema| k.start_rank;
        let (a, b) = (self.order_key(rank), other.order_key(rank));
        a.0.cmp(&b.0)
            .then_with(|| self.common.subset.cmp(&other.common.subset))
            .then_with(|| a.cmp(&b))
    }

    /// Its place in the overview and listings: the same, by its kind's
    /// display rank (the tutorial's order).
    pub fn cmp_display(&self, other: &ResourceConfig) -> Ordering {
        self.order_key(|k| k.display_rank)
            .cmp(&other.order_key(|k| k.display_rank))
    }

    fn order_key(&self, rank: impl Fn(&KindSchema) -> u8) -> (u8, &str, u32, &str) {
        (
            self.kind.map_or(u8::MAX, rank),
            self.rid.type_name(),
            self.rid.index().unwrap_or(0),
            self.rid.as_str(),
        )
    }

    /// The settings as their concrete type, for the kind that made them.
    pub fn spec_as<T: 'static>(&self) -> Option<&T> {
        self.spec.as_ref().ok()?.as_any().downcast_ref()
    }
}

/// Build a service from its file's text, with the kinds of `kinds`. Never
/// fails: what cannot be used is recorded as problems, and unusable
/// resources carry the reason.
pub fn parse_service(kinds: &dyn Catalog, name: &str, path: &Path, text: &str) -> ServiceConfig {
    let mut service = ServiceConfig {
        name: name.to_string(),
        path: path.to_path_buf(),
        text: text.to_string(),
        defaults: ServiceDefaults {
            docker_exe: "dockerd".to_string(),
            ..ServiceDefaults::default()
        },
        resources: Vec::new(),
        subsets: Vec::new(),
        problems: Vec::new(),
        load_error: None,
        untrusted: false,
        others_read: false,
        compose: None,
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
        kinds,
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
        } else if let Some(rest) = section.strip_prefix(SUBSET_PREFIX) {
            if let Some(subset) = parser.subset(section, rest, &entries) {
                service.subsets.push(subset);
            }
        } else if let Some(resource) = parser.resource(section, &entries) {
            service.resources.push(resource);
        }
    }

    for kind in kinds.kinds() {
        let Some(implicit) = &kind.implicit else {
            continue;
        };
        if let Some(resource) = (implicit.from_defaults)(&service.defaults) {
            service.resources.push(ResourceConfig {
                rid: Rid::parse(kind.type_name)
                    .expect("a kind's type name is a valid implicit resource id"),
                kind: Some(kind),
                common: CommonOptions::default(),
                keywords: resource.keywords.into(),
                spec: resource.spec,
            });
        }
    }
    service.resources.sort_by(ResourceConfig::cmp_start);
    for subset in &service.subsets {
        let members = service.resources.iter().any(|r| {
            r.common.subset.as_deref() == Some(subset.name.as_str())
                && subset.kind.is_none_or(|kind| r.rid.type_name() == kind)
        });
        if !members {
            let section = match subset.kind {
                Some(kind) => format!("{SUBSET_PREFIX}{kind}:{}", subset.name),
                None => format!("{SUBSET_PREFIX}{}", subset.name),
            };
            let hint = match subset.kind {
                None if kinds.kind(&subset.name).is_some() => format!(
                    " (in OpenSVC 2 [{section}] stood for the {0} resources outside any subset: give them subset = NAME and write [subset#{0}:NAME])",
                    subset.name
                ),
                _ => String::new(),
            };
            service.problems.push(Problem {
                severity: Severity::Warning,
                file: path.to_path_buf(),
                section: Some(section),
                keyword: None,
                line: None,
                message: format!(
                    "no resource has subset = {}{}: this section sets nothing{hint}",
                    subset.name,
                    subset
                        .kind
                        .map(|k| format!(" among the {k} resources"))
                        .unwrap_or_default()
                ),
            });
        }
    }
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
    kinds: &'a dyn Catalog,
    path: &'a Path,
    problems: &'a mut Vec<Problem>,
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
        declared: Vec<&'static Keyword>,
        entries: &[(String, String)],
    ) -> Values<'s> {
        let mut values = Values::new(section, declared);
        let mut seen = BTreeSet::new();
        for (key, value) in entries {
            let Some(keyword) = values.declared().iter().copied().find(|k| k.name == key) else {
                let hint = unknown_keyword_hint(self.kinds, key, values.declared());
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
            values.push(keyword, value.clone());
        }
        // Only the value in use is checked: an overridden one is ignored.
        for (index, (keyword, value)) in values.entries().iter().enumerate() {
            let overridden = values.entries()[index + 1..]
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
        let values = self.known_values(section, DEFAULT_KEYWORDS.iter().collect(), entries);
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

    /// A section that cannot be read at all: an error, and nothing of it.
    fn ignored<T>(&mut self, section: &str, reason: &str) -> Option<T> {
        self.problem(
            Severity::Error,
            Some(section),
            None,
            format!("{reason}; section ignored"),
        );
        None
    }

    fn subset(
        &mut self,
        section: &str,
        rest: &str,
        entries: &[(String, String)],
    ) -> Option<SubsetConfig> {
        let (kind, name) = match parse_subset_name(self.kinds, rest) {
            Ok(parsed) => parsed,
            Err(reason) => return self.ignored(section, &reason),
        };
        let values = self.known_values(section, SUBSET_KEYWORDS.iter().collect(), entries);
        // A bad value was reported by the shape check: one at a time then.
        let parallel = values.bool("parallel").unwrap_or(false);
        Some(SubsetConfig {
            kind,
            name,
            parallel,
        })
    }

    fn resource(&mut self, section: &str, entries: &[(String, String)]) -> Option<ResourceConfig> {
        let rid = match Rid::parse(section) {
            Ok(rid) => rid,
            Err(reason) => return self.ignored(section, &reason),
        };
        let kind = self.kinds.kind(rid.type_name());
        let implicit = kind.and_then(|k| k.implicit.as_ref());
        // Only an implicit resource goes without an index (and is refused
        // below as a section); `[container]` would clash with
        // `[container#0]` on the container name.
        if rid.index().is_none() && implicit.is_none() {
            self.problem(
                Severity::Error,
                Some(section),
                None,
                format!("a resource section needs an index, like [{section}#1]; section ignored"),
            );
            return None;
        }
        let errors_before = self.section_errors(section);
        let declared = RESOURCE_KEYWORDS
            .iter()
            .chain(kind.map_or(&[][..], |k| k.keywords))
            .collect();
        let values = self.known_values(section, declared, entries);
        let keywords = values
            .entries()
            .iter()
            .map(|(k, v)| (k.name, v.clone()))
            .collect();
        let common = common_options(&values);
        let spec = match (kind, implicit) {
            (None, _) => Err(format!(
                "unknown resource type {:?} (svcfs knows {})",
                rid.type_name(),
                section_types(self.kinds).join(", ")
            )),
            (Some(_), Some(implicit)) => Err(implicit.refusal.to_string()),
            (Some(kind), None) => (kind.spec)(&values),
        };
        // Each value the kind found wrong, at its keyword's line, unless
        // its shape was already reported there.
        let shapes_wrong: Vec<String> = self
            .problems
            .iter()
            .filter(|p| p.severity == Severity::Error && p.section.as_deref() == Some(section))
            .filter_map(|p| p.keyword.clone())
            .collect();
        for (keyword, message) in values.take_errors() {
            if !keyword.is_some_and(|k| shapes_wrong.iter().any(|w| w == k)) {
                self.problem(Severity::Error, Some(section), keyword, message);
            }
        }
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
            kind,
            common: common.unwrap_or_default(),
            keywords,
            spec,
        })
    }
}

/// The section types a file may use, in the overview's order: every kind
/// but the implicit ones.
fn section_types(kinds: &dyn Catalog) -> Vec<&'static str> {
    let mut kinds: Vec<_> = kinds
        .kinds()
        .into_iter()
        .filter(|k| k.implicit.is_none())
        .collect();
    kinds.sort_by_key(|k| k.display_rank);
    kinds.into_iter().map(|k| k.type_name).collect()
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

/// Validate the shape of a value early, so `svcfs check` reports it.
fn check_value_shape(keyword: &Keyword, value: &str) -> Result<(), String> {
    match keyword.value {
        ValueKind::Bool => parse_bool(value).map(|_| ()),
        ValueKind::Duration => parse_duration(value).map(|_| ()),
        ValueKind::Size => parse_size(value).map(|_| ()),
        ValueKind::Int => value
            .trim()
            .parse::<u32>()
            .map(|_| ())
            .map_err(|_| format!("invalid integer {value:?}")),
        ValueKind::Words => super::words::split(value)
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
fn unknown_keyword_hint(kinds: &dyn Catalog, key: &str, declared: &[&'static Keyword]) -> String {
    let mut elsewhere: Vec<String> = Vec::new();
    if DEFAULT_KEYWORDS.iter().any(|k| k.name == key) {
        elsewhere.push("[DEFAULT]".to_string());
    }
    if RESOURCE_KEYWORDS.iter().any(|k| k.name == key) {
        elsewhere.push("resource sections".to_string());
    }
    if SUBSET_KEYWORDS
        .iter()
        .any(|k| k.name == key && k.name != "comment")
    {
        elsewhere.push("[subset#NAME] sections".to_string());
    }
    for kind in kinds.kinds() {
        if kind.keyword(key).is_some() {
            elsewhere.push(format!("{} sections", kind.type_name));
        }
    }
    elsewhere.sort();
    elsewhere.dedup();
    if !elsewhere.is_empty() {
        return format!(" ({key} belongs in {})", elsewhere.join(" or "));
    }
    declared
        .iter()
        .map(|k| (strsim::damerau_levenshtein(key, k.name), k.name))
        .filter(|(distance, name)| *distance <= 2.max(name.len() / 4))
        .min()
        .map(|(_, name)| format!(" (did you mean {name}?)"))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drivers::container::{ContainerSpec, StopWait};
    use crate::drivers::dockerd::DockerdSpec;
    use crate::drivers::fs::FsSpec;
    use crate::drivers::ip::IpSpec;

    const TUTORIAL: &str = include_str!("../../tests/data/app.opensvc.com.env");

    fn parse(text: &str) -> ServiceConfig {
        parse_service(
            &crate::drivers::registry::KINDS,
            "svc",
            Path::new("/etc/svcfs/svc.env"),
            text,
        )
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
        let Some(spec) = service.resources[0].spec_as::<ContainerSpec>() else {
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
            &crate::drivers::registry::KINDS,
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
        let Some(c1) = service
            .resource("container#1")
            .unwrap()
            .spec_as::<ContainerSpec>()
        else {
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
        let Some(fs2) = service.resource("fs#2").unwrap().spec_as::<FsSpec>() else {
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
    fn every_problem_of_a_resource_is_reported_at_its_own_line() {
        let text = "[container#1]\nstop_timeout = soon\nrun_args = --memory 12zz --frobnicate 1 -p 99999:80\n\
                    stop_wait = never\n[ip#1]\nipdev = lo\nnetmask = 200\n";
        let service = parse(text);
        let found: Vec<(usize, &str, Option<&str>, &str)> = service
            .problems
            .iter()
            .map(|p| {
                (
                    p.located(text).line.unwrap_or(0),
                    p.section.as_deref().unwrap_or(""),
                    p.keyword.as_deref(),
                    p.message.as_str(),
                )
            })
            .collect();
        let at = |line: usize, keyword: Option<&str>, start: &str| {
            found
                .iter()
                .any(|(l, _, k, m)| *l == line && *k == keyword && m.starts_with(start))
        };
        assert!(
            at(2, Some("stop_timeout"), "invalid duration \"soon\""),
            "{found:#?}"
        );
        assert!(
            at(
                3,
                Some("run_args"),
                "option --memory: invalid value \"12zz\""
            ),
            "{found:#?}"
        );
        assert!(
            at(
                3,
                Some("run_args"),
                "unknown docker run option --frobnicate"
            ),
            "{found:#?}"
        );
        assert!(
            at(3, Some("run_args"), "option -p: invalid value \"99999:80\""),
            "{found:#?}"
        );
        assert!(
            at(4, Some("stop_wait"), "invalid value \"never\""),
            "{found:#?}"
        );
        assert!(
            at(1, None, "missing required keyword run_image"),
            "{found:#?}"
        );
        assert!(at(5, None, "missing required keyword ipname"), "{found:#?}");
        assert!(at(7, Some("netmask"), ""), "{found:#?}");
        assert_eq!(found.len(), 8, "{found:#?}");
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
        let Some(c1) = service
            .resource("container#1")
            .unwrap()
            .spec_as::<ContainerSpec>()
        else {
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
        let Some(ip) = service.resource("ip#1").unwrap().spec_as::<IpSpec>() else {
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
        let Some(d) = service
            .resource("dockerd")
            .unwrap()
            .spec_as::<DockerdSpec>()
        else {
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
